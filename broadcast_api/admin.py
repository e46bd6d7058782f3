"""Admin for the default stream model: read-only records and a stop action.

Credentials are never stored, so there is nothing secret to show. A host that swaps
the model registers its own admin (it may reuse :class:`StreamAdmin`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from broadcast_api.models import StopReason, Stream
from broadcast_api.services import stop_streams

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.http import HttpRequest


class StreamAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["__str__", "owner", "status", "start_date", "stop_date", "stop_reason"]
    list_filter = ["status", "type", "stop_reason"]
    search_fields = ["=id", "name"]
    list_select_related = ["owner"]
    date_hierarchy = "start_date"
    readonly_fields = [
        "id",
        "type",
        "owner",
        "status",
        "start_date",
        "stop_date",
        "stop_reason",
        "s3_bucket",
        "s3_prefix",
        "s3_region",
    ]
    actions = ["stop_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # streams are started by broadcasters through the API

    @admin.action(description=_("Stop selected live streams"), permissions=["change"])
    def stop_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = stop_streams(queryset, reason=StopReason.ADMIN)
        self.message_user(
            request,
            ngettext("%d stream stopped.", "%d streams stopped.", count) % count,
            messages.SUCCESS,
        )


if not Stream._meta.swapped:
    admin.site.register(Stream, StreamAdmin)

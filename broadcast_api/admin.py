"""Admin: streams (read-only, with a stop action); each feature's admin is imported here.

Streams are never added, changed or deleted here: a stream is started by its
broadcaster, and ended only through ``services.stop_stream`` (a deleted live stream
would skip stop and its ``stream_stopped`` signal). The *Stop selected live streams*
action needs the model's change permission. Credentials are never stored, so there is
nothing secret to show; the poster is shown (a small image in the list and on the
stream's page) through its signed URL, as a viewer gets it. A host that swaps the model
registers its own admin (it may reuse :class:`StreamAdmin`).

Django's admin autodiscovery imports this module only, so it also imports the features'
admin modules (``webhooks.admin``): they register when this one does, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from broadcast_api.models import StopReason, Stream
from broadcast_api.permissions import holds_change_permission
from broadcast_api.services import stop_streams
from broadcast_api.viewing import poster_url
from broadcast_api.webhooks import admin as webhooks_admin

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet
    from django.http import HttpRequest

__all__ = ["StreamAdmin", "holds_change_permission", "webhooks_admin"]


class StreamAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "__str__",
        "owner",
        "status",
        "start_date",
        "stop_date",
        "stop_reason",
        "peak_viewer_count",
        "poster_thumbnail",
    ]
    readonly_fields = ["poster"]
    list_filter = ["status", "type", "stop_reason"]
    list_select_related = ["owner"]
    date_hierarchy = "start_date"
    actions = ["stop_selected"]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        """By exact id, name, or the owner's username (whatever the user model calls it)."""
        return ["=id", "name", f"owner__{get_user_model().USERNAME_FIELD}"]

    @admin.display(description=_("poster"))
    def poster_thumbnail(self, obj: Any) -> str:
        return self._poster(obj, height=36)

    @admin.display(description=_("poster"))
    def poster(self, obj: Any) -> str:
        return self._poster(obj, height=180)

    @staticmethod
    def _poster(obj: Any, *, height: int) -> str:
        """The stream's poster as an ``<img>``, or a dash. The admin's users are staff,
        who may watch any stream, so it is signed as a viewer's is."""
        url = poster_url(obj)
        if url is None:
            return "—"
        return format_html('<img src="{}" alt="" style="height:{}px">', url, height)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_stop_permission(self, request: HttpRequest) -> bool:
        """Stopping is a change of state: it takes the model's change permission."""
        return holds_change_permission(self, request)

    @admin.action(description=_("Stop selected live streams"), permissions=["stop"])
    def stop_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = stop_streams(queryset, reason=StopReason.ADMIN)
        self.message_user(
            request,
            ngettext("%d stream stopped.", "%d streams stopped.", count) % count,
            messages.SUCCESS,
        )


if not Stream._meta.swapped:
    admin.site.register(Stream, StreamAdmin)

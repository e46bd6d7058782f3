"""Admin: streams (read-only, with stop and delete actions); each feature's admin is
imported here.

Streams are never added or changed here: a stream is started by its broadcaster, and
ended only through ``services.stop_stream``. Django's own delete is off (it would delete
the row and leave the objects, and a live stream would skip its stop): *Delete selected
streams and their recordings* goes through ``lifecycle.deletion`` after a confirmation
page, and needs the model's delete permission. The *Stop selected live streams* action
needs the model's change permission. Credentials are never stored, so there is
nothing secret to show; the poster is shown (a small image in the list and on the
stream's page) through its signed URL, as a viewer gets it. A host that swaps the model
registers its own admin (it may reuse :class:`StreamAdmin`).

Django's admin autodiscovery imports this module only, so it also imports the features'
admin modules (``webhooks.admin``): they register when this one does, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename, get_user_model
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from broadcast_api.lifecycle.deletion import delete_streams
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
        "deleted_at",
        "poster_thumbnail",
    ]
    readonly_fields = ["poster"]
    list_filter = ["status", "type", "stop_reason"]
    list_select_related = ["owner"]
    date_hierarchy = "start_date"
    actions = ["stop_selected", "delete_with_recordings"]
    delete_confirmation_template = "admin/broadcast_api/stream/delete_streams_confirmation.html"

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

    def has_erase_permission(self, request: HttpRequest) -> bool:
        """Deleting streams and their recordings takes the model's delete permission
        (``has_delete_permission`` stays False: Django's own delete would skip S3)."""
        codename = get_permission_codename("delete", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    @admin.action(
        description=_("Delete selected streams and their recordings"), permissions=["erase"]
    )
    def delete_with_recordings(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        """First a confirmation page listing the streams; on confirmation each goes
        through ``lifecycle.deletion`` (a live one stopped first, reason ``admin``)."""
        if not request.POST.get("post"):
            context = {
                **self.admin_site.each_context(request),
                "title": _("Delete streams and their recordings?"),
                "opts": self.opts,
                "streams": list(queryset.select_related("owner")),
                "action_name": "delete_with_recordings",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, self.delete_confirmation_template, context)
        deleted, failed = delete_streams(list(queryset), reason=StopReason.ADMIN)
        if deleted:
            self.message_user(
                request,
                ngettext(
                    "%d stream and its recording deleted.",
                    "%d streams and their recordings deleted.",
                    len(deleted),
                )
                % len(deleted),
                messages.SUCCESS,
            )
        if failed:
            self.message_user(
                request,
                ngettext(
                    "%d stream could not be deleted now (storage failed); "
                    "broadcast_reap finishes it.",
                    "%d streams could not be deleted now (storage failed); "
                    "broadcast_reap finishes them.",
                    len(failed),
                )
                % len(failed),
                messages.WARNING,
            )
        return None


if not Stream._meta.swapped:
    admin.site.register(Stream, StreamAdmin)

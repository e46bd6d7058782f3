"""The demo's pages: live and recent streams, and a player for one of them.

The pages are public, as a demo's are: this host decides that every visitor may watch
every stream, so the player page hands out each stream's ``playback_url`` with a
playback token (``broadcast_api.playback.playback_url``). A real host shows each viewer
only what it may see (the owner's streams, ``is_public`` ones, ...).

The player opens that URL: the API's ``/stream/<id>/playlist.m3u8``, which serves the
playlist with presigned S3 URLs, so the bucket itself stays private (no public-read
policy; with ``BROADCAST_API_PLAYBACK_BASE_URL`` set it would be a CDN URL instead).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from broadcast_api.models import get_stream_model
from broadcast_api.playback import playback_url

if TYPE_CHECKING:
    from uuid import UUID

RECENT = 20


def _fmt(value: Any) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else None


def index(request: HttpRequest) -> HttpResponse:
    model = get_stream_model()
    live = (
        model._default_manager.filter(status="live")
        .select_related("owner")
        .order_by("-start_date")
    )
    ended = (
        model._default_manager.filter(status="ended")
        .select_related("owner")
        .order_by("-stop_date")
    )
    return render(
        request,
        "demo/index.html",
        {"live_streams": list(live[:100]), "recent_streams": list(ended[:RECENT])},
    )


def watch(request: HttpRequest, stream_id: UUID) -> HttpResponse:
    stream = get_object_or_404(get_stream_model(), pk=stream_id)
    return render(
        request,
        "demo/watch.html",
        {"stream": stream, "playback_url": playback_url(stream, request=request)},
    )


def status(request: HttpRequest, stream_id: UUID) -> JsonResponse:
    """The stream's state, polled by the player page (no credentials, no storage keys)."""
    stream = get_object_or_404(get_stream_model(), pk=stream_id)
    return JsonResponse(
        {
            "id": str(stream.pk),
            "name": stream.name,
            "status": stream.status,
            "start_date": _fmt(stream.start_date),
            "stop_date": _fmt(stream.stop_date),
        },
        headers={"Cache-Control": "no-store"},
    )

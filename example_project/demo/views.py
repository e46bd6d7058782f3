"""The demo's pages: live and recent streams, and a player for one of them.

The pages are public, as a demo's are; a real host would show each viewer only the
streams it may see (ownership, an ``is_public`` flag, ...).

Playback reads the playlist and segments straight from S3 (the local emulator in the
demo), never through Django: the URL is ``<base>/<s3_prefix>/index.m3u8`` where base is
``DEMO_PLAYBACK_BASE_URL`` if set (e.g. a CDN in front of the bucket), else the S3
endpoint in path style (``BROADCAST_API_S3_ENDPOINT_URL``/``<bucket>``), else the
bucket's virtual-hosted AWS URL. The bucket must allow anonymous GET (a public bucket
policy or a CDN) and CORS GET from this page's origin; ``scripts/demo.py`` sets
both up on the emulator.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from broadcast_api.models import get_stream_model

if TYPE_CHECKING:
    from uuid import UUID

    from broadcast_api.models import AbstractStream

PLAYLIST_NAME = "index.m3u8"
RECENT = 20


def playback_url(stream: AbstractStream) -> str:
    """Where a browser fetches the stream's playlist."""
    explicit: Any = getattr(stream, "playback_url", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    prefix = stream.s3_prefix.strip("/")
    base = os.environ.get("DEMO_PLAYBACK_BASE_URL", "").rstrip("/")
    if not base:
        endpoint = getattr(settings, "BROADCAST_API_S3_ENDPOINT_URL", None)
        if endpoint:
            base = f"{str(endpoint).rstrip('/')}/{stream.s3_bucket}"
        else:
            base = f"https://{stream.s3_bucket}.s3.{stream.s3_region}.amazonaws.com"
    return f"{base}/{prefix}/{PLAYLIST_NAME}"


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
        {"stream": stream, "playback_url": playback_url(stream)},
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

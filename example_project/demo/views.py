"""The demo's pages: live and recent streams, and a player for one of them.

The pages are public, as a demo's are: this host decides that every visitor may watch
every stream, so the player page hands out each stream's ``playback_url`` with a
playback token (``broadcast_api.playback.playback_url``). A real host shows each viewer
only what it may see (the owner's streams, ``is_public`` ones, ...).

The player opens that URL: the API's ``/stream/<id>/playlist.m3u8``, which serves the
playlist with presigned S3 URLs, so the bucket itself stays private (no public-read
policy; with ``BROADCAST_API_PLAYBACK_BASE_URL`` set it would be a CDN URL instead).
The stream's poster (``thumbnail_url``, signed the same way) is the player's ``poster``
and the lists' picture.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from standardwebhooks import Webhook, WebhookVerificationError

from broadcast_api.models import get_stream_model
from broadcast_api.playback import playback_url
from broadcast_api.viewing import thumbnail_url

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
        {
            "live_streams": with_posters(live[:100], request),
            "recent_streams": with_posters(ended[:RECENT], request),
        },
    )


def with_posters(streams: Any, request: HttpRequest) -> list[Any]:
    """The streams, each with its ``thumbnail`` (``None`` before its first poster)."""
    found = list(streams)
    for stream in found:
        stream.thumbnail = thumbnail_url(stream, request=request)
    return found


@login_required
def golive(request: HttpRequest) -> HttpResponse:
    """Broadcast from this tab: the app's browser publisher (``broadcast_api/publisher.js``)
    with the logged-in user's session (the API takes Django sessions, with the CSRF
    token in a header)."""
    return render(request, "demo/golive.html")


def watch(request: HttpRequest, stream_id: UUID) -> HttpResponse:
    stream = get_object_or_404(get_stream_model(), pk=stream_id)
    return render(
        request,
        "demo/watch.html",
        {
            "stream": stream,
            "playback_url": playback_url(stream, request=request),
            "thumbnail_url": thumbnail_url(stream, request=request),
        },
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


# -- a webhook receiver, as another service of the host would be -------------------------

RECEIVED_KEY = "demo:webhooks"
KEEP = 50


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest) -> HttpResponse:
    """Verify the Standard Webhooks signature (the ``standardwebhooks`` library, as the
    README shows receivers), then keep the event for the events page."""
    secret = os.environ.get("DEMO_WEBHOOK_SECRET", "")
    headers = {key.lower(): value for key, value in request.headers.items()}
    try:
        event = Webhook(secret).verify(request.body, headers)
    except (WebhookVerificationError, ValueError):
        return HttpResponse(status=400)
    data = event.get("data", {})
    received = [
        {
            "webhook_id": headers.get("webhook-id", ""),
            "type": event.get("type", ""),
            "timestamp": event.get("timestamp", ""),
            "stream": data.get("id", ""),
            "name": data.get("name", ""),
            "reason": data.get("stop_reason", ""),
        },
        *cache.get(RECEIVED_KEY, []),
    ][:KEEP]
    cache.set(RECEIVED_KEY, received, None)
    return HttpResponse(status=204)


def events(request: HttpRequest) -> HttpResponse:
    """The webhooks this project received, newest first (JSON with ``?format=json``)."""
    received = cache.get(RECEIVED_KEY, [])
    if request.GET.get("format") == "json":
        return JsonResponse({"events": received})
    return render(request, "demo/events.html", {"events": received})

"""The playlist action of ``StreamViewSet``: ``GET /stream/<id>/playlist.m3u8``.

:class:`PlaylistMixin` serves the stream's HLS playlist, rewritten with signed media
URLs (``playlists``), to those who may watch. ``broadcast_api.views.StreamViewSet``
includes it; ``playlist_cache`` and ``get_playlist_response`` are the hooks a subclass
overrides.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from django.http import HttpResponse
from rest_framework import exceptions, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny

from broadcast_api.hls import MEDIA_TYPE
from broadcast_api.playback.playlists import (
    CachedPlaylist,
    PlaylistCache,
    nested_playlist_url,
    servable,
)
from broadcast_api.viewers import counter as viewer_counter
from broadcast_api.viewers import viewer_id
from broadcast_api.viewing import Audience, remember_playlist_route, token_stream_id

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rest_framework.parsers import BaseParser
    from rest_framework.renderers import BaseRenderer
    from rest_framework.request import Request

__all__ = ["RENDITION_RE", "FirstRendererNegotiation", "PlaylistMixin", "accepts_gzip"]

# A rendition: a playlist's key relative to the stream's prefix.
RENDITION_RE = re.compile(r"(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.m3u8")


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value admits gzip (RFC 9110: ``gzip`` or ``*``
    with a non-zero ``q``; an explicit ``gzip;q=0`` refuses it even beside ``*``)."""
    weights: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding] = weight
    if "gzip" in weights:
        return weights["gzip"] > 0
    return weights.get("*", 0.0) > 0


class FirstRendererNegotiation(BaseContentNegotiation):
    """Answer with the first renderer whatever ``Accept`` says (DRF's documented recipe).

    The playlist action answers HLS itself; its errors are JSON. A player's ``Accept:
    application/vnd.apple.mpegurl`` must not turn them into a 406.
    """

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser:
        return next(iter(parsers))

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


class PlaylistMixin(viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Serves ``playlist.m3u8`` for the streams of ``get_queryset()`` (when the action is
    ``playlist``, the ViewSet looks at every stream: the stream decides who may watch)."""

    @classmethod
    def as_view(cls, actions: Any = None, **initkwargs: Any) -> Any:
        """As DRF's; a router mounting the playlist route is also remembered, so a
        ``playback_url`` made without a request (webhooks, the function API) finds it,
        whatever the router and basename."""
        view = super().as_view(actions, **initkwargs)
        basename = initkwargs.get("basename")
        if basename and actions and actions.get("get") == "playlist":
            remember_playlist_route(
                f"{basename}-playlist", cls.lookup_url_kwarg or cls.lookup_field
            )
        return view

    # The shared, rewritten playlists (``broadcast_api.playback.playlists``).
    playlist_cache = PlaylistCache()

    def perform_authentication(self, request: Request) -> None:
        """For the playlist, authenticate lazily (DRF's documented way: the user is
        looked up when first asked for). Most polls carry a playback token and never
        need the user, so a viewer's poll pays for no authentication at all."""
        if self.action != "playlist":
            super().perform_authentication(request)

    @action(
        detail=True,
        methods=["get"],
        url_path="playlist.m3u8",
        url_name="playlist",
        permission_classes=[AllowAny],
        content_negotiation_class=FirstRendererNegotiation,
    )
    def playlist(self, request: Request, id: str | None = None) -> HttpResponse:
        """The stream's HLS playlist with presigned media URLs, to those who may watch:
        while live, a window of its newest segments (``BROADCAST_API_LIVE_WINDOW``), or
        all of them with ``?window=all``.

        From the shared cache this makes no query; a refresh makes one SELECT (the
        stream, through ``get_object()``) and one S3 read. Whoever may not watch gets 404.
        Each admitted poll counts its viewer (``get_viewer_id``): none for a viewer this
        process already counted in the window, else one cache ``add`` (and one ``incr``
        the first time any process sees it in the window).
        """
        rendition = request.query_params.get("rendition", "")
        if rendition and not RENDITION_RE.fullmatch(rendition):
            raise exceptions.NotFound()
        stream_id = self._stream_uuid(id)
        whole = request.query_params.get("window") == "all"
        token_is_for_this_stream = token_stream_id(request.query_params.get("token")) == stream_id
        entry = self.playlist_cache.get(stream_id, rendition, whole=whole)
        if entry is None or not entry.is_fresh(time.time()):
            stream = self.get_object()
            if not self._admits(request, Audience.of(stream), token_is_for_this_stream):
                raise exceptions.NotFound()
            entry = self.playlist_cache.refreshed(
                stream,
                rendition,
                playlist_url=nested_playlist_url(request.path, stream.pk, whole=whole),
                stale=entry,
                whole=whole,
            )
        elif not self._admits(request, entry.audience, token_is_for_this_stream):
            raise exceptions.NotFound()
        viewer_counter.saw(stream_id, self.get_viewer_id(request))
        return self.get_playlist_response(servable(entry))

    def get_viewer_id(self, request: Request) -> str:
        """Who is polling, for the viewer count (``broadcast_api.viewers``): a hash of the
        playback token, the client's address and its user agent. Rendition polls carry
        the master's token, so a viewer counts once; viewers sharing an address and a
        browser count once unless their tokens differ. Override to count by your own
        id (a session, a user; ``viewers.viewer_id`` hashes it)."""
        meta = request.META
        return viewer_id(
            request.query_params.get("token", ""),
            meta.get("REMOTE_ADDR", ""),
            meta.get("HTTP_USER_AGENT", ""),
        )

    def get_playlist_response(self, entry: CachedPlaylist) -> HttpResponse:
        """The playlist, cacheable by clients for what is left of its freshness, and
        gzip-encoded (compressed once per refresh) for a client that accepts it.

        With ``Content-Encoding`` set, Django's ``GZipMiddleware`` leaves the response
        alone, so a host with or without it never encodes twice.
        """
        gzipped = entry.gzipped is not None and accepts_gzip(
            self.request.META.get("HTTP_ACCEPT_ENCODING", "")
        )
        response = HttpResponse(entry.gzipped if gzipped else entry.body, content_type=MEDIA_TYPE)
        if gzipped:
            response["Content-Encoding"] = "gzip"
        response["Vary"] = "Accept-Encoding"  # a new response: nothing to merge with
        scope = "public" if entry.audience.is_public else "private"
        response["Cache-Control"] = f"{scope}, max-age={entry.max_age(time.time())}"
        return response

    @staticmethod
    def _admits(request: Request, audience: Audience, token_for_this_stream: bool) -> bool:
        """``audience.admits``, asking for ``request.user`` (so authenticating) only when
        neither the token nor the stream's being public already admits."""
        if token_for_this_stream or audience.is_public:
            return True
        return audience.admits(request.user, token_for_this_stream=False)

    @staticmethod
    def _stream_uuid(value: str | None) -> uuid.UUID:
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise exceptions.NotFound() from None

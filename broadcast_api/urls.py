"""URLs: ``path("", include("broadcast_api.urls"))`` serves ``/stream/start/`` etc.

A host that registers its own subclass of ``StreamViewSet`` should use
:class:`StreamRouter` too, so the playlist is ``/stream/<id>/playlist.m3u8``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.routers import SimpleRouter

from broadcast_api.views import StreamViewSet

if TYPE_CHECKING:
    from rest_framework.routers import Route

app_name = "broadcast_api"


class StreamRouter(SimpleRouter):
    """``SimpleRouter``, except that an action whose URL names a file (a dot in its
    ``url_path``, like ``playlist.m3u8``) gets no trailing slash."""

    def get_routes(self, viewset: Any) -> list[Route]:
        routes = super().get_routes(viewset)
        return [
            route._replace(url=route.url.replace("{trailing_slash}$", "$"))
            if "." in route.url.rsplit("/", 1)[-1]
            else route
            for route in routes
        ]


router = StreamRouter()
router.register("stream", StreamViewSet, basename="stream")

urlpatterns = router.urls

"""URLs: ``path("", include("broadcast_api.urls"))`` serves ``/stream/start/`` etc."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from broadcast_api.views import StreamViewSet

app_name = "broadcast_api"

router = SimpleRouter()
router.register("stream", StreamViewSet, basename="stream")

urlpatterns = router.urls

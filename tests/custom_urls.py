"""A host's subclass of the ViewSet with its own auth and throttling (README example)."""

from __future__ import annotations

from rest_framework.authentication import TokenAuthentication
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import UserRateThrottle

from broadcast_api.views import StreamViewSet


class OnePerMinute(UserRateThrottle):
    rate = "1/min"


class TokenStreamViewSet(StreamViewSet):
    authentication_classes = [TokenAuthentication]
    throttle_classes = [OnePerMinute]


router = SimpleRouter()
router.register("stream", TokenStreamViewSet, basename="custom-stream")
urlpatterns = router.urls

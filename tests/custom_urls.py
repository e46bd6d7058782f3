"""A host's subclass of the ViewSet with its own auth and throttling (README example)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle

from broadcast_api.serializers import StartedStreamSerializer, StartStreamResponseSerializer
from broadcast_api.urls import StreamRouter
from broadcast_api.views import StreamViewSet


class OnePerMinute(UserRateThrottle):
    rate = "1/min"


class TokenStreamViewSet(StreamViewSet):
    authentication_classes = [TokenAuthentication]
    throttle_classes = [OnePerMinute]


router = SimpleRouter()
router.register("stream", TokenStreamViewSet, basename="custom-stream")
urlpatterns = router.urls


class StartedStreamWithChannel(StartedStreamSerializer):
    """A host adds a field beside the seed's (README: Customising the views)."""

    channel = serializers.SerializerMethodField()

    def get_channel(self, stream: Any) -> str:
        return f"channel-{stream.name or 'unnamed'}"


class StartResponseWithChannel(StartStreamResponseSerializer):
    stream = StartedStreamWithChannel(read_only=True)


class ChannelStreamViewSet(StreamViewSet):
    start_response_serializer_class = StartResponseWithChannel


channel_router = SimpleRouter()
channel_router.register("stream", ChannelStreamViewSet, basename="channel-stream")
channel_urlpatterns = channel_router.urls


class StartRates(ScopedRateThrottle):
    """What ``DEFAULT_THROTTLE_RATES = {"broadcast_start": "2/min"}`` gives a host (DRF
    reads that setting once, when its classes are defined)."""

    THROTTLE_RATES = {"broadcast_start": "2/min"}


class ScopedStreamViewSet(StreamViewSet):
    throttle_classes = [StartRates]


scoped_router = StreamRouter()
scoped_router.register("stream", ScopedStreamViewSet, basename="scoped-stream")
scoped_urlpatterns = scoped_router.urls

"""A host that mounts a StreamViewSet subclass with DRF's own routers, and not
``broadcast_api.urls`` (issue 19: the customising example)."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.authentication import TokenAuthentication
from rest_framework.routers import DefaultRouter, SimpleRouter

from broadcast_api.urls import StreamRouter
from broadcast_api.views import StreamViewSet


class HostStreamViewSet(StreamViewSet):
    authentication_classes = [TokenAuthentication]


simple = SimpleRouter()
simple.register("stream", HostStreamViewSet, basename="host-stream")
default = DefaultRouter()
default.register("stream", HostStreamViewSet, basename="default-stream")
ours = StreamRouter()
ours.register("stream", HostStreamViewSet, basename="ours-stream")

urlpatterns = [
    path("simple/", include(simple.urls)),
    path("default/", include(default.urls)),
    path("ours/", include(ours.urls)),
]

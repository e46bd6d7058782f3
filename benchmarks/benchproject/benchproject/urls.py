"""broadcast_api first, the baseline after it (so the baseline pays for walking past it)."""

from __future__ import annotations

from baseline import views
from django.conf import settings
from django.urls import include, path

urlpatterns = [
    *([path("", include("broadcast_api.urls"))] if getattr(settings, "PACKAGE", True) else []),
    path("baseline/start/", views.start, name="baseline-start"),
    path("baseline/stop/", views.stop, name="baseline-stop"),
    path("baseline/playlist/<uuid:stream_id>.m3u8", views.playlist, name="baseline-playlist"),
    path("__bench/counters/", views.counters, name="bench-counters"),
]

"""Pages of the demo app: the stream list, the player and the browser publisher."""

from __future__ import annotations

from django.urls import path

from demo import views

app_name = "demo"

urlpatterns = [
    path("", views.index, name="index"),
    path("golive/", views.golive, name="golive"),
    path("watch/<uuid:stream_id>/", views.watch, name="watch"),
    path("watch/<uuid:stream_id>/status/", views.status, name="status"),
    path("events/", views.events, name="events"),
    path("webhooks/", views.receive_webhook, name="receive-webhook"),
]

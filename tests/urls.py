from __future__ import annotations

from django.urls import include, path

from tests import custom_urls, host_views

urlpatterns = [
    path("", include("broadcast_api.urls")),
    path("host/start/", host_views.your_start_stream_view),
    path("host/stop/", host_views.your_stop_stream_view),
    path("custom/", include("tests.custom_urls")),
    path("channel/", include(custom_urls.channel_urlpatterns)),
    path("scoped/", include(custom_urls.scoped_urlpatterns)),
]

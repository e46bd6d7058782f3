"""Only the host's ViewSet with a swapped start response serializer, at the root."""

from __future__ import annotations

from tests.custom_urls import channel_urlpatterns

urlpatterns = channel_urlpatterns

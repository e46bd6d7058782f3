"""Moved to ``broadcast_api.webhooks`` (``endpoints`` and ``outbox``); this path keeps
working."""

from __future__ import annotations

from broadcast_api.webhooks.endpoints import (
    ENDPOINTS_CACHE_KEY,
    ENDPOINTS_CACHE_SECONDS,
    Subscriber,
    configured_endpoints,
    configured_secrets,
    forget_stored_endpoints,
    stored_endpoints,
    subscribers,
)
from broadcast_api.webhooks.outbox import event_body, record

__all__ = [
    "ENDPOINTS_CACHE_KEY",
    "ENDPOINTS_CACHE_SECONDS",
    "Subscriber",
    "configured_endpoints",
    "configured_secrets",
    "event_body",
    "forget_stored_endpoints",
    "record",
    "stored_endpoints",
    "subscribers",
]

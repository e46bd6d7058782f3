"""Moved to ``broadcast_api.webhooks`` (``models``, ``events``, ``secrets``); this path
keeps working, and must: migration 0004 names ``new_webhook_secret`` by it."""

from __future__ import annotations

from broadcast_api.webhooks.events import EVENT_TYPES, STREAM_STARTED, STREAM_STOPPED
from broadcast_api.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from broadcast_api.webhooks.secrets import new_webhook_secret

__all__ = [
    "EVENT_TYPES",
    "STREAM_STARTED",
    "STREAM_STOPPED",
    "DeliveryStatus",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "new_webhook_secret",
]

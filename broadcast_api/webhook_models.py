"""Moved to ``broadcast_api.webhooks.models``; this path keeps working."""

from __future__ import annotations

from broadcast_api.webhooks.models import (
    EVENT_TYPES,
    STREAM_STARTED,
    STREAM_STOPPED,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_webhook_secret,
)

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

"""What webhooks do when the app is ready: keep the endpoints' cache honest, and register
their checks. :func:`connect` is called from ``BroadcastAPIConfig.ready()``."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from broadcast_api.webhooks import checks  # noqa: F401  (registers the webhook checks)
from broadcast_api.webhooks.endpoints import forget_stored_endpoints
from broadcast_api.webhooks.models import WebhookEndpoint

__all__ = ["connect"]


def connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(
            forget_stored_endpoints,
            sender=WebhookEndpoint,
            dispatch_uid=f"broadcast_api.events.{signal}",
        )

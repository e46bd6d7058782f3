"""How webhooks join in, called from ``BroadcastAPIConfig.ready()`` (:func:`connect`).

- the outbox as an in-transaction writer of ``broadcast_api.hooks``: for a change whose
  name is a registered event type (``webhooks.events``) and that some endpoint wants;
  for any other change it asks for no transaction;
- the sweep (``broadcast_reap``): deliveries that are due again, or whose worker died;
- the endpoints' cache, forgotten when a ``WebhookEndpoint`` is saved or deleted;
- the webhook checks (registered by importing ``webhooks.checks``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models.signals import post_delete, post_save

from broadcast_api import hooks
from broadcast_api.webhooks import checks  # noqa: F401  (registers the webhook checks)
from broadcast_api.webhooks.delivery import due_deliveries
from broadcast_api.webhooks.endpoints import forget_stored_endpoints, subscribers
from broadcast_api.webhooks.events import event_types
from broadcast_api.webhooks.models import WebhookEndpoint
from broadcast_api.webhooks.outbox import record
from broadcast_api.webhooks.tasks import enqueue_deliveries

if TYPE_CHECKING:
    from broadcast_api.hooks import Change, Writer

__all__ = ["connect", "plan_outbox", "resend_due"]


def plan_outbox(name: str) -> Writer | None:
    """The outbox's writer for a change called ``name``, or ``None`` when no endpoint
    wants it (then nothing is written and no transaction is needed)."""
    if name not in event_types():
        return None
    targets = subscribers(name)
    if not targets:
        return None

    def write(change: Change) -> None:
        record(change.name, change.stream, targets, at=change.at, details=change.details)

    return write


def resend_due() -> int:
    """Enqueue the deliveries that are due and held by no worker; returns how many."""
    return enqueue_deliveries(due_deliveries())


def connect() -> None:
    hooks.in_transaction(plan_outbox)
    hooks.on_sweep("webhooks", resend_due)
    for signal in (post_save, post_delete):
        signal.connect(
            forget_stored_endpoints,
            sender=WebhookEndpoint,
            dispatch_uid=f"broadcast_api.events.{signal}",
        )

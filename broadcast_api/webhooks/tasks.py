"""Webhooks' task: one delivery attempt, run after the commit (``broadcast_api.deferred``).

Queued rows name it ``broadcast_api.tasks.deliver_webhook`` (its path before the
features had packages); that module still re-exports it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from broadcast_api.deferred import enqueue, supports_defer, task
from broadcast_api.webhooks.delivery import attempt

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "deliver_webhook",
    "enqueue_deliveries",
    "enqueue_delivery",
    "schedule_delivery",
]


@task
def deliver_webhook(delivery_id: int) -> str:
    """Try one webhook delivery (see ``delivery``); retries are later runs of this task."""
    return attempt(delivery_id, schedule=schedule_delivery if supports_defer() else None)


def enqueue_delivery(delivery_id: int) -> None:
    enqueue(deliver_webhook, delivery_id)


def enqueue_deliveries(delivery_ids: Iterable[int]) -> int:
    """Enqueue each delivery; returns how many."""
    count = 0
    for delivery_id in delivery_ids:
        enqueue_delivery(delivery_id)
        count += 1
    return count


def schedule_delivery(delivery_id: int, delay_seconds: float) -> None:
    """Run the delivery again in ``delay_seconds`` (a retry, or a backstop)."""
    enqueue(
        deliver_webhook,
        delivery_id,
        run_after=timezone.now() + timedelta(seconds=delay_seconds),
    )

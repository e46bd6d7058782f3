"""The package's tasks, by the dotted paths queued rows store.

Each feature owns its tasks now (``lifecycle.tasks``, ``webhooks.tasks``) and the
Tasks framework is reached through ``broadcast_api.deferred``; a row queued as
``broadcast_api.tasks.finalize_recording`` or ``broadcast_api.tasks.deliver_webhook``
still finds its task here.
"""

from __future__ import annotations

from broadcast_api.deferred import enqueue, supports_defer, task_backend
from broadcast_api.lifecycle.tasks import enqueue_finalize_recording, finalize_recording
from broadcast_api.webhooks.tasks import (
    deliver_webhook,
    enqueue_deliveries,
    enqueue_delivery,
    schedule_delivery,
)

__all__ = [
    "deliver_webhook",
    "enqueue",
    "enqueue_deliveries",
    "enqueue_delivery",
    "enqueue_finalize_recording",
    "finalize_recording",
    "schedule_delivery",
    "supports_defer",
    "task_backend",
]

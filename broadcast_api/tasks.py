"""Work done after commit, outside the request: Django's Tasks framework.

``django.tasks`` on Django 6; on Django 5.2 the ``django-tasks`` backport, which the
host installs (``pip install django-tasks``; check ``broadcast_api.E017`` says so). The
host picks the backend in ``TASKS``: with none configured, Django's immediate backend
runs each task right after the commit, in the same process; with a real one (for
example ``django-tasks-db``), workers run them. ``BROADCAST_API_TASK_BACKEND`` and
``BROADCAST_API_TASK_QUEUE`` say which backend alias and queue ours go to.

Tasks take JSON-serialisable arguments (ids as strings) and are safe to run twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from broadcast_api.conf import conf

try:
    from django.tasks import task
except ImportError:  # pragma: no cover  (Django 5.2: the backport; tox runs it)
    from django_tasks import task  # type: ignore[no-redef,import-not-found,unused-ignore]

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from broadcast_api.models import AbstractStream

logger = logging.getLogger("broadcast_api.tasks")


def enqueue(task_object: Any, *args: Any, run_after: datetime | None = None) -> None:
    """Enqueue on the configured backend and queue (to run at once, or not before
    ``run_after``); a failure to enqueue is logged (the work is retried by
    ``broadcast_reap``), never raised into the request."""
    try:
        task_object.using(
            backend=conf.TASK_BACKEND, queue_name=conf.TASK_QUEUE, run_after=run_after
        ).enqueue(*args)
    except Exception as exc:
        logger.error("could not enqueue %s: %s", task_object.name, type(exc).__name__)


@task
def finalize_recording(stream_id: str) -> bool:
    """Close the stream's playlist with ``#EXT-X-ENDLIST`` (see ``lifecycle``)."""
    from broadcast_api.lifecycle import finalize_recording_of

    return finalize_recording_of(stream_id)


def enqueue_finalize_recording(stream: AbstractStream) -> None:
    enqueue(finalize_recording, str(stream.pk))


@task
def deliver_webhook(delivery_id: int) -> str:
    """Try one webhook delivery (see ``delivery``); retries are later runs of this task."""
    from broadcast_api.delivery import attempt

    return attempt(delivery_id, schedule=schedule_delivery if supports_defer() else None)


def task_backend() -> Any:
    """The backend our tasks go to (``BROADCAST_API_TASK_BACKEND``)."""
    return deliver_webhook.using(backend=conf.TASK_BACKEND).get_backend()


def supports_defer() -> bool:
    """Whether the backend can run a task later (workers: yes; the immediate one: no)."""
    try:
        return bool(task_backend().supports_defer)
    except Exception:  # a misconfigured backend: E017 says which
        return False


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

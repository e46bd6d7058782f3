"""Work done after commit, outside the request: Django's Tasks framework.

``django.tasks`` on Django 6; on Django 5.2 the ``django-tasks`` backport. The host
picks the backend in ``TASKS``: with none configured, Django's immediate backend runs
each task right after the commit, in the same process; with a real one (for example
``django-tasks-db``), workers run them. ``BROADCAST_API_TASK_BACKEND`` and
``BROADCAST_API_TASK_QUEUE`` say which backend alias and queue ours go to.

Each feature declares its own tasks with :func:`task` and enqueues them with
:func:`enqueue`. Tasks take JSON-serialisable arguments (ids as strings) and are safe to
run twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from broadcast_api.conf import conf

try:
    from django.tasks import task, task_backends
except ImportError:  # pragma: no cover  (Django 5.2: the backport; tox runs it)
    from django_tasks import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        task,
        task_backends,
    )

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["enqueue", "supports_defer", "task", "task_backend"]

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


def task_backend() -> Any:
    """The backend our tasks go to (``BROADCAST_API_TASK_BACKEND``)."""
    return task_backends[conf.TASK_BACKEND]


def supports_defer() -> bool:
    """Whether the backend can run a task later (workers: yes; the immediate one: no)."""
    try:
        return bool(task_backend().supports_defer)
    except Exception:  # a misconfigured backend: E017 says which
        return False

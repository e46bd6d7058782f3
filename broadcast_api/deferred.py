"""Work done after commit, outside the request: Django's Tasks framework, when there is one.

``django.tasks`` on Django 6; on Django 5.2 the ``django-tasks`` backport when it is
installed. The host picks the backend in ``TASKS``: with none configured, Django's
immediate backend runs each task as it is enqueued, in the same process; with a real one
(for example ``django-tasks-db``), workers run them. ``BROADCAST_API_TASK_BACKEND`` and
``BROADCAST_API_TASK_QUEUE`` say which backend alias and queue ours go to.

With no framework at all (Django 5.2 without the backport), :func:`task` makes an
:class:`InProcessTask` instead, which behaves as the immediate backend does: the task
runs in this process when it is enqueued, its errors logged, never raised. Ours are
enqueued from on-commit callbacks, so on every line they run after the commit that
caused them. Check ``broadcast_api.W007`` recommends real workers then.

Each feature declares its own tasks with :func:`task` and enqueues them with
:func:`enqueue`. Tasks take JSON-serialisable arguments (ids as strings) and are safe to
run twice.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from typing import TYPE_CHECKING, Any

from broadcast_api.conf import conf

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

__all__ = [
    "FRAMEWORK",
    "InProcessBackend",
    "InProcessTask",
    "enqueue",
    "supports_defer",
    "task",
    "task_backend",
]

logger = logging.getLogger("broadcast_api.tasks")


def _framework() -> Any:
    """``django.tasks``, else the ``django_tasks`` backport, else ``None``."""
    for name in ("django.tasks", "django_tasks"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


_tasks = _framework()
# Which framework runs our tasks: "django.tasks", "django_tasks", or None (in-process).
FRAMEWORK: str | None = _tasks.__name__ if _tasks is not None else None


class InProcessBackend:
    """The stand-in for a task backend when there is no framework: it cannot defer."""

    alias = "default"
    supports_defer = False


@dataclasses.dataclass(frozen=True)
class InProcessTask:
    """What :func:`task` makes without a Tasks framework (the parts of Django's ``Task``
    the package uses). ``enqueue()`` runs the function at once, in this process."""

    func: Callable[..., Any]
    run_after: datetime | None = None
    elsewhere: str = ""  # a backend or queue asked for, which nothing here can honour

    @property
    def name(self) -> str:
        return self.func.__name__

    @property
    def module_path(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def using(
        self,
        *,
        priority: int | None = None,
        queue_name: str | None = None,
        run_after: datetime | None = None,
        backend: str | None = None,
    ) -> InProcessTask:
        asked = [name for name in (backend, queue_name) if name not in (None, "default")]
        return dataclasses.replace(self, run_after=run_after, elsewhere=", ".join(asked))

    def get_backend(self) -> InProcessBackend:
        return InProcessBackend()

    def call(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def enqueue(self, *args: Any, **kwargs: Any) -> None:
        if self.run_after is not None:
            raise ValueError("without a Tasks framework nothing can run a task later")
        if self.elsewhere:
            raise ValueError(f"without a Tasks framework there is no {self.elsewhere!r}")
        try:
            self.func(*args, **kwargs)
        except Exception as exc:  # as the immediate backend: the task failed, not the caller
            logger.error("task %s failed: %s", self.name, type(exc).__name__)


def task(func: Callable[..., Any]) -> Any:
    """``@task``: the framework's, or an :class:`InProcessTask` without one."""
    if _tasks is None:
        return InProcessTask(func)
    return _tasks.task(func)


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
    if _tasks is None:
        return InProcessBackend()
    return _tasks.task_backends[conf.TASK_BACKEND]


def supports_defer() -> bool:
    """Whether the backend can run a task later (workers: yes; the immediate one: no)."""
    try:
        return bool(task_backend().supports_defer)
    except Exception:  # a misconfigured backend: E017 says which
        return False

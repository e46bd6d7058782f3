"""What the core announces, and who listens: one registry, two moments, plus a sweep.

The core (``services``) announces each change of a stream by name (``stream.started``,
``stream.stopped``); a feature announces its own (``stream.deleted``,
``stream.recording_ready``: lifecycle). Features subscribe in their
``receivers.connect()``, called from ``BroadcastAPIConfig.ready()``; the core imports
none of them.

- **In the transaction** (:func:`in_transaction`): a *planner*, asked before the change
  with the change's name, returns a *writer* to run inside the change's transaction, or
  ``None`` when it has nothing to write (so a start or stop nobody writes for opens no
  transaction and makes no extra query). Writers' errors propagate: the change rolls
  back with them. The webhook outbox is one.
- **After commit** (:func:`after_commit`): receivers run once the change is committed
  (``transaction.on_commit``), never for a change that rolled back: the signals,
  closing recordings.
- **Sweep** (:func:`on_sweep`): periodic work (``manage.py broadcast_reap``) each
  feature does for itself, e.g. webhooks re-enqueueing deliveries whose task was lost.

Plain lists, not ``Signal``: a receiver is never dropped (signals hold theirs weakly),
and subscribing the same function twice keeps one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from django.db import transaction

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from broadcast_api.models import AbstractStream

__all__ = [
    "RECORDING_READY",
    "STREAM_DELETED",
    "STREAM_DISCONNECTED",
    "STREAM_RECONNECTED",
    "STREAM_STARTED",
    "STREAM_STOPPED",
    "Change",
    "Planner",
    "Receiver",
    "Writer",
    "after_commit",
    "announce",
    "in_transaction",
    "on_sweep",
    "sweep",
    "unsubscribe",
    "writers_for",
]

STREAM_STARTED = "stream.started"
STREAM_STOPPED = "stream.stopped"
# The broadcaster went quiet (the reaper noticed), and came back (a resume, or uploads
# again in the same session).
STREAM_DISCONNECTED = "stream.disconnected"
STREAM_RECONNECTED = "stream.reconnected"
# Announced by lifecycle: a stream's objects and row are gone; its recording is closed.
STREAM_DELETED = "stream.deleted"
RECORDING_READY = "stream.recording_ready"


@dataclass(frozen=True)
class Change:
    """One announced change: what happened (``name``), to which stream, when, why
    (``reason``: a stop's ``StopReason``, else ``""``), and what else a receiver needs
    to know of it (``details``: e.g. a recording's duration; webhooks send them)."""

    name: str
    stream: AbstractStream
    at: datetime
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


# Runs inside the change's transaction; raising rolls the change back.
Writer: TypeAlias = Callable[[Change], None]
# Asked before a change with its name: a writer, or None for nothing to write.
Planner: TypeAlias = Callable[[str], Writer | None]
# Runs after the change commits.
Receiver: TypeAlias = Callable[[Change], None]


@dataclass(frozen=True)
class _Subscription:
    receiver: Callable[..., Any]
    names: frozenset[str] | None  # None: every change

    def wants(self, name: str) -> bool:
        return self.names is None or name in self.names


_planners: list[_Subscription] = []
_after_commit: list[_Subscription] = []
_sweepers: list[tuple[str, Callable[[], int]]] = []


def _add(registry: list[_Subscription], receiver: Any, names: Iterable[str] | None) -> None:
    subscription = _Subscription(receiver, frozenset(names) if names is not None else None)
    if subscription not in registry:
        registry.append(subscription)


def in_transaction(planner: Planner, *, names: Iterable[str] | None = None) -> None:
    """Subscribe ``planner(name) -> writer | None`` for the changes named (default: all)."""
    _add(_planners, planner, names)


def after_commit(receiver: Receiver, *, names: Iterable[str] | None = None) -> None:
    """Subscribe ``receiver(change)`` to run after the change commits (default: all)."""
    _add(_after_commit, receiver, names)


def on_sweep(name: str, sweeper: Callable[[], int]) -> None:
    """Subscribe ``sweeper() -> how many things it did`` to the periodic sweep."""
    if (name, sweeper) not in _sweepers:
        _sweepers.append((name, sweeper))


def unsubscribe(receiver: Callable[..., Any]) -> None:
    """Remove ``receiver`` (a planner, an after-commit receiver or a sweeper) wherever
    it is subscribed."""
    _planners[:] = [s for s in _planners if s.receiver != receiver]
    _after_commit[:] = [s for s in _after_commit if s.receiver != receiver]
    _sweepers[:] = [(name, s) for name, s in _sweepers if s != receiver]


def writers_for(name: str) -> list[Writer]:
    """Ask the planners before a change: what must be written in its transaction.
    Empty: nobody writes, so the change needs no transaction of its own."""
    found: list[Writer] = []
    for subscription in _planners:
        if subscription.wants(name):
            writer = subscription.receiver(name)
            if writer is not None:
                found.append(writer)
    return found


def announce(change: Change, writers: Iterable[Writer] = ()) -> None:
    """Run ``writers`` (from :func:`writers_for`) now, then have the after-commit
    receivers run once the current transaction commits. Call it inside the change's
    ``transaction.atomic()`` when there are writers."""
    for writer in writers:
        writer(change)
    for subscription in _after_commit:
        if subscription.wants(change.name):
            transaction.on_commit(functools.partial(subscription.receiver, change))


def sweep() -> dict[str, int]:
    """Run every sweeper; returns how many things each did, by name."""
    return {name: sweeper() for name, sweeper in _sweepers}

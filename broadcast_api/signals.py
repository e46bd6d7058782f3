"""Signals sent after the transaction that started or stopped a stream commits.

``stream_started``: ``sender`` the stream model, ``stream``.
``stream_stopped``: ``sender`` the stream model, ``stream``, ``reason`` (a StopReason).
Each is sent exactly once per stream; receivers never see credentials.

:func:`send_for` is the core's own after-commit receiver of ``broadcast_api.hooks``
(subscribed first, in the app's ``ready()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.dispatch import Signal

from broadcast_api.hooks import STREAM_STARTED, STREAM_STOPPED

if TYPE_CHECKING:
    from broadcast_api.hooks import Change

__all__ = ["send_for", "stream_started", "stream_stopped"]

stream_started = Signal()
stream_stopped = Signal()


def send_for(change: Change) -> None:
    """Send the signal of an announced start or stop (other changes have none)."""
    model = type(change.stream)
    if change.name == STREAM_STARTED:
        stream_started.send(sender=model, stream=change.stream)
    elif change.name == STREAM_STOPPED:
        stream_stopped.send(sender=model, stream=change.stream, reason=change.reason)

"""How lifecycle joins in, called from ``BroadcastAPIConfig.ready()`` (:func:`connect`):
after a stop commits, the recording is closed (``BROADCAST_API_FINALIZE_RECORDINGS``);
a deleted user's streams are deleted with ``BROADCAST_API_ON_OWNER_DELETE = "delete"``
(``erasure``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from broadcast_api import hooks
from broadcast_api.conf import conf
from broadcast_api.lifecycle import erasure
from broadcast_api.lifecycle.tasks import enqueue_finalize_recording

if TYPE_CHECKING:
    from broadcast_api.hooks import Change

__all__ = ["close_recording", "connect"]


def close_recording(change: Change) -> None:
    """After a stop commits: enqueue closing its recording."""
    if conf.FINALIZE_RECORDINGS:
        enqueue_finalize_recording(change.stream)


def connect() -> None:
    hooks.after_commit(close_recording, names=[hooks.STREAM_STOPPED])
    erasure.connect()

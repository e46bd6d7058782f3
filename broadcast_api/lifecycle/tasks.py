"""Lifecycle's tasks (``broadcast_api.deferred``): close a recording after its stream
ends; delete a deleted user's streams (erasure).

Queued rows name it ``broadcast_api.tasks.finalize_recording`` (its path before the
features had packages); that module still re-exports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from broadcast_api.deferred import enqueue, task
from broadcast_api.lifecycle.deletion import delete_marked
from broadcast_api.lifecycle.recordings import finalize_recording_of

if TYPE_CHECKING:
    from broadcast_api.models import AbstractStream


@task
def finalize_recording(stream_id: str) -> bool:
    """Close the stream's playlist with ``#EXT-X-ENDLIST`` (see ``recordings``)."""
    return finalize_recording_of(stream_id)


def enqueue_finalize_recording(stream: AbstractStream) -> None:
    enqueue(finalize_recording, str(stream.pk))


@task
def delete_streams(stream_ids: list[str]) -> int:
    """Delete the marked streams among ``stream_ids`` (see ``deletion``); how many went.
    What fails stays marked, and ``reap()`` finishes it."""
    deleted, _ = delete_marked(stream_ids)
    return len(deleted)


def enqueue_deletion(stream_ids: list[Any]) -> None:
    enqueue(delete_streams, [str(stream_id) for stream_id in stream_ids])

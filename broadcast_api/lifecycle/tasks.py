"""Lifecycle's task: close a recording after its stream ends (``broadcast_api.deferred``).

Queued rows name it ``broadcast_api.tasks.finalize_recording`` (its path before the
features had packages); that module still re-exports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from broadcast_api.deferred import enqueue, task
from broadcast_api.lifecycle.recordings import finalize_recording_of

if TYPE_CHECKING:
    from broadcast_api.models import AbstractStream


@task
def finalize_recording(stream_id: str) -> bool:
    """Close the stream's playlist with ``#EXT-X-ENDLIST`` (see ``recordings``)."""
    return finalize_recording_of(stream_id)


def enqueue_finalize_recording(stream: AbstractStream) -> None:
    enqueue(finalize_recording, str(stream.pk))

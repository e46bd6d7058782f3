"""The poster of a broadcaster that never announced it: looked for once, after the stop.

An after-commit receiver of ``stream.stopped`` (:func:`connect`, from
``playback.receivers``): a stream with no ``poster_uploaded_at`` gets one HEAD of its
poster key, and the poster is recorded when it is there (``posters.record_poster``), so
the recording keeps it. A stop that a request made looks at once, so its answer already
carries the poster; a stop by the reaper (``idle``, ``max_duration``) enqueues the look
as a task (:func:`look_for_poster_later`), so that a reap ending a thousand streams does not wait
for a thousand HEADs one after another. Best effort: an S3 or database failure is
logged, never raised (the stop has committed).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from broadcast_api import hooks
from broadcast_api.deferred import enqueue, task
from broadcast_api.exceptions import BroadcastError, PosterNotUploaded
from broadcast_api.models import StopReason, get_stream_model
from broadcast_api.posters import record_poster

if TYPE_CHECKING:
    from broadcast_api.hooks import Change
    from broadcast_api.models import AbstractStream

__all__ = [
    "REAPER_REASONS",
    "connect",
    "look_for_poster",
    "look_for_poster_later",
    "look_for_poster_of",
]

# The stops nobody waits for: the reaper's, whose looks go to a task.
REAPER_REASONS = frozenset({StopReason.IDLE, StopReason.MAX_DURATION})

logger = logging.getLogger("broadcast_api.playback")


def look_for_poster(change: Change) -> None:
    """After a stop commits: record the stream's poster if it has one and nobody said so."""
    stream = change.stream
    if stream.poster_uploaded_at is not None:
        return
    if change.reason in REAPER_REASONS:
        enqueue(look_for_poster_later, str(stream.pk))
        return
    look_for_poster_of(stream)


def look_for_poster_of(stream: AbstractStream) -> bool:
    """One HEAD of the poster key; ``True`` when the poster is now recorded."""
    if stream.poster_uploaded_at is not None:
        return True
    try:
        record_poster(stream)
    except PosterNotUploaded:
        logger.info("stream %s: ended without a poster", stream.pk)
        return False
    except BroadcastError as exc:
        logger.warning("stream %s: poster not looked for (%s)", stream.pk, exc.reason)
        return False
    return True


@task
def look_for_poster_later(stream_id: str) -> bool:
    """The look for a stream the reaper ended, run by a worker."""
    stream = get_stream_model()._default_manager.filter(pk=stream_id).first()
    return stream is not None and look_for_poster_of(stream)


def connect() -> None:
    hooks.after_commit(look_for_poster, names=[hooks.STREAM_STOPPED])

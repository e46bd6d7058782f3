"""The poster of a broadcaster that never announced it: looked for once, after the stop.

An after-commit receiver of ``stream.stopped`` (:func:`connect`, from
``playback.receivers``): a stream with no ``poster_uploaded_at`` gets one HEAD of its
poster key, and the poster is recorded when it is there (``posters.record_poster``), so
the recording keeps it. Best effort: an S3 or database failure is logged, never raised
(the stop has committed).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from broadcast_api import hooks
from broadcast_api.exceptions import BroadcastError, PosterNotUploaded
from broadcast_api.posters import record_poster

if TYPE_CHECKING:
    from broadcast_api.hooks import Change

__all__ = ["connect", "look_for_poster"]

logger = logging.getLogger("broadcast_api.playback")


def look_for_poster(change: Change) -> None:
    """After a stop commits: record the stream's poster if it has one and nobody said so."""
    stream = change.stream
    if stream.poster_uploaded_at is not None:
        return
    try:
        record_poster(stream)
    except PosterNotUploaded:
        logger.info("stream %s: ended without a poster", stream.pk)
    except BroadcastError as exc:
        logger.warning("stream %s: poster not looked for (%s)", stream.pk, exc.reason)


def connect() -> None:
    hooks.after_commit(look_for_poster, names=[hooks.STREAM_STOPPED])

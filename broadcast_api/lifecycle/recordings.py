"""Recordings: an ended stream's playlist, closed so it plays on demand.

:func:`finalize_recording_of` closes an ended stream's playlist with ``#EXT-X-ENDLIST``
when the broadcaster did not. It runs as a task after the stop commits
(``lifecycle.tasks``); whatever it could not do, the next ``reap()`` retries.
"""

from __future__ import annotations

import logging
from typing import Any

import m3u8
from django.utils import timezone

from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.hls import ENDLIST, MEDIA_TYPE, playlist_key
from broadcast_api.models import StreamStatus, get_stream_model
from broadcast_api.storage import ObjectNotFound, get_storage

__all__ = ["ENDLIST", "finalize_recording_of", "with_endlist"]

logger = logging.getLogger("broadcast_api.lifecycle")


def finalize_recording_of(stream_id: Any) -> bool:
    """Append ``#EXT-X-ENDLIST`` to an ended stream's playlist if it lacks one, and mark
    the stream finalized. ``True`` when the recording is now closed (or has no playlist,
    so nothing is left to close); ``False`` when S3 failed (logged; retried by reap)."""
    model = get_stream_model()
    stream = model._default_manager.filter(pk=stream_id).first()
    if stream is None or stream.finalized_at is not None:
        return stream is not None  # gone (nothing to close), or closed already
    if stream.status != StreamStatus.ENDED:
        return False  # still live: its broadcaster may still write the playlist
    storage = get_storage()
    key = playlist_key(stream)
    try:
        stored = storage.read(stream.s3_bucket, key)
        text = stored.body.decode("utf-8", errors="replace")
        if not m3u8.loads(text).is_endlist:
            storage.write(
                stream.s3_bucket, key, with_endlist(text).encode(), content_type=MEDIA_TYPE
            )
            logger.info("stream %s: recording closed with %s", stream.pk, ENDLIST)
    except ObjectNotFound:
        logger.info("stream %s: no playlist was uploaded; no recording to close", stream.pk)
    except StorageUnavailable as exc:
        logger.warning("stream %s: recording not closed (%s); reap retries", stream.pk, exc.reason)
        return False
    model._default_manager.filter(pk=stream.pk, finalized_at__isnull=True).update(
        finalized_at=timezone.now()
    )
    return True


def with_endlist(playlist: str) -> str:
    """The playlist with ``#EXT-X-ENDLIST`` as its last line, the rest as it was."""
    return playlist.rstrip("\n") + f"\n{ENDLIST}\n"

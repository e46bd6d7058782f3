"""Recordings: an ended stream's playlist, closed so it plays on demand.

:func:`finalize_recording_of` closes an ended stream's playlist with ``#EXT-X-ENDLIST``
when the broadcaster did not. It runs as a task after the stop commits
(``lifecycle.tasks``); whatever it could not do, the next ``reap()`` retries. The
stream that gets its ``finalized_at`` announces ``stream.recording_ready`` (once) with
the recording's playback URL and duration (:func:`announce_recording_ready`).

A resumed stream (``publish_session > 1``) is closed by :func:`join_sessions`: its
sessions joined (``broadcast_api.sessions``) and written over the stream's own playlist
(each rendition's, under a master), so ``playback_url`` (the server's or a CDN's) plays
one recording from the first session's first segment to the last one's last.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
from typing import TYPE_CHECKING, Any

import m3u8
from django.db import transaction
from django.utils import timezone

from broadcast_api import hooks
from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.hls import ENDLIST, MEDIA_TYPE, playlist_key
from broadcast_api.models import StreamStatus, get_stream_model
from broadcast_api.sessions import is_master, read_sessions
from broadcast_api.storage import ObjectNotFound, get_storage
from broadcast_api.viewing import playback_url

if TYPE_CHECKING:
    from broadcast_api.models import AbstractStream

__all__ = [
    "ENDLIST",
    "announce_recording_ready",
    "duration_of",
    "finalize_recording_of",
    "join_sessions",
    "with_endlist",
]

logger = logging.getLogger("broadcast_api.lifecycle")


def finalize_recording_of(stream_id: Any) -> bool:
    """Append ``#EXT-X-ENDLIST`` to an ended stream's playlist if it lacks one, and mark
    the stream finalized. ``True`` when the recording is now closed (or has no playlist,
    so nothing is left to close); ``False`` when S3 failed (logged; retried by reap)."""
    model = get_stream_model()
    stream = model._default_manager.filter(pk=stream_id).first()
    if stream is None or stream.finalized_at is not None:
        return stream is not None  # gone (nothing to close), or closed already
    if stream.deleted_at is not None:
        return False  # being deleted: its prefix is being emptied, nothing is written
    if stream.status != StreamStatus.ENDED:
        return False  # still live: its broadcaster may still write the playlist
    storage = get_storage()
    key = playlist_key(stream)
    playlist = None
    try:
        if stream.publish_session > 1:
            playlist = join_sessions(stream)
            announce_recording_ready(stream, playlist)
            return True
        stored = storage.read(stream.s3_bucket, key)
        text = stored.body.decode("utf-8", errors="replace")
        playlist = m3u8.loads(text)
        if not playlist.is_endlist:
            storage.write(
                stream.s3_bucket, key, with_endlist(text).encode(), content_type=MEDIA_TYPE
            )
            logger.info("stream %s: recording closed with %s", stream.pk, ENDLIST)
    except ObjectNotFound:
        logger.info("stream %s: no playlist was uploaded; no recording to close", stream.pk)
    except StorageUnavailable as exc:
        logger.warning("stream %s: recording not closed (%s); reap retries", stream.pk, exc.reason)
        return False
    announce_recording_ready(stream, playlist)
    return True


def announce_recording_ready(stream: AbstractStream, playlist: m3u8.M3U8 | None) -> None:
    """Set ``finalized_at`` (one conditional UPDATE: the first finalizer wins) and, for a
    stream with a playlist, announce ``stream.recording_ready`` in its transaction: the
    playback URL and the duration (the sum of the playlist's ``EXTINF``s, seconds)."""
    now = timezone.now()
    writers = hooks.writers_for(hooks.RECORDING_READY) if playlist is not None else []
    with transaction.atomic() if writers else contextlib.nullcontext():
        updated = (
            type(stream)
            ._default_manager.filter(pk=stream.pk, finalized_at__isnull=True)
            .update(finalized_at=now)
        )
        if updated and playlist is not None:
            stream.finalized_at = now
            recording = {"playback_url": playback_url(stream), "duration": duration_of(playlist)}
            details = {"recording": recording}
            change = hooks.Change(hooks.RECORDING_READY, stream, at=now, details=details)
            hooks.announce(change, writers)


def duration_of(playlist: m3u8.M3U8) -> float | None:
    """Seconds of media: the sum of the ``EXTINF`` durations (``None`` for a master
    playlist, whose renditions hold the segments)."""
    if playlist.is_variant:
        return None
    return round(sum(segment.duration or 0.0 for segment in playlist.segments), 3)


def join_sessions(stream: AbstractStream) -> m3u8.M3U8:
    """Write a resumed stream's sessions, joined and closed, over its own playlist: each
    rendition's under a master (which stays as it is), or the media playlist. Returns
    the stream's playlist as written (the master, or the joined media playlist).

    Safe to repeat: a playlist already joined is read back as it is (``sessions``), and
    viewers read the sessions until ``finalized_at`` is set, after these writes, so none
    joins a joined playlist again. Raises ``ObjectNotFound`` when nothing was uploaded,
    ``StorageUnavailable``.
    """
    storage = get_storage()
    main = read_sessions(stream, cached=False)
    text = main.body.decode("utf-8", errors="replace")
    if not is_master(text):
        return m3u8.loads(_write_closed(stream, "", text))
    prefix_dir = posixpath.dirname(playlist_key(stream))
    master = m3u8.loads(text)
    for variant in [*master.playlists, *master.media, *master.iframe_playlists]:
        if not variant.uri or "://" in variant.uri or variant.uri.startswith("/"):
            continue
        rendition = posixpath.relpath(
            posixpath.normpath(posixpath.join(prefix_dir, variant.uri)), stream.s3_prefix
        )
        if rendition.startswith(".."):
            continue  # outside the prefix: never ours to write
        try:
            joined = read_sessions(stream, rendition, cached=False)
        except ObjectNotFound:
            continue
        _write_closed(stream, rendition, joined.body.decode("utf-8", errors="replace"))
    # The master as it is, at the stream's own key (a later session may be the only
    # one that uploaded it).
    storage.write(stream.s3_bucket, playlist_key(stream), main.body, content_type=MEDIA_TYPE)
    return master


def _write_closed(stream: AbstractStream, rendition: str, text: str) -> str:
    closed = text if text.rstrip().endswith(ENDLIST) else with_endlist(text)
    get_storage().write(
        stream.s3_bucket, playlist_key(stream, rendition), closed.encode(), content_type=MEDIA_TYPE
    )
    logger.info("stream %s: sessions joined into one recording (%s)", stream.pk, rendition or "-")
    return closed


def with_endlist(playlist: str) -> str:
    """The playlist with ``#EXT-X-ENDLIST`` as its last line, the rest as it was."""
    return playlist.rstrip("\n") + f"\n{ENDLIST}\n"

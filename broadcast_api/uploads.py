"""When each stream's playlist was last written, as the playlist endpoint last saw it.

A refresh of a watched stream reads its playlist from S3 anyway (at most twice a second
per stream, never per viewer); it records the playlist's ``LastModified`` here, in the
shared playlist cache (``BROADCAST_API_PLAYLIST_CACHE``). The reaper reads one page of
streams' records with one ``get_many`` and skips the S3 ``HEAD`` of a stream whose
recorded upload is recent enough: ``LastModified`` only moves forward, so a recent record
proves the stream is not idle. A missing or older record proves nothing: the reaper asks
S3. Playback writes, lifecycle reads; neither imports the other.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.core.cache import caches

from broadcast_api.conf import conf

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable

__all__ = ["KEY_PREFIX", "recent", "record"]

logger = logging.getLogger("broadcast_api.uploads")

KEY_PREFIX = "broadcast_api:upload:v1"


def key(stream_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}:{stream_id.hex}"


def _cache() -> Any:
    return caches[conf.PLAYLIST_CACHE]


def record(stream_id: uuid.UUID, last_modified: datetime) -> None:
    """Remember when the stream's playlist was written; kept as long as it can tell the
    reaper anything (the reconnect window). A cache failure is logged, never raised."""
    try:
        _cache().set(key(stream_id), last_modified.timestamp(), timeout=conf.RECONNECT_WINDOW)
    except Exception as exc:  # a hint: it must never fail a viewer's poll
        logger.warning("upload time not recorded for %s: %s", stream_id, type(exc).__name__)


def recent(stream_ids: Iterable[uuid.UUID], *, since: datetime) -> set[uuid.UUID]:
    """The streams whose recorded upload is at or after ``since``, in one ``get_many``
    (none when the cache fails)."""
    keys = {key(stream_id): stream_id for stream_id in stream_ids}
    try:
        found = _cache().get_many(list(keys)) if keys else {}
    except Exception as exc:
        logger.warning("upload times unavailable: %s", type(exc).__name__)
        return set()
    threshold = since.astimezone(UTC).timestamp()
    return {keys[k] for k, written in found.items() if float(written) >= threshold}

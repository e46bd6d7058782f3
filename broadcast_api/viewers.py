"""Concurrent viewers of each stream, counted from the playlist endpoint's polls.

Time is cut into windows of ``BROADCAST_API_VIEWER_WINDOW`` seconds (30 by default). A
viewer counts in every window in which it polls any of the stream's playlists (the
master or a rendition: one viewer however many it polls), and ``viewer_count`` is the
larger of the current window's count and the previous one's. A new viewer therefore
counts from its first poll, and one that has gone stops counting one to two windows
after its last poll.

Everything lives in the cache framework (the ``BROADCAST_API_PLAYLIST_CACHE`` alias;
share it between servers, as the playlists are shared), and a poll never writes to the
database:

- ``{prefix}:<window>:<viewer>``: a marker, ``cache.add``-ed once per viewer and window;
- ``{prefix}:<window>``: the window's count, ``cache.incr``-ed when a marker is new.

Each server process remembers the markers it has added in the current window, so a
viewer's later polls there cost no cache operation at all: a viewer polling every second
costs its server one ``add`` per window, and the fleet one ``incr``.

The windows' counts are kept for the broadcast's length (``BROADCAST_API_MAX_DURATION``,
else a day), so the peak is read once when the stream stops: the largest count of the
windows since it started, in one ``get_many``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import TYPE_CHECKING

from django.core.cache import caches

from broadcast_api.conf import conf

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Iterable
    from datetime import datetime

    from django.core.cache import BaseCache

__all__ = ["KEY_PREFIX", "ViewerCounter", "counter", "viewer_id"]

logger = logging.getLogger("broadcast_api.viewers")

KEY_PREFIX = "broadcast_api:viewers"
# How long a window's count outlives it when no maximum duration bounds a broadcast.
DEFAULT_SPAN = 24 * 3600
# At most this many (stream, viewer) markers are remembered per process and window;
# past it, a poll costs its ``cache.add`` again (the count stays right).
MEMO_LIMIT = 100_000


def viewer_id(*parts: str) -> str:
    """A short, stable, non-reversible id for what identifies a viewer (its token,
    address and user agent): the cache never holds an address in the clear."""
    digest = hashlib.blake2b(digest_size=9)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


class _Memo:
    """The markers this process added in one window."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.seen: set[tuple[uuid.UUID, str]] = set()


class ViewerCounter:
    """Counts viewers per stream in the cache framework (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._memo = _Memo(-1)
        self._lock = threading.Lock()

    @property
    def cache(self) -> BaseCache:
        return caches[conf.PLAYLIST_CACHE]

    @staticmethod
    def window_key(stream_id: uuid.UUID, index: int) -> str:
        return f"{KEY_PREFIX}:{stream_id}:{index}"

    def saw(self, stream_id: uuid.UUID, viewer: str) -> None:
        """Count ``viewer`` as watching ``stream_id`` now. At most one cache operation
        when the viewer is new to this process's window (two when new to every
        process's), none otherwise; a cache failure is logged, never raised."""
        window = conf.VIEWER_WINDOW
        if not window:
            return
        index = int(self.clock() // window)
        memo = self._memo
        if memo.index != index:
            with self._lock:
                if self._memo.index != index:
                    self._memo = _Memo(index)
                memo = self._memo
        if (stream_id, viewer) in memo.seen:
            return
        key = self.window_key(stream_id, index)
        try:
            if self.cache.add(f"{key}:{viewer}", 1, timeout=2 * window):
                self._increment(key, window)
        except Exception as exc:  # a viewer count must never fail a poll
            logger.warning("viewer not counted for stream %s: %s", stream_id, type(exc).__name__)
            return
        if len(memo.seen) < MEMO_LIMIT:
            memo.seen.add((stream_id, viewer))

    def _increment(self, key: str, window: int) -> None:
        cache = self.cache
        try:
            cache.incr(key)
        except ValueError:  # the window's first viewer, here or (racing) elsewhere
            if not cache.add(key, 1, timeout=self._span(window)):
                cache.incr(key)

    @staticmethod
    def _span(window: int) -> int:
        return (conf.MAX_DURATION or DEFAULT_SPAN) + 2 * window

    def counts(self, stream_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        """The viewers of each stream now, in one ``get_many``; 0 when counting is off
        or the cache fails."""
        ids = list(dict.fromkeys(stream_ids))
        window = conf.VIEWER_WINDOW
        if not window or not ids:
            return dict.fromkeys(ids, 0)
        index = int(self.clock() // window)
        keys = {
            stream_id: (self.window_key(stream_id, index), self.window_key(stream_id, index - 1))
            for stream_id in ids
        }
        try:
            found = self.cache.get_many([key for pair in keys.values() for key in pair])
        except Exception as exc:
            logger.warning("viewer counts unavailable: %s", type(exc).__name__)
            found = {}
        return {
            stream_id: max(int(found.get(current, 0)), int(found.get(previous, 0)))
            for stream_id, (current, previous) in keys.items()
        }

    def count(self, stream_id: uuid.UUID) -> int:
        return self.counts([stream_id])[stream_id]

    def peak(self, stream_id: uuid.UUID, since: datetime) -> int:
        """The largest window count since ``since`` (a stream's start), in one
        ``get_many``; 0 when counting is off or the cache fails."""
        window = conf.VIEWER_WINDOW
        if not window:
            return 0
        last = int(self.clock() // window)
        first = max(int(since.timestamp() // window), last - self._span(window) // window)
        keys = [self.window_key(stream_id, index) for index in range(first, last + 1)]
        try:
            found = self.cache.get_many(keys)
        except Exception as exc:
            logger.warning("peak viewers unavailable for %s: %s", stream_id, type(exc).__name__)
            return 0
        return max((int(value) for value in found.values()), default=0)


# The process's counter: the playlist endpoint counts with it, representations read it.
counter = ViewerCounter()

"""Refreshing a whole EVENT playlist by rewriting only what was appended.

An ``EVENT`` playlist only ever grows at its end (RFC 8216 4.3.3.5): segments, and at
last ``EXT-X-ENDLIST``. So when the text a refresh reads starts with the text the last
refresh rewrote, only the appended part is new. :func:`rewrite_appended` parses that part
with the ``m3u8`` library (behind the header and the ``EXT-X-MAP`` and ``EXT-X-KEY`` in
force where it begins), signs its URIs, writes its segments after the last rewritten one,
and continues the gzip stream where the last refresh left it, so a refresh of a two-hour
``?window=all`` playlist parses, signs, writes and compresses one new segment, not
7,200. The result is the body a full rewrite gives (``tests/test_playlist_appending.py``
checks that on generated playlists).

Each rewritten segment keeps its URL, so the signed URLs in the body age: once the oldest
has less than a quarter of its lifetime left, the next refresh is a full rewrite, which
re-signs them. Anything this does not recognise (another type of playlist, a changed
beginning, tags other than a segment's, low-latency parts) gets the full rewrite too.

What is remembered is per process and bounded (the playlists rewritten last); a server
that did not do the previous refresh does a full one.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import m3u8

from broadcast_api.playback.window import is_segment_tag, tag_in_force

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["AppendedRewrites", "RewriteState", "appended_rewrites", "appended_text"]

ENDLIST = "#EXT-X-ENDLIST"
# What a full rewrite can serve and an appended rewrite can continue: a plain media
# playlist, with no tag after its segments other than ENDLIST.
UNCONTINUABLE = (
    "#EXT-X-STREAM-INF",
    "#EXT-X-PART:",
    "#EXT-X-PART-INF",
    "#EXT-X-PRELOAD-HINT",
    "#EXT-X-RENDITION-REPORT",
    "#EXT-X-SKIP",
    "#EXT-X-SERVER-CONTROL",
    "#EXT-X-I-FRAMES-ONLY",
)
GZIP_WBITS = 31  # zlib's gzip container: a header, then the CRC-32 and length at the end


@dataclass(frozen=True)
class RewriteState:
    """What a refresh leaves for the next one to continue from."""

    source: str  # the broadcaster's text, as read
    text: str  # its rewrite, up to the end of the last segment (no ENDLIST, no newline)
    last_segment: Any  # the last rewritten ``m3u8.Segment``: what the next one follows
    header: str  # the source's header lines and the MAP and KEY in force at its end
    valid_until: float  # every signed URL in ``text`` stays valid at least until then
    gzip_prefix: bytes  # ``text`` gzip-encoded and flushed (Z_SYNC_FLUSH), not finished
    compressor: Any  # the ``zlib`` compressor that wrote ``gzip_prefix``, to go on with

    @classmethod
    def after_full_rewrite(
        cls, source: str, playlist: m3u8.M3U8, body: bytes, valid_until: float, level: int
    ) -> RewriteState | None:
        """The state a full rewrite of ``source`` (parsed and rewritten: ``playlist``,
        written: ``body``) leaves, when later refreshes could continue it; else ``None``."""
        if (
            str(playlist.playlist_type or "").lower() != "event"
            or playlist.is_endlist
            or not playlist.segments
            or any(tag in source for tag in UNCONTINUABLE)
            or not source.endswith("\n")
        ):
            return None
        text = body.decode()
        if not text.endswith("\n") or text.endswith("\n\n"):
            return None
        text = text[:-1]
        compressor = zlib.compressobj(level, zlib.DEFLATED, GZIP_WBITS)
        gzip_prefix = compressor.compress(text.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return cls(
            source=source,
            text=text,
            last_segment=playlist.segments[-1],
            header=continuation_header(source),
            valid_until=valid_until,
            gzip_prefix=gzip_prefix,
            compressor=compressor,
        )

    def continued(
        self,
        source: str,
        *,
        media: Callable[[m3u8.M3U8], None],
        valid_until: float,
    ) -> tuple[bytes, bytes, RewriteState | None] | None:
        """``(body, gzipped, next state)`` for ``source``, this state's source with more
        appended, rewriting only the appended part (``media`` signs a parsed playlist's
        URIs in place); ``None`` when ``source`` is not such a continuation."""
        appended = appended_text(self.source, source)
        if appended is None:
            return None
        tail = m3u8.loads(self.header + appended)
        if not (tail.segments or tail.is_endlist) or not all(s.uri for s in tail.segments):
            return None
        media(tail)
        written: list[str] = []
        last = self.last_segment
        for segment in tail.segments:
            written.append(segment.dumps(last))
            last = segment
        text = "\n".join([self.text, *written]) if written else self.text
        ending = "\n" + ENDLIST + "\n" if tail.is_endlist else "\n"
        compressor = self.compressor.copy()
        gzip_prefix = self.gzip_prefix
        if written:
            gzip_prefix += compressor.compress(("\n" + "\n".join(written)).encode())
            gzip_prefix += compressor.flush(zlib.Z_SYNC_FLUSH)
        finishing = compressor.copy()
        gzipped = gzip_prefix + finishing.compress(ending.encode()) + finishing.flush()
        body = (text + ending).encode()
        if tail.is_endlist:
            return body, gzipped, None  # nothing follows a recording's end
        state = RewriteState(
            source=source,
            text=text,
            last_segment=last,
            header=continuation_header(source),
            valid_until=min(self.valid_until, valid_until),
            gzip_prefix=gzip_prefix,
            compressor=compressor,
        )
        return body, gzipped, state


def appended_text(previous: str, source: str) -> str | None:
    """What ``source`` appends to ``previous`` when that is all that changed and it is
    only media segments (and perhaps ``EXT-X-ENDLIST`` last); else ``None``."""
    if not source.startswith(previous) or len(source) == len(previous):
        return None
    appended = source[len(previous) :]
    for raw in appended.splitlines():
        line = raw.strip()
        if line.startswith("#EXT") and not (is_segment_tag(line) or line == ENDLIST):
            return None
    if ENDLIST in appended and not appended.rstrip().endswith(ENDLIST):
        return None
    return appended


def continuation_header(source: str) -> str:
    """The text an appended part is parsed behind: the source's header (its tags that
    are not a segment's, up to the first segment) and the ``EXT-X-MAP`` and ``EXT-X-KEY``
    in force at its end, so the first appended segment parses as it does in the whole."""
    first = source.find("\n#EXTINF:")
    head = source[: first + 1] if first >= 0 else source
    lines = [line for line in head.splitlines() if not is_segment_tag(line)]
    lines += [line for line in (tag_in_force(source, "#EXT-X-MAP:"),) if line]
    lines += [line for line in (tag_in_force(source, "#EXT-X-KEY:"),) if line]
    return "\n".join(lines) + "\n"


class AppendedRewrites:
    """The last :class:`RewriteState` of each whole playlist this process refreshed,
    for the streams refreshed last (``max_playlists``: each holds its text twice)."""

    def __init__(self, max_playlists: int = 64) -> None:
        self._lock = threading.Lock()
        self._states: OrderedDict[str, RewriteState] = OrderedDict()
        self.max_playlists = max_playlists

    def get(self, key: str) -> RewriteState | None:
        with self._lock:
            return self._states.get(key)

    def put(self, key: str, state: RewriteState | None) -> None:
        with self._lock:
            if state is None:
                self._states.pop(key, None)
                return
            self._states[key] = state
            self._states.move_to_end(key)
            while len(self._states) > self.max_playlists:
                self._states.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()


appended_rewrites = AppendedRewrites()

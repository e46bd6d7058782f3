"""A resumed stream's publishing sessions, read as one playlist.

Each session (``publish_session``: 1 at the start, one more per resume) uploads the same
layout in its own folder (``hls.session_playlist_key``), so a resumed broadcaster never
writes over what an earlier one uploaded. :func:`read_sessions` joins them for viewers
and for the recording: the sessions' segments in order, ``#EXT-X-DISCONTINUITY`` before
the first segment of each later session, the first session's header (with the largest
``EXT-X-TARGETDURATION``), so the media sequence keeps increasing and no segment is lost
or repeated. A master playlist (several renditions) is served as it is; each rendition
it names is joined the same way.

Joined as text, with ``str`` methods and two regular expressions, as ``playback.window``
cuts it: what comes out is a playlist whose later sessions' URIs are relative to the
stream's own playlist, so the rewrite, the live window and the appended rewrites work on
it unchanged, and it only ever grows at its end while the current session does.

An earlier session no longer changes once a later one has uploaded its first playlist,
so that part is joined once and kept in the playlist cache. A stream that never resumed
(almost every one) reads its one playlist and never comes here.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

import m3u8
from django.core.cache import caches
from django.utils import timezone

from broadcast_api.conf import conf
from broadcast_api.hls import ENDLIST, is_segment_tag, playlist_key, session_playlist_key
from broadcast_api.storage import NotModified, ObjectNotFound, StoredObject, get_storage

if TYPE_CHECKING:
    from broadcast_api.models import AbstractStream

__all__ = [
    "DISCONTINUITY",
    "EARLIER_CACHE_SECONDS",
    "Joined",
    "first_rendition",
    "is_master",
    "joined_already",
    "last_upload",
    "note_resumed",
    "read_sessions",
    "relative_dir",
    "session_written_at",
]

DISCONTINUITY = "#EXT-X-DISCONTINUITY"
EARLIER_CACHE_SECONDS = 3600
# How long a session's rendition (for the reaper's liveness) is remembered: a day.
MAX_SESSION_SECONDS = 24 * 3600
CACHE_KEY_PREFIX = "broadcast_api:sessions:v1"
# A relative URI line (not a tag, not absolute, not rooted), and a relative URI="..."
# attribute (EXT-X-MAP, EXT-X-KEY): where a later session's URIs get their folder.
URI_LINE_RE = re.compile(r"^(?=[^#\s])(?![A-Za-z][A-Za-z0-9+.-]*:)(?!/)", re.M)
URI_ATTRIBUTE_RE = re.compile(r'(URI=")(?![A-Za-z][A-Za-z0-9+.-]*:)(?!/)')
TARGET_RE = re.compile(r"^#EXT-X-TARGETDURATION:\s*([0-9]+)", re.M)
MASTER_TAGS = ("#EXT-X-STREAM-INF", "#EXT-X-I-FRAME-STREAM-INF")


def relative_dir(stream: AbstractStream, session: int, rendition: str = "") -> str:
    """Session ``session``'s folder for that playlist, relative to the stream's own
    playlist's folder: ``session-2``, or ``../session-2/720p`` for a rendition."""
    own = posixpath.dirname(session_playlist_key(stream, session, rendition))
    return posixpath.relpath(own, posixpath.dirname(playlist_key(stream, rendition)))


def is_master(text: str) -> bool:
    return any(tag in text for tag in MASTER_TAGS)


def joined_already(stream: AbstractStream, text: str, rendition: str = "") -> bool:
    """Whether the stream's own playlist is a joined one (the recording, once closed):
    it names a later session's folder, which the first session's never does."""
    return any(
        f"\n{relative_dir(stream, session, rendition)}/" in text
        or f'URI="{relative_dir(stream, session, rendition)}/' in text
        for session in range(2, stream.publish_session + 1)
    )


@dataclass(frozen=True)
class Joined:
    """Sessions joined so far: the first one's header, every segment, whether it ended."""

    header: str = ""  # the lines before the first segment (ends with a newline)
    body: str = ""  # the segments, later sessions' URIs made relative; ends with a newline
    target: int = 0  # the largest EXT-X-TARGETDURATION seen
    ended: bool = False  # the last session joined ends with EXT-X-ENDLIST
    last_modified: datetime | None = None  # when the newest session joined was written

    def then(self, text: str, folder: str, last_modified: datetime | None = None) -> Joined:
        """These sessions, then the playlist ``text`` of a session in ``folder``
        (relative to the stream's playlist; ``""``: the stream's own folder), written at
        ``last_modified``."""
        text = text.replace("\r\n", "\n")
        header, body = _split(text)
        stripped = body.rstrip()
        ended = stripped.endswith(ENDLIST)
        if ended:
            body = stripped[: -len(ENDLIST)]
        # No segment yet (at most its EXT-X-MAP): nothing to join, no discontinuity.
        body = body.rstrip("\n") + "\n" if re.search(r"^[^#\s]", body, re.M) else ""
        if folder and body:
            body = URI_ATTRIBUTE_RE.sub(rf"\g<1>{folder}/", URI_LINE_RE.sub(f"{folder}/", body))
        match = TARGET_RE.search(header)
        target = max(self.target, int(match.group(1)) if match else 0)
        written = last_modified or self.last_modified
        if not self.header:
            return Joined(header, body, target, ended, written)
        if body and self.body:
            body = f"{DISCONTINUITY}\n{body}"
        return Joined(self.header, self.body + body, target, ended, written)

    def text(self) -> str:
        """The joined playlist; with ``EXT-X-ENDLIST`` if the last session wrote it."""
        header = TARGET_RE.sub(f"#EXT-X-TARGETDURATION:{self.target}", self.header, count=1)
        return header + self.body + (f"{ENDLIST}\n" if self.ended else "")


def _split(text: str) -> tuple[str, str]:
    """The header (every line before the first segment's) and the rest."""
    position = 0
    while position < len(text):
        end = text.find("\n", position)
        end = len(text) if end < 0 else end + 1
        line = text[position:end].strip()
        if line and (is_segment_tag(line) or not line.startswith("#") or line == ENDLIST):
            break
        position = end
    return text[:position], text[position:]


def read_sessions(
    stream: AbstractStream, rendition: str = "", *, if_none_match: str = "", cached: bool = True
) -> StoredObject:
    """The stream's playlist (``rendition``) joined across its publishing sessions.

    ``etag`` names the current session and its playlist's ETag; with ``if_none_match``
    naming the same, raises ``NotModified`` when that playlist has not changed. Raises
    ``ObjectNotFound`` when no session has uploaded this playlist yet, and
    ``StorageUnavailable``. ``cached``: keep the earlier sessions' part in the playlist
    cache (the viewers' path); the recording reads everything afresh.
    """
    storage = get_storage()
    session = stream.publish_session
    tag = f"s{session}:"
    known = if_none_match[len(tag) :] if if_none_match.startswith(tag) else ""
    try:
        current: StoredObject | None = storage.read(
            stream.s3_bucket, session_playlist_key(stream, session, rendition), if_none_match=known
        )
    except ObjectNotFound:
        current = None
    cache = caches[conf.PLAYLIST_CACHE] if cached else None
    key = f"{CACHE_KEY_PREFIX}:{stream.pk.hex}:{quote(rendition or '-', safe='')}:{session}"
    earlier: Joined | StoredObject | None = cache.get(key) if cache is not None else None
    if earlier is None:
        earlier = _earlier_sessions(stream, rendition)
        # Final once this session has uploaded: the earlier one's last writes landed.
        if cache is not None and current is not None:
            cache.set(key, earlier, timeout=EARLIER_CACHE_SECONDS)
    if isinstance(earlier, StoredObject):  # a master, or the recording: as it is
        if if_none_match == tag + earlier.etag:
            raise NotModified()
        return replace(earlier, etag=tag + earlier.etag)
    if current is not None:
        text = current.body.decode("utf-8", errors="replace")
        if not earlier.header and is_master(text):  # only this session wrote a master
            return replace(current, etag=tag + current.etag)
        earlier = earlier.then(
            text, relative_dir(stream, session, rendition), current.last_modified
        )
    if not earlier.header or earlier.last_modified is None:
        raise ObjectNotFound()
    return StoredObject(
        body=earlier.text().encode(),
        etag=tag + (current.etag if current is not None else ""),
        last_modified=earlier.last_modified,  # the earlier session's until this one writes
    )


def _earlier_sessions(stream: AbstractStream, rendition: str) -> Joined | StoredObject:
    """Sessions 1 to ``publish_session - 1`` joined; or the first session's object as it
    is when it is a master playlist, or already the joined recording."""
    storage = get_storage()
    joined = Joined()
    for session in range(1, stream.publish_session):
        try:
            stored = storage.read(
                stream.s3_bucket, session_playlist_key(stream, session, rendition)
            )
        except ObjectNotFound:
            continue  # that session never uploaded this playlist
        text = stored.body.decode("utf-8", errors="replace")
        if not joined.header and (is_master(text) or joined_already(stream, text, rendition)):
            return stored
        folder = relative_dir(stream, session, rendition) if session > 1 else ""
        joined = joined.then(text, folder, stored.last_modified)
    return joined


# -- the broadcaster's last sign of life ------------------------------------------------


def _resumed_key(stream: AbstractStream) -> str:
    return f"{CACHE_KEY_PREFIX}:resumed:{stream.pk.hex}"


def note_resumed(stream: AbstractStream, at: datetime) -> None:
    """Remember a resume as a sign of life until the new session's first playlist
    upload (the reaper's rule counts it), for one reconnect window."""
    caches[conf.PLAYLIST_CACHE].set(
        _resumed_key(stream), at.timestamp(), timeout=conf.RECONNECT_WINDOW
    )


def session_written_at(stream: AbstractStream, session: int) -> datetime | None:
    """When session ``session`` last wrote its playlist: its ``LastModified`` (one HEAD).

    A master playlist (several renditions) is uploaded once, and then only its renditions
    change, so a master that looks quiet (older than ``DISCONNECT_TIMEOUT``) is read once
    to find its first rendition, whose playlist then tells (one more HEAD). Which
    rendition a session's playlist has (or that it has none) is kept in the playlist
    cache, so a broadcast is read at most once per session; a media playlist that is
    rewritten as it should be is never read at all.
    """
    storage = get_storage()
    key = session_playlist_key(stream, session)
    written = storage.last_modified(stream.s3_bucket, key)
    if written is None or written >= timezone.now() - timedelta(seconds=conf.DISCONNECT_TIMEOUT):
        return written
    cache = caches[conf.PLAYLIST_CACHE]
    memo = f"{CACHE_KEY_PREFIX}:rendition:{stream.pk.hex}:{session}"
    rendition: str | None = cache.get(memo)
    if rendition is None:
        try:
            text = storage.read(stream.s3_bucket, key).body.decode("utf-8", errors="replace")
        except ObjectNotFound:
            return None
        rendition = first_rendition(text)
        cache.set(memo, rendition, timeout=MAX_SESSION_SECONDS)
    if not rendition:
        return written  # a media playlist: quiet indeed
    written_rendition = storage.last_modified(
        stream.s3_bucket, posixpath.normpath(posixpath.join(posixpath.dirname(key), rendition))
    )
    return max(written, written_rendition) if written_rendition else written


def first_rendition(text: str) -> str:
    """The first rendition a master playlist names (relative to it); ``""`` for a media
    playlist, or a master whose variant URIs are absolute (nothing under the prefix)."""
    if not is_master(text):
        return ""
    for variant in m3u8.loads(text).playlists:
        uri = variant.uri or ""
        if uri and "://" not in uri and not uri.startswith("/"):
            return uri
    return ""


def last_upload(stream: AbstractStream) -> datetime | None:
    """When the broadcaster last wrote the stream's playlist: the current session's
    ``LastModified`` (one S3 HEAD, as before resumes existed), else the newest earlier
    session's, or the resume itself if later. ``None``: never. Raises
    ``StorageUnavailable``."""
    found: datetime | None = None
    for session in range(stream.publish_session, 0, -1):
        found = session_written_at(stream, session)
        if found is not None or session == 1:
            break
    if stream.publish_session > 1 and (found is None or session < stream.publish_session):
        resumed = caches[conf.PLAYLIST_CACHE].get(_resumed_key(stream))
        if resumed is not None:
            at = datetime.fromtimestamp(resumed, tz=UTC)
            found = at if found is None else max(found, at)
    return found

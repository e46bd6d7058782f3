"""Serving a stream's HLS playlist to many viewers: rewrite once, share through the cache.

A refresh reads the broadcaster's playlist from S3 with the server's own identity, and
rewrites it with the ``m3u8`` library: every media URI under the stream's prefix
(segments, partial segments, init sections, keys, preload hints) becomes a signed URL
(``BROADCAST_API_MEDIA_SIGNER``: a presigned S3 URL by default, see ``signers``); every
nested playlist (variants, renditions, i-frame playlists, rendition reports) becomes
this server's playlist URL for that rendition, with a token naming the stream. URIs that
are absolute, or that resolve outside the stream's prefix, are left as the broadcaster
wrote them and never signed.

The result is shared through Django's cache (``BROADCAST_API_PLAYLIST_CACHE``) for about
half a target duration (a recording, which no longer changes, for longer), with one
refresh in flight per stream and rendition: a ``cache.add`` lock across processes (and
servers, with a shared cache such as Redis), and a thread lock within one. While a
refresh is in flight the others serve the entry they have; on an S3 failure the stale
entry is served as long as its URLs stay valid. A conditional GET (``If-None-Match``)
skips the rewrite when the playlist has not changed. Each refresh also gzip-encodes the
rewrite once, and the cache holds both, so serving a viewer that accepts gzip costs no
compression.
"""

from __future__ import annotations

import gzip
import logging
import posixpath
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, unquote, urlencode, urlsplit

import m3u8
from django.core.cache import caches

from broadcast_api import uploads
from broadcast_api.conf import conf
from broadcast_api.exceptions import PlaylistNotReady, StorageUnavailable
from broadcast_api.hls import MEDIA_TYPE, playlist_key
from broadcast_api.playback.appending import RewriteState, appended_rewrites
from broadcast_api.playback.window import keep_live_window, live_window_text
from broadcast_api.sessions import read_sessions
from broadcast_api.signers import get_media_signer
from broadcast_api.storage import NotModified, ObjectNotFound, StoredObject, get_storage
from broadcast_api.viewing import Audience, playback_token

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable

    from broadcast_api.models import AbstractStream

__all__ = [
    "CACHE_KEY_PREFIX",
    "LOCK_SECONDS",
    "MEDIA_TYPE",
    "NOT_READY_SECONDS",
    "CachedPlaylist",
    "PlaylistCache",
    "PresignedUrls",
    "Rewritten",
    "cache_key",
    "freshness",
    "gzip_once",
    "nested_playlist_url",
    "presigned_urls",
    "resolve_key",
    "rewrite",
    "rewrite_uris",
    "servable",
    "url_lifetime",
]

logger = logging.getLogger("broadcast_api.playlists")

CACHE_KEY_PREFIX = "broadcast_api:playlist:v1"
NOT_READY_SECONDS = 1.0  # how long "no playlist yet" is shared before S3 is asked again
LOCK_SECONDS = 15  # longest a refresh may hold the cross-process lock
WAIT_STEP_SECONDS = 0.02
GZIP_MIN_BYTES = 200  # below this gzip's own header outweighs the savings (as GZipMiddleware)
GZIP_LEVEL = 6


class CachedPlaylist(NamedTuple):
    """One rewritten playlist (or "not there yet"), as the cache holds it.

    A named tuple: every viewer's request unpickles one, so it is kept cheap to load.
    """

    body: bytes | None  # None: S3 had no playlist at this key
    etag: str
    ended: bool
    target_duration: float
    fresh_until: float
    usable_until: float  # its presigned URLs stay valid at least this long
    audience: Audience  # who may watch, as the stream's row said at this refresh
    renditions: tuple[str, ...] = ()  # the nested playlists it points to
    gzipped: bytes | None = None  # ``body`` gzip-encoded once per refresh, if that is smaller

    def is_fresh(self, now: float) -> bool:
        return now < self.fresh_until

    def is_usable(self, now: float) -> bool:
        return now < self.usable_until

    def max_age(self, now: float) -> int:
        """Seconds a client may reuse it: what is left of its freshness."""
        return max(0, int(self.fresh_until - now))


@dataclass(frozen=True)
class Rewritten:
    body: bytes
    target_duration: float
    ended: bool
    renditions: tuple[str, ...] = ()
    # The parsed playlist, rewritten: what an appended rewrite continues from.
    playlist: m3u8.M3U8 | None = field(default=None, compare=False, repr=False)


def servable(entry: CachedPlaylist) -> CachedPlaylist:
    """``entry``, unless it says the broadcaster has not uploaded a playlist yet."""
    if entry.body is None:
        raise PlaylistNotReady("The broadcaster has not uploaded a playlist yet.")
    return entry


# -- rewriting ----------------------------------------------------------------------------


def resolve_key(uri: str, *, base_dir: str, prefix: str) -> str | None:
    """The S3 key a playlist URI names, if it is relative and stays under ``prefix/``."""
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return None
    key = posixpath.normpath(posixpath.join(base_dir, unquote(parts.path)))
    return key if key.startswith(prefix + "/") else None


def rewrite(
    text: str,
    *,
    playlist_key: str,
    prefix: str,
    media_url: Callable[[str], str],
    playlist_url: Callable[[str], str],
    live_window: float | None = None,
) -> Rewritten:
    """Rewrite the URIs of the playlist at ``playlist_key`` (see the module docstring).

    ``media_url(key)`` presigns a media object; ``playlist_url(rendition)`` names a nested
    playlist (``rendition``: its key relative to ``prefix``). With ``live_window``
    (seconds), a live media playlist keeps only its newest segments (``window``), cut
    from the text before it is parsed, so nothing outside the window is parsed or signed.
    """
    if live_window is not None:
        text = live_window_text(text, live_window)  # the window's text, parsed alone
    playlist = m3u8.loads(text)
    if live_window is not None:
        keep_live_window(playlist, live_window)
    renditions = rewrite_uris(
        playlist,
        playlist_key=playlist_key,
        prefix=prefix,
        media_url=media_url,
        playlist_url=playlist_url,
    )
    return Rewritten(
        body=playlist.dumps().encode(),
        target_duration=float(playlist.target_duration or 0),
        ended=bool(playlist.is_endlist),
        renditions=renditions,
        playlist=playlist,
    )


def rewrite_uris(
    playlist: m3u8.M3U8,
    *,
    playlist_key: str,
    prefix: str,
    media_url: Callable[[str], str],
    playlist_url: Callable[[str], str],
) -> tuple[str, ...]:
    """Rewrite a parsed playlist's URIs in place; returns the renditions it names."""
    base_dir = posixpath.dirname(playlist_key)
    signed: dict[str, str] = {}
    unsafe: set[str] = set()
    renditions: list[str] = []

    def key_of(uri: str) -> str | None:
        """The key ``uri`` names under the prefix; ``None`` (noted as unsafe) if none."""
        key = resolve_key(uri, base_dir=base_dir, prefix=prefix)
        if key is None:
            unsafe.add(uri)
        return key

    def media(uri: str | None) -> str | None:
        key = key_of(uri) if uri else None
        if key is None:
            return uri
        if key not in signed:  # one URL per key: m3u8 copies an init section per segment
            signed[key] = media_url(key)
        return signed[key]

    def nested(uri: str | None) -> str | None:
        key = key_of(uri) if uri else None
        if key is None:
            return uri
        rendition = key[len(prefix) + 1 :]
        renditions.append(rendition)
        return playlist_url(rendition)

    for segment in playlist.segments:
        segment.uri = media(segment.uri)
        if segment.init_section is not None:
            segment.init_section.uri = media(segment.init_section.uri)
        for part in segment.parts:
            part.uri = media(part.uri)
    for key in [*playlist.keys, *playlist.session_keys]:
        if key is not None and key.uri:
            key.uri = media(key.uri)
    for init_section in playlist.segment_map:
        init_section.uri = media(init_section.uri)
    if playlist.preload_hint is not None:
        playlist.preload_hint.uri = media(playlist.preload_hint.uri)
    for variant in [*playlist.playlists, *playlist.iframe_playlists, *playlist.media]:
        variant.uri = nested(variant.uri)
    for report in playlist.rendition_reports:
        report.uri = nested(report.uri)
    if unsafe:
        logger.warning(
            "playlist %s names %d URI(s) outside its prefix or absolute; left unsigned",
            playlist_key,
            len(unsafe),
        )
    return tuple(dict.fromkeys(renditions))


# -- presigned URLs, kept between refreshes ------------------------------------------------


class PresignedUrls:
    """Presigned URLs per stream, reused while they have more than half their life left.

    A live playlist changes every segment but keeps most of its URIs; presigning costs
    about a third of a millisecond each, so an hour-long EVENT playlist would otherwise
    cost a second of CPU per refresh. Bounded: the streams seen last, and per stream only
    the keys of its latest playlist.
    """

    def __init__(self, max_streams: int = 1000) -> None:
        self._lock = threading.Lock()
        self._by_stream: OrderedDict[str, dict[str, tuple[str, float]]] = OrderedDict()
        self._max_streams = max_streams

    def signer(
        self, stream_key: str, bucket: str
    ) -> tuple[Callable[[str], str], Callable[..., None]]:
        """``(sign, done)``: ``sign(key)`` gives a URL; ``done()`` keeps what was used
        (``done(keep_unused=True)`` also what was known: a rewrite of an appended part
        uses only the new keys). URLs of another signer (the setting changed) are never
        reused."""
        stream_key = f"{conf.MEDIA_SIGNER}|{stream_key}"
        with self._lock:
            known = dict(self._by_stream.get(stream_key, {}))
        used: dict[str, tuple[str, float]] = {}
        media_signer = get_media_signer()
        ttl = media_signer.url_lifetime()
        now = time.time()

        def sign(key: str) -> str:
            found = known.get(key)
            if found is None or found[1] - now < ttl / 2:
                url = media_signer.sign(key, bucket=bucket, expires_in=ttl)
                found = (url, now + ttl)
            used[key] = found
            return found[0]

        def done(*, keep_unused: bool = False) -> None:
            with self._lock:
                self._by_stream[stream_key] = {**known, **used} if keep_unused else used
                self._by_stream.move_to_end(stream_key)
                while len(self._by_stream) > self._max_streams:
                    self._by_stream.popitem(last=False)

        return sign, done

    def clear(self) -> None:
        with self._lock:
            self._by_stream.clear()


presigned_urls = PresignedUrls()


# -- the cache ----------------------------------------------------------------------------


def cache_key(stream_id: uuid.UUID, rendition: str, *, whole: bool = False) -> str:
    """Where one view of one playlist is shared: the live window (the default), or the
    whole playlist (``whole``: what ``?window=all`` asks for)."""
    key = f"{CACHE_KEY_PREFIX}:{stream_id.hex}:{quote(rendition or '-', safe='')}"
    return key + ":all" if whole else key


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(key: str) -> threading.Lock:
    with _thread_locks_guard:
        lock = _thread_locks.get(key)
        if lock is None:
            if len(_thread_locks) > 10_000:  # keep the registry bounded
                _thread_locks.clear()
            lock = _thread_locks[key] = threading.Lock()
        return lock


class PlaylistCache:
    """The shared, rewritten playlists of every stream (one per rendition)."""

    # What this process remembers to rewrite only the appended part of a whole playlist.
    appended_rewrites = appended_rewrites

    def __init__(self, alias: str | None = None) -> None:
        self.alias = alias

    @property
    def cache(self) -> Any:
        return caches[self.alias or conf.PLAYLIST_CACHE]

    def get(
        self, stream_id: uuid.UUID, rendition: str = "", *, whole: bool = False
    ) -> CachedPlaylist | None:
        entry: CachedPlaylist | None = self.cache.get(cache_key(stream_id, rendition, whole=whole))
        return entry

    def forget_stream(self, stream_id: uuid.UUID) -> None:
        """Drop every playlist of the stream (its main one and the renditions it lists),
        e.g. when who may watch it changes: the next viewer's request reads its row."""
        main = self.get(stream_id) or self.get(stream_id, whole=True)
        renditions = main.renditions if main is not None else ()
        self.cache.delete_many(
            [
                cache_key(stream_id, rendition, whole=whole)
                for rendition in ("", *renditions)
                for whole in (False, True)
            ]
        )

    def refreshed(
        self,
        stream: AbstractStream,
        rendition: str = "",
        *,
        playlist_url: Callable[[str], str],
        stale: CachedPlaylist | None = None,
        whole: bool = False,
    ) -> CachedPlaylist:
        """A fresh entry for ``stream``, refreshing it at most once at a time; the live
        window of a live playlist unless ``whole``.

        Raises :class:`PlaylistNotReady`, or :class:`StorageUnavailable` when S3 fails
        and no usable entry is left.
        """
        key = cache_key(stream.pk, rendition, whole=whole)
        lock_key = key + ":lock"
        with _thread_lock(key):
            now = time.time()
            current = self.get(stream.pk, rendition, whole=whole) or stale
            if current is not None and current.is_fresh(now):
                return servable(current)  # another thread or server just refreshed it
            if not self.cache.add(lock_key, 1, timeout=LOCK_SECONDS):
                return self._wait_for_other_server(stream.pk, rendition, current, whole)
            try:
                # Another server may have refreshed between our read and our lock.
                current = self.get(stream.pk, rendition, whole=whole) or current
                if current is not None and current.is_fresh(time.time()):
                    return servable(current)
                entry = self._refresh(stream, rendition, current, playlist_url, whole)
                # Shared before the lock goes, so no one finds neither lock nor entry.
                timeout = max(1, int(entry.usable_until - time.time()))
                self.cache.set(key, entry, timeout=timeout)
            except StorageUnavailable:
                if current is not None and current.is_usable(time.time()):
                    logger.warning("serving a stale playlist of stream %s", stream.pk)
                    return servable(current)
                raise
            finally:
                self.cache.delete(lock_key)
            return servable(entry)

    # -- internals ------------------------------------------------------------------------

    def _wait_for_other_server(
        self,
        stream_id: uuid.UUID,
        rendition: str,
        current: CachedPlaylist | None,
        whole: bool = False,
    ) -> CachedPlaylist:
        """Another process holds the refresh: serve what we have, or wait for its result."""
        if current is not None and current.is_usable(time.time()):
            return servable(current)
        deadline = time.monotonic() + LOCK_SECONDS
        while time.monotonic() < deadline:
            time.sleep(WAIT_STEP_SECONDS)
            entry = self.get(stream_id, rendition, whole=whole)
            if entry is not None and entry is not current and entry.is_usable(time.time()):
                return servable(entry)
        raise StorageUnavailable("The playlist could not be read in time.", reason="s3_timeout")

    def _refresh(
        self,
        stream: AbstractStream,
        rendition: str,
        current: CachedPlaylist | None,
        playlist_url: Callable[[str], str],
        whole: bool = False,
    ) -> CachedPlaylist:
        key = playlist_key(stream, rendition)
        audience = Audience.of(stream)
        now = time.time()
        previous_etag = current.etag if current is not None and current.body is not None else ""
        try:
            stored = self._read(stream, rendition, key, if_none_match=previous_etag)
        except ObjectNotFound:
            return CachedPlaylist(
                body=None,
                etag="",
                ended=False,
                target_duration=0.0,
                fresh_until=now + NOT_READY_SECONDS,
                usable_until=now + NOT_READY_SECONDS,
                audience=audience,
            )
        except NotModified:
            assert current is not None
            if current.usable_until - now > url_lifetime() / 4:
                return current._replace(
                    fresh_until=now + freshness(current.ended, current.target_duration),
                    audience=audience,
                )
            stored = self._read(stream, rendition, key)  # URLs ageing: re-sign
        if not rendition:  # the playlist the reaper checks: one HEAD it can skip
            uploads.record(stream.pk, stored.last_modified)
        text = stored.body.decode("utf-8", errors="replace")
        view = ":all" if whole else ""
        sign, keep = presigned_urls.signer(f"{stream.pk.hex}:{rendition}{view}", stream.s3_bucket)
        lifetime = url_lifetime()
        valid_until = now + lifetime / 2  # what the signer's reuse rule guarantees
        if whole and current is not None and current.body is not None:

            def sign_uris(playlist: m3u8.M3U8) -> None:
                rewrite_uris(
                    playlist,
                    playlist_key=key,
                    prefix=stream.s3_prefix,
                    media_url=sign,
                    playlist_url=playlist_url,
                )

            appended = self._rewrite_appended(
                stream, rendition, text, media=sign_uris, now=now, valid_until=valid_until
            )
            if appended is not None:
                keep(keep_unused=True)
                body, gzipped, usable_until = appended
                ended = body.endswith(b"#EXT-X-ENDLIST\n")
                return current._replace(
                    body=body,
                    etag=stored.etag,
                    ended=ended,
                    fresh_until=now + freshness(ended, current.target_duration),
                    usable_until=usable_until,
                    audience=audience,
                    gzipped=gzipped,
                )
        rewritten = rewrite(
            text,
            playlist_key=key,
            prefix=stream.s3_prefix,
            media_url=sign,
            playlist_url=playlist_url,
            live_window=None if whole else conf.LIVE_WINDOW,
        )
        keep()
        if whole and rewritten.playlist is not None:
            self.appended_rewrites.put(
                self._appended_key(stream, rendition),
                RewriteState.after_full_rewrite(
                    text, rewritten.playlist, rewritten.body, valid_until, GZIP_LEVEL
                ),
            )
        return CachedPlaylist(
            body=rewritten.body,
            etag=stored.etag,
            ended=rewritten.ended,
            target_duration=rewritten.target_duration,
            fresh_until=now + freshness(rewritten.ended, rewritten.target_duration),
            usable_until=valid_until,
            audience=audience,
            renditions=rewritten.renditions,
            gzipped=gzip_once(rewritten.body),
        )

    @staticmethod
    def _read(
        stream: AbstractStream, rendition: str, key: str, *, if_none_match: str = ""
    ) -> StoredObject:
        """The playlist as broadcast: a resumed stream's sessions joined (``sessions``)
        until its recording is closed, which is then the stream's own playlist again."""
        if stream.publish_session > 1 and stream.finalized_at is None:
            return read_sessions(stream, rendition, if_none_match=if_none_match)
        return get_storage().read(stream.s3_bucket, key, if_none_match=if_none_match)

    def _appended_key(self, stream: AbstractStream, rendition: str) -> str:
        return f"{conf.MEDIA_SIGNER}|{stream.pk.hex}:{rendition}"

    def _rewrite_appended(
        self,
        stream: AbstractStream,
        rendition: str,
        text: str,
        *,
        media: Callable[[m3u8.M3U8], None],
        now: float,
        valid_until: float,
    ) -> tuple[bytes, bytes, float] | None:
        """``(body, gzipped, usable until)`` of a whole EVENT playlist from what was
        appended since this process last rewrote it (``appending``), while the URLs
        that rewrite signed have more than a quarter of their lifetime left."""
        state_key = self._appended_key(stream, rendition)
        state = self.appended_rewrites.get(state_key)
        if state is None or state.valid_until - now <= url_lifetime() / 4:
            return None
        continued = state.continued(text, media=media, valid_until=valid_until)
        if continued is None:
            return None
        body, gzipped, next_state = continued
        self.appended_rewrites.put(state_key, next_state)
        return body, gzipped, min(state.valid_until, valid_until)


def gzip_once(body: bytes) -> bytes | None:
    """``body`` gzip-encoded, deterministically (no timestamp in the header), for every
    viewer that accepts it until the next refresh; ``None`` when that would not be
    smaller (a short playlist), as Django's ``GZipMiddleware`` decides."""
    if len(body) < GZIP_MIN_BYTES:
        return None
    encoded = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
    return encoded if len(encoded) < len(body) else None


def url_lifetime() -> int:
    """How long the URLs in a rewrite stay valid: signed media URLs (the media signer's
    lifetime) and nested-playlist tokens, whichever expires first."""
    return min(get_media_signer().url_lifetime(), conf.PLAYBACK_TOKEN_TTL)


def freshness(ended: bool, target_duration: float) -> float:
    """How long one rewrite is shared: half a target duration while live (at least a
    quarter second); a quarter of the URLs' lifetime once the playlist has ended."""
    if ended:
        return url_lifetime() / 4
    return max(0.25, target_duration / 2)


def nested_playlist_url(
    base_url: str, stream_id: uuid.UUID, *, whole: bool = False
) -> Callable[[str], str]:
    """``playlist_url`` for :meth:`PlaylistCache.refreshed`: this server's URL of a
    rendition, with a token naming the stream (whoever got the main playlist may watch),
    and ``window=all`` when the master was asked for whole."""

    def url(rendition: str) -> str:
        query = {"rendition": rendition, "token": playback_token(stream_id)}
        if whole:
            query["window"] = "all"
        return f"{base_url}?" + urlencode(query)

    return url

"""Mirrors ffmpeg's local HLS output to the stream's prefix, in the protocol's order.

For each media playlist (one, or one per rendition): every segment it lists that was not
uploaded yet, then the playlist itself, so a playlist in S3 never names a missing
segment. The master playlist (several renditions) goes up once every rendition's
playlist is there. The poster goes up whenever ffmpeg has written a new one, and after
the first one that arrives ``on_poster`` announces it (until it succeeds). Nothing is
uploaded twice under one name, except the playlists and the poster, which are meant to
change.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from broadcast_publish.layout import PLAYLIST_NAME, POSTER_NAME, rendition_playlist
from broadcast_publish.uploader import UploadError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from broadcast_publish.uploader import Uploader

log = logging.getLogger(__name__)

ENDLIST = "#EXT-X-ENDLIST"


def segment_uris(playlist: str) -> list[str]:
    """The media URIs a playlist lists, in order (every non-tag, non-blank line)."""
    return [
        line.strip() for line in playlist.splitlines() if line.strip() and not line.startswith("#")
    ]


def with_endlist(playlist: str) -> str:
    """The playlist, ended: ``#EXT-X-ENDLIST`` appended unless already there."""
    if ENDLIST in playlist:
        return playlist
    return playlist.rstrip("\n") + f"\n{ENDLIST}\n"


@dataclass
class HlsMirror:
    """The local output directory, and what of it is in S3 already."""

    workdir: Path
    uploader: Uploader
    renditions: tuple[str, ...] = ()
    delete_uploaded: bool = True
    uploaded: set[str] = field(default_factory=set)
    last_playlists: dict[str, str] = field(default_factory=dict)
    master_uploaded: bool = False
    poster_mtime: float = 0.0
    posters_sent: int = 0
    on_first_upload: Callable[[], None] | None = None
    # Announces the poster; True once the server has it (then never called again).
    on_poster: Callable[[], bool] | None = None
    poster_announced: bool = False

    @property
    def media_playlists(self) -> list[str]:
        if not self.renditions:
            return [PLAYLIST_NAME]
        return [rendition_playlist(name) for name in self.renditions]

    @property
    def segments_uploaded(self) -> int:
        return len(self.uploaded)

    def sync(self, *, final: bool = False) -> bool:
        """Upload what is new. ``False`` when something could not be uploaded yet (its
        playlist is then held back, and the next call tries again)."""
        # Every rendition, even after one failed (a list, not all()'s short circuit).
        results = [self._sync_playlist(name, final=final) for name in self.media_playlists]
        ok = all(results)
        if ok and self.renditions and not self.master_uploaded:
            ok = self._sync_master()
        self._sync_poster()
        return ok

    def _sync_playlist(self, name: str, *, final: bool) -> bool:
        try:
            playlist = (self.workdir / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return not final or name in self.last_playlists
        if final:
            playlist = with_endlist(playlist)
        if playlist == self.last_playlists.get(name):
            return True
        base = posixpath.dirname(name)
        for uri in segment_uris(playlist):
            if "/" in uri or uri.startswith("."):
                log.error("refusing to upload unexpected playlist entry %r", uri)
                return False
            key = posixpath.join(base, uri)
            if key in self.uploaded:
                continue
            segment = self.workdir / key
            try:
                body = segment.read_bytes()
            except FileNotFoundError:
                log.error("segment %s listed but missing; skipping it", key)
                self.uploaded.add(key)
                continue
            try:
                self.uploader.put(key, body)
            except UploadError as exc:
                log.error("%s", exc)
                return False
            self.uploaded.add(key)
            if self.delete_uploaded:
                segment.unlink(missing_ok=True)
        try:
            self.uploader.put(name, playlist.encode("utf-8"))
        except UploadError as exc:
            log.error("%s", exc)
            return False
        first = not self.last_playlists
        self.last_playlists[name] = playlist
        if first and not self.renditions and self.on_first_upload is not None:
            self.on_first_upload()
        return True

    def _sync_master(self) -> bool:
        if not all(name in self.last_playlists for name in self.media_playlists):
            return True  # not every rendition is up yet: the master would name a 404
        try:
            master = (self.workdir / PLAYLIST_NAME).read_bytes()
        except FileNotFoundError:
            return True
        try:
            self.uploader.put(PLAYLIST_NAME, master)
        except UploadError as exc:
            log.error("%s", exc)
            return False
        self.master_uploaded = True
        if self.on_first_upload is not None:
            self.on_first_upload()
        return True

    def _sync_poster(self) -> None:
        """The newest poster, when ffmpeg has renamed a new one into place; a failure is
        logged and retried with the next picture (it never holds the video back)."""
        path = self.workdir / POSTER_NAME
        try:
            mtime = path.stat().st_mtime
            if mtime == self.poster_mtime:
                return
            body = path.read_bytes()
        except FileNotFoundError:
            return
        try:
            self.uploader.put(POSTER_NAME, body)
        except UploadError as exc:
            log.warning("poster not uploaded: %s", exc)
            return
        self.poster_mtime = mtime
        self.posters_sent += 1
        if not self.poster_announced and self.on_poster is not None:
            self.poster_announced = self.on_poster()

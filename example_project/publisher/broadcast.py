"""One broadcast: start the stream, encode, upload as segments finish, finish, stop."""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publisher.api import ApiError, BroadcastApi, UploadTarget
from publisher.encoder import (
    PLAYLIST_NAME,
    EncoderSettings,
    build_command,
    drawtext_available,
    ffmpeg_executable,
)
from publisher.uploader import Uploader, UploadError

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

ENDLIST = "#EXT-X-ENDLIST"
POLL_SECONDS = 0.1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGTERM ffmpeg if the publisher dies unannounced (e.g. SIGKILL), so an
    endless test-pattern encoder is never left behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def emit(event: str, **data: Any) -> None:
    """One JSON line on stdout per lifecycle event, for scripts driving the publisher."""
    sys.stdout.write(json.dumps({"event": event, **data}, sort_keys=True) + "\n")
    sys.stdout.flush()


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
class PlaylistSync:
    """Mirrors the local HLS output to S3, segments first, then the playlist naming them."""

    workdir: Path
    uploader: Uploader
    delete_uploaded: bool = True
    uploaded: set[str] = field(default_factory=set)
    last_playlist: str = ""
    on_first_upload: Callable[[], None] | None = None

    def sync(self, *, final: bool = False) -> bool:
        """Upload what is new. Returns False when something could not be uploaded yet
        (then the playlist is held back, and the next call tries again)."""
        path = self.workdir / PLAYLIST_NAME
        try:
            playlist = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return True
        if final:
            playlist = with_endlist(playlist)
        if playlist == self.last_playlist:
            return True
        for uri in segment_uris(playlist):
            if uri in self.uploaded:
                continue
            if "/" in uri or uri.startswith("."):
                log.error("refusing to upload unexpected playlist entry %r", uri)
                return False
            segment = self.workdir / uri
            try:
                body = segment.read_bytes()
            except FileNotFoundError:
                log.error("segment %s listed but missing; skipping it", uri)
                self.uploaded.add(uri)
                continue
            try:
                self.uploader.put(uri, body)
            except UploadError as exc:
                log.error("%s", exc)
                return False
            self.uploaded.add(uri)
            if self.delete_uploaded:
                segment.unlink(missing_ok=True)
        try:
            self.uploader.put(PLAYLIST_NAME, playlist.encode("utf-8"))
        except UploadError as exc:
            log.error("%s", exc)
            return False
        if not self.last_playlist and self.on_first_upload is not None:
            self.on_first_upload()
        self.last_playlist = playlist
        return True


@dataclass
class Options:
    api: str
    user: str
    password: str
    name: str
    duration: float | None
    encoder: EncoderSettings
    s3_endpoint_url: str | None = None
    keep_workdir: bool = False
    public: bool = False


class Broadcaster:
    """Runs one broadcast to completion. :meth:`request_stop` may be called from a signal
    handler; the broadcast then ends cleanly (final playlist, stream stopped)."""

    def __init__(self, options: Options, *, api: BroadcastApi | None = None) -> None:
        self.options = options
        self.api = api or BroadcastApi(options.api, options.user, options.password)
        self._stop = threading.Event()
        self.stop_reason = ""

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop.set()

    def run(self) -> int:
        """Broadcast; returns the process exit code."""
        try:
            started = self.api.start(self.options.name, public=self.options.public)
            target = UploadTarget.from_start_response(
                started, fallback_endpoint_url=self.options.s3_endpoint_url
            )
        except ApiError as exc:
            log.error("could not start the stream: %s", exc)
            return 2
        log.info(
            "stream %s started: uploading to s3://%s/%s/ (%s), credentials valid %.0fs",
            target.stream_id,
            target.bucket,
            target.path,
            target.endpoint_url or "AWS",
            target.expiration_seconds,
        )
        emit(
            "started",
            stream=started["stream"],
            s3_bucket=target.bucket,
            s3_bucket_path=target.path,
            s3_endpoint_url=target.endpoint_url,
        )
        code = 1
        try:
            code = self._broadcast(target)
        finally:
            code = self._stop_stream(target, code)
        return code

    def _broadcast(self, target: UploadTarget) -> int:
        exe = ffmpeg_executable()
        drawtext = self.options.encoder.input is None and drawtext_available(exe)
        with contextlib.ExitStack() as stack:
            if self.options.keep_workdir:
                root = Path(tempfile.mkdtemp(prefix="publisher-"))
                log.info("keeping the HLS output in %s", root)
            else:
                root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="publisher-")))
            outdir = root / "hls"
            outdir.mkdir()
            argv = build_command(
                exe, self.options.encoder, outdir, clock_epoch=time.time(), drawtext=drawtext
            )
            log.debug("ffmpeg: %s", " ".join(argv))
            uploader = Uploader(
                target,
                refresh=lambda: self._refreshed(target),
                on_refresh=lambda new: emit(
                    "credentials_refreshed",
                    stream_id=new.stream_id,
                    expiration_seconds=new.expiration_seconds,
                ),
            )
            sync = PlaylistSync(
                outdir,
                uploader,
                delete_uploaded=not self.options.keep_workdir,
                on_first_upload=lambda: emit("first_upload", stream_id=target.stream_id),
            )
            # Own session: a Ctrl-C in the terminal reaches us only, and we end ffmpeg
            # gracefully so that it closes the last segment and writes the end of list.
            ffmpeg = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
            started = time.monotonic()
            try:
                while ffmpeg.poll() is None:
                    duration = self.options.duration
                    if duration is not None and time.monotonic() - started >= duration:
                        self.request_stop("duration elapsed")
                    if self._stop.is_set():
                        break
                    sync.sync()
                    self._stop.wait(POLL_SECONDS)
            finally:
                asked_to_stop = ffmpeg.poll() is None
                self._end_ffmpeg(ffmpeg)
            if not asked_to_stop and ffmpeg.returncode != 0:
                log.error("ffmpeg exited with %s", ffmpeg.returncode)
            log.info("finishing: %s", self.stop_reason or "ffmpeg ended")
            ok = self._final_sync(sync)
            log.info(
                "uploaded %d objects (%.1f MB), %d segments",
                sync.uploader.objects_sent,
                sync.uploader.bytes_sent / 1e6,
                len(sync.uploaded),
            )
            if not ok or (not asked_to_stop and ffmpeg.returncode != 0):
                return 1
            return 0

    def _refreshed(self, target: UploadTarget) -> UploadTarget:
        """New credentials for the same stream and prefix (``POST .../credentials/``)."""
        answer = self.api.refresh(target.stream_id)
        return UploadTarget.from_start_response(
            answer, fallback_endpoint_url=self.options.s3_endpoint_url
        )

    def _final_sync(self, sync: PlaylistSync) -> bool:
        for _ in range(5):
            if sync.sync(final=True):
                return True
            time.sleep(1)
        log.error("could not upload the final playlist")
        return False

    @staticmethod
    def _end_ffmpeg(ffmpeg: subprocess.Popen[bytes]) -> None:
        """SIGINT makes ffmpeg close the last segment and write the end of the list."""
        if ffmpeg.poll() is not None:
            return
        try:
            ffmpeg.send_signal(signal.SIGINT)
            ffmpeg.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log.warning("ffmpeg did not finish in 15s; killing it")
        finally:  # also when a second Ctrl-C interrupts the wait: never leave it behind
            if ffmpeg.poll() is None:
                ffmpeg.kill()
                ffmpeg.wait()

    def _stop_stream(self, target: UploadTarget, code: int) -> int:
        try:
            stopped = self.api.stop(target.stream_id)
        except ApiError as exc:
            log.error("could not stop stream %s: %s", target.stream_id, exc)
            return code or 3
        log.info("stream %s stopped", target.stream_id)
        emit("stopped", stream=stopped.get("stream"), exit_code=code)
        return code

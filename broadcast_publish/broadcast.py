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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broadcast_publish.api import ApiError, BroadcastApi, UploadTarget
from broadcast_publish.encoder import (
    EncoderSettings,
    build_command,
    drawtext_available,
    ffmpeg_executable,
)
from broadcast_publish.sync import HlsMirror
from broadcast_publish.uploader import Uploader

log = logging.getLogger(__name__)

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
    token: str | None = None
    ffmpeg: str | None = None
    resume: str | None = None  # a live stream's id: continue it in a new session


class Broadcaster:
    """Runs one broadcast to completion. :meth:`request_stop` may be called from a signal
    handler; the broadcast then ends cleanly (final playlist, stream stopped)."""

    def __init__(self, options: Options, *, api: BroadcastApi | None = None) -> None:
        self.options = options
        self.api = api or BroadcastApi(
            options.api, options.user, options.password, token=options.token
        )
        self._stop = threading.Event()
        self.stop_reason = ""

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop.set()

    def run(self) -> int:
        """Broadcast; returns the process exit code."""
        resume = self.options.resume
        try:
            if resume:
                started = self.api.resume(resume)
            else:
                started = self.api.start(self.options.name, public=self.options.public)
            target = UploadTarget.from_start_response(
                started, fallback_endpoint_url=self.options.s3_endpoint_url
            )
        except ApiError as exc:
            log.error("could not %s the stream: %s", "resume" if resume else "start", exc)
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
            publish_session=target.session,
        )
        code = 1
        try:
            code = self._broadcast(target)
        finally:
            code = self._stop_stream(target, code)
        return code

    def _broadcast(self, target: UploadTarget) -> int:
        exe = ffmpeg_executable(self.options.ffmpeg)
        encoder = self.options.encoder
        pattern = encoder.input is None and encoder.listen is None
        drawtext = pattern and drawtext_available(exe)
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
            sync = HlsMirror(
                outdir,
                uploader,
                renditions=tuple(r.name for r in encoder.renditions),
                delete_uploaded=not self.options.keep_workdir,
                on_first_upload=lambda: emit("first_upload", stream_id=target.stream_id),
                on_poster=lambda: self._announce_poster(target),
            )
            for rendition in encoder.renditions:
                (outdir / rendition.name).mkdir()
            # Own session: a Ctrl-C in the terminal reaches us only, and we end ffmpeg
            # gracefully so that it closes the last segment and writes the end of list.
            ffmpeg = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
            if encoder.listen is not None:
                emit("listening", url=encoder.listen, stream_id=target.stream_id)
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
                "uploaded %d objects (%.1f MB), %d segments, %d posters",
                sync.uploader.objects_sent,
                sync.uploader.bytes_sent / 1e6,
                sync.segments_uploaded,
                sync.posters_sent,
            )
            emit(
                "finished",
                stream_id=target.stream_id,
                segments=sync.segments_uploaded,
                posters=sync.posters_sent,
                bytes=sync.uploader.bytes_sent,
            )
            if not ok or (not asked_to_stop and ffmpeg.returncode != 0):
                return 1
            return 0

    def _refreshed(self, target: UploadTarget) -> UploadTarget:
        """New credentials for the same stream and prefix (``POST .../credentials/``)."""
        answer = self.api.refresh(target.stream_id)
        new = UploadTarget.from_start_response(
            answer, fallback_endpoint_url=self.options.s3_endpoint_url
        )
        if new.path != target.path:  # another publisher resumed the stream: its folder
            raise ApiError(f"stream {target.stream_id} was resumed elsewhere; not uploading")
        return new

    def _announce_poster(self, target: UploadTarget) -> bool:
        """``POST .../poster/`` after a poster upload: ``True`` when done with it. A
        failure is logged and left to the next poster; a server without the endpoint
        (404, 405: older than the poster) is not asked again."""
        try:
            answer = self.api.announce_poster(target.stream_id)
        except ApiError as exc:
            if exc.status in (404, 405):
                log.warning("the server does not take posters (%s); not announcing", exc.status)
                return True
            log.warning("poster not announced (%s); the next poster tries again", exc)
            return False
        emit(
            "poster_announced",
            stream_id=target.stream_id,
            thumbnail_url=answer.get("thumbnail_url"),
        )
        return True

    def _final_sync(self, sync: HlsMirror) -> bool:
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

"""What the browser tests share: chromium with fake media devices, the example project's
"Go live from this tab" page driven as a person would, and a broadcast made by hand
(real MPEG-TS segments from ffmpeg, a playlist written to order, uploaded with the
stream's own credentials)."""

from __future__ import annotations

import contextlib
import importlib
import subprocess
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from broadcast_publish.api import BroadcastApi, UploadTarget
from broadcast_publish.layout import PLAYLIST_NAME, SEGMENT_PATTERN
from broadcast_publish.uploader import content_headers, make_s3_client
from devtools.testing.prerequisites import CHROMIUM, CHROMIUM_ARGS, require_browser

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from devtools.publisher import Broadcaster

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
PUBLISHER_EVENTS = ["live", "segment", "lag", "error", "stopped", "credentials", "poster"]
# Every event of the page's publisher (window.broadcastPublisher), with its time.
RECORD_EVENTS = """types => { window.seen = [];
    for (const type of types) window.broadcastPublisher.addEventListener(type,
        (e) => window.seen.push({type, detail: e.detail, at: Date.now()})); }"""


@contextlib.contextmanager
def fake_media_chromium(profile: Path) -> Iterator[Any]:
    """A headless Debian chromium (Playwright) whose camera and microphone are fakes."""
    require_browser()
    # Imported here: only the browser suites need Playwright installed.
    sync_api = importlib.import_module("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, *FAKE_MEDIA],
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class Viewer:
    """A chromium tab and what happened in it: every request's URL, the failed ones
    (HTTP errors, and requests that failed in the browser: a 404 from the emulator
    carries no CORS headers, so the page sees a network error; loads the page itself
    aborted, as a player may when it seeks, are no failure), and uncaught JS errors."""

    page: Any
    requested: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("pageerror", lambda exc: self.js_errors.append(str(exc)))
        self.page.on("request", lambda request: self.requested.append(request.url))
        self.page.on("response", self._response)
        self.page.on("requestfailed", self._request_failed)

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")

    def _request_failed(self, request: Any) -> None:
        if request.failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.failure} {request.url}")


@contextlib.contextmanager
def viewer(context: Any) -> Iterator[Viewer]:
    """A new tab of the browser ``context``, closed afterwards."""
    page = context.new_page()
    try:
        yield Viewer(page)
    finally:
        page.close()


def localhost(url: str) -> str:
    """The same URL on ``localhost``: a secure context, where WebCodecs and
    ``getUserMedia`` exist (``127.0.0.1`` is one too, but the bucket's CORS rule and the
    issue name ``localhost``)."""
    return url.replace("://127.0.0.1:", "://localhost:")


def log_in(page: Any, base: str, user: str, password: str, then: str) -> None:
    page.goto(f"{base}/admin/login/?next={then}")
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}{then}")


def go_live(page: Any, name: str) -> dict[str, Any]:
    """Record the publisher's events, press Go live, wait for ``live``: the stream."""
    page.evaluate(RECORD_EVENTS, PUBLISHER_EVENTS)
    page.fill("#name", name)
    page.click("#start")
    page.wait_for_function(
        "document.getElementById('state').textContent === 'live'", timeout=30_000
    )
    stream: dict[str, Any] = page.evaluate(
        "window.seen.find(e => e.type === 'live').detail.stream"
    )
    return stream


def wait_for_segments(page: Any, count: int, timeout_ms: int = 30_000) -> None:
    page.wait_for_function(
        "n => Number(document.getElementById('segments').textContent) >= n",
        arg=count,
        timeout=timeout_ms,
    )


def stop_broadcast(page: Any) -> list[dict[str, Any]]:
    """Press Stop, wait for ``ended``: every event the publisher sent."""
    page.click("#stop")
    page.wait_for_function(
        "document.getElementById('state').textContent === 'ended'", timeout=30_000
    )
    seen: list[dict[str, Any]] = page.evaluate("window.seen")
    return seen


# -- a broadcast made by hand ---------------------------------------------------------------


def encode_segments(ffmpeg: str, outdir: Path, *, first: int, count: int) -> list[Path]:
    """``count`` 1 s MPEG-TS segments of a small test pattern, numbered from ``first``
    (``seg_%06d.ts``, the publisher's names) with timestamps from ``first`` seconds on,
    as though the broadcast had been running that long. Cheap: 320x180 at 15 fps,
    x264 ultrafast, a keyframe every second."""
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15", "-t", str(count),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-g", "15", "-keyint_min", "15", "-sc_threshold", "0", "-b:v", "150k",
            "-output_ts_offset", str(first),
            "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "vod",
            "-start_number", str(first),
            "-hls_segment_filename", str(outdir / SEGMENT_PATTERN),
            str(outdir / f"encoded_{first}.m3u8"),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    segments = [outdir / (SEGMENT_PATTERN % n) for n in range(first, first + count)]
    missing = [path.name for path in segments if not path.exists()]
    assert not missing, f"ffmpeg wrote no {missing}"
    return segments


def ts_event_playlist(segments: int, *, start: datetime, ended: bool = False) -> str:
    """The EVENT playlist a publisher writes after ``segments`` 1 s MPEG-TS segments of a
    broadcast that began at ``start`` (its ``EXT-X-PROGRAM-DATE-TIME``)."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:1",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:EVENT",
        f"#EXT-X-PROGRAM-DATE-TIME:{start.isoformat(timespec='milliseconds')}",
    ]
    for n in range(segments):
        lines += ["#EXTINF:1.000000,", SEGMENT_PATTERN % n]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


@dataclass
class HandMadeBroadcast:
    """A stream started through the API, whose files this test uploads itself with the
    temporary credentials the start answer gave (what any broadcaster may do)."""

    api: BroadcastApi
    target: UploadTarget
    s3: S3Client
    _appender: threading.Thread | None = field(default=None, repr=False)
    _stop_appending: threading.Event = field(default_factory=threading.Event, repr=False)
    listed: int = 0  # segments the uploaded playlist lists
    append_errors: list[BaseException] = field(default_factory=list)

    @classmethod
    def start(cls, who: Broadcaster, name: str) -> HandMadeBroadcast:
        api = BroadcastApi(who.api_url, who.user, who.password)
        target = UploadTarget.from_start_response(
            api.start(name), fallback_endpoint_url=who.s3_endpoint_url
        )
        return cls(api, target, make_s3_client(target))

    @property
    def stream_id(self) -> str:
        return self.target.stream_id

    def upload(self, filename: str, body: bytes) -> None:
        content_type, cache_control = content_headers(filename)
        self.s3.put_object(
            Bucket=self.target.bucket,
            Key=self.target.key(filename),
            Body=body,
            ContentType=content_type,
            CacheControl=cache_control,
        )

    def upload_segments(self, paths: list[Path]) -> None:
        for path in paths:
            self.upload(path.name, path.read_bytes())

    def upload_playlist(self, segments: int, *, start: datetime, ended: bool = False) -> None:
        self.upload(PLAYLIST_NAME, ts_event_playlist(segments, start=start, ended=ended).encode())
        self.listed = segments

    def keep_appending(self, paths: list[Path], *, start: datetime) -> None:
        """In the background, as a live publisher does: once a second, upload the next of
        ``paths`` (segments ``self.listed``, ``self.listed + 1``, ...) and then the
        playlist listing it."""
        first = self.listed
        names = [path.name for path in paths]
        assert names == [SEGMENT_PATTERN % n for n in range(first, first + len(paths))], names

        def run() -> None:
            try:
                for number, path in enumerate(paths, start=first):
                    if self._stop_appending.wait(1.0):
                        return
                    self.upload(path.name, path.read_bytes())
                    self.upload_playlist(number + 1, start=start)
            except BaseException as exc:  # reported by stop_appending()
                self.append_errors.append(exc)

        self._appender = threading.Thread(target=run, name="hls-appender", daemon=True)
        self._appender.start()

    def stop_appending(self) -> int:
        """Stop the background uploads; how many segments the playlist lists now."""
        self._stop_appending.set()
        if self._appender is not None:
            self._appender.join(timeout=30)
        assert not self.append_errors, self.append_errors
        return self.listed

    def stop(self) -> dict[str, Any]:
        return self.api.stop(self.stream_id)

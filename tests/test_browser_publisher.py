"""A browser tab broadcasts: the app's ``publisher.js`` in Debian's chromium.

The example project's "Go live from this tab" page, logged in with a session, captures
chromium's fake camera and microphone, encodes with WebCodecs and uploads fMP4 HLS
straight to moto's S3 over HTTP (the bucket has a CORS rule for the page's origin and no
public access). Then a second page plays the stream's ``playback_url`` in hls.js; after
stop, the playlist lists every segment with ``#EXT-X-ENDLIST`` and ffmpeg decodes the
recording from its first frame to its last. The glass-to-glass latency (the wall-clock
time of the frame hls.js shows, from ``EXT-X-PROGRAM-DATE-TIME``, against now) goes to
``test-output/latency-browser.txt``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import m3u8
import pytest

from devtools.media import decode_errors, decoder_ffmpeg
from devtools.testing.prerequisites import CHROMIUM, CHROMIUM_ARGS, require_browser

if TYPE_CHECKING:
    from devtools.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

BROADCAST_SECONDS = 15
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  (loaded only when a browser test runs)

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, *FAKE_MEDIA],
        )
        try:
            yield context
        finally:
            context.close()


def localhost(url: str) -> str:
    """The same URL on ``localhost``: a secure context, where WebCodecs and
    ``getUserMedia`` exist (``127.0.0.1`` is one too, but the bucket's CORS rule and the
    issue name ``localhost``)."""
    return url.replace("://127.0.0.1:", "://localhost:")


def log_in(page: Any, base: str, stack: Stack, then: str) -> None:
    page.goto(f"{base}/admin/login/?next={then}")
    page.fill("#id_username", stack.user)
    page.fill("#id_password", stack.password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}{then}")


def test_a_tab_broadcasts_into_the_bucket_and_the_recording_plays(
    browser_stack: Stack, browser: Any, tmp_path: Path, test_output_dir: Path
) -> None:
    stack = browser_stack
    ffmpeg = decoder_ffmpeg()
    assert ffmpeg is not None
    base = localhost(stack.base_url)
    errors: list[str] = []
    publisher_page = browser.new_page()
    publisher_page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(publisher_page, base, stack, "/golive/")
    publisher_page.evaluate(
        """() => { window.seen = [];
        for (const type of ["live", "segment", "lag", "error", "stopped", "credentials"])
            window.broadcastPublisher.addEventListener(type,
                (e) => window.seen.push({type, detail: e.detail, at: Date.now()})); }"""
    )
    publisher_page.fill("#name", "from a tab")
    publisher_page.click("#start")
    publisher_page.wait_for_function(
        "document.getElementById('state').textContent === 'live'", timeout=30_000
    )
    stream = publisher_page.evaluate("window.seen.find(e => e.type === 'live').detail.stream")
    stream_id = stream["id"]
    codecs = publisher_page.locator("#codecs").inner_text()
    assert codecs == "avc + opus"  # chromium on Linux encodes no AAC

    # A second page watches the live stream through its playback URL, in hls.js.
    viewer = browser.new_page()
    viewer.on("pageerror", lambda exc: errors.append(str(exc)))
    publisher_page.wait_for_function(
        "Number(document.getElementById('segments').textContent) >= 4", timeout=30_000
    )
    viewer.goto(f"{base}/watch/{stream_id}/")
    viewer.wait_for_function(
        "(() => { const v = document.getElementById('video');"
        " return v.currentTime > 0 && !v.paused && v.readyState >= 3; })()",
        timeout=40_000,
    )
    start = float(viewer.evaluate("document.getElementById('video').currentTime"))
    viewer.wait_for_function(
        "start => document.getElementById('video').currentTime > start + 2",
        arg=start,
        timeout=40_000,
    )
    samples: list[float] = []
    while len(samples) < 10:
        time.sleep(0.5)
        value = viewer.evaluate("document.getElementById('latency').dataset.latencyMs")
        if value:
            samples.append(int(value) / 1000)
    viewer_width = viewer.evaluate("document.getElementById('video').videoWidth")
    viewer.close()

    time.sleep(max(0.0, BROADCAST_SECONDS - 8))
    publisher_page.click("#stop")
    publisher_page.wait_for_function(
        "document.getElementById('state').textContent === 'ended'", timeout=30_000
    )
    seen = publisher_page.evaluate("window.seen")
    publisher_page.close()
    assert errors == []
    assert [e for e in seen if e["type"] == "error"] == []
    stopped = next(e for e in seen if e["type"] == "stopped")["detail"]["stream"]
    assert stopped["id"] == stream_id
    assert stopped["stop_date"]
    assert viewer_width > 0

    # What the tab left in the bucket: the layout broadcast-publish writes, fMP4.
    s3 = stack.emulator.s3()
    prefix = f"streams/{stream_id}"
    listed = s3.list_objects_v2(Bucket=stack.emulator.bucket, Prefix=f"{prefix}/")
    keys = {obj["Key"][len(prefix) + 1 :] for obj in listed["Contents"]}
    body = s3.get_object(Bucket=stack.emulator.bucket, Key=f"{prefix}/index.m3u8")["Body"]
    text = body.read().decode()
    playlist = m3u8.loads(text)
    assert playlist.is_endlist
    assert playlist.playlist_type == "event"
    assert "#EXT-X-PROGRAM-DATE-TIME" in text
    names = [str(segment.uri) for segment in playlist.segments]
    assert names == [f"seg_{i:06d}.m4s" for i in range(len(names))]
    assert {"index.m3u8", "init.mp4", *names} <= keys
    durations = [segment.duration or 0 for segment in playlist.segments]
    assert sum(durations) >= BROADCAST_SECONDS - 2
    assert all(0 < d <= 2.1 for d in durations), durations  # 1-2 s, cut on keyframes

    # The whole recording decodes: the init section, then every segment, in order.
    recording = tmp_path / "recording.mp4"
    with recording.open("wb") as out:
        for key in ["init.mp4", *names]:
            obj = s3.get_object(Bucket=stack.emulator.bucket, Key=f"{prefix}/{key}")
            out.write(obj["Body"].read())
    assert decode_errors(ffmpeg, recording) == (0, "")
    # The recording plays through the API too (presigned URLs, the bucket stays private).
    assert urlsplit(stopped["playback_url"]).path == f"/stream/{stream_id}/playlist.m3u8"

    median = statistics.median(samples)
    report = {"median_s": median, "samples_s": samples, "segments": len(names)}
    (test_output_dir / "latency-browser.txt").write_text(json.dumps(report) + "\n")
    print(f"\nbrowser publisher -> hls.js: median {median:.2f} s, {len(names)} segments")
    assert median <= 4.0

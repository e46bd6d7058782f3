"""A browser tab broadcasts: the app's ``publisher.js`` in Debian's chromium.

The example project's "Go live from this tab" page, logged in with a session, captures
chromium's fake camera and microphone, encodes with WebCodecs and uploads fMP4 HLS
straight to moto's S3 over HTTP (the bucket has a CORS rule for the page's origin and no
public access). Then a second page plays the stream's ``playback_url`` in hls.js; after
stop, the playlist lists every segment with ``#EXT-X-ENDLIST`` and ffmpeg decodes the
recording from its first frame to its last. The tab's poster is announced, and its
``thumbnail_url`` (the player page's ``poster``) serves a JPEG that ffmpeg decodes. The
glass-to-glass latency (the wall-clock
time of the frame hls.js shows, from ``EXT-X-PROGRAM-DATE-TIME``, against now) goes to
``test-output/latency-browser.txt``.

With 20-second credentials (``tests.short_credentials_settings``), a 45-second broadcast
refreshes them before each runs out and uploads without a gap.
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import m3u8
import pytest
import requests

from devtools.media import decode_errors, decoder_ffmpeg
from devtools.stack import Stack, start_stack
from devtools.testing.credentials import SHORT_CREDENTIALS_TTL
from devtools.testing.prerequisites import require_browser
from tests.browser_support import (
    fake_media_chromium,
    go_live,
    localhost,
    log_in,
    stop_broadcast,
    wait_for_segments,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

BROADCAST_SECONDS = 15
REFRESH_BROADCAST_SECONDS = 45


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with fake_media_chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


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
    log_in(publisher_page, base, stack.user, stack.password, "/golive/")
    stream_id = go_live(publisher_page, "from a tab")["id"]
    codecs = publisher_page.locator("#codecs").inner_text()
    assert codecs == "avc + opus"  # chromium on Linux encodes no AAC

    # The first poster is uploaded, then announced: the stream's thumbnail_url.
    publisher_page.wait_for_function("window.seen.some(e => e.type === 'poster')", timeout=20_000)
    thumbnail = publisher_page.evaluate(
        "window.seen.find(e => e.type === 'poster').detail.thumbnailUrl"
    )
    poster = requests.get(thumbnail, timeout=10)
    assert poster.status_code == 200
    assert poster.headers["Content-Type"] == "image/jpeg"
    (tmp_path / "poster.jpg").write_bytes(poster.content)
    assert decode_errors(ffmpeg, tmp_path / "poster.jpg") == (0, "")
    probed = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(tmp_path / "poster.jpg")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stderr
    size = re.search(r"Video: mjpeg.*?, (\d+)x(\d+)", probed)
    assert size is not None, probed
    assert int(size[1]) == 640  # the tab draws its posters 640 pixels wide
    assert 0 < int(size[2]) <= 640

    # A second page watches the live stream through its playback URL, in hls.js.
    viewer = browser.new_page()
    viewer.on("pageerror", lambda exc: errors.append(str(exc)))
    wait_for_segments(publisher_page, 4)
    viewer.goto(f"{base}/watch/{stream_id}/")
    # The player page shows the poster until the video plays.
    assert "/poster.jpg?" in viewer.evaluate("document.getElementById('video').poster")
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
    seen = stop_broadcast(publisher_page)
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


@pytest.fixture(scope="module")
def short_credentials_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The browser stack, its example project minting 20-second credentials."""
    require_browser()
    stack = start_stack(
        tmp_path_factory.mktemp("short-credentials-stack"),
        settings_module="tests.short_credentials_settings",
    )
    try:
        yield stack
    finally:
        stack.stop()


def signing_key(request: Any) -> str:
    """The access key id a SigV4 request was signed with (``Credential=AKID/...``)."""
    authorization = request.header_value("authorization") or ""
    return authorization.split("Credential=", 1)[1].split("/", 1)[0]


def test_twenty_second_credentials_refresh_through_a_45_second_broadcast(
    short_credentials_stack: Stack, browser: Any, test_output_dir: Path
) -> None:
    stack = short_credentials_stack
    base = localhost(stack.base_url)
    errors: list[str] = []
    page = browser.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    puts: list[Any] = []  # every upload to the bucket
    page.on(
        "request",
        lambda request: (
            puts.append(request)
            if request.method == "PUT" and request.url.startswith(stack.emulator.endpoint_url)
            else None
        ),
    )
    log_in(page, base, stack.user, stack.password, "/golive/")
    stream_id = go_live(page, "twenty-second credentials")["id"]
    page.wait_for_timeout(REFRESH_BROADCAST_SECONDS * 1000)
    seen = stop_broadcast(page)
    # When each upload started, by the browser's clock (as the events' times), and the
    # key that signed it.
    keys = [(request.timing["startTime"] / 1000, signing_key(request)) for request in puts]
    page.close()
    assert errors == []
    assert [e for e in seen if e["type"] == "error"] == []  # not even a retried upload

    # Refreshed: every credentials event says 20 s, one every 20 - 20/3 s or so, and the
    # uploads moved to each new key in turn, never using one past its lifetime.
    grants = [e for e in seen if e["type"] == "credentials"]
    assert {e["detail"]["expiresIn"] for e in grants} == {SHORT_CREDENTIALS_TTL}
    refreshes = len(grants) - 1
    assert refreshes >= 3, grants
    intervals = [(b["at"] - a["at"]) / 1000 for a, b in itertools.pairwise(grants)]
    assert all(10 <= i <= SHORT_CREDENTIALS_TTL - 3 for i in intervals), intervals
    used = list(dict.fromkeys(key for _, key in keys))  # in the order first used
    assert len(used) == len(grants), (used, grants)
    for grant, key in zip(grants, used, strict=True):
        last_use = max(when for when, k in keys if k == key)
        assert last_use - grant["at"] / 1000 < SHORT_CREDENTIALS_TTL, (key, grant)

    # No gap: every segment listed, in one contiguous sequence, their wall-clock times
    # following one another, 45 s of media in all.
    s3 = stack.emulator.s3()
    prefix = f"streams/{stream_id}"
    listed = s3.list_objects_v2(Bucket=stack.emulator.bucket, Prefix=f"{prefix}/")
    stored = {obj["Key"][len(prefix) + 1 :] for obj in listed["Contents"]}
    body = s3.get_object(Bucket=stack.emulator.bucket, Key=f"{prefix}/index.m3u8")["Body"]
    playlist = m3u8.loads(body.read().decode())
    assert playlist.is_endlist
    assert playlist.playlist_type == "event"
    assert (playlist.media_sequence or 0) == 0
    names = [str(segment.uri) for segment in playlist.segments]
    assert names == [f"seg_{i:06d}.m4s" for i in range(len(names))]
    assert {"init.mp4", *names} <= stored
    uploaded = [e["detail"]["name"] for e in seen if e["type"] == "segment"]
    assert uploaded == names
    durations = [float(segment.duration or 0) for segment in playlist.segments]
    assert sum(durations) >= REFRESH_BROADCAST_SECONDS - 2
    assert all(s.program_date_time is not None for s in playlist.segments)
    dated = [(s.program_date_time, float(s.duration or 0)) for s in playlist.segments]
    target = float(playlist.target_duration or 1)
    jumps = [
        abs((b - a - timedelta(seconds=length)).total_seconds())
        for (a, length), (b, _) in itertools.pairwise(dated)
        if a is not None and b is not None
    ]
    assert max(jumps) <= 2 * target, jumps
    # Nor did a refresh hold the uploads up: no file waited seconds for its turn.
    lags = [e["detail"]["seconds"] for e in seen if e["type"] == "lag"]
    assert max(lags) < 5, lags

    report = {
        "credentials_ttl_s": SHORT_CREDENTIALS_TTL,
        "refreshes": refreshes,
        "refresh_intervals_s": intervals,
        "keys_used": len(used),
        "segments": len(names),
        "media_s": round(sum(durations), 3),
        "max_pdt_jump_s": round(max(jumps), 3),
        "max_upload_lag_s": round(max(lags), 3),
    }
    (test_output_dir / "refresh-browser.txt").write_text(json.dumps(report) + "\n")
    print(f"\nbrowser refresh: {report}")

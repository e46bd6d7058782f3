"""The example project's pages in a real browser: Debian's chromium through Playwright.

The player test watches a live, private broadcast (publisher -> S3 emulator with no
public access -> the example project's ``/stream/<id>/playlist.m3u8`` -> presigned segment
URLs -> hls.js in chromium), checks that video plays through ``playback_url``, and
reports the glass-to-glass latency (now - the wall-clock time of the frame on screen) in
``test-output/latency.txt``, with a screenshot in ``test-output/player.png``. The goal is
a median of at most 3 s on the development machine.

The two-hour test plays a stream whose playlist already lists 7,200 one-second segments
(real MPEG-TS from ffmpeg, only those a player fetches uploaded): live, from the live
window near the edge while the playlist keeps growing, and after the end, the whole
recording from its first segment.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import m3u8
import pytest

from devtools.media import encoder_ffmpeg
from devtools.publisher import start_publisher
from devtools.stack import Stack
from tests.browser_support import HandMadeBroadcast, encode_segments, viewer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

JOIN_AFTER_SECONDS = 4
SAMPLES = 10
LATENCY_GOAL_SECONDS = 3.0
READ_STATE = """() => {
    const video = document.getElementById('video');
    const latency = document.getElementById('latency');
    return {
        currentTime: video.currentTime,
        paused: video.paused,
        width: video.videoWidth,
        latencyMs: latency.dataset.latencyMs,
        behindEdge: window.broadcastPlayer.hls.latency,
        playerState: document.getElementById('player-state').textContent,
    };
}"""


# The two-hour broadcast: its playlist lists TWO_HOURS 1 s segments when the player joins.
TWO_HOURS = 7200
LIVE_WINDOW = 120  # BROADCAST_API_LIVE_WINDOW's default, which the example project keeps
# Uploaded: the BEGINNING (more than hls.js buffers ahead of a recording, 30 s, in the
# seconds the test plays it), the END_STRETCH before the live edge (the window and a
# few more), and APPENDED segments added one a second while the player watches live.
BEGINNING = 60
END_STRETCH = 130
APPENDED = 20
LIVE_FOLLOWED = 5  # of them, seen by the player live
SEGMENT_NUMBER = re.compile(r"/seg_(\d{6})\.ts\?")
READ_LEVEL = """() => {
    const video = document.getElementById('video');
    const level = window.broadcastPlayer.hls.levels[0];
    const details = level && level.details;
    return {
        currentTime: video.currentTime,
        paused: video.paused,
        width: video.videoWidth,
        playerState: document.getElementById('player-state').textContent,
        latencyMs: document.getElementById('latency').dataset.latencyMs,
        live: details ? details.live : null,
        fragments: details ? details.fragments.length : 0,
        startSN: details ? details.startSN : null,
        endSN: details ? details.endSN : null,
    };
}"""
PLAYING = (
    "(() => { const v = document.getElementById('video');"
    " return v.currentTime > 0 && !v.paused && v.readyState >= 3; })()"
)
PLAYED_TWO_MORE = "start => document.getElementById('video').currentTime > start + 2"


@pytest.fixture
def js_errors() -> list[str]:
    return []


@pytest.fixture
def page(chromium: Any, js_errors: list[str]) -> Iterator[Any]:
    page = chromium.new_page()
    page.on("pageerror", lambda exc: js_errors.append(str(exc)))
    try:
        yield page
    finally:
        page.close()


def test_player_plays_a_live_broadcast_near_the_live_edge(
    browser_stack: Stack,
    page: Any,
    js_errors: list[str],
    tmp_path: Path,
    test_output_dir: Path,
) -> None:
    publisher = start_publisher(
        browser_stack.broadcaster(),
        name="browser broadcast",
        extra=["--size", "960x540", "--video-kbps", "1200"],
        log_path=tmp_path / "publisher.log",
    )
    try:
        stream_id = publisher.wait_event("started", timeout=30)["stream"]["id"]
        publisher.wait_event("first_upload", timeout=30)

        # Join an established broadcast, as a viewer usually does (a few segments in).
        time.sleep(JOIN_AFTER_SECONDS)

        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        opened = time.monotonic()
        page.goto(f"{browser_stack.base_url}/watch/{stream_id}/")
        source = page.locator("#player").get_attribute("data-src") or ""
        assert source.startswith(
            f"{browser_stack.base_url}/stream/{stream_id}/playlist.m3u8?token="
        )
        assert page.locator("#stream-name").inner_text().startswith("browser broadcast")
        assert (page.locator("#status").text_content() or "").strip() == "live"
        # First frame: the video is playing (joining live, currentTime starts at the
        # live position, not at 0) ...
        page.wait_for_function(
            "(() => { const v = document.getElementById('video');"
            " return v.currentTime > 0 && !v.paused && v.readyState >= 3; })()",
            timeout=40_000,
        )
        first_frame = time.monotonic() - opened
        start = float(page.evaluate("document.getElementById('video').currentTime"))
        # ... and it keeps playing: more than 2 s of media go by.
        page.wait_for_function(
            "start => document.getElementById('video').currentTime > Math.max(start, 0) + 2",
            arg=start,
            timeout=40_000,
        )
        to_two_seconds = time.monotonic() - opened
        # Sample the latency shown on the page for a few seconds of steady playback.
        samples: list[dict[str, Any]] = []
        for _ in range(SAMPLES):
            time.sleep(0.5)
            samples.append(page.evaluate(READ_STATE))
        out = test_output_dir
        page.screenshot(path=str(out / "player.png"))
    finally:
        returncode = publisher.stop()

    assert js_errors == []
    # The player read the playlist from the API and the segments through presigned URLs.
    assert any(url.startswith(source.split("?")[0]) for url in fetched)
    segments = [url for url in fetched if ".ts?" in url]
    assert segments, fetched
    assert all("X-Amz-Signature=" in url for url in segments)
    assert all(url.startswith(browser_stack.emulator.endpoint_url) for url in segments)
    state = samples[-1]
    assert state["currentTime"] > 2
    assert not state["paused"]
    assert state["width"] == 960
    assert state["playerState"] == "playing"
    assert all(re.fullmatch(r"\d+", s["latencyMs"] or "") for s in samples), samples
    latencies = sorted(int(s["latencyMs"]) / 1000 for s in samples)
    behind = sorted(float(s["behindEdge"]) for s in samples)
    report = (
        f"glass-to-glass latency: median {statistics.median(latencies):.2f} s "
        f"(min {latencies[0]:.2f}, max {latencies[-1]:.2f}, {len(latencies)} samples over "
        f"{SAMPLES * 0.5:.0f} s); behind the live edge: median {statistics.median(behind):.2f} s; "
        f"page open to first frame: {first_frame:.1f} s, to 2 s more played: "
        f"{to_two_seconds:.1f} s\n"
    )
    (out / "latency.txt").write_text(report)
    print("\n" + report, end="")
    assert 0 < latencies[-1] < 15, report
    assert statistics.median(latencies) <= LATENCY_GOAL_SECONDS, report
    assert returncode == 0, (tmp_path / "publisher.log").read_text(errors="replace")


def test_swagger_ui_renders_the_start_operation(
    browser_stack: Stack, page: Any, js_errors: list[str]
) -> None:
    page.goto(f"{browser_stack.base_url}/schema/swagger/")
    start = page.locator(".opblock-summary-path", has_text="/stream/start/").first
    start.wait_for(state="visible", timeout=30_000)
    assert page.locator(".opblock-summary-path", has_text="/stream/stop/").count() >= 1
    assert js_errors == []


def segment_numbers(urls: list[str]) -> list[int]:
    return [int(m.group(1)) for url in urls if (m := SEGMENT_NUMBER.search(url))]


def test_player_plays_a_two_hour_broadcast_live_and_after_the_end(
    browser_stack: Stack, chromium: Any, tmp_path: Path
) -> None:
    """hls.js plays a stream whose playlist already lists two hours of segments: live,
    from the live window at the edge while the playlist grows a segment a second; after
    the end, the whole recording as a VOD from its first segment."""
    ffmpeg = encoder_ffmpeg()
    assert ffmpeg is not None  # the browser_stack fixture requires it
    clock = time.monotonic()
    media = tmp_path / "media"
    beginning = encode_segments(ffmpeg, media, first=0, count=BEGINNING)
    end = encode_segments(
        ffmpeg, media, first=TWO_HOURS - END_STRETCH, count=END_STRETCH + APPENDED
    )
    encoded = time.monotonic() - clock
    broadcast = HandMadeBroadcast.start(browser_stack.broadcaster(), "two hours in")
    broadcast.upload_segments(beginning + end[:END_STRETCH])
    # Two hours ago, so that the newest segment's wall-clock time is now.
    began = datetime.now(UTC) - timedelta(seconds=TWO_HOURS)
    broadcast.upload_playlist(TWO_HOURS, start=began)
    watch = f"{browser_stack.base_url}/watch/{broadcast.stream_id}/"

    # Live: the playlist grows by a segment a second while the player watches.
    broadcast.keep_appending(end[END_STRETCH:], start=began)
    try:
        with viewer(chromium) as tab:
            page = tab.page
            opened = time.monotonic()
            page.goto(watch)
            source = page.locator("#player").get_attribute("data-src") or ""
            assert source.startswith(
                f"{browser_stack.base_url}/stream/{broadcast.stream_id}/playlist.m3u8?token="
            )
            assert (page.locator("#status").text_content() or "").strip() == "live"
            page.wait_for_function(PLAYING, timeout=40_000)
            live_first_frame = time.monotonic() - opened
            start = float(page.evaluate("document.getElementById('video').currentTime"))
            page.wait_for_function(PLAYED_TWO_MORE, arg=start, timeout=40_000)
            # ... and goes on playing as the playlist grows: LIVE_FOLLOWED appended
            # segments reach the player's playlist, and the video is still moving.
            page.wait_for_function(
                "n => (window.broadcastPlayer.hls.levels[0].details || {}).endSN >= n",
                arg=TWO_HOURS + LIVE_FOLLOWED - 1,
                timeout=30_000,
            )
            at = float(page.evaluate("document.getElementById('video').currentTime"))
            page.wait_for_function(
                "at => document.getElementById('video').currentTime > at + 1",
                arg=at,
                timeout=10_000,
            )
            live = page.evaluate(READ_LEVEL)
            # What the player polls, read once more the same way.
            served = page.request.get(source)
            assert served.ok, served.status
            window = m3u8.loads(served.text())
            live_failed, live_errors = list(tab.failed), list(tab.js_errors)
            live_requests = list(tab.requested)  # before closing the tab aborts its loads
    finally:
        listed_live = broadcast.stop_appending()
    live_segments = segment_numbers(live_requests)

    assert live_errors == []
    assert live_failed == []
    assert not live["paused"]
    assert live["currentTime"] > start + 3 > 3
    assert live["width"] == 320
    assert live["playerState"] == "playing"
    # The player was given the live window, not two hours: 120 segments at the edge.
    assert live["live"] is True
    assert live["fragments"] == LIVE_WINDOW, live
    assert live["startSN"] >= TWO_HOURS - LIVE_WINDOW
    assert live["endSN"] == live["startSN"] + LIVE_WINDOW - 1
    assert len(window.segments) == LIVE_WINDOW
    first = window.media_sequence
    assert first is not None
    assert first >= TWO_HOURS - LIVE_WINDOW
    assert f"/seg_{first + LIVE_WINDOW - 1:06d}.ts?" in str(window.segments[-1].uri)
    assert not window.is_endlist
    assert all("X-Amz-Signature=" in str(segment.uri) for segment in window.segments)
    # It fetched segments at the live edge only, presigned, and followed the appended ones.
    assert live_segments, live_requests
    assert min(live_segments) >= TWO_HOURS - 10, live_segments
    assert max(live_segments) >= TWO_HOURS + 2, live_segments
    segment_urls = [url for url in live_requests if SEGMENT_NUMBER.search(url)]
    assert all("X-Amz-Signature=" in url for url in segment_urls)
    assert all(url.startswith(browser_stack.emulator.endpoint_url) for url in segment_urls)
    playlist_polls = sum(url.startswith(source.split("?")[0]) for url in live_requests)

    # The end: the publisher's last playlist (EXT-X-ENDLIST), then the stop.
    broadcast.upload_playlist(listed_live, start=began, ended=True)
    stopped = broadcast.stop()
    assert stopped["stream"]["stop_date"], stopped
    time.sleep(1)  # past the live playlist's half-second freshness on the server
    with viewer(chromium) as tab:
        page = tab.page
        opened = time.monotonic()
        page.goto(watch)
        assert (page.locator("#status").text_content() or "").strip() == "ended"
        page.wait_for_function(PLAYING, timeout=60_000)
        recording_first_frame = time.monotonic() - opened
        page.wait_for_function(PLAYED_TWO_MORE, arg=0, timeout=40_000)
        recording = page.evaluate(READ_LEVEL)
        whole = page.request.get(source)
        assert whole.ok, whole.status
        whole_playlist = m3u8.loads(whole.text())
        recording_failed, recording_errors = list(tab.failed), list(tab.js_errors)
        recording_segments = segment_numbers(tab.requested)

    assert recording_errors == []
    assert recording_failed == []
    assert not recording["paused"]
    assert recording["playerState"] == "playing recording"
    # A VOD of every segment, two hours and what was appended live, played from the start.
    assert recording["live"] is False
    assert recording["fragments"] == listed_live > TWO_HOURS
    assert (recording["startSN"], recording["endSN"]) == (0, listed_live - 1)
    assert 2 < recording["currentTime"] < BEGINNING / 2
    assert len(whole_playlist.segments) == listed_live
    assert whole_playlist.is_endlist
    assert sorted(set(recording_segments)) == list(range(max(recording_segments) + 1))
    assert max(recording_segments) < BEGINNING, recording_segments

    print(
        f"\nencoded {BEGINNING + END_STRETCH + APPENDED} segments in {encoded:.1f} s; "
        f"live: first frame {live_first_frame:.1f} s after opening, playlist "
        f"{TWO_HOURS}->{listed_live} segments served as {live['fragments']} "
        f"(SN {live['startSN']}..{live['endSN']}, {playlist_polls} polls), "
        f"segments fetched {min(live_segments)}..{max(live_segments)} "
        f"({len(live_segments)}), at media time {live['currentTime']:.1f} s, "
        f"{int(live['latencyMs']) / 1000:.1f} s behind the wall clock; "
        f"recording: first frame {recording_first_frame:.1f} s after opening, "
        f"{recording['fragments']} fragments, {len(whole.body()) / 1e6:.1f} MB playlist, "
        f"segments fetched {min(recording_segments)}..{max(recording_segments)} "
        f"({len(recording_segments)})"
    )

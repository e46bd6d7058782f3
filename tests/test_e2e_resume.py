"""A publisher killed mid-broadcast and resumed: one recording, start to end.

``broadcast-publish`` (real ffmpeg) broadcasts into moto over HTTP until it is killed
with SIGKILL, then ``--resume`` continues the same stream in a second publishing session
and stops it. The recording behind ``playback_url`` lists every segment either session's
playlist listed, once, in order, with one ``#EXT-X-DISCONTINUITY``, and ffmpeg decodes it
from the first to the last. Twice: through the example project (SQLite), and through a
live server on the test database (SQLite, or PostgreSQL with ``BROADCAST_TEST_DB``).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import m3u8
import pytest
from django.test import override_settings

from devtools.media import decoder_ffmpeg
from devtools.publisher import Broadcaster, start_publisher
from devtools.stack import Stack
from devtools.testing.prerequisites import require_e2e
from tests.servers import MotoServer
from tests.test_e2e_publish import SMALL, http_get

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SESSION_SECONDS = 6


class Bucket:
    """Where the broadcast lands, read with the server's identity."""

    def __init__(self, s3: Any, name: str) -> None:
        self.s3, self.name = s3, name

    def playlist(self, key: str) -> m3u8.M3U8:
        obj = self.s3.get_object(Bucket=self.name, Key=key)
        return m3u8.loads(obj["Body"].read().decode())


def wait_for_segments(bucket: Bucket, key: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(bucket.playlist(key).segments) >= count:
                return
        except Exception:  # not uploaded yet
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{key} did not list {count} segments in {timeout:.0f}s")


def decoded_seconds(ffmpeg: str, url: str) -> tuple[int, float, str]:
    """Decode the whole HLS playlist at ``url``: (returncode, seconds decoded, errors)."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-progress", "pipe:1"]
    result = subprocess.run(
        [*argv, "-i", url, "-map", "0:v", "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    times = re.findall(r"^out_time_us=(\d+)$", result.stdout, re.M)
    return result.returncode, int(times[-1]) / 1e6 if times else 0.0, result.stderr.strip()


def killed_and_resumed(who: Broadcaster, bucket: Bucket, tmp_path: Path) -> None:
    """The scenario: kill, resume, stop; then check the recording."""
    ffmpeg = decoder_ffmpeg()
    assert ffmpeg is not None
    log = tmp_path / "publisher.log"
    first = start_publisher(who, name="crash", extra=SMALL, log_path=log)
    try:
        started = first.wait_event("started", timeout=30)
        stream_id = started["stream"]["id"]
        prefix = started["s3_bucket_path"]
        assert started["publish_session"] == 1
        wait_for_segments(bucket, f"{prefix}/index.m3u8", 3, timeout=30)
    finally:
        first.process.send_signal(signal.SIGKILL)  # no final playlist, no stop
        first.process.wait(timeout=10)
    assert first.process.returncode == -signal.SIGKILL
    time.sleep(1)  # ffmpeg (SIGTERM with its parent) and any upload in flight are gone
    session_1 = bucket.playlist(f"{prefix}/index.m3u8")
    assert not session_1.is_endlist
    auth = (who.user, who.password)
    status, _, body = http_get(f"{who.api_url}/stream/{stream_id}/", auth=auth)
    assert status == 200
    assert b'"status":"live"' in body

    second = start_publisher(
        who,
        name="crash",
        duration=SESSION_SECONDS,
        extra=[*SMALL, "--resume", stream_id],
        log_path=log,
    )
    try:
        resumed = second.wait_event("started", timeout=30)
        returncode = second.process.wait(timeout=SESSION_SECONDS + 60)
    finally:
        second.stop()
    assert returncode == 0, log.read_text(errors="replace")
    assert resumed["stream"]["id"] == stream_id
    assert resumed["publish_session"] == 2
    assert resumed["s3_bucket_path"] == f"{prefix}/session-2"
    session_2 = bucket.playlist(f"{prefix}/session-2/index.m3u8")
    assert session_2.is_endlist

    # The stream ended and its recording was closed (a task after the stop): one playlist.
    playback_url = started["stream"]["playback_url"]
    deadline = time.monotonic() + 30
    while True:
        status, _, body = http_get(playback_url)
        recording = m3u8.loads(body.decode()) if status == 200 else None
        if recording is not None and recording.is_endlist:
            break
        assert time.monotonic() < deadline, (status, body[:300])
        time.sleep(0.5)
    names = [urlsplit(str(s.uri)).path.split(f"/{prefix}/", 1)[1] for s in recording.segments]
    expected = [str(s.uri) for s in session_1.segments] + [
        f"session-2/{s.uri}" for s in session_2.segments
    ]
    assert names == expected  # every segment either session listed, once, in order
    assert len(session_1.segments) >= 3
    assert len(session_2.segments) >= 3
    discontinuities = [s.discontinuity for s in recording.segments]
    assert discontinuities.count(True) == 1
    assert discontinuities.index(True) == len(session_1.segments)
    assert recording.media_sequence in (None, 0)
    assert body.decode().count("#EXT-X-ENDLIST") == 1

    # ffmpeg plays it through playback_url from the first segment to the last.
    listed = sum(float(s.duration or 0) for s in recording.segments)
    code, seconds, errors = decoded_seconds(ffmpeg, playback_url)
    print(f"\ne2e resume: {len(names)} segments, {listed:.1f}s listed, {seconds:.1f}s decoded")
    assert code == 0, errors
    assert abs(seconds - listed) < 1.5, (seconds, listed, errors)


def test_a_killed_publisher_resumed_gives_one_recording(demo_stack: Stack, tmp_path: Path) -> None:
    """Through the example project (the demo's settings and its SQLite database)."""
    bucket = Bucket(demo_stack.emulator.s3(), demo_stack.emulator.bucket)
    killed_and_resumed(demo_stack.broadcaster(), bucket, tmp_path)


@pytest.mark.django_db(transaction=True)
def test_a_killed_publisher_resumed_on_the_test_database(
    sts: MotoServer,
    settings: Any,
    request: pytest.FixtureRequest,
    django_user_model: Any,
    tmp_path: Path,
) -> None:
    """Through a live server on the test database: PostgreSQL too."""
    require_e2e()
    django_user_model.objects.create_user("broadcaster", password="broadcaster-password")
    with override_settings(STATIC_URL="/static/"):
        server = request.getfixturevalue("live_server")
    who = Broadcaster(server.url, "broadcaster", "broadcaster-password", sts.endpoint_url)
    killed_and_resumed(who, Bucket(sts.client("s3"), settings.BROADCAST_API_S3_BUCKET), tmp_path)

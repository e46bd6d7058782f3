"""End to end: the reference publisher broadcasts through the example project into S3.

Real processes only: moto_server (S3 + STS + IAM over HTTP), the example project served
by ``runserver``, and ``broadcast-publish`` running ffmpeg. What a viewer would fetch is
fetched anonymously over HTTP, as a player does.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import m3u8
import pytest

from devtools.media import decode_errors, decoder_ffmpeg
from devtools.publisher import start_publisher
from devtools.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

BROADCAST_SECONDS = 10
SMALL = ["--size", "640x360", "--video-kbps", "800"]


def http_get(
    url: str, *, auth: tuple[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def picture_size(ffmpeg: str, image: Path) -> tuple[str, int, int]:
    """The codec and size ffmpeg reads from an image (``mjpeg``, width, height)."""
    result = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(image)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    found = re.search(r"Video: (\w+).*?, (\d+)x(\d+)", result.stderr)
    assert found is not None, result.stderr
    return found[1], int(found[2]), int(found[3])


def assert_thumbnail_decodes(ffmpeg: str, url: str, path: Path) -> None:
    """``thumbnail_url``, fetched anonymously over HTTP as an ``<img>`` does: a JPEG of
    the publisher's 640-pixel-wide poster (from a 640x360 picture), decoding cleanly."""
    status, headers, body = http_get(url)
    assert status == 200, body[:200]
    assert header(headers, "Content-Type") == "image/jpeg"
    path.write_bytes(body)
    assert decode_errors(ffmpeg, path) == (0, "")
    assert picture_size(ffmpeg, path) == ("mjpeg", 640, 360)


class PlaylistWatcher(threading.Thread):
    """Polls the live playlist as a player does (``playback_url``, through the example
    project) and checks every segment it names is already in S3 behind its presigned URL
    (the publisher uploads segments before the playlist that lists them)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.checked: set[str] = set()
        self.missing: list[str] = []
        self.polls = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            status, _, body = http_get(self.url)
            if status != 200:
                continue
            self.polls += 1
            for segment in m3u8.loads(body.decode()).segments:
                name = urlsplit(str(segment.uri)).path.rsplit("/", 1)[-1]
                if name in self.checked:
                    continue
                self.checked.add(name)
                if http_get(str(segment.uri))[0] != 200:
                    self.missing.append(name)


def test_publisher_broadcasts_a_playable_recording(demo_stack: Stack, tmp_path: Path) -> None:
    ffmpeg = decoder_ffmpeg()
    assert ffmpeg is not None
    publisher = start_publisher(
        demo_stack.broadcaster(),
        name="e2e broadcast",
        duration=BROADCAST_SECONDS,
        extra=SMALL,
        log_path=tmp_path / "publisher.log",
    )
    try:
        started = publisher.wait_event("started", timeout=30)
        stream = started["stream"]
        stream_id = stream["id"]
        assert stream["name"] == "e2e broadcast"
        assert stream["thumbnail_url"] is None  # no poster yet
        assert started["s3_bucket_path"].endswith(stream_id)
        playback_url = stream["playback_url"]
        assert playback_url.startswith(
            f"{demo_stack.base_url}/stream/{stream_id}/playlist.m3u8?token="
        )
        watcher = PlaylistWatcher(playback_url)
        watcher.start()
        # The poster, announced after its first upload: live, the API hands it out.
        announced = publisher.wait_event("poster_announced", timeout=BROADCAST_SECONDS + 10)
        assert announced["stream_id"] == stream_id
        status, _, body = http_get(
            f"{demo_stack.base_url}/stream/{stream_id}/", auth=("demo", "demo")
        )
        live = json.loads(body)
        assert live["status"] == "live"
        assert live["thumbnail_url"]
        assert_thumbnail_decodes(ffmpeg, live["thumbnail_url"], tmp_path / "live.jpg")
        assert_thumbnail_decodes(ffmpeg, announced["thumbnail_url"], tmp_path / "event.jpg")
        returncode = publisher.process.wait(timeout=BROADCAST_SECONDS + 40)
        watcher.done.set()
        watcher.join(timeout=15)
    finally:
        publisher.stop()
    log = (tmp_path / "publisher.log").read_text(errors="replace")
    assert returncode == 0, log

    # The publisher stopped the stream: its stop answer and the API agree it ended.
    stopped = publisher.wait_event("stopped", timeout=1)["stream"]
    assert stopped["id"] == stream_id
    assert stopped["stop_date"]
    status, _, body = http_get(f"{demo_stack.base_url}/stream/{stream_id}/", auth=("demo", "demo"))
    assert status == 200, body
    detail = json.loads(body)
    assert detail["status"] == "ended"
    assert detail["stop_date"]
    # The recording keeps its poster.
    assert_thumbnail_decodes(ffmpeg, detail["thumbnail_url"], tmp_path / "ended.jpg")
    assert stopped["thumbnail_url"]

    # The example project's own receiver got the events, signatures verified: started,
    # stopped, and the closed recording (issue 18's stream.recording_ready).
    status, _, body = http_get(f"{demo_stack.base_url}/events/?format=json")
    received = [e for e in json.loads(body)["events"] if e["stream"] == stream_id]
    assert sorted(e["type"] for e in received) == [
        "stream.recording_ready",
        "stream.started",
        "stream.stopped",
    ]
    assert next(e for e in received if e["type"] == "stream.stopped")["reason"] == "client"

    # While live, the playlist never named a segment that was not uploaded yet.
    assert watcher.polls >= 3
    assert watcher.missing == []

    # The bucket is private: nothing in it can be read without a presigned URL.
    key = f"{started['s3_bucket_path']}/index.m3u8"
    assert http_get(demo_stack.emulator.object_url(key))[0] == 403

    # The recording, after stop: the token holder, the owner, and nobody else.
    playlist_path = f"{demo_stack.base_url}/stream/{stream_id}/playlist.m3u8"
    status, headers, body = http_get(playback_url)
    assert status == 200, body
    assert header(headers, "Content-Type") == "application/vnd.apple.mpegurl"
    assert header(headers, "Cache-Control").startswith("private, max-age=")
    assert http_get(playlist_path, auth=("demo", "demo"))[2] == body
    assert http_get(playlist_path)[0] == 404
    assert http_get(f"{playlist_path}?token=forged")[0] == 404
    text = body.decode()
    playlist = m3u8.loads(text)
    assert playlist.is_endlist, text
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
    assert playlist.target_duration is not None
    assert playlist.target_duration <= 2
    assert "#EXT-X-PROGRAM-DATE-TIME" in text
    assert playlist.segments[0].program_date_time is not None
    segments = playlist.segments
    print(f"\ne2e: {len(segments)} segments, {sum(s.duration or 0 for s in segments):.1f}s")
    assert len(segments) >= 3

    # Every segment, fetched through its presigned URL, has the publisher's headers and
    # decodes without a single error.
    names = [urlsplit(str(segment.uri)).path.rsplit("/", 1)[-1] for segment in segments]
    keys = {
        obj["Key"].rsplit("/", 1)[1]
        for obj in demo_stack.emulator.s3().list_objects_v2(
            Bucket=demo_stack.emulator.bucket, Prefix=f"{started['s3_bucket_path']}/"
        )["Contents"]
    }
    # The playlist, every segment it lists, and the poster (a JPEG rewritten every 5 s).
    assert keys == {"index.m3u8", "poster.jpg", *names}
    poster = demo_stack.emulator.s3().get_object(
        Bucket=demo_stack.emulator.bucket, Key=f"{started['s3_bucket_path']}/poster.jpg"
    )
    assert poster["ContentType"] == "image/jpeg"
    (tmp_path / "poster.jpg").write_bytes(poster["Body"].read())
    assert decode_errors(ffmpeg, tmp_path / "poster.jpg") == (0, "")
    for number, (segment, name) in enumerate(zip(segments, names, strict=True), start=1):
        assert "X-Amz-Signature=" in str(segment.uri)
        # 1 s each; the last one is cut short where the broadcast stopped.
        duration = segment.duration or 0
        assert 0 < duration <= 1.1
        if number < len(segments):
            assert duration >= 0.9, name
        status, headers, data = http_get(str(segment.uri))
        assert status == 200
        assert header(headers, "Content-Type") == "video/mp2t"
        assert "max-age=31536000" in header(headers, "Cache-Control")
        local = tmp_path / name
        local.write_bytes(data)
        assert decode_errors(ffmpeg, local) == (0, ""), name


def test_sigterm_ends_a_public_broadcast_anyone_can_watch(
    demo_stack: Stack, tmp_path: Path
) -> None:
    publisher = start_publisher(
        demo_stack.broadcaster(),
        name="sigterm",
        extra=[*SMALL, "--public"],
        log_path=tmp_path / "publisher.log",
    )
    try:
        stream_id = publisher.wait_event("started", timeout=30)["stream"]["id"]
        publisher.wait_event("first_upload", timeout=30)
        time.sleep(1)
        publisher.process.send_signal(signal.SIGTERM)
        returncode = publisher.process.wait(timeout=30)
    finally:
        publisher.stop()
    assert returncode == 0, (tmp_path / "publisher.log").read_text(errors="replace")
    assert publisher.wait_event("stopped", timeout=1)["stream"]["stop_date"]
    status, _, body = http_get(f"{demo_stack.base_url}/stream/{stream_id}/", auth=("demo", "demo"))
    assert json.loads(body)["status"] == "ended"
    # A public stream: its playback_url has no token, and an anonymous player opens it.
    playback_url = publisher.wait_event("started", timeout=1)["stream"]["playback_url"]
    assert "token=" not in playback_url
    status, headers, body = http_get(playback_url)
    assert status == 200, body
    assert header(headers, "Cache-Control").startswith("public, max-age=")
    assert m3u8.loads(body.decode()).is_endlist

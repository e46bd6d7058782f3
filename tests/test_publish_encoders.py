"""``broadcast-publish`` as encoders and players meet it: RTMP in, several renditions out.

The command line and the ffmpeg command it builds are checked in-process. Then, against
the demo stack (the example project on ``runserver``, moto's S3/STS over HTTP, a bucket
with no public access):

- a second ffmpeg pushes RTMP, standing in for OBS, into ``--listen``; what arrives in
  the bucket is the pushed picture remuxed (same size and codec, not re-encoded), every
  segment decodes, and the stream's ``playback_url`` serves it;
- ``--renditions`` uploads a master playlist and one playlist per rendition, every
  rendition's segments decode, and hls.js in Debian's chromium lists every level and
  plays, with the glass-to-glass latency written to ``test-output/latency-renditions.txt``.
"""

from __future__ import annotations

import json
import os
import posixpath
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urljoin

import m3u8
import pytest

from broadcast_publish.cli import parse_args
from broadcast_publish.encoder import EncoderSettings, build_command
from broadcast_publish.ladder import DEFAULT_RENDITIONS, LADDER, parse_renditions
from broadcast_publish.layout import PLAYLIST_NAME, POSTER_NAME
from broadcast_publish.sync import HlsMirror
from devtools.media import decode_errors, decoder_ffmpeg, encoder_ffmpeg
from devtools.publisher import start_publisher
from tests.servers import free_port

if TYPE_CHECKING:
    from devtools.stack import Stack

RENDITIONS = "480p,360p,240p"  # three, light enough to encode in real time on 2 cores


# -- the command line ----------------------------------------------------------------------


def test_renditions_parse_highest_first_and_refuse_unknown_names() -> None:
    assert [r.name for r in parse_renditions("240p,720p,480p")] == ["720p", "480p", "240p"]
    assert [r.name for r in parse_renditions("default")] == list(DEFAULT_RENDITIONS)
    with pytest.raises(ValueError, match="unknown rendition '4k'"):
        parse_renditions("720p,4k")
    with pytest.raises(ValueError, match="given twice"):
        parse_renditions("720p,720p")
    assert all(r.bandwidth > r.video_kbps * 1000 for r in LADDER.values())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--listen", "http://127.0.0.1/live"], "--listen takes an rtmp:// or srt:// URL"),
        (["--renditions", "720p,9000p"], "unknown rendition"),
        (["--poster-seconds", "-1"], "--poster-seconds"),
        (["--listen", "rtmp://127.0.0.1:1935/live", "--input", __file__], "exclude each other"),
    ],
)
def test_bad_options_are_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_failing_poster_announce_waits_for_the_next_poster(tmp_path: Path) -> None:
    """The announce follows a poster upload, until the server has taken it; a failed one
    holds nothing back and is tried again with the next picture, not in a loop."""
    uploaded: list[tuple[str, bytes]] = []
    answers = iter([False, True])
    announces: list[int] = []

    class Uploads:
        def put(self, key: str, body: bytes) -> None:
            uploaded.append((key, body))

    def announce() -> bool:
        announces.append(len(uploaded))
        return next(answers)

    mirror = HlsMirror(tmp_path, cast("Any", Uploads()), on_poster=announce)
    poster = tmp_path / POSTER_NAME
    for number in (1, 1, 2, 3):  # the second sync sees the same picture again
        if poster.exists() and poster.read_bytes() == str(number).encode():
            mirror.sync()
            continue
        poster.write_bytes(str(number).encode())
        os.utime(poster, (number, number))
        mirror.sync()
    assert uploaded == [(POSTER_NAME, b"1"), (POSTER_NAME, b"2"), (POSTER_NAME, b"3")]
    assert announces == [1, 2]  # after the first upload (refused), the second (taken)
    assert mirror.poster_announced


def test_a_listener_remuxes_and_a_ladder_encodes_each_rendition(tmp_path: Path) -> None:
    listen = build_command(
        "ffmpeg",
        EncoderSettings(listen="rtmp://127.0.0.1:1935/live"),
        tmp_path,
        clock_epoch=0.0,
        drawtext=False,
    )
    assert listen[listen.index("-i") - 2 : listen.index("-i") + 2] == [
        "-listen",
        "1",
        "-i",
        "rtmp://127.0.0.1:1935/live",
    ]
    assert listen[listen.index("-c") + 1] == "copy"
    assert "libx264" not in listen
    srt = build_command(
        "ffmpeg",
        EncoderSettings(listen="srt://127.0.0.1:9000?mode=listener", transcode=True),
        tmp_path,
        clock_epoch=0.0,
        drawtext=False,
    )
    assert "-listen" not in srt
    assert "copy" not in srt
    assert "libx264" in srt

    ladder = build_command(
        "ffmpeg",
        EncoderSettings(renditions=parse_renditions("720p,240p")),
        tmp_path,
        clock_epoch=0.0,
        drawtext=False,
    )
    assert ladder.count("libx264") == 2
    assert ladder[ladder.index("-var_stream_map") + 1] == "v:0,name:720p v:1,name:240p"
    assert ladder[ladder.index("-master_pl_name") + 1] == PLAYLIST_NAME
    assert ladder[ladder.index("-b:v:1") + 1] == "400k"
    assert str(tmp_path / "%v" / PLAYLIST_NAME) in ladder
    # The poster: a second output of the same ffmpeg, replaced atomically.
    assert ladder[-1] == str(tmp_path / POSTER_NAME)
    assert ladder[ladder.index("-atomic_writing") + 1] == "1"
    no_poster = build_command(
        "ffmpeg", EncoderSettings(poster_seconds=0), tmp_path, clock_epoch=0.0, drawtext=False
    )
    assert str(tmp_path / POSTER_NAME) not in no_poster


# -- against the demo stack ----------------------------------------------------------------


def objects_under(stack: Stack, prefix: str) -> dict[str, bytes]:
    s3 = stack.emulator.s3()
    listed = s3.list_objects_v2(Bucket=stack.emulator.bucket, Prefix=f"{prefix}/")
    return {
        obj["Key"][len(prefix) + 1 :]: s3.get_object(Bucket=stack.emulator.bucket, Key=obj["Key"])[
            "Body"
        ].read()
        for obj in listed.get("Contents", [])
    }


def probe_video(ffmpeg: str, media: Path) -> str:
    """ffmpeg's description of the first video stream (codec and size)."""
    result = subprocess.run(
        [ffmpeg, "-hide_banner", "-i", str(media)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return next(line for line in result.stderr.splitlines() if "Video:" in line)


def assert_segments_decode(
    ffmpeg: str, objects: dict[str, bytes], playlist: str, tmp_path: Path
) -> list[str]:
    """Every segment the playlist names is in the bucket and decodes without an error."""
    parsed = m3u8.loads(objects[playlist].decode())
    assert parsed.is_endlist
    base = posixpath.dirname(playlist)
    names = [posixpath.join(base, str(segment.uri)) for segment in parsed.segments]
    assert len(names) >= 3, names
    for name in names:
        local = tmp_path / name.replace("/", "_")
        local.write_bytes(objects[name])
        assert decode_errors(ffmpeg, local) == (0, ""), name
    return names


@pytest.mark.e2e
@pytest.mark.timeout(150)
def test_an_rtmp_encoder_is_forwarded_remuxed(demo_stack: Stack, tmp_path: Path) -> None:
    stack = demo_stack
    ffmpeg = decoder_ffmpeg()
    encoder = encoder_ffmpeg()
    assert ffmpeg is not None
    assert encoder is not None
    url = f"rtmp://127.0.0.1:{free_port()}/live"
    publisher = start_publisher(
        stack.broadcaster(),
        name="from obs",
        extra=["--listen", url],
        log_path=tmp_path / "publisher.log",
    )
    try:
        started = publisher.wait_event("started", timeout=30)
        assert publisher.wait_event("listening", timeout=30)["url"] == url
        time.sleep(1)  # ffmpeg binds the port right after the event
        # The stand-in for OBS: x264 with a keyframe every second, AAC, FLV over RTMP.
        pushed = subprocess.run(
            [
                encoder,
                *["-hide_banner", "-loglevel", "error", "-re"],
                *["-f", "lavfi", "-i", "testsrc2=size=426x240:rate=30:duration=8"],
                *["-f", "lavfi", "-i", "sine=frequency=440:duration=8"],
                *["-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-keyint_min", "30"],
                *["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"],
                *["-f", "flv", f"{url}/stream-key"],
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert pushed.returncode == 0, pushed.stderr
        # The encoder hung up: the publisher finishes the playlist and stops the stream.
        returncode = publisher.process.wait(timeout=60)
    finally:
        publisher.stop()
    log = (tmp_path / "publisher.log").read_text(errors="replace")
    assert returncode == 0, log
    assert publisher.wait_event("stopped", timeout=1)["stream"]["stop_date"]

    objects = objects_under(stack, started["s3_bucket_path"])
    names = assert_segments_decode(ffmpeg, objects, PLAYLIST_NAME, tmp_path)
    # Remuxed, not re-encoded: the pushed size arrives as it was sent (an encode would
    # have scaled it to --size's 720 lines).
    video = probe_video(ffmpeg, tmp_path / names[0].replace("/", "_"))
    assert "h264" in video
    assert "426x240" in video
    # What a viewer opens: the stream's playback URL serves the recording.
    playback_url = started["stream"]["playback_url"]
    status, body = http_get(playback_url)
    assert status == 200
    served = m3u8.loads(body)
    assert len(served.segments) == len(names)
    assert served.is_endlist


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.e2e
@pytest.mark.timeout(150)
def test_renditions_upload_a_master_and_every_rendition_decodes(
    demo_stack: Stack, tmp_path: Path
) -> None:
    stack = demo_stack
    ffmpeg = decoder_ffmpeg()
    assert ffmpeg is not None
    publisher = start_publisher(
        stack.broadcaster(),
        name="three renditions",
        duration=8,
        extra=["--renditions", RENDITIONS, "--size", "854x480"],
        log_path=tmp_path / "publisher.log",
    )
    try:
        started = publisher.wait_event("started", timeout=30)
        returncode = publisher.process.wait(timeout=90)
    finally:
        publisher.stop()
    assert returncode == 0, (tmp_path / "publisher.log").read_text(errors="replace")
    objects = objects_under(stack, started["s3_bucket_path"])
    master = m3u8.loads(objects[PLAYLIST_NAME].decode())
    assert master.is_variant
    assert [p.uri for p in master.playlists] == [
        f"{name}/{PLAYLIST_NAME}" for name in RENDITIONS.split(",")
    ]
    heights = [(p.stream_info.resolution or (0, 0))[1] for p in master.playlists]
    assert heights == [480, 360, 240]
    assert all(p.stream_info.bandwidth and p.stream_info.codecs for p in master.playlists)
    for name in RENDITIONS.split(","):
        segments = assert_segments_decode(ffmpeg, objects, f"{name}/{PLAYLIST_NAME}", tmp_path)
        video = probe_video(ffmpeg, tmp_path / segments[0].replace("/", "_"))
        assert f"x{name.removesuffix('p')}" in video, video
    assert POSTER_NAME in objects
    # The stream's playback URL opens the master, rewritten to this server's renditions.
    playback_url = started["stream"]["playback_url"]
    status, body = http_get(playback_url)
    assert status == 200
    served = m3u8.loads(body)
    assert len(served.playlists) == 3
    for variant in served.playlists:
        status, text = http_get(urljoin(playback_url, str(variant.uri)))
        assert status == 200
        assert m3u8.loads(text).is_endlist


@pytest.mark.browser
@pytest.mark.timeout(150)
def test_hls_js_lists_every_rendition_and_plays(
    browser_stack: Stack, chromium: Any, tmp_path: Path, test_output_dir: Path
) -> None:
    stack = browser_stack
    publisher = start_publisher(
        stack.broadcaster(),
        name="ladder in the browser",
        extra=["--renditions", RENDITIONS, "--size", "854x480"],
        log_path=tmp_path / "publisher.log",
    )
    page = chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        stream_id = publisher.wait_event("started", timeout=30)["stream"]["id"]
        publisher.wait_event("first_upload", timeout=30)
        time.sleep(4)  # join a few segments in, as a viewer usually does
        page.goto(f"{stack.base_url}/watch/{stream_id}/")
        page.wait_for_function(
            "(() => { const v = document.getElementById('video');"
            " return v.currentTime > 0 && !v.paused && v.readyState >= 3; })()",
            timeout=40_000,
        )
        levels = page.evaluate("window.broadcastPlayer.hls.levels.map(l => [l.height, l.bitrate])")
        start = float(page.evaluate("document.getElementById('video').currentTime"))
        page.wait_for_function(
            "start => document.getElementById('video').currentTime > start + 2",
            arg=start,
            timeout=40_000,
        )
        samples = []
        for _ in range(10):
            time.sleep(0.5)
            value = page.evaluate("document.getElementById('latency').dataset.latencyMs")
            if value:
                samples.append(int(value) / 1000)
    finally:
        page.close()
        returncode = publisher.stop()
    assert returncode == 0, (tmp_path / "publisher.log").read_text(errors="replace")
    assert errors == []
    assert sorted(height for height, _ in levels) == [240, 360, 480]
    assert len(samples) >= 5, samples
    median = statistics.median(samples)
    (test_output_dir / "latency-renditions.txt").write_text(
        json.dumps({"renditions": RENDITIONS, "median_s": median, "samples_s": samples}) + "\n"
    )
    print(f"\nglass-to-glass latency, {RENDITIONS}: median {median:.2f} s over {samples}")
    assert median <= 6.0

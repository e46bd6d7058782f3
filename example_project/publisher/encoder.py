"""The ffmpeg command line: a live source encoded to HLS with 1 s segments."""

from __future__ import annotations

import logging
import math
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

PLAYLIST_NAME = "index.m3u8"
SEGMENT_PATTERN = "seg_%06d.ts"


def ffmpeg_executable() -> str:
    """The static ffmpeg of the ``imageio-ffmpeg`` wheel (``IMAGEIO_FFMPEG_EXE`` overrides)."""
    import imageio_ffmpeg  # noqa: PLC0415  (the publisher's own dependency, loaded when it encodes)

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


@dataclass(frozen=True)
class EncoderSettings:
    """What to encode and how."""

    input: Path | None = None
    """A media file to broadcast (looped); ``None`` broadcasts a generated test pattern."""
    size: str = "1280x720"
    fps: int = 30
    segment_seconds: int = 1
    video_kbps: int = 2000
    window: int = 0
    """0: an EVENT playlist that keeps every segment (the recording plays on demand after
    the end); N > 0: a sliding live window of N segments."""
    label: str = ""
    """Burnt into the test pattern under the clock."""


def _quote(value: str) -> str:
    """Quote one filter option value (ffmpeg's ``'...'``, with ``'`` as ``'\\''``)."""
    return "'" + value.replace("'", "'\\''") + "'"


def clock_drawtext(epoch: float, *, fontsize: int) -> str:
    """A ``drawtext`` filter showing UTC wall-clock time to the millisecond.

    The time is ``epoch + pts`` (``epoch``: just before ffmpeg starts; the source runs
    in real time), so a viewer can compare it with a clock beside the player.
    """
    epoch = round(epoch, 3)
    frac = epoch - math.floor(epoch)
    millis = rf"%{{eif\:mod(floor((t+{frac:.3f})*1000)\,1000)\:d\:3}}"
    text = rf"%{{pts\:gmtime\:{epoch:.3f}\:%H\\\:%M\\\:%S}}.{millis} UTC"
    return (
        f"drawtext=text='{text}':fontsize={fontsize}:fontcolor=white"
        f":box=1:boxcolor=black@0.6:boxborderw={fontsize // 5}:x=(w-text_w)/2:y=h/12"
    )


def label_drawtext(label_file: Path, *, fontsize: int) -> str:
    return (
        f"drawtext=textfile={_quote(str(label_file))}:expansion=none:fontsize={fontsize}"
        f":fontcolor=white:box=1:boxcolor=black@0.6:boxborderw={fontsize // 5}"
        ":x=(w-text_w)/2:y=h-text_h-h/12"
    )


def drawtext_available(exe: str) -> bool:
    """Whether this ffmpeg can burn text in (it needs libfreetype and a font)."""
    probe = [
        exe,
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x90:rate=1",
        "-vf",
        clock_drawtext(0.0, fontsize=12),
        "-frames:v",
        "1",
        "-f",
        "null",
        "-",
    ]
    try:
        result = subprocess.run(probe, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if result.returncode != 0:
        log.warning("ffmpeg cannot draw text: %s", result.stderr.decode(errors="replace")[-300:])
    return result.returncode == 0


def build_command(
    exe: str,
    settings: EncoderSettings,
    outdir: Path,
    *,
    clock_epoch: float,
    drawtext: bool,
) -> list[str]:
    """The full ffmpeg argv writing ``outdir/index.m3u8`` and ``outdir/seg_NNNNNN.ts``."""
    width, _, height = settings.size.partition("x")
    fontsize = max(12, int(height) // 12)
    argv = [exe, "-hide_banner", "-nostdin", "-loglevel", "warning", "-nostats"]
    if settings.input is None:
        source = "testsrc2" if drawtext else "testsrc"  # testsrc draws a running counter
        argv += ["-re", "-f", "lavfi", "-i", f"{source}=size={width}x{height}:rate={settings.fps}"]
        filters = [f"fps={settings.fps}"]
        if drawtext:
            filters.append(clock_drawtext(clock_epoch, fontsize=fontsize))
            if settings.label:
                label_file = outdir.parent / "label.txt"
                label_file.write_text(settings.label, encoding="utf-8")
                filters.append(label_drawtext(label_file, fontsize=fontsize * 2 // 3))
        argv += ["-map", "0:v:0"]
    else:
        argv += ["-re", "-stream_loop", "-1", "-i", str(settings.input)]
        filters = [f"fps={settings.fps}", f"scale=-2:{height}"]
        argv += ["-map", "0:v:0", "-map", "0:a:0?", "-c:a", "aac", "-b:a", "128k", "-ac", "2"]
    filters.append("format=yuv420p")
    gop = settings.fps * settings.segment_seconds
    kbps = settings.video_kbps
    argv += [
        "-vf",
        ",".join(filters),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-profile:v",
        "main",
        "-b:v",
        f"{kbps}k",
        "-maxrate",
        f"{kbps}k",
        "-bufsize",
        f"{kbps}k",
        # A keyframe at every segment boundary: segments start independently.
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-force_key_frames",
        f"expr:gte(t,n_forced*{settings.segment_seconds})",
        "-f",
        "hls",
        "-hls_time",
        str(settings.segment_seconds),
        "-hls_segment_type",
        "mpegts",
        "-hls_flags",
        "program_date_time+independent_segments+temp_file",
        "-hls_segment_filename",
        str(outdir / SEGMENT_PATTERN),
    ]
    if settings.window > 0:
        argv += ["-hls_list_size", str(settings.window)]
    else:
        argv += ["-hls_playlist_type", "event", "-hls_list_size", "0"]
    argv.append(str(outdir / PLAYLIST_NAME))
    return argv

"""The ffmpeg command line: a live source to HLS with 1 s segments, and a poster.

The source is a generated test pattern (with a burnt-in UTC clock, for measuring
latency), a media file (looped), or an encoder's stream received on ``--listen``
(RTMP or SRT). One rendition, or several (``var_stream_map``) with a master playlist.
What a received stream carries is remuxed as it is (``-c copy``) unless it must be
encoded (several renditions, or ``--transcode``).
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from broadcast_publish.ladder import AUDIO_KBPS
from broadcast_publish.layout import (
    PLAYLIST_NAME,
    POSTER_NAME,
    SEGMENT_PATTERN,
    rendition_playlist,
)

if TYPE_CHECKING:
    from pathlib import Path

    from broadcast_publish.ladder import Rendition

log = logging.getLogger(__name__)


class FfmpegNotFound(RuntimeError):
    """No ffmpeg: neither ``--ffmpeg``, nor the ``imageio-ffmpeg`` wheel, nor ``PATH``."""


def ffmpeg_executable(explicit: str | None = None) -> str:
    """The ffmpeg to run: ``explicit`` (``--ffmpeg``), else ``BROADCAST_PUBLISH_FFMPEG``,
    else the static binary of the ``imageio-ffmpeg`` wheel (the ``publisher`` extra
    installs it; ``IMAGEIO_FFMPEG_EXE`` overrides it), else ``ffmpeg`` on ``PATH``."""
    chosen = explicit or os.environ.get("BROADCAST_PUBLISH_FFMPEG")
    if chosen:
        return chosen
    try:
        imageio_ffmpeg = importlib.import_module("imageio_ffmpeg")
    except ImportError:
        pass
    else:
        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
        return exe
    found = shutil.which("ffmpeg")
    if found is None:
        raise FfmpegNotFound(
            "no ffmpeg found: install the publisher extra (imageio-ffmpeg), put ffmpeg on "
            "PATH, or pass --ffmpeg"
        )
    return found


def supports_protocol(exe: str, protocol: str) -> bool:
    """Whether this ffmpeg can read ``protocol`` (``srt`` needs libsrt)."""
    try:
        result = subprocess.run(
            [exe, "-hide_banner", "-protocols"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    _, _, inputs = result.stdout.partition("Input:")
    inputs, _, _ = inputs.partition("Output:")
    return protocol in inputs.split()


@dataclass(frozen=True)
class EncoderSettings:
    """What to encode and how."""

    input: Path | None = None
    """A media file to broadcast (looped); ``None`` broadcasts a generated test pattern."""
    listen: str | None = None
    """An ``rtmp://`` or ``srt://`` URL to receive an encoder's stream on (ffmpeg listens)."""
    transcode: bool = False
    """Encode a received stream even when it could be remuxed as it is."""
    renditions: tuple[Rendition, ...] = ()
    """Several renditions (a master playlist); empty: one, at ``size``/``video_kbps``."""
    poster_seconds: float = 5.0
    """How often the poster is rewritten; 0: no poster."""
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
    """The full ffmpeg argv writing the upload layout (:mod:`broadcast_publish.layout`)
    into ``outdir``."""
    argv = [exe, "-hide_banner", "-nostdin", "-loglevel", "warning", "-nostats"]
    argv += source_arguments(settings, drawtext=drawtext)
    filters = picture_filters(settings, outdir, clock_epoch=clock_epoch, drawtext=drawtext)
    if settings.renditions:
        argv += ladder_arguments(settings, outdir, filters)
    else:
        argv += single_arguments(settings, outdir, filters)
    if settings.poster_seconds > 0:
        argv += poster_arguments(settings, outdir)
    return argv


def source_arguments(settings: EncoderSettings, *, drawtext: bool) -> list[str]:
    """The input: a test pattern, a looped file, or a listener (RTMP needs ``-listen 1``;
    an SRT URL says ``mode=listener`` itself)."""
    if settings.listen is not None:
        if settings.listen.startswith("rtmp"):
            return ["-listen", "1", "-i", settings.listen]
        return ["-i", settings.listen]
    if settings.input is not None:
        return ["-re", "-stream_loop", "-1", "-i", str(settings.input)]
    width, _, height = settings.size.partition("x")
    source = "testsrc2" if drawtext else "testsrc"  # testsrc draws a running counter
    return ["-re", "-f", "lavfi", "-i", f"{source}=size={width}x{height}:rate={settings.fps}"]


def picture_filters(
    settings: EncoderSettings, outdir: Path, *, clock_epoch: float, drawtext: bool
) -> list[str]:
    """Filters before scaling: the frame rate, and the clock on a test pattern."""
    filters = [f"fps={settings.fps}"]
    if settings.input is None and settings.listen is None and drawtext:
        _, _, height = settings.size.partition("x")
        fontsize = max(12, int(height) // 12)
        filters.append(clock_drawtext(clock_epoch, fontsize=fontsize))
        if settings.label:
            label_file = outdir.parent / "label.txt"
            label_file.write_text(settings.label, encoding="utf-8")
            filters.append(label_drawtext(label_file, fontsize=fontsize * 2 // 3))
    return filters


def has_audio(settings: EncoderSettings) -> bool:
    """A file or a received stream may carry audio (mapped with ``?``); the pattern not."""
    return settings.input is not None or settings.listen is not None


def x264_arguments(settings: EncoderSettings, kbps: int, *, stream: str = "") -> list[str]:
    """libx264, low latency, a keyframe at every segment boundary (segments start
    independently), constrained to ``kbps``."""
    gop = settings.fps * settings.segment_seconds
    suffix = f":{stream}" if stream else ""
    return [
        f"-c:v{suffix}",
        "libx264",
        f"-b:v{suffix}",
        f"{kbps}k",
        f"-maxrate:v{suffix}",
        f"{kbps}k",
        f"-bufsize:v{suffix}",
        f"{kbps}k",
    ] + (
        []
        if stream not in ("", "0")
        else [
            "-preset",
            "veryfast",
            "-tune",
            "zerolatency",
            "-profile:v",
            "main",
            "-g",
            str(gop),
            "-keyint_min",
            str(gop),
            "-sc_threshold",
            "0",
            "-force_key_frames",
            f"expr:gte(t,n_forced*{settings.segment_seconds})",
        ]
    )


def hls_arguments(settings: EncoderSettings) -> list[str]:
    argv = [
        "-f",
        "hls",
        "-hls_time",
        str(settings.segment_seconds),
        "-hls_segment_type",
        "mpegts",
        "-hls_flags",
        "program_date_time+independent_segments+temp_file",
    ]
    if settings.window > 0:
        return [*argv, "-hls_list_size", str(settings.window)]
    return [*argv, "-hls_playlist_type", "event", "-hls_list_size", "0"]


def single_arguments(settings: EncoderSettings, outdir: Path, filters: list[str]) -> list[str]:
    """One rendition: ``index.m3u8`` with its segments beside it."""
    argv = ["-map", "0:v:0"]
    if has_audio(settings):
        argv += ["-map", "0:a:0?"]
    if settings.listen is not None and not settings.transcode:
        argv += ["-c", "copy"]  # an encoder already sends H.264 + AAC with keyframes
    else:
        _, _, height = settings.size.partition("x")
        if has_audio(settings):  # a file or an encoder's picture: scaled to --size's height
            filters = [*filters, f"scale=-2:{height}"]
        filters = [*filters, "format=yuv420p"]
        argv += ["-vf", ",".join(filters), *x264_arguments(settings, settings.video_kbps)]
        if has_audio(settings):
            argv += ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ac", "2"]
    return [
        *argv,
        *hls_arguments(settings),
        "-hls_segment_filename",
        str(outdir / SEGMENT_PATTERN),
        str(outdir / PLAYLIST_NAME),
    ]


def ladder_arguments(settings: EncoderSettings, outdir: Path, filters: list[str]) -> list[str]:
    """Several renditions: one encode each (``split``), a master ``index.m3u8`` and
    ``<name>/index.m3u8`` per rendition (ffmpeg's ``var_stream_map``)."""
    renditions = settings.renditions
    base = ",".join(filters)
    outputs = "".join(f"[s{i}]" for i in range(len(renditions)))
    graph = [f"[0:v:0]{base},split={len(renditions)}{outputs}"]
    graph += [f"[s{i}]scale=-2:{r.height},format=yuv420p[v{i}]" for i, r in enumerate(renditions)]
    argv = ["-filter_complex", ";".join(graph)]
    audio = has_audio(settings)
    for i in range(len(renditions)):
        argv += ["-map", f"[v{i}]"]
    if audio:
        for _ in renditions:
            argv += ["-map", "0:a:0"]
    for i, rendition in enumerate(renditions):
        argv += x264_arguments(settings, rendition.video_kbps, stream=str(i))
    if audio:
        argv += ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ac", "2"]
    streams = " ".join(
        f"v:{i}{f',a:{i}' if audio else ''},name:{r.name}" for i, r in enumerate(renditions)
    )
    return [
        *argv,
        *hls_arguments(settings),
        "-master_pl_name",
        PLAYLIST_NAME,
        "-var_stream_map",
        streams,
        "-hls_segment_filename",
        str(outdir / "%v" / SEGMENT_PATTERN),
        str(outdir / rendition_playlist("%v")),
    ]


def poster_arguments(settings: EncoderSettings, outdir: Path) -> list[str]:
    """A second output of the same ffmpeg: one JPEG every ``poster_seconds``, written
    atomically over ``poster.jpg`` (so an upload never reads half a picture)."""
    return [
        "-map",
        "0:v:0",
        "-vf",
        f"fps=1/{settings.poster_seconds:g},scale=640:-2",
        "-q:v",
        "5",
        "-update",
        "1",
        "-atomic_writing",
        "1",
        str(outdir / POSTER_NAME),
    ]

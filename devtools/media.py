"""The two ffmpegs: the publisher's encoder (imageio-ffmpeg's) and a decoder to check with."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def encoder_ffmpeg() -> str | None:
    """The ffmpeg the publisher runs (the ``imageio-ffmpeg`` wheel's static binary)."""
    try:  # optional: only the demo and test groups install it
        exe: str = importlib.import_module("imageio_ffmpeg").get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None
    return exe if os.access(exe, os.X_OK) else None


def decoder_ffmpeg() -> str | None:
    """The ffmpeg that checks segments: Debian's if installed (another build than the
    encoder's), else the wheel's."""
    return shutil.which("ffmpeg") or encoder_ffmpeg()


def decode_errors(ffmpeg: str, media: Path) -> tuple[int, str]:
    """Decode a media file completely; ``(returncode, stderr)``: ``(0, "")`` when clean."""
    result = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(media), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, result.stderr.strip()

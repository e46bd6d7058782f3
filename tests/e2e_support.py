"""Shared by the end-to-end and browser tests: prerequisites and the running stack.

The stack is the demo's own (``scripts/demo.py``): ``moto_server`` on a free port, the
example project as a ``runserver`` subprocess on another with its own temp SQLite DB, and
the reference publisher as a subprocess. Nothing here is patched in-process.

Skip or fail: a missing prerequisite (ffmpeg, moto_server, chromium, Playwright, the
vendored hls.js) skips the test with the reason, unless ``BROADCAST_API_REQUIRE_SERVERS``
is ``all`` or names the test's kind (comma list: ``e2e``, ``browser``); then it fails.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.servers import require_or_skip

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "test-output"
CHROMIUM = os.environ.get("BROADCAST_API_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def _load_demo_script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "broadcast_api_demo_script", REPO / "scripts" / "demo.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


demo: Any = _load_demo_script()


def encoder_ffmpeg() -> str | None:
    """The ffmpeg the publisher runs (the ``imageio-ffmpeg`` wheel's static binary)."""
    try:
        import imageio_ffmpeg

        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None
    return exe if os.access(exe, os.X_OK) else None


def decoder_ffmpeg() -> str | None:
    """The ffmpeg that checks segments: Debian's if installed (another build than the
    encoder's), else the wheel's."""
    return shutil.which("ffmpeg") or encoder_ffmpeg()


def require_e2e(kind: str = "e2e") -> None:
    if encoder_ffmpeg() is None:
        require_or_skip(kind, "ffmpeg (imageio-ffmpeg's binary) is not available")
    if not Path(demo.moto_server_executable()).exists() and not shutil.which("moto_server"):
        require_or_skip(kind, "moto_server (moto[server]) is not installed")


def require_browser() -> None:
    require_e2e("browser")
    if not os.access(CHROMIUM, os.X_OK):
        require_or_skip("browser", f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        require_or_skip("browser", "the playwright package is not installed")
    if not demo.HLS_JS.exists():
        require_or_skip(
            "browser", f"{demo.HLS_JS.relative_to(REPO)} is missing: run `make hls-assets`"
        )


@contextmanager
def running_stack(workdir: Path) -> Iterator[Any]:
    """moto_server + the example project (fresh DB, user demo/demo) on free ports."""
    stack = demo.start_stack(workdir)
    try:
        yield stack
    finally:
        stack.stop()


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


def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT

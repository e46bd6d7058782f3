"""What the end-to-end, browser and RGW suites need on this machine, checked up front.

A missing prerequisite (ffmpeg, moto_server, chromium, Playwright, the vendored hls.js,
the ceph binaries) skips the test with the reason, unless ``BROADCAST_API_REQUIRE_SERVERS``
is ``all`` or names the test's kind (``e2e``, ``browser``, ``rgw``); then it fails.
"""

from __future__ import annotations

import importlib.util
import os

from devtools import ceph_rgw
from devtools.emulator import moto_server_available
from devtools.media import encoder_ffmpeg
from devtools.paths import HLS_JS, REPO
from devtools.testing.requirements import require_or_skip

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


def require_e2e(kind: str = "e2e") -> None:
    """ffmpeg for the publisher and moto_server for the emulator."""
    if encoder_ffmpeg() is None:
        require_or_skip(kind, "ffmpeg (imageio-ffmpeg's binary) is not available")
    if not moto_server_available():
        require_or_skip(kind, "moto_server (moto[server]) is not installed")


def require_browser() -> None:
    """What :func:`require_e2e` checks, and chromium, Playwright and the player's hls.js."""
    require_e2e("browser")
    if not os.access(CHROMIUM, os.X_OK):
        require_or_skip("browser", f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        require_or_skip("browser", "the playwright package is not installed")
    if not HLS_JS.exists():
        require_or_skip("browser", f"{HLS_JS.relative_to(REPO)} is missing: run `make hls-assets`")


def require_rgw() -> None:
    """The ceph binaries, or root and apt-get to install them."""
    ok, reason = ceph_rgw.available()
    if not ok:
        require_or_skip("rgw", f"Ceph RGW cannot run here: {reason}")

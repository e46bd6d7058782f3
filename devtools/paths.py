"""Where things live in the checkout."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example_project"
HLS_JS = EXAMPLE / "static" / "vendor" / "hls.min.js"
DEMO_WORKDIR = REPO / ".run" / "demo"

"""The package's wheel, built from this checkout as the installation page says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_wheel(into: Path) -> Path:
    """``pip wheel --no-deps``, as the installation page says (hatchling comes from the venv)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(into),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = into.glob("django_broadcast_api-*.whl")
    return wheel

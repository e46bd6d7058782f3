"""``python -m devtools.emulator``: a prepared S3/STS emulator until Ctrl-C.

Starts ``moto_server`` on 127.0.0.1, creates the bucket (private, with a CORS rule for
the player's origins) and the uploader role, then prints the settings that point a
Django project at it::

    python -m devtools.emulator                   # settings.py lines
    python -m devtools.emulator --format env      # export lines (the example project)
    python -m devtools.emulator --format json     # one JSON object, for scripts

Ctrl-C (or SIGTERM) stops it. The keys are the emulator's own, not secrets.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from devtools.emulator.account import DEFAULT_BUCKET, DEFAULT_REGION
from devtools.emulator.server import Emulator, start_emulator

if TYPE_CHECKING:
    from types import FrameType

DEFAULT_ORIGINS = ("http://127.0.0.1:8000", "http://localhost:8000")


def render(emulator: Emulator, fmt: str) -> str:
    """The settings pointing at ``emulator``, as settings.py lines, exports or JSON."""
    settings = emulator.server_env()
    if fmt == "json":
        return json.dumps(settings)
    if fmt == "env":
        lines = [f"# moto_server at {emulator.endpoint_url} (Ctrl-C stops it)"]
        return "\n".join(lines + [f"export {key}={value}" for key, value in settings.items()])
    lines = [f"# moto_server at {emulator.endpoint_url} (Ctrl-C stops it); in settings.py:"]
    return "\n".join(lines + [f"{key} = {value!r}" for key, value in settings.items()])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.emulator",
        description="Run a local S3/STS emulator prepared for broadcast_api.",
    )
    parser.add_argument("--port", type=int, default=0, help="moto port (default: a free one)")
    parser.add_argument("--bucket", default=DEFAULT_BUCKET)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument(
        "--origin",
        action="append",
        dest="origins",
        help="a player page origin the bucket's CORS rule allows (repeatable; default"
        f" {' and '.join(DEFAULT_ORIGINS)})",
    )
    parser.add_argument("--format", choices=("settings", "env", "json"), default="settings")
    parser.add_argument("--log", type=Path, default=None, help="moto's log file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    emulator = start_emulator(
        bucket=args.bucket,
        region=args.region,
        origins=args.origins or DEFAULT_ORIGINS,
        port=args.port or None,
        log_path=args.log,
    )
    try:
        print(render(emulator, args.format), flush=True)
        while not stop.wait(0.5):
            if emulator.process.poll() is not None:
                print(f"moto_server exited ({emulator.process.returncode})", file=sys.stderr)
                return 1
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

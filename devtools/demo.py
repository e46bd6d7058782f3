"""``make demo`` (``python -m devtools.demo``): S3 emulator + example project + a publisher
broadcasting, until Ctrl-C.

    python -m devtools.demo [--port 8000] [--no-publisher] [--duration S]

It starts, all on 127.0.0.1, on free ports (Django on 8000 when free), without root:

1. ``moto_server`` (S3 + STS + IAM) prepared as an AWS account would be for
   broadcast_api (:mod:`devtools.emulator`): the private bucket, a CORS rule for the
   player page's origin only, and the uploader role;
2. the example project (``example_project/``) with a fresh SQLite DB under
   ``.run/demo/``, a superuser ``demo``/``demo``, served by ``runserver --noreload``;
3. the reference publisher (``broadcast-publish``) broadcasting a test pattern with a
   burnt-in clock, until Ctrl-C;

then prints what to open and how to start/stop a stream with curl. Ctrl-C (or SIGTERM)
stops the publisher first (it ends its stream), then the server, then the emulator.
Logs: ``.run/demo/*.log``. The player opens each stream's ``playback_url``: the
example project's ``/stream/<id>/playlist.m3u8``, whose presigned URLs take it to the
segments in the emulator. The same stack serves the end-to-end and browser tests
(:mod:`devtools.pytest_plugin`).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from devtools.emulator import __main__ as emulator_cli
from devtools.paths import DEMO_WORKDIR, HLS_JS, REPO
from devtools.publisher import Publisher, shell_command, start_publisher
from devtools.stack import Stack, start_stack

if TYPE_CHECKING:
    from types import FrameType


def banner(stack: Stack, stream_id: str | None) -> str:
    base = stack.base_url
    lines = ["", "broadcast_api demo is running (Ctrl-C stops everything)", ""]
    if stream_id:
        lines.append(f"  Watch the demo broadcast: {base}/watch/{stream_id}/")
    lines += [
        f"  All streams:              {base}/",
        f"  Webhooks it received:     {base}/events/",
        f"  Swagger UI:               {base}/schema/swagger/",
        f"  ReDoc:                    {base}/schema/redoc/",
        f"  Admin:                    {base}/admin/  (login {stack.user} / {stack.password})",
        f"  S3 emulator (moto):       {stack.emulator.endpoint_url}"
        f"  bucket {stack.emulator.bucket}",
        "",
        "  Start and stop a stream yourself:",
        f"    curl -u {stack.user}:{stack.password} -X POST "
        f"'{base}/stream/start/?name=some_name&type=hls'",
        f"    curl -u {stack.user}:{stack.password} -X POST '{base}/stream/stop/?id=<stream id>'",
        "  Broadcast to it with the reference publisher:",
        f"    {shell_command(stack.password)} \\",
        f"        --api {base} --user {stack.user} --name 'my stream' --duration 60",
        "",
        f"  Logs: {stack.workdir}/",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.demo", description="Run the broadcast_api live demo locally."
    )
    parser.add_argument("--port", type=int, default=0, help="Django port (default: 8000 if free)")
    parser.add_argument("--no-publisher", action="store_true", help="start no demo broadcast")
    parser.add_argument("--name", default="demo test pattern", help="name of the demo broadcast")
    parser.add_argument(
        "--duration", type=float, default=None, help="end the demo broadcast after S seconds"
    )
    parser.add_argument("--workdir", type=Path, default=DEMO_WORKDIR)
    parser.add_argument(
        "--emulator-only",
        action="store_true",
        help="run only the prepared S3/STS emulator (= python -m devtools.emulator --format env)",
    )
    return parser.parse_args(argv)


def watch(stack: Stack, publisher: Publisher | None, stop: threading.Event) -> int:
    """Until ``stop``: a server that exits ends the demo; the broadcast may end alone."""
    code = 0
    while not stop.wait(0.5):
        for label, proc in (
            ("moto_server", stack.emulator.process),
            ("example project", stack.server.process),
        ):
            if proc.poll() is not None:
                print(f"{label} exited ({proc.returncode}); see {stack.workdir}/", file=sys.stderr)
                code = 1
                stop.set()
        if publisher is not None and publisher.process.poll() is not None:
            print(
                f"the demo broadcast ended (publisher exit {publisher.process.returncode}); "
                "servers keep running until Ctrl-C",
                flush=True,
            )
            publisher = None
    if publisher is not None:
        publisher.stop()
    return code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir: Path = args.workdir
    if workdir.exists():
        shutil.rmtree(workdir)
    if args.emulator_only:
        workdir.mkdir(parents=True)
        port = args.port or 8000
        origins = ["--origin", f"http://127.0.0.1:{port}", "--origin", f"http://localhost:{port}"]
        return emulator_cli.main(["--format", "env", *origins, "--log", str(workdir / "moto.log")])
    if not HLS_JS.exists():
        print(
            f"warning: {HLS_JS.relative_to(REPO)} is missing, the player page cannot play; "
            "run `make hls-assets` (npm ci + copy) first",
            file=sys.stderr,
        )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    t0 = time.monotonic()
    print("starting the S3 emulator and the example project ...", flush=True)
    stack = start_stack(workdir, port=args.port or None, preferred_port=8000)
    publisher: Publisher | None = None
    try:
        stream_id = None
        if not args.no_publisher:
            publisher = start_publisher(
                stack.broadcaster(),
                name=args.name,
                duration=args.duration,
                log_path=workdir / "publisher.log",
            )
            started = publisher.wait_event("started", timeout=30)
            stream_id = str(started["stream"]["id"])
            # Print the player URL once there is something to play.
            publisher.wait_event("first_upload", timeout=30)
        print(banner(stack, stream_id), flush=True)
        print(f"(up in {time.monotonic() - t0:.1f}s)", flush=True)
        code = watch(stack, publisher, stop)
        publisher = None
    finally:
        print("stopping ...", flush=True)
        if publisher is not None:
            publisher.stop()
        stack.stop()
        print("stopped.", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

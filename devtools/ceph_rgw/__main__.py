"""``python -m devtools.ceph_rgw start|stop``: the gateway from the command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path

from devtools.ceph_rgw.cluster import start, stop
from devtools.ceph_rgw.layout import RGWError, log


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.ceph_rgw",
        description="Start and stop a throwaway one-node Ceph RADOS Gateway (S3 + STS).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start_cmd = commands.add_parser("start", help="start the gateway, print its JSON")
    start_cmd.add_argument("--dir", type=Path, help="cluster directory (default /tmp/rgw-XXXX)")
    start_cmd.add_argument("--port", type=int, help="radosgw port (default: a free one)")
    start_cmd.add_argument(
        "--min-session-duration",
        type=int,
        default=900,
        metavar="SECONDS",
        help="rgw sts min session duration (default 900; lower it to test expiry)",
    )
    start_cmd.add_argument("--timeout", type=float, default=90.0, help="seconds (default 90)")
    stop_cmd = commands.add_parser("stop", help="stop the gateway and remove its directory")
    stop_cmd.add_argument("--dir", type=Path, required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "stop":
        try:
            stop(args.dir)
        except RGWError as exc:
            log(f"error: {exc}")
            return 1
        return 0

    directory: Path = args.dir or Path(tempfile.mkdtemp(prefix="rgw-", dir="/tmp"))
    try:
        info = start(
            directory,
            min_session_duration=args.min_session_duration,
            port=args.port,
            timeout=args.timeout,
        )
    except RGWError as exc:
        if args.dir is None:  # our mkdtemp; start() already removed it if it got that far
            with contextlib.suppress(OSError):
                directory.rmdir()
        log(f"error: {exc}")
        return 1
    print(json.dumps(info), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line of the reference publisher."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.broadcast import Broadcaster, Options
from publisher.encoder import EncoderSettings

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

log = logging.getLogger("publisher")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m publisher",
        description="Broadcast live HLS through a broadcast_api server, straight to S3.",
    )
    env = os.environ.get
    parser.add_argument(
        "--api",
        default=env("PUBLISHER_API", "http://127.0.0.1:8000"),
        help="base URL of the API (default: %(default)s; env PUBLISHER_API)",
    )
    parser.add_argument("--user", default=env("PUBLISHER_USER", "demo"), help="env PUBLISHER_USER")
    parser.add_argument(
        "--password",
        default=env("PUBLISHER_PASSWORD", "demo"),
        help="env PUBLISHER_PASSWORD (prefer it to the flag: flags show in `ps`)",
    )
    parser.add_argument(
        "--name", default=f"test pattern from {socket.gethostname()}", help="stream name"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds to broadcast (default: until SIGINT/SIGTERM)",
    )
    parser.add_argument(
        "--input",
        type=Path,
        default=None,
        help="media file to broadcast, looped (default: a test pattern with a UTC clock)",
    )
    parser.add_argument(
        "--s3-endpoint-url",
        default=env("PUBLISHER_S3_ENDPOINT_URL"),
        help="S3 endpoint when the API's answer names none (S3-compatible servers)",
    )
    parser.add_argument(
        "--size", default="1280x720", help="test pattern size (default: %(default)s)"
    )
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--video-kbps", type=int, default=2000)
    parser.add_argument(
        "--window",
        type=int,
        default=0,
        help="live window in segments; 0 (default) keeps every segment (EVENT playlist)",
    )
    parser.add_argument(
        "--public",
        action="store_true",
        help="a public stream: anyone may watch (default: the owner and token holders)",
    )
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the local HLS output (debugging)"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.input is not None and not args.input.is_file():
        parser.error(f"--input {args.input}: no such file")
    width, sep, height = str(args.size).partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        parser.error("--size must look like 1280x720")
    if args.duration is not None and args.duration <= 0:
        parser.error("--duration must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s publisher %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    # Never DEBUG for these, even with -v: botocore's DEBUG logs print each request's
    # headers, which carry the session token and the signature.
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.INFO if args.verbose else logging.WARNING)
    options = Options(
        api=args.api,
        user=args.user,
        password=args.password,
        name=args.name,
        duration=args.duration,
        s3_endpoint_url=args.s3_endpoint_url,
        keep_workdir=args.keep_workdir,
        public=args.public,
        encoder=EncoderSettings(
            input=args.input,
            size=args.size,
            fps=args.fps,
            video_kbps=args.video_kbps,
            window=args.window,
            label=args.name,
        ),
    )
    broadcaster = Broadcaster(options)
    signals_seen: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signals_seen.append(signum)
        if len(signals_seen) == 1:
            broadcaster.request_stop(signal.Signals(signum).name)
            return
        # A second signal: give up waiting on ffmpeg/uploads (the stream is still stopped).
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        return broadcaster.run()
    except KeyboardInterrupt:
        log.warning("interrupted twice: exiting without finishing the upload")
        return 130

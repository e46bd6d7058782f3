"""``broadcast-publish``: the reference publisher's command line."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from broadcast_publish.broadcast import Broadcaster, Options
from broadcast_publish.encoder import (
    EncoderSettings,
    FfmpegNotFound,
    ffmpeg_executable,
    supports_protocol,
)
from broadcast_publish.ladder import DEFAULT_RENDITIONS, LADDER, parse_renditions

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

log = logging.getLogger("broadcast_publish")

LISTEN_SCHEMES = ("rtmp://", "srt://")


def env(name: str, default: str | None = None) -> str | None:
    """``BROADCAST_PUBLISH_<name>``, or the example publisher's ``PUBLISHER_<name>``."""
    return os.environ.get(
        f"BROADCAST_PUBLISH_{name}", os.environ.get(f"PUBLISHER_{name}", default)
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ladder = ", ".join(f"{r.name} {r.video_kbps}k" for r in LADDER.values())
    parser = argparse.ArgumentParser(
        prog="broadcast-publish",
        description="Broadcast live HLS through a broadcast_api server, straight to S3.",
        epilog="Environment: BROADCAST_PUBLISH_API, _TOKEN, _USER, _PASSWORD, _FFMPEG.",
    )
    parser.add_argument(
        "--api",
        default=env("API", "http://127.0.0.1:8000"),
        help="base URL of the API, where /stream/start/ is (default: %(default)s)",
    )
    parser.add_argument(
        "--token",
        default=env("TOKEN"),
        help="API token, sent as 'Authorization: Token …' (prefer the environment "
        "variable: flags show in `ps`); without it, --user and --password (HTTP Basic)",
    )
    parser.add_argument("--user", default=env("USER", "demo"))
    parser.add_argument(
        "--password",
        default=env("PASSWORD", "demo"),
        help="prefer the environment variable to the flag: flags show in `ps`",
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
        "--resume",
        default=None,
        metavar="STREAM_ID",
        help="continue a live stream (after a crash or a lost connection) in a new "
        "publishing session, within the server's reconnect window, instead of starting one",
    )
    parser.add_argument(
        "--input",
        type=Path,
        default=None,
        help="media file to broadcast, looped (default: a test pattern with a UTC clock)",
    )
    parser.add_argument(
        "--listen",
        default=None,
        metavar="URL",
        help="receive an encoder's stream (OBS, vMix, a hardware encoder) on "
        "rtmp://HOST:PORT/APP or srt://HOST:PORT?mode=listener and forward it",
    )
    parser.add_argument(
        "--transcode",
        action="store_true",
        help="with --listen: encode even when the stream could be remuxed as it is",
    )
    parser.add_argument(
        "--renditions",
        default=None,
        metavar="NAMES",
        help="several renditions and a master playlist, e.g. 720p,480p,240p, or "
        f"'default' ({','.join(DEFAULT_RENDITIONS)}); the ladder: {ladder}",
    )
    parser.add_argument(
        "--poster-seconds",
        type=float,
        default=5.0,
        help="upload a poster (poster.jpg) this often; 0 turns it off (default: %(default)s)",
    )
    parser.add_argument(
        "--ffmpeg",
        default=env("FFMPEG"),
        help="the ffmpeg to run (default: the imageio-ffmpeg wheel's, else ffmpeg on PATH)",
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
    if args.resume is not None:
        try:
            args.resume = str(uuid.UUID(args.resume))
        except ValueError:
            parser.error("--resume takes a stream id (a UUID)")
    if args.input is not None and args.listen is not None:
        parser.error("--input and --listen exclude each other")
    if args.listen is not None and not args.listen.startswith(LISTEN_SCHEMES):
        parser.error("--listen takes an rtmp:// or srt:// URL")
    try:
        args.renditions = parse_renditions(args.renditions) if args.renditions else ()
    except ValueError as exc:
        parser.error(f"--renditions: {exc}")
    if args.poster_seconds < 0:
        parser.error("--poster-seconds must be 0 (off) or positive")
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
        format="%(asctime)s broadcast-publish %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        args.ffmpeg = ffmpeg_executable(args.ffmpeg)
    except FfmpegNotFound as exc:
        log.error("%s", exc)
        return 2
    if (
        args.listen
        and args.listen.startswith("srt://")
        and not supports_protocol(args.ffmpeg, "srt")
    ):
        log.error("this ffmpeg (%s) cannot receive SRT (no libsrt); use RTMP", args.ffmpeg)
        return 2
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
        token=args.token,
        ffmpeg=args.ffmpeg,
        resume=args.resume,
        encoder=EncoderSettings(
            input=args.input,
            listen=args.listen,
            transcode=args.transcode,
            renditions=args.renditions,
            poster_seconds=args.poster_seconds,
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

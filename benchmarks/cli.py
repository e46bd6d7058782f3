"""``python -m benchmarks``: parse the options, run the phases, write the report."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from typing import Any

import benchmarks
from benchmarks.aggregate import aggregate, aggregate_viewer, viewer_s3_flatness
from benchmarks.budget import budget
from benchmarks.config import (
    DEFAULT_DURATION,
    PY,
    RESULTS,
    VIEWER_CONNECTIONS,
    VIEWER_LENGTHS,
    VIEWER_WINDOW,
    log,
)
from benchmarks.database import ensure_database, env_db
from benchmarks.meta import meta
from benchmarks.phases.memory import memory_phase
from benchmarks.phases.reaper import reaper_phase
from benchmarks.phases.requests import server_phase
from benchmarks.phases.viewer import viewer_phase
from benchmarks.report import markdown, render
from benchmarks.servers import Env, background, free_port, wait_http
from benchmarks.wrk import Wrk

PHASES = ("servers", "viewer", "memory", "inprocess", "reaper")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(benchmarks.__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--duration",
        type=float,
        default=float(os.environ.get("BENCH_DURATION", DEFAULT_DURATION)),
        help=f"seconds per wrk run (default {DEFAULT_DURATION:g}; BENCH_DURATION)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--modes", default="sync,gthread")
    parser.add_argument("--memory-starts", type=int, default=20_000)
    parser.add_argument(
        "--time-budget",
        type=float,
        default=float(os.environ.get("BENCH_TIME_BUDGET", "560")),
        help="seconds for the whole run; the memory run gets what is left "
        "and stops early (and says so) when it cannot finish",
    )
    parser.add_argument("--inprocess-n", type=int, default=300)
    parser.add_argument("--pool-size", type=int, default=0, help="stop ids per pool (auto)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 s runs, 1 repeat")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="pyinstrument in-process and py-spy per worker -> results/profile/",
    )
    parser.add_argument("--no-package", action="store_true", help="measure the baseline only")
    parser.add_argument(
        "--viewer-duration",
        type=float,
        default=None,
        help="seconds per viewer run (default: --duration, at most 4)",
    )
    parser.add_argument(
        "--viewer-connections",
        default=",".join(map(str, VIEWER_CONNECTIONS)),
        help="comma list of wrk -c for the viewer runs (default %(default)s)",
    )
    parser.add_argument(
        "--viewer-lengths",
        default=",".join(map(str, VIEWER_LENGTHS)),
        help="comma list of playlist lengths in seconds of one-second segments, one viewer"
        " stream each (default %(default)s: after 1 minute and after 2 hours)",
    )
    parser.add_argument(
        "--viewer-refresh-n",
        type=int,
        default=30,
        help="in-process refreshes timed per viewer stream and side (0 = none)",
    )
    parser.add_argument(
        "--viewer-paired",
        type=float,
        default=None,
        help="seconds of the paired viewer run per mode, length and connections"
        " (default: --viewer-duration; 0 = none)",
    )
    parser.add_argument(
        "--reaper-streams", type=int, default=10_000, help="live streams one reap() checks"
    )
    parser.add_argument(
        "--reaper-serial-streams",
        type=int,
        default=1_000,
        help="streams of the serial run (concurrency 1), extrapolated to --reaper-streams",
    )
    parser.add_argument(
        "--reaper-widths",
        default="16",
        help="comma list of BROADCAST_API_REAPER_CONCURRENCY values (default %(default)s)",
    )
    parser.add_argument(
        "--reaper-delay", type=float, default=0.02, help="seconds the S3 stub takes per answer"
    )
    parser.add_argument("--reaper-stops", type=int, default=1_000, help="stops timed in a row")
    parser.add_argument(
        "--reaper-watched",
        type=int,
        default=50,
        help="percent of live streams watched in one more run (0: none; default %(default)s)",
    )
    parser.add_argument(
        "--skip", default="", help="comma list of: servers,viewer,memory,inprocess,reaper"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma list of the phases to run (the others are skipped), e.g. --only viewer",
    )
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    if only - set(PHASES) or set(filter(None, args.skip.split(","))) - set(PHASES):
        parser.error(f"phases are: {','.join(PHASES)}")
    if only:
        skipped = set(filter(None, args.skip.split(","))) | (set(PHASES) - only)
        args.skip = ",".join(p for p in PHASES if p in skipped)
    args.viewer_connections = [int(x) for x in str(args.viewer_connections).split(",") if x]
    args.viewer_lengths = [int(x) for x in str(args.viewer_lengths).split(",") if x]
    args.reaper_widths = [int(x) for x in str(args.reaper_widths).split(",") if x]
    if args.quick:
        args.duration, args.repeats, args.memory_starts, args.inprocess_n = 2.0, 1, 2000, 100
        args.reaper_streams, args.reaper_serial_streams, args.reaper_stops = 2000, 200, 200
    if args.viewer_duration is None:
        args.viewer_duration = min(args.duration, 4.0)
    if args.viewer_paired is None:
        args.viewer_paired = args.viewer_duration
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    modes = [m for m in args.modes.split(",") if m]
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    # A SIGTERM (timeout, CI) unwinds like Ctrl-C, so servers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t_start = time.monotonic()
    package = not args.no_package
    sides = ["baseline", "package"] if package else ["baseline"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob("*.log"):
        old.unlink()
    profile_dir = RESULTS / "profile" if args.profile else None
    # Stop ids: a generous bound on what the stop runs use (3 of 4 requests are fresh),
    # at up to 1,500 stops/s, warm-ups included.
    pool_size = args.pool_size or (
        int(1500 * (args.duration * args.repeats + 8) * len(modes) * 0.75 + 5_000)
        if "servers" not in skip
        else 1_000  # no stop runs
    )

    counter_dir = tempfile.mkdtemp(prefix="bench-counters-")
    stub_port, app_port = free_port(), free_port()
    env = Env(stub_port, counter_dir, package)
    token = secrets.token_hex(20)
    ensure_database(env_db())
    report: dict[str, Any] = {"sides": sides, "runs": [], "paired": []}
    viewer: dict[str, Any] = {
        "duration": args.viewer_duration,
        "threads": args.threads,
        "lengths": args.viewer_lengths,
        "connections": args.viewer_connections,
        "window": VIEWER_WINDOW,
        "runs": [],
        "paired": [],
    }
    try:
        with background(
            [PY, "-m", "benchmarks.sts_stub", "--port", str(stub_port)],
            env.vars,
            RESULTS / "sts-stub.log",
        ) as stub:
            env.stub_pid = stub.pid
            wait_http(f"{env.stub_url}/__stats")
            log(
                f"STS stub on {env.stub_url}; preparing {env_db()} ({pool_size} stop ids per pool)"
            )
            env.prep = env.manage(
                "bench_prepare",
                "--token",
                token,
                "--pool-size",
                str(pool_size),
                "--viewer-lengths",
                ",".join(map(str, args.viewer_lengths)),
                timeout=240,
            )
            wrk = Wrk(env, token, env.prep, args.threads, args.connections)
            if "inprocess" not in skip:
                log(f"in-process: Django test client, {args.inprocess_n} calls per endpoint")
                extra = ["--profile", str(profile_dir)] if profile_dir else []
                report["inprocess"] = env.manage(
                    "bench_inprocess",
                    "--token",
                    token,
                    "--n",
                    str(args.inprocess_n),
                    *extra,
                    timeout=240,
                )
            if "servers" not in skip:
                for mode in modes:
                    report["runs"] += server_phase(
                        env,
                        wrk,
                        mode,
                        sides,
                        args.duration,
                        args.repeats,
                        app_port,
                        profile_dir,
                        report["paired"],
                    )
            if "viewer" not in skip and package:
                viewer["streams"] = env.prep["viewer"]["streams"]
                for mode in modes:
                    viewer["runs"] += viewer_phase(
                        env,
                        wrk,
                        mode,
                        args.viewer_duration,
                        args.repeats,
                        app_port,
                        args.viewer_lengths,
                        args.viewer_connections,
                        viewer["paired"],
                        args.viewer_paired,
                        VIEWER_WINDOW,
                    )
                if args.viewer_refresh_n > 0:
                    log(f"viewer: {args.viewer_refresh_n} in-process refreshes per length")
                    env.stub_reset()
                    ids = [viewer["streams"][str(n)]["stream_id"] for n in args.viewer_lengths]
                    refresh = env.manage(
                        "bench_refresh",
                        "--streams",
                        ",".join(ids),
                        "--n",
                        str(args.viewer_refresh_n),
                        timeout=240,
                    )
                    viewer["refresh"] = {
                        str(n): refresh["streams"][i]
                        for n, i in zip(args.viewer_lengths, ids, strict=True)
                    }
                    viewer["refresh_n"] = refresh["n"]
                viewer["table"] = aggregate_viewer(viewer["runs"], args.viewer_duration)
                viewer["s3_flat"] = viewer_s3_flatness(viewer["table"], args.viewer_duration)
                report["viewer"] = viewer
            if "memory" not in skip:
                left = args.time_budget - (time.monotonic() - t_start) - 12
                seconds = max(20.0, left)
                log(
                    f"memory: 1 sync worker, {args.memory_starts} starts (at most {seconds:.0f} s)"
                )
                report["memory"] = memory_phase(
                    env, wrk, args.memory_starts, seconds, app_port, sides[-1]
                )
            # After the memory run (which takes what is left of --time-budget): its own
            # stub, about a minute and a half.
            if "reaper" not in skip and package:
                report["reaper"] = reaper_phase(
                    env,
                    streams=args.reaper_streams,
                    serial_streams=args.reaper_serial_streams,
                    widths=args.reaper_widths,
                    delay=args.reaper_delay,
                    stops=args.reaper_stops,
                    watched=args.reaper_watched,
                )
    except Exception as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(counter_dir, ignore_errors=True)

    report["table"] = aggregate(report["runs"], sides)
    report["budget"] = budget(report)
    report["meta"] = meta(args, time.monotonic() - t_start)
    text = render(report)
    print()
    print(text)
    # Only a complete default run replaces latest.*; partial runs write partial.*.
    name = "partial" if (skip or args.quick or args.no_package) else "latest"
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(name, text))
    log(f"wrote {RESULTS / (name + '.json')} and {RESULTS / (name + '.md')}")
    return 0

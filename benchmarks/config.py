"""Where the bench's files are, its budget, the URLs and gunicorn modes it compares."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BENCH = ROOT / "benchmarks"

PROJECT = BENCH / "benchproject"

LUA = BENCH / "lua" / "bench.lua"

RESULTS = BENCH / "results"

PY = sys.executable

HZ = os.sysconf("SC_CLK_TCK")

NCPU = os.cpu_count() or 1

DEFAULT_DURATION = 6.0

BUDGET_RPS_RATIO = 0.85

BUDGET_P99_RATIO = 1.5

BUDGET_RSS_MB = 5.0

BUDGET_VIEWER_RPS_RATIO = 0.8

# The viewer runs: playlists this many seconds (one-second segments) into a broadcast,
# each watched by this many wrk connections (--viewer-lengths, --viewer-connections).
VIEWER_LENGTHS = (60, 7200)

VIEWER_CONNECTIONS = (8, 256)

# BROADCAST_API_LIVE_WINDOW of the bench project (the package's default): seconds served.
VIEWER_WINDOW = 120.0

# The package's S3 reads/s must not grow with the number of viewers nor with the
# playlist's length: its highest rate over a mode's runs at most this much above its
# lowest, plus two reads per run (a run that follows the baseline's starts with a stale
# entry, and where in the second a run starts moves one read in or out).
VIEWER_S3_GROWTH = 1.25

VIEWER_S3_SLACK_READS = 2

NOISY_SPREAD = 1.25

S3_PREFIX = "S3 "  # the stub's counters of S3 reads ("S3 GET 200", ...); the rest is STS

URLS = {
    ("baseline", "start"): "/baseline/start/",
    ("baseline", "stop"): "/baseline/stop/",
    ("package", "start"): "/stream/start/",
    ("package", "stop"): "/stream/stop/",
    # The viewer path: one live stream per playlist length (bench_prepare), filled in
    # by Wrk.playlist_path.
    ("baseline", "playlist"): "/baseline/playlist/{id}.m3u8?token={token}",
    ("package", "playlist"): "/stream/{id}/playlist.m3u8?token={token}",
}

MODES = {
    "sync": ["--workers", "2", "--worker-class", "sync"],
    "gthread": ["--workers", "2", "--worker-class", "gthread", "--threads", "4"],
}


def length_label(seconds: int) -> str:
    """``60`` -> ``1 min``, ``7200`` -> ``2 h``, ``45`` -> ``45 s``."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

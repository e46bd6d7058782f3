"""In-process latency: Django's test client against the baselines and broadcast_api.

Two sides: ``baseline`` (hand-written DRF views with serializers and the ORM) and
``package`` (broadcast_api's POST /stream/start/ and /stop/).

Calls are interleaved (baseline, package, package, baseline, ...) so drift hits both
alike. Every stop ends a fresh live stream, one this command started.
Also reports this thread's CPU time per request (the Python work without the waits for
PostgreSQL and STS), SQL queries per request, and boto3 Sessions/clients built.
With ``--profile DIR``, profiles broadcast_api's start and stop with pyinstrument.
Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchproject import instrument
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

URLS = {
    "baseline": {"start": "/baseline/start/", "stop": "/baseline/stop/"},
    "package": {"start": "/stream/start/", "stop": "/stream/stop/"},
}
START_BODY = {"type": "hls", "name": "bench"}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples) * 1000, 3),
        "p99_ms": round(percentile(samples, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3),
    }


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--n", type=int, default=500)
        parser.add_argument("--token", required=True)
        parser.add_argument("--profile", default="", help="directory for pyinstrument output")
        parser.add_argument("--profile-n", type=int, default=300)

    def handle(self, *args: Any, **options: Any) -> None:
        client = Client(headers={"Authorization": f"Token {options['token']}"})
        sides = [
            "baseline",
            *(["package"] if getattr(settings, "PACKAGE", True) else []),
        ]
        n = options["n"]

        cpu: dict[tuple[str, str], list[float]] = {}

        def call(side: str, endpoint: str, data: dict[str, str]) -> tuple[float, Any]:
            c0 = time.thread_time()
            t0 = time.perf_counter()
            response = client.post(URLS[side][endpoint], data)
            elapsed = time.perf_counter() - t0
            cpu.setdefault((side, endpoint), []).append(time.thread_time() - c0)
            expected = 201 if endpoint == "start" else 200
            if response.status_code != expected:
                raise RuntimeError(
                    f"{side} {endpoint}: {response.status_code} {response.content!r}"
                )
            return elapsed, response

        # Warm up: the lazily built STS client, URL resolver caches, DB connection.
        warm_ids: dict[str, list[str]] = {side: [] for side in sides}
        for _ in range(30):
            for side in sides:
                _, response = call(side, "start", START_BODY)
                warm_ids[side].append(response.json()["stream"]["id"])
        for side in sides:
            for stream_id in warm_ids[side]:
                call(side, "stop", {"id": stream_id})

        cpu.clear()
        before = instrument.snapshot()
        samples: dict[str, dict[str, list[float]]] = {
            side: {"start": [], "stop": []} for side in sides
        }
        ids: dict[str, list[str]] = {side: [] for side in sides}
        for i in range(n):
            for side in sides if i % 2 == 0 else reversed(sides):
                elapsed, response = call(side, "start", START_BODY)
                samples[side]["start"].append(elapsed)
                ids[side].append(response.json()["stream"]["id"])
        for i in range(n):
            for side in sides if i % 2 == 0 else reversed(sides):
                elapsed, _ = call(side, "stop", {"id": ids[side][i]})
                samples[side]["stop"].append(elapsed)
        after = instrument.snapshot()
        cpu_ms = {
            side: {
                ep: {
                    "p50_ms": round(statistics.median(cpu[(side, ep)]) * 1000, 3),
                    "mean_ms": round(statistics.fmean(cpu[(side, ep)]) * 1000, 3),
                }
                for ep in ("start", "stop")
            }
            for side in sides
        }

        queries: dict[str, dict[str, list[str]]] = {}
        for side in sides:
            queries[side] = {}
            with CaptureQueriesContext(connection) as ctx:
                _, response = call(side, "start", START_BODY)
            queries[side]["start"] = [q["sql"][:160] for q in ctx.captured_queries]
            stream_id = response.json()["stream"]["id"]
            with CaptureQueriesContext(connection) as ctx:
                call(side, "stop", {"id": stream_id})
            queries[side]["stop"] = [q["sql"][:160] for q in ctx.captured_queries]
            with CaptureQueriesContext(connection) as ctx:
                call(side, "stop", {"id": stream_id})
            queries[side]["restop"] = [q["sql"][:160] for q in ctx.captured_queries]

        result: dict[str, Any] = {
            "n": n,
            "latency": {
                side: {ep: summary(samples[side][ep]) for ep in ("start", "stop")}
                for side in sides
            },
            # CPU time of this thread per request: the Python work, without the waits for
            # PostgreSQL and STS; far less sensitive to other load on the machine.
            "cpu": cpu_ms,
            "queries": queries,
            "built_during_run": {k: after[k] - before[k] for k in before},
            "requests_in_run": n * 2 * len(sides),
        }
        if options["profile"] and getattr(settings, "PACKAGE", True):
            result["profiles"] = self.profile(call, Path(options["profile"]), options["profile_n"])
        self.stdout.write(json.dumps(result))

    def profile(self, call: Any, directory: Path, count: int) -> dict[str, str]:
        from pyinstrument import Profiler

        directory.mkdir(parents=True, exist_ok=True)
        written: dict[str, str] = {}
        for side in ("package", "baseline"):
            profiler = Profiler(interval=0.0002)
            ids: list[str] = []
            profiler.start()
            for _ in range(count):
                _, response = call(side, "start", START_BODY)
                ids.append(response.json()["stream"]["id"])
            profiler.stop()
            written[f"{side}-start"] = self._write(profiler, directory, f"{side}-start")
            profiler = Profiler(interval=0.0002)
            profiler.start()
            for stream_id in ids:
                call(side, "stop", {"id": stream_id})
            profiler.stop()
            written[f"{side}-stop"] = self._write(profiler, directory, f"{side}-stop")
        return written

    @staticmethod
    def _write(profiler: Any, directory: Path, name: str) -> str:
        text = profiler.output_text(unicode=True, color=False, show_all=False)
        (directory / f"pyinstrument-{name}-all.txt").write_text(
            profiler.output_text(unicode=True, color=False, show_all=True)
        )
        (directory / f"pyinstrument-{name}.txt").write_text(text)
        return str(directory / f"pyinstrument-{name}.txt")

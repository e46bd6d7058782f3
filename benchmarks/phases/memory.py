"""The memory phase: one sync worker's VmRSS before and after many starts."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from benchmarks.config import RESULTS
from benchmarks.database import env_db, table_count
from benchmarks.machine import children, rss_kb
from benchmarks.servers import Env, get_json, gunicorn
from benchmarks.stub_counters import sts_total

if TYPE_CHECKING:
    from benchmarks.wrk import Wrk


def memory_phase(
    env: Env, wrk: Wrk, starts: int, seconds: float, port: int, side: str
) -> dict[str, Any]:
    """VmRSS of one sync worker before and after ``starts`` starts (or ``seconds``)."""
    table = env.prep["tables"][side]
    with gunicorn(
        env, ["--workers", "1", "--worker-class", "sync"], port, RESULTS / "gunicorn-memory.log"
    ) as server:
        worker = server["workers"][0]
        wrk.run(server["url"], side, "start", 30, limit=250)  # warm up: 500 starts
        gc0 = get_json(f"{server['url']}/__bench/counters/?gc=1")
        rows0 = table_count(env_db(), table)
        built0 = env.counters([worker])
        sts0 = sts_total(env.stub_stats())
        rss0 = rss_kb(worker)
        samples: list[tuple[int, float]] = [(0, rss0 / 1024)]
        stop_sampling = threading.Event()

        def sample() -> None:  # the RSS curve: a leak grows linearly, a cache levels off
            while not stop_sampling.wait(2.0):
                try:
                    done = sts_total(env.stub_stats()) - sts0
                    samples.append((done, rss_kb(worker) / 1024))
                except (OSError, RuntimeError):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.monotonic()
        result = wrk.run(server["url"], side, "start", seconds, limit=starts // wrk.threads)
        elapsed = time.monotonic() - t0
        stop_sampling.set()
        sampler.join(timeout=5)
        rss1 = rss_kb(worker)
        gc1 = get_json(f"{server['url']}/__bench/counters/?gc=1")
        built1 = env.counters([worker])
        rows1 = table_count(env_db(), table)
        alive = worker in children(server["proc"].pid)
    done = rows1 - rows0
    samples.append((done, rss1 / 1024))
    growth_mb = (rss1 - rss0) / 1024
    half = [s for s in samples if s[0] >= done / 2]
    second_half = (half[-1][1] - half[0][1]) if len(half) > 1 else 0.0
    return {
        "side": side,
        "worker_pid": worker,
        "worker_survived": alive,
        "starts": done,
        "target_starts": starts,
        "wrk_responses": result["requests"],
        "errors": result["errors"],
        "seconds": round(elapsed, 1),
        "rss_before_mb": round(rss0 / 1024, 2),
        "rss_after_mb": round(rss1 / 1024, 2),
        "rss_growth_mb": round(growth_mb, 2),
        "rss_growth_second_half_mb": round(second_half, 2),
        "rss_growth_per_20000_mb": round(growth_mb * 20000 / max(1, done), 2),
        "rss_curve": [(n, round(mb, 2)) for n, mb in samples],
        # Python objects alive after a full collection: growth here is a real leak; RSS
        # growth without it is allocator high-water (e.g. cyclic garbage between gen-2
        # collections) or memory outside Python's object heap.
        "gc_objects_before": gc0.get("gc_objects"),
        "gc_objects_after": gc1.get("gc_objects"),
        "gc_collections_during": [
            b - a for a, b in zip(gc0["gc_collections"], gc1["gc_collections"], strict=True)
        ],
        "built": {k: built1[k] - built0[k] for k in built0},
    }

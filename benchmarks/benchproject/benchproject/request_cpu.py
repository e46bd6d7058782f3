"""Thread CPU time spent per request path, for the bench's paired runs (``benchmarks.wrk``).

This machine's CPU speed drifts by up to ~40 % within seconds, invisibly to the guest
(a fixed pure-Python loop took 180 ms, then 130 ms, with nothing else running), so CPU
per request measured in separate runs moves with the time of day as much as with the
code. The paired run sends baseline and package requests alternately over the same
connections; this wrapper sums ``time.thread_time_ns()`` around each request by path,
so both sides' CPU is measured at the same moments, under the same drift.

Active only when ``BENCH_COUNTER_DIR`` is set: every 25 requests each worker writes its
totals to ``<dir>/<pid>.cpu`` (outside the measured time). Thread CPU excludes the time
a gthread worker's thread waits for the GIL, and the time spent in gunicorn itself.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
WRITE_EVERY = 25


def measure(application: WSGIApp) -> WSGIApp:
    directory = os.environ.get("BENCH_COUNTER_DIR")
    if not directory:
        return application
    totals: dict[str, list[int]] = {}  # path -> [requests, thread CPU ns]
    lock = threading.Lock()
    served = [0]

    def measured(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.thread_time_ns()
        body = application(environ, start_response)
        spent = time.thread_time_ns() - started
        path = environ.get("PATH_INFO", "")
        with lock:
            entry = totals.setdefault(path, [0, 0])
            entry[0] += 1
            entry[1] += spent
            served[0] += 1
            snapshot = json.dumps(totals) if served[0] % WRITE_EVERY == 0 else None
        if snapshot is not None:
            target = os.path.join(directory, f"{os.getpid()}.cpu")
            with open(target + ".tmp", "w") as fh:
                fh.write(snapshot)
            os.replace(target + ".tmp", target)
        return body

    return measured

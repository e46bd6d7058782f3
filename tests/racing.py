"""Run code in many threads at once, for the race tests.

Every thread waits at one barrier, so the calls start together; the first error is
re-raised in the test (a failed thread aborts the barrier rather than leaving the others
waiting), and each thread closes its own database connections when it is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


def run_together(count: int, task: Callable[[int, threading.Barrier], T]) -> list[T]:
    """Run ``task(i, barrier)`` in ``count`` threads; ``task`` waits at the barrier
    itself, after whatever it must do first. Returns the results in index order."""
    barrier = threading.Barrier(count, timeout=30)

    def guarded(index: int) -> T:
        try:
            return task(index, barrier)
        except BaseException:
            barrier.abort()  # release the others instead of leaving them waiting
            raise
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(guarded, index) for index in range(count)]
        return [future.result(timeout=90) for future in futures]


def at_once(count: int, call: Callable[[int], T]) -> list[T]:
    """``call(i)`` in ``count`` threads, all released at the same moment."""

    def task(index: int, barrier: threading.Barrier) -> T:
        barrier.wait()
        return call(index)

    return run_together(count, task)

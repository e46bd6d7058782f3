"""Concurrent stops end a stream exactly once; concurrent starts never collide.

Part one races ``services.stop_stream`` in-process: 50 threads with their own database
connections, on PostgreSQL and on SQLite. Part two races real HTTP requests against
gunicorn (2 processes x 8 threads) serving ``tests.live_project`` on a PostgreSQL
database created for the run, with STS and S3 on a moto server; the project's receivers
append each signal to a file, so counts hold across worker processes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from broadcast_api.models import AbstractStream, get_stream_model
from broadcast_api.services import StopResult, stop_stream
from broadcast_api.signals import stream_stopped
from tests.live_support import LiveProject, Reply, running_live_project
from tests.racing import run_together
from tests.servers import MotoServer

# -- part one: in-process, 50 threads, one stream ------------------------------------

THREADS = 50


@dataclass(frozen=True)
class ThreadStop:
    result: StopResult
    connection: int


def new_live_stream(owner: Any, name: str) -> AbstractStream:
    stream_id = uuid.uuid4()
    return get_stream_model()._default_manager.create(
        id=stream_id,
        name=name,
        owner=owner,
        s3_bucket="broadcast-test",
        s3_prefix=f"streams/{stream_id}",
        s3_region="us-west-1",
    )


def session_id() -> int:
    """This thread's database session: PostgreSQL's backend pid (one per server session),
    else the connection object's identity (SQLite has no server)."""
    if connection.vendor == "postgresql":
        return int(connection.connection.info.backend_pid)
    return id(connection.connection)


def race_to_stop(pk: Any, count: int) -> list[ThreadStop]:
    """``count`` threads, each with its own instance and connection, stop ``pk`` at once."""
    model = get_stream_model()

    def stop_it(index: int, barrier: threading.Barrier) -> ThreadStop:
        stream = model._default_manager.get(pk=pk)  # this thread's own instance
        assert stream.status == "live"
        barrier.wait()
        return ThreadStop(result=stop_stream(stream), connection=session_id())

    return run_together(count, stop_it)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_fifty_threads_stop_one_stream_exactly_once(user: Any) -> None:
    """On PostgreSQL (row locks) and SQLite (a file, so one database lock): both decide
    with the same conditional UPDATE."""
    model = get_stream_model()
    received: list[tuple[Any, str]] = []
    received_lock = threading.Lock()

    def on_stopped(sender: Any, stream: AbstractStream, reason: str, **kwargs: Any) -> None:
        with received_lock:
            received.append((stream.pk, reason))

    stream_stopped.connect(on_stopped, dispatch_uid="test_concurrency.on_stopped")
    try:
        for round_number in range(3):  # a few rounds: a race rarely shows on the first
            received.clear()
            pk = new_live_stream(user, f"race-{round_number}").pk

            stops = race_to_stop(pk, THREADS)

            assert len({stop.connection for stop in stops}) == THREADS
            winners = [stop for stop in stops if stop.result.stopped]
            assert len(winners) == 1
            assert received == [(pk, "client")]
            row = model._default_manager.get(pk=pk)
            assert row.status == "ended"
            assert row.stop_reason == "client"
            assert row.stop_date is not None
            assert {stop.result.stream.stop_date for stop in stops} == {row.stop_date}
            assert {stop.result.stream.status for stop in stops} == {"ended"}
            assert {stop.result.stream.stop_reason for stop in stops} == {"client"}
    finally:
        stream_stopped.disconnect(dispatch_uid="test_concurrency.on_stopped")


# -- part two: gunicorn, 50 concurrent requests --------------------------------------


@pytest.fixture
def live_project(moto_server: MotoServer, tmp_path: Path) -> Iterator[LiveProject]:
    with running_live_project(moto_server, tmp_path) as project:
        yield project


@pytest.mark.live
@pytest.mark.timeout(60)
def test_fifty_concurrent_starts_then_fifty_concurrent_stops(live_project: LiveProject) -> None:
    began = time.monotonic()
    table = live_project.stream_table
    workers = live_project.wait_for_workers(2, timeout=15)
    assert len(workers) == 2, "the second gunicorn worker never answered"

    # 50 concurrent starts: 50 rows, 50 distinct ids and prefixes, all 201.
    def start(index: int, barrier: threading.Barrier) -> Reply:
        barrier.wait()
        return live_project.request(
            "POST", "/stream/start/", {"type": "hls", "name": f"live-{index}"}
        )

    started = run_together(50, start)
    start_seconds = time.monotonic() - began
    start_statuses = [reply.status for reply in started]
    assert start_statuses == [201] * 50, [r.body for r in started if r.status != 201]
    ids = {reply.body["stream"]["id"] for reply in started}
    prefixes = {reply.body["endpoint"]["S3"]["s3_bucket_path"] for reply in started}
    secrets = {reply.body["endpoint"]["S3"]["aws_secret_access_key"] for reply in started}
    assert len(ids) == 50
    assert len(prefixes) == 50
    assert len(secrets) == 50
    assert prefixes == {f"streams/{stream_id}" for stream_id in ids}
    rows = live_project.query(f'SELECT id::text, s3_prefix, status FROM "{table}"')
    assert len(rows) == 50
    assert {row[0] for row in rows} == ids
    assert {row[1] for row in rows} == prefixes
    assert {row[2] for row in rows} == {"live"}

    # 50 concurrent stops of one stream: all 200, one transition, one stream_stopped.
    target = sorted(ids)[0]

    def stop(index: int, barrier: threading.Barrier) -> Reply:
        barrier.wait()
        return live_project.request("POST", "/stream/stop/", {"id": target})

    stop_began = time.monotonic()
    stopped = run_together(50, stop)
    stop_seconds = time.monotonic() - stop_began
    stop_statuses = [reply.status for reply in stopped]
    assert stop_statuses == [200] * 50, [r.body for r in stopped if r.status != 200]
    assert {reply.body["stream"]["id"] for reply in stopped} == {target}
    stop_dates = {reply.body["stream"]["stop_date"] for reply in stopped}
    assert len(stop_dates) == 1
    ended = live_project.query(
        f"SELECT id::text, stop_reason, to_char(stop_date AT TIME ZONE 'UTC', "
        f"'YYYY-MM-DD HH24:MI:SS') FROM \"{table}\" WHERE status = 'ended'"
    )
    assert ended == [(target, "client", next(iter(stop_dates)))]

    signals = live_project.signals()
    started_signals = [line for line in signals if line[0] == "started"]
    stopped_signals = [line for line in signals if line[0] == "stopped"]
    assert len(started_signals) == 50
    assert {line[1] for line in started_signals} == ids
    assert [line[1:3] for line in stopped_signals] == [[target, "client"]]
    elapsed = time.monotonic() - began
    start_pids = Counter(reply.worker_pid for reply in started)
    stop_pids = Counter(reply.worker_pid for reply in stopped)
    print(  # the numbers for the record (pytest -s shows them)
        f"\nlive: {len(started)} starts -> statuses {dict(Counter(start_statuses))}, "
        f"{len(rows)} rows, {len(prefixes)} distinct prefixes, {start_seconds:.1f} s, "
        f"per worker {sorted(start_pids.values())}; {len(stopped)} stops -> statuses "
        f"{dict(Counter(stop_statuses))}, {len(ended)} row ended, "
        f"{len(stopped_signals)} stream_stopped, {len(started_signals)} stream_started, "
        f"{stop_seconds:.1f} s, per worker {sorted(stop_pids.values())}; "
        f"total {elapsed:.1f} s"
    )
    # Signals are counted across processes: both workers answered the bursts.
    assert len(set(start_pids) | set(stop_pids)) == 2
    assert elapsed < 60

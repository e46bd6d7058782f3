"""The reaper at scale (issue 18): ten thousand live streams, two reapers at once.

S3 is ``devtools.testing.s3_stub``, in a process of its own: a real HTTP server
answering each HEAD after a fixed delay, with a ``Last-Modified`` read from the key
(``/idle/``: long ago), counting the requests in flight. moto answers too fast to tell
a serial reaper from a concurrent one.
The database is SQLite or PostgreSQL (``BROADCAST_TEST_DB``).
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from importlib import import_module
from io import StringIO
from typing import TYPE_CHECKING, Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from broadcast_api import hooks, lifecycle, uploads
from broadcast_api.deferred import FRAMEWORK
from broadcast_api.lifecycle.reaper import PAGE_SIZE, idle_verdict
from broadcast_api.models import get_stream_model
from broadcast_api.playback.playlists import PlaylistCache, nested_playlist_url
from broadcast_api.storage import get_storage
from devtools.testing.s3_stub import S3StubProcess
from tests.racing import at_once
from tests.servers import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

    from broadcast_api.hooks import Change

STREAMS = 10_000
IDLE_SHARE = 10  # one stream in ten has gone quiet
DELAY = 0.02  # seconds per S3 answer (the 20 ms)
BOUND = 60.0  # the bound for one run: generous, the structure is asserted too
WIDTH = 16  # BROADCAST_API_REAPER_CONCURRENCY's default


def rows() -> Any:
    return get_stream_model()._default_manager


@pytest.fixture
def s3_stub(settings: Any) -> Iterator[S3StubProcess]:
    with S3StubProcess(delay=DELAY) as stub:
        settings.BROADCAST_API_S3_ENDPOINT_URL = stub.endpoint_url
        settings.BROADCAST_API_AWS_ACCESS_KEY_ID = "stub-key-id"
        settings.BROADCAST_API_AWS_SECRET_ACCESS_KEY = "stub-secret"
        yield stub


def make_streams(owner: Any, count: int, *, idle_every: int = IDLE_SHARE) -> set[uuid.UUID]:
    """``count`` live streams started an hour ago (bulk-created); every ``idle_every``-th
    one's playlist was last written long ago, the others' just now. Returns the idle
    ones' ids."""
    started = timezone.now() - timedelta(hours=1)
    model = get_stream_model()
    streams, idle = [], set()
    for index in range(count):
        stream_id = uuid.uuid4()
        state = "idle" if index % idle_every == 0 else "live"
        if state == "idle":
            idle.add(stream_id)
        streams.append(
            model(
                id=stream_id,
                owner=owner,
                start_date=started + timedelta(microseconds=index // 3),  # some ties
                s3_bucket="broadcast-test",
                s3_prefix=f"streams/{state}/{stream_id}",
                s3_region="us-west-1",
            )
        )
    rows().bulk_create(streams, batch_size=500)
    return idle


@pytest.fixture
def announced() -> Iterator[list[Change]]:
    """Every ``stream.stopped`` announced after commit (from any thread)."""
    changes: list[Change] = []
    lock = threading.Lock()

    def receiver(change: Change) -> None:
        with lock:
            changes.append(change)

    hooks.after_commit(receiver, names=[hooks.STREAM_STOPPED])
    try:
        yield changes
    finally:
        hooks.unsubscribe(receiver)


@pytest.fixture
def recordings_closed_by_workers(settings: Any) -> Iterator[list[Any] | None]:
    """A deployment's task backend: the stop only enqueues closing the recording (the
    dummy backend records it; workers would run it). Yields the arguments of every task
    enqueued, from any thread. Without a Tasks framework the close would run inline, in
    the reaper: it is off then (``None``), and the bench measures that case."""
    if FRAMEWORK is None:
        settings.BROADCAST_API_FINALIZE_RECORDINGS = False
        yield None
        return
    settings.TASKS = {"default": {"BACKEND": f"{FRAMEWORK}.backends.dummy.DummyBackend"}}
    enqueued: list[Any] = []
    lock = threading.Lock()

    def receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
        with lock:
            enqueued.append((task_result.task.name, *task_result.args))

    signal = import_module(f"{FRAMEWORK}.signals").task_enqueued
    signal.connect(receiver, weak=False, dispatch_uid="tests.reaper_scale")
    try:
        yield enqueued
    finally:
        signal.disconnect(dispatch_uid="tests.reaper_scale")


@pytest.mark.django_db(transaction=True)
def test_ten_thousand_streams_two_reapers_at_once_within_the_bound(
    s3_stub: S3StubProcess,
    user: Any,
    stopped_signals: list[dict[str, Any]],
    announced: list[Change],
    recordings_closed_by_workers: list[Any] | None,
) -> None:
    idle = make_streams(user, STREAMS)
    started = time.monotonic()
    reports = at_once(2, lambda _: lifecycle.reap())
    elapsed = time.monotonic() - started

    assert elapsed < BOUND
    ended = [stream.pk for report in reports for stream, _ in report.ended]
    assert len(ended) == len(set(ended)) == len(idle) == STREAMS // IDLE_SHARE
    assert set(ended) == idle
    assert all(report.errors == [] for report in reports)
    # Ended once: one stop_date write, one announcement, one signal, one close each.
    assert set(rows().filter(status="ended").values_list("pk", flat=True)) == idle
    assert rows().filter(status="ended", stop_reason="idle").count() == len(idle)
    assert rows().filter(stop_date__isnull=False).count() == len(idle)
    assert sorted(change.stream.pk for change in announced) == sorted(idle)
    assert sorted(signal["stream"].pk for signal in stopped_signals) == sorted(idle)
    if recordings_closed_by_workers is not None:
        assert sorted(recordings_closed_by_workers) == sorted(
            ("finalize_recording", str(pk)) for pk in idle
        )
    assert rows().filter(status="live").count() == STREAMS - len(idle)
    # Concurrent, and bounded: each reaper asked S3 about every live candidate, with up
    # to its pool's width of requests in flight.
    stats = s3_stub.stats()
    assert sum(report.checked for report in reports) == stats["HEAD 200"]
    assert STREAMS <= stats["HEAD 200"] <= 2 * STREAMS
    assert WIDTH < stats["max_in_flight"] <= 2 * WIDTH


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1, 5])
def test_requests_in_flight_are_bounded_by_the_setting(
    s3_stub: S3StubProcess, user: Any, settings: Any, width: int
) -> None:
    settings.BROADCAST_API_REAPER_CONCURRENCY = width
    settings.BROADCAST_API_FINALIZE_RECORDINGS = False
    idle = make_streams(user, 60)
    report = lifecycle.reap()
    assert {stream.pk for stream, _ in report.ended} == idle
    assert s3_stub.stats()["max_in_flight"] == width
    assert report.checked == 60


@pytest.mark.django_db
def test_with_s3_down_the_reaper_stops_asking_after_two_rounds_of_failures(
    user: Any, settings: Any
) -> None:
    """Each HEAD would spend its timeouts and retries, for every live stream: after
    twice the pool's width of failures in a row the run gives up, leaving all live."""
    settings.BROADCAST_API_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # refused
    settings.BROADCAST_API_REAPER_CONCURRENCY = 4
    make_streams(user, 2 * PAGE_SIZE)
    report = lifecycle.reap()
    assert report.gave_up
    assert len(report.errors) == 8
    assert {reason for _, reason in report.errors} == {"s3_unreachable"}
    assert report.ended == []
    assert rows().filter(status="live").count() == 2 * PAGE_SIZE
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("broadcast_reap", stdout=out, stderr=err)
    assert "the other live streams were not checked" in err.getvalue()
    assert err.getvalue().count("could not check") == 8


@pytest.mark.django_db
def test_a_recent_upload_the_playlist_endpoint_saw_spares_the_head(
    s3_stub: S3StubProcess, user: Any, settings: Any
) -> None:
    """A watched stream's refresh records its playlist's ``LastModified``; the reaper
    leaves a stream with a recent record live without asking S3. An older record, or
    none, proves nothing: S3 is asked (here: idle, so ended)."""
    settings.BROADCAST_API_FINALIZE_RECORDINGS = False
    idle = sorted(make_streams(user, 40, idle_every=1))  # S3 would say: all idle
    now = timezone.now()
    for stream_id in idle[:10]:
        uploads.record(stream_id, now - timedelta(seconds=5))
    for stream_id in idle[10:15]:
        uploads.record(stream_id, now - timedelta(minutes=10))  # before the cutoff
    report = lifecycle.reap()
    assert {stream.pk for stream, _ in report.ended} == set(idle[10:])
    assert report.seen_uploading == 10
    assert report.checked == 30 == s3_stub.stats()["HEAD 200"]
    assert set(rows().filter(status="live").values_list("pk", flat=True)) == set(idle[:10])


@pytest.mark.django_db
def test_a_playlist_refresh_records_the_upload_time(s3_stub: S3StubProcess, user: Any) -> None:
    stream_id = uuid.uuid4()
    stream = rows().create(
        id=stream_id,
        owner=user,
        s3_bucket="broadcast-test",
        s3_prefix=f"streams/live/{stream_id}",  # the stub: written just now
        s3_region="us-west-1",
    )
    path = f"/stream/{stream.pk}/playlist.m3u8"
    since = timezone.now() - timedelta(seconds=5)
    assert uploads.recent([stream.pk], since=since) == set()
    PlaylistCache().refreshed(stream, playlist_url=nested_playlist_url(path, stream.pk))
    assert s3_stub.stats()["GET 200"] == 1
    assert uploads.recent([stream.pk], since=since) == {stream.pk}
    assert uploads.recent([stream.pk], since=timezone.now() + timedelta(seconds=5)) == set()


def pool_width() -> int:
    config: Any = get_storage().client.meta.config  # (botocore-stubs omit the attribute)
    return int(config.max_pool_connections)


def test_the_s3_clients_pool_is_as_wide_as_the_reaper(settings: Any) -> None:
    settings.BROADCAST_API_S3_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.BROADCAST_API_REAPER_CONCURRENCY = 64
    assert pool_width() == 64
    settings.BROADCAST_API_REAPER_CONCURRENCY = 4  # botocore's 10 stay for playback
    assert pool_width() == 10


@pytest.mark.django_db
def test_candidates_are_read_in_pages_with_the_checked_columns_only(
    s3_stub: S3StubProcess, user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BROADCAST_API_FINALIZE_RECORDINGS = False
    count = 2 * PAGE_SIZE + 7
    idle = make_streams(user, count, idle_every=50)
    table = connection.ops.quote_name(get_stream_model()._meta.db_table)
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = lifecycle.reap()
    assert {stream.pk for stream, _ in report.ended} == idle
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    candidates = [sql for sql in selects if f"FROM {table}" in sql and "LIMIT" in sql]
    assert len(candidates) == 3  # three pages, each after the last row of the one before
    for sql in candidates:
        assert f"LIMIT {PAGE_SIZE}" in sql
        assert "s3_prefix" in sql
        assert "description" not in sql
        assert "request_fingerprint" not in sql
    # The streams to end are read whole once per page (with their owner), not per stream.
    whole = [sql for sql in selects if "description" in sql and "IN (" in sql]
    assert 1 <= len(whole) <= 3 < len(idle)


@pytest.mark.django_db
def test_idle_verdict() -> None:
    now = timezone.now()
    stream = get_stream_model()(start_date=now - timedelta(minutes=10))
    assert idle_verdict(stream, None, now=now) == "idle"  # never uploaded, started long ago
    assert idle_verdict(stream, now - timedelta(seconds=119), now=now) is None
    assert idle_verdict(stream, now - timedelta(seconds=121), now=now) == "idle"
    young = get_stream_model()(start_date=now - timedelta(seconds=30))
    assert idle_verdict(young, None, now=now) is None

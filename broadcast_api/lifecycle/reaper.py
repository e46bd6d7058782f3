"""The end of a broadcast that no client ends.

:func:`reap` (also ``manage.py broadcast_reap``, for cron or a Kubernetes CronJob) ends
live streams whose broadcaster vanished: those whose playlist has not changed for
``BROADCAST_API_RECONNECT_WINDOW`` seconds (``IDLE_TIMEOUT``, its older name; by the
current publishing session's S3 ``LastModified``, read with the server's own client:
``sessions.last_upload``; a stream that never uploaded counts from its start), reason
``idle``; and those older than ``BROADCAST_API_MAX_DURATION``, reason ``max_duration``.
One quiet for ``BROADCAST_API_DISCONNECT_TIMEOUT`` seconds is marked disconnected
(``services.mark_disconnected``: ``stream.disconnected``, once), and unmarked when it
uploads again (``stream.reconnected``).
Each ends through ``services.stop_stream``, exactly as a client's stop does (one
conditional UPDATE, one ``stream_stopped``), so two reapers at once end each stream once.
Then it retries the recordings that were not closed (``recordings``; those of streams
that ended at least :data:`FINALIZE_RETRY_AFTER` ago, so their own task came first),
finishes the deletions that were interrupted and deletes the streams past
``BROADCAST_API_RECORDING_RETENTION`` (``deletion``, ``retention``), and runs the
features' sweep (``hooks.sweep()``: webhooks re-enqueue deliveries that are due).

It keeps up with ten thousand live streams: candidates are read in keyset pages of
:data:`PAGE_SIZE` rows with only the columns the check needs (memory stays flat), their
playlists are asked about ``BROADCAST_API_REAPER_CONCURRENCY`` at a time on a thread pool
(the HEADs of the next page are in flight while this page's streams are ended), and only
the streams to end are read whole, one query per page. A watched stream needs no HEAD:
the playlist endpoint recorded its playlist's recent ``LastModified`` (``uploads``; one
``get_many`` per page). The database work stays in the calling thread: the pool's
threads only wait for S3. When S3 fails for twice the pool's width of streams in a row,
the run stops asking (``gave_up``) rather than spend every stream's timeouts and
retries; those left are live, and the next run asks again.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils import timezone

from broadcast_api import hooks, sessions, uploads
from broadcast_api.conf import conf
from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.lifecycle.deletion import finish_deletions
from broadcast_api.lifecycle.recordings import finalize_recording_of
from broadcast_api.lifecycle.retention import apply_retention
from broadcast_api.models import AbstractStream, StopReason, StreamStatus, get_stream_model
from broadcast_api.services import mark_disconnected, mark_reconnected, stop_stream

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from concurrent.futures import Future

    from django.db.models import QuerySet

__all__ = [
    "FINALIZE_RETRY_AFTER",
    "FINALIZE_RETRY_WINDOW",
    "PAGE_SIZE",
    "ReapReport",
    "idle_verdict",
    "reap",
]

logger = logging.getLogger("broadcast_api.lifecycle")

# Ended streams whose recording is retried by the reaper (older ones are left alone).
FINALIZE_RETRY_WINDOW = timedelta(days=7)
# ... and only once their own task has had this long: a reaper that has just ended a
# thousand streams leaves their recordings to the workers, rather than closing each
# again, one after another, before its run is over.
FINALIZE_RETRY_AFTER = timedelta(minutes=5)

# Live streams read per query. At most two pages are held: this one, and the next one's
# HEADs queued on the pool.
PAGE_SIZE = 500

# S3 failing for this many rounds of the pool in a row ends a run's asking.
GIVE_UP_AFTER_ROUNDS = 2

# What the idle check reads of a candidate (the primary key comes with any row).
CHECK_FIELDS = ("start_date", "s3_bucket", "s3_prefix", "publish_session", "disconnected_at")


@dataclass
class ReapReport:
    """What one :func:`reap` did (or, with ``dry_run``, would do)."""

    ended: list[tuple[AbstractStream, str]] = field(default_factory=list)
    disconnected: list[AbstractStream] = field(default_factory=list)  # marked by this run
    finalized: list[AbstractStream] = field(default_factory=list)
    errors: list[tuple[AbstractStream, str]] = field(default_factory=list)
    swept: dict[str, int] = field(default_factory=dict)  # hooks.sweep(): by feature
    checked: int = 0  # live streams whose playlist S3 was asked about
    seen_uploading: int = 0  # left live without asking: playback saw a recent upload
    gave_up: bool = False  # S3 failed too often in a row: the rest were not asked
    # Deletions: interrupted ones finished, streams past the retention, what failed
    # (left marked, retried by the next run).
    deleted: list[AbstractStream] = field(default_factory=list)
    expired: list[AbstractStream] = field(default_factory=list)
    deletion_errors: list[tuple[AbstractStream, str]] = field(default_factory=list)

    @property
    def webhooks_resent(self) -> int:
        return self.swept.get("webhooks", 0)


def reap(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    on_end: Callable[[AbstractStream, str], None] | None = None,
) -> ReapReport:
    """End vanished broadcasts, then retry unfinished recordings. Safe to run at once on
    several machines: each stream is ended by exactly one of them."""
    now = now or timezone.now()
    report = ReapReport()
    reaping = _Reaping(now=now, report=report, dry_run=dry_run, on_end=on_end)
    reaping.end_overlong()
    reaping.end_idle()
    if conf.FINALIZE_RECORDINGS and not dry_run:
        reaping.retry_recordings()
    # Deletions (``deletion``, ``retention``): finish the interrupted, then expire.
    report.deleted, unfinished_deletions = finish_deletions(dry_run=dry_run)
    report.expired, failed_expiries = apply_retention(now, dry_run=dry_run)
    report.deletion_errors = [
        (failure.stream, failure.reason) for failure in (*unfinished_deletions, *failed_expiries)
    ]
    if not dry_run:  # each feature's own retries (webhooks: deliveries due again)
        report.swept = hooks.sweep()
    return report


def idle_cutoff(now: datetime) -> datetime:
    """A live stream whose playlist was last written before this is idle: the
    reconnect window, in which it could still have been resumed, is over."""
    return now - timedelta(seconds=conf.RECONNECT_WINDOW)


def quiet_cutoff(now: datetime) -> datetime:
    """A live stream whose playlist was last written before this is disconnected."""
    return now - timedelta(seconds=conf.DISCONNECT_TIMEOUT)


def idle_verdict(
    stream: AbstractStream, last_upload: datetime | None, *, now: datetime
) -> str | None:
    """The reaper's decision for one live stream, given when its playlist was last
    written (``None``: never; then its start counts): the reason to end it with
    (``idle``), or ``None`` to leave it live."""
    if (last_upload or stream.start_date) < idle_cutoff(now):
        return StopReason.IDLE
    return None


def pages(queryset: QuerySet[Any], size: int = PAGE_SIZE) -> Iterator[list[Any]]:
    """``queryset`` oldest first, in keyset pages of ``size`` rows: each page one query
    that starts after the last row of the one before, so rows ended meanwhile (and a
    growing table) never shift a page, and no cursor stays open across the writes."""
    ordered = queryset.order_by("start_date", "pk")
    after: tuple[datetime, Any] | None = None
    while True:
        page_query = ordered
        if after is not None:
            start, pk = after
            page_query = ordered.filter(Q(start_date__gt=start) | Q(start_date=start, pk__gt=pk))
        page = list(page_query[:size])
        if page:
            yield page
        if len(page) < size:
            return
        after = (page[-1].start_date, page[-1].pk)


@dataclass
class _Reaping:
    """One run's state, shared by its steps."""

    now: datetime
    report: ReapReport
    dry_run: bool
    on_end: Callable[[AbstractStream, str], None] | None
    failures_in_a_row: int = 0
    give_up_after: int = 0

    @property
    def streams(self) -> Any:
        return get_stream_model()._default_manager

    def end_overlong(self) -> None:
        max_duration = conf.MAX_DURATION
        if max_duration is None:
            return
        too_old = self.streams.select_related("owner").filter(
            status=StreamStatus.LIVE, start_date__lt=self.now - timedelta(seconds=max_duration)
        )
        for page in pages(too_old):
            for stream in page:
                self.end(stream, StopReason.MAX_DURATION)

    def end_idle(self) -> None:
        """HEAD each candidate's playlist on the pool; end the idle ones."""
        # A stream younger than the disconnect timeout cannot have been quiet that long.
        candidates = self.streams.filter(
            status=StreamStatus.LIVE, start_date__lt=quiet_cutoff(self.now)
        ).only(*CHECK_FIELDS)
        width = conf.REAPER_CONCURRENCY
        # S3 down: each HEAD would take its timeouts and retries, for every live stream.
        # Twice the pool's width of failures in a row ends the asking; the rest stay live.
        self.give_up_after = GIVE_UP_AFTER_ROUNDS * width
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="broadcast-reap") as pool:

            def ask(page: list[AbstractStream]) -> list[tuple[AbstractStream, Future[Any]]]:
                # Watched streams: the playlist endpoint saw a recent upload; no HEAD
                # (but for one marked disconnected: its mark is to be cleared).
                seen = uploads.recent([s.pk for s in page], since=quiet_cutoff(self.now))
                self.report.seen_uploading += len(seen)
                return [
                    (s, pool.submit(sessions.last_upload, s))
                    for s in page
                    if s.pk not in seen or s.disconnected_at is not None
                ]

            asked: list[tuple[AbstractStream, Future[Any]]] = []
            for page in pages(candidates):
                previous, asked = asked, ask(page)  # the next page's HEADs start now
                self.settle(previous)
                if self.report.gave_up:
                    break
            else:
                self.settle(asked)
            if self.report.gave_up:
                pool.shutdown(cancel_futures=True)  # what has not started never will
                logger.warning(
                    "S3 failed for %d streams in a row; the reaper stopped asking and left "
                    "the rest live",
                    self.failures_in_a_row,
                )

    def settle(self, asked: list[tuple[AbstractStream, Future[Any]]]) -> None:
        """Decide each stream of a page by its answer; end the idle ones and mark (or
        unmark) the quiet ones, read whole in one query."""
        to_end: dict[Any, str] = {}
        to_mark: dict[Any, bool] = {}  # True: disconnected; False: uploading again
        for stream, answer in asked:
            try:
                last_upload = answer.result()
            except StorageUnavailable as exc:
                self.report.errors.append((stream, exc.reason or exc.code))
                self.failures_in_a_row += 1
                if self.failures_in_a_row >= self.give_up_after:
                    self.report.gave_up = True
                    break
                continue  # never end a stream because S3 did not answer
            self.failures_in_a_row = 0
            self.report.checked += 1
            reason = idle_verdict(stream, last_upload, now=self.now)
            if reason is not None:
                to_end[stream.pk] = reason
            elif not self.dry_run:
                quiet = (last_upload or stream.start_date) < quiet_cutoff(self.now)
                # A change: quiet and not marked yet, or uploading and still marked.
                if quiet == (stream.disconnected_at is None):
                    to_mark[stream.pk] = quiet
        if to_end or to_mark:
            self.apply(to_end, to_mark)

    def apply(self, to_end: dict[Any, str], to_mark: dict[Any, bool]) -> None:
        """End and mark a page's streams, read whole in one query."""
        whole = self.streams.select_related("owner").in_bulk([*to_end, *to_mark])
        for pk, reason in to_end.items():
            if pk in whole:  # (deleted meanwhile: nothing to end)
                self.end(whole[pk], reason)
        for pk, quiet in to_mark.items():
            if pk not in whole:
                continue
            if not quiet:
                mark_reconnected(whole[pk], at=self.now)  # uploading again, same session
            elif mark_disconnected(whole[pk], at=self.now):
                self.report.disconnected.append(whole[pk])

    def end(self, stream: AbstractStream, reason: str) -> None:
        if self.dry_run:
            self.report.ended.append((stream, reason))
            return
        if stop_stream(stream, reason=reason).stopped:  # another reaper may have been first
            self.report.ended.append((stream, reason))
            if self.on_end is not None:
                self.on_end(stream, reason)

    def retry_recordings(self) -> None:
        unfinished = self.streams.filter(
            status=StreamStatus.ENDED,
            finalized_at__isnull=True,
            stop_date__gte=self.now - FINALIZE_RETRY_WINDOW,
            stop_date__lt=self.now - FINALIZE_RETRY_AFTER,
        )
        for stream in unfinished.iterator():
            if finalize_recording_of(stream.pk):
                self.report.finalized.append(stream)

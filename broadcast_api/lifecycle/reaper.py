"""The end of a broadcast that no client ends.

:func:`reap` (also ``manage.py broadcast_reap``, for cron or a Kubernetes CronJob) ends
live streams whose broadcaster vanished: those whose playlist has not changed for
``BROADCAST_API_RECONNECT_WINDOW`` seconds (``IDLE_TIMEOUT``, its older name; by the
current publishing session's S3 ``LastModified``, read with the server's own client;
``sessions.last_upload``; a stream that never uploaded counts from its start), reason
``idle``; and those older than ``BROADCAST_API_MAX_DURATION``, reason ``max_duration``.
One quiet for ``BROADCAST_API_DISCONNECT_TIMEOUT`` seconds is marked disconnected
(``services.mark_disconnected``: ``stream.disconnected``, once), and unmarked when it
uploads again (``stream.reconnected``).
Each ends through ``services.stop_stream``, exactly as a client's stop does (one
conditional UPDATE, one ``stream_stopped``), so two reapers at once end each stream once.
Then it retries the recordings that were not closed (``recordings``), finishes the
deletions that were interrupted and deletes the streams past
``BROADCAST_API_RECORDING_RETENTION`` (``deletion``, ``retention``), and runs the
features' sweep (``hooks.sweep()``: webhooks re-enqueue deliveries that are due).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from broadcast_api import hooks
from broadcast_api.conf import conf
from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.lifecycle.deletion import finish_deletions
from broadcast_api.lifecycle.recordings import finalize_recording_of
from broadcast_api.lifecycle.retention import apply_retention
from broadcast_api.models import AbstractStream, StopReason, StreamStatus, get_stream_model
from broadcast_api.services import mark_disconnected, mark_reconnected, stop_stream
from broadcast_api.sessions import last_upload

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["FINALIZE_RETRY_WINDOW", "ReapReport", "reap"]

logger = logging.getLogger("broadcast_api.lifecycle")

# Ended streams whose recording is retried by the reaper (older ones are left alone).
FINALIZE_RETRY_WINDOW = timedelta(days=7)


@dataclass
class ReapReport:
    """What one :func:`reap` did (or, with ``dry_run``, would do)."""

    ended: list[tuple[AbstractStream, str]] = field(default_factory=list)
    disconnected: list[AbstractStream] = field(default_factory=list)
    finalized: list[AbstractStream] = field(default_factory=list)
    errors: list[tuple[AbstractStream, str]] = field(default_factory=list)
    swept: dict[str, int] = field(default_factory=dict)  # hooks.sweep(): by feature
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
    streams = get_stream_model()._default_manager
    max_duration = conf.MAX_DURATION
    if max_duration is not None:
        too_old = streams.filter(
            status=StreamStatus.LIVE, start_date__lt=now - timedelta(seconds=max_duration)
        )
        for stream in too_old.order_by("start_date").iterator():
            _end(stream, StopReason.MAX_DURATION, report, dry_run=dry_run, on_end=on_end)
    idle_since = now - timedelta(seconds=conf.RECONNECT_WINDOW)
    quiet_since = now - timedelta(seconds=conf.DISCONNECT_TIMEOUT)
    # A stream younger than the threshold cannot have been quiet that long.
    candidates = streams.filter(status=StreamStatus.LIVE, start_date__lt=quiet_since)
    for stream in candidates.order_by("start_date").iterator():
        _check_quiet(stream, now, idle_since, quiet_since, report, dry_run=dry_run, on_end=on_end)
    if conf.FINALIZE_RECORDINGS and not dry_run:
        unfinished = streams.filter(
            status=StreamStatus.ENDED,
            finalized_at__isnull=True,
            stop_date__gte=now - FINALIZE_RETRY_WINDOW,
        )
        for stream in unfinished.iterator():
            if finalize_recording_of(stream.pk):
                report.finalized.append(stream)
    # Deletions (``deletion``, ``retention``): finish the interrupted, then expire.
    report.deleted, unfinished_deletions = finish_deletions(dry_run=dry_run)
    report.expired, failed_expiries = apply_retention(now, dry_run=dry_run)
    report.deletion_errors = [
        (failure.stream, failure.reason) for failure in (*unfinished_deletions, *failed_expiries)
    ]
    if not dry_run:  # each feature's own retries (webhooks: deliveries due again)
        report.swept = hooks.sweep()
    return report


def _check_quiet(
    stream: AbstractStream,
    now: datetime,
    idle_since: datetime,
    quiet_since: datetime,
    report: ReapReport,
    *,
    dry_run: bool,
    on_end: Callable[[AbstractStream, str], None] | None,
) -> None:
    """The per-stream decision: end it (quiet for the reconnect window), mark it
    disconnected (quiet for the disconnect timeout), or unmark it (uploading again)."""
    try:
        last = last_upload(stream) or stream.start_date
    except StorageUnavailable as exc:
        report.errors.append((stream, exc.reason or exc.code))
        return  # never end a stream because S3 did not answer
    if last < idle_since:
        _end(stream, StopReason.IDLE, report, dry_run=dry_run, on_end=on_end)
    elif dry_run:
        return
    elif last < quiet_since and stream.disconnected_at is None:
        if mark_disconnected(stream, at=now):
            report.disconnected.append(stream)
    elif last >= quiet_since and stream.disconnected_at is not None:
        mark_reconnected(stream, at=now)  # uploading again, in the same session


def _end(
    stream: AbstractStream,
    reason: str,
    report: ReapReport,
    *,
    dry_run: bool,
    on_end: Callable[[AbstractStream, str], None] | None,
) -> None:
    if dry_run:
        report.ended.append((stream, reason))
        return
    if stop_stream(stream, reason=reason).stopped:  # another reaper may have been first
        report.ended.append((stream, reason))
        if on_end is not None:
            on_end(stream, reason)

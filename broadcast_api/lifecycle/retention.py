"""Retention: ended streams older than ``BROADCAST_API_RECORDING_RETENTION`` are deleted.

``reap()`` calls :func:`apply_retention`; each stream goes through
``deletion.delete_stream``, exactly as a DELETE does (objects, then row, then
``stream.deleted``). Age counts from the stop (``stop_date``); live streams are never
expired. Unset (``None``) keeps recordings forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from broadcast_api.conf import conf
from broadcast_api.lifecycle.deletion import DeletionFailure, delete_streams
from broadcast_api.models import AbstractStream, StopReason, StreamStatus, get_stream_model

if TYPE_CHECKING:
    from django.db.models import QuerySet

__all__ = ["apply_retention", "expired_streams", "retention_period"]


def retention_period() -> timedelta | None:
    """``BROADCAST_API_RECORDING_RETENTION`` as a ``timedelta`` (seconds when an int),
    or ``None`` when recordings are kept forever (check ``E026`` rejects the rest)."""
    value = conf.RECORDING_RETENTION
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


def expired_streams(now: datetime) -> QuerySet[Any]:
    """Ended streams stopped before ``now`` minus the retention, not being deleted
    already (those ``deletion.finish_deletions`` takes); none without a retention."""
    streams = get_stream_model()._default_manager
    period = retention_period()
    if period is None:
        return streams.none()
    return streams.filter(
        status=StreamStatus.ENDED, stop_date__lt=now - period, deleted_at__isnull=True
    ).order_by("stop_date")


def apply_retention(
    now: datetime, *, dry_run: bool = False
) -> tuple[list[AbstractStream], list[DeletionFailure]]:
    """Delete the expired streams (``dry_run``: only list them); returns those deleted
    (or that would be) and those whose deletion failed (left marked, for the reaper)."""
    expired = list(expired_streams(now))  # read first: the deletions change the table
    if dry_run:
        return expired, []
    return delete_streams(expired, reason=StopReason.ADMIN)

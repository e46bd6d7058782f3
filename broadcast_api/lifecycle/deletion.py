"""Deleting a stream: its objects, then its row, and nothing half done unknown.

Every way a stream goes (``DELETE /stream/{id}/``, the admin action, retention, a
deleted owner with erasure on) calls :func:`delete_stream`:

1. mark the row (``deleted_at``, one conditional UPDATE): from now on it answers 404 to
   everyone but staff, and closing its recording leaves the prefix alone;
2. stop it through ``services.stop_stream`` if it is live (one ``stream.stopped``);
3. delete every object under its prefix with the server's identity (paged ListObjectsV2
   and DeleteObjects, ``storage.S3Storage.delete_prefix``);
4. delete the row and announce ``stream.deleted`` in one transaction (the webhook outbox
   is written with it), so the event is sent once however many deleters race.

A failure at 3 or 4 leaves the marked row; :func:`finish_deletions` (run by ``reap()``)
takes it up again.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from broadcast_api import hooks
from broadcast_api.exceptions import DatabaseUnavailable, StorageUnavailable
from broadcast_api.models import AbstractStream, StopReason, get_stream_model
from broadcast_api.services import stop_stream
from broadcast_api.storage import get_storage

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.db.models import QuerySet

__all__ = [
    "DeletionFailure",
    "delete_marked",
    "delete_stream",
    "delete_streams",
    "finish_deletions",
    "interrupted_deletions",
    "mark_for_deletion",
]

logger = logging.getLogger("broadcast_api.lifecycle")


@dataclass(frozen=True)
class DeletionFailure:
    """A deletion that did not finish (its row stays marked; the reaper retries)."""

    stream: AbstractStream
    reason: str


def mark_for_deletion(streams: QuerySet[Any]) -> int:
    """Mark the rows of ``streams`` not marked yet (one UPDATE); returns how many."""
    return streams.filter(deleted_at__isnull=True).update(deleted_at=timezone.now())


def delete_stream(stream: AbstractStream, *, reason: str = StopReason.CLIENT) -> bool:
    """Delete ``stream``'s objects and row; ``reason`` is the stop's, when it is live.

    ``True`` when this call deleted the row (and announced ``stream.deleted``), ``False``
    when another deleter was first. Raises ``StorageUnavailable`` or
    ``DatabaseUnavailable`` with the row left marked: 404 to its owner, and finished by
    the next ``reap()``.
    """
    streams = type(stream)._default_manager.filter(pk=stream.pk)
    try:
        if stream.deleted_at is None:
            mark_for_deletion(streams)
            stream.deleted_at = streams.values_list("deleted_at", flat=True).first()
            if stream.deleted_at is None:  # the row is gone already: deleted by another
                return False
        if stream.is_live:
            stop_stream(stream, reason=reason)
    except DatabaseError as exc:
        logger.error("stream %s: deletion not started: %s", stream.pk, type(exc).__name__)
        raise DatabaseUnavailable("The stream could not be deleted.", reason="db_error") from None
    count = get_storage().delete_prefix(stream.s3_bucket, f"{stream.s3_prefix}/")
    return _delete_row(stream, streams, objects=count)


def _delete_row(stream: AbstractStream, streams: QuerySet[Any], *, objects: int) -> bool:
    now = timezone.now()
    writers = hooks.writers_for(hooks.STREAM_DELETED)
    try:
        with transaction.atomic() if writers else contextlib.nullcontext():
            deleted, _ = streams.filter(deleted_at__isnull=False).delete()
            if deleted:
                change = hooks.Change(hooks.STREAM_DELETED, stream, at=now)
                hooks.announce(change, writers)
    except DatabaseError as exc:
        logger.error("stream %s: row not deleted: %s", stream.pk, type(exc).__name__)
        raise DatabaseUnavailable("The stream could not be deleted.", reason="db_error") from None
    if deleted:
        logger.info("stream %s deleted (%d objects)", stream.pk, objects)
    return bool(deleted)


def delete_streams(
    streams: Iterable[AbstractStream], *, reason: str = StopReason.ADMIN
) -> tuple[list[AbstractStream], list[DeletionFailure]]:
    """Delete each of ``streams``; returns those deleted and those that failed (left
    marked, for the reaper)."""
    deleted: list[AbstractStream] = []
    failed: list[DeletionFailure] = []
    for stream in streams:
        try:
            if delete_stream(stream, reason=reason):
                deleted.append(stream)
        except (StorageUnavailable, DatabaseUnavailable) as exc:
            failed.append(DeletionFailure(stream, exc.reason or exc.code))
    return deleted, failed


def delete_marked(ids: Iterable[Any]) -> tuple[list[AbstractStream], list[DeletionFailure]]:
    """Delete those of the streams ``ids`` that are marked (erasure's task)."""
    marked = get_stream_model()._default_manager.filter(pk__in=list(ids))
    return delete_streams(list(marked.filter(deleted_at__isnull=False)), reason=StopReason.ADMIN)


def interrupted_deletions() -> list[AbstractStream]:
    """The streams marked for deletion whose deletion has not finished (or is under way)."""
    marked = get_stream_model()._default_manager.filter(deleted_at__isnull=False)
    return list(marked.order_by("deleted_at"))


def finish_deletions(
    *, dry_run: bool = False
) -> tuple[list[AbstractStream], list[DeletionFailure]]:
    """Finish the deletions that were interrupted (marked rows), for ``reap()``;
    ``dry_run``: only list them."""
    marked = interrupted_deletions()  # read first: the deletions change the table
    if dry_run:
        return marked, []
    return delete_streams(marked, reason=StopReason.ADMIN)

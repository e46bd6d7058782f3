"""The domain operations: start and stop a stream.

Views, the seed's function API, the admin and management code all call these, so the
rules live in one place: credentials first, then one INSERT; one conditional UPDATE
decides a stop; signals are sent after commit, once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from broadcast_api.conf import conf
from broadcast_api.credentials import StorageGrant, get_credential_provider
from broadcast_api.exceptions import DatabaseUnavailable
from broadcast_api.models import (
    AbstractStream,
    StopReason,
    StreamStatus,
    StreamType,
    get_stream_model,
)
from broadcast_api.policies import UploadScope
from broadcast_api.signals import stream_started, stream_stopped

if TYPE_CHECKING:
    from django.db.models import QuerySet

logger = logging.getLogger("broadcast_api.services")


@dataclass(frozen=True)
class StartResult:
    stream: AbstractStream
    storage: StorageGrant


@dataclass(frozen=True)
class StopResult:
    stream: AbstractStream
    stopped: bool  # False when the stream had already ended (idempotent stop)


def upload_scope(stream_id: uuid.UUID) -> UploadScope:
    """Where a new stream uploads: server-side values only, never client input."""
    return UploadScope.for_stream(
        stream_id,
        bucket=conf.S3_BUCKET,
        key_prefix=conf.KEY_PREFIX,
        region=conf.S3_REGION,
    )


def streams_for(user: Any, *, include_others_for_staff: bool = True) -> QuerySet[Any]:
    """The streams ``user`` may act on: their own, and anyone's for staff.

    Anonymous users (no ``pk``) see the ownerless streams a host's own views may create.
    """
    streams = get_stream_model()._default_manager.all()
    if include_others_for_staff and getattr(user, "is_staff", False):
        return streams
    return streams.filter(owner_id=getattr(user, "pk", None))


def start_stream(
    *,
    owner: Any = None,
    name: str = "",
    type: str = StreamType.HLS,
    is_public: bool = False,
    **extra: Any,
) -> StartResult:
    """Mint upload credentials, then record the stream with one INSERT.

    Raises ``StorageUnavailable`` (nothing written) or ``DatabaseUnavailable`` (the
    minted credentials are orphaned: they expire and their prefix belongs to no stream).
    ``extra`` holds values for fields a swapped stream model adds.
    """
    model = get_stream_model()
    stream_id = uuid.uuid4()
    scope = upload_scope(stream_id)
    grant = get_credential_provider().issue(scope, duration_seconds=conf.CREDENTIALS_TTL)
    try:
        stream = model._default_manager.create(
            id=stream_id,
            name=name,
            type=type,
            owner=owner,
            is_public=is_public,
            s3_bucket=scope.bucket,
            s3_prefix=scope.prefix,
            s3_region=scope.region,
            **extra,
        )
    except DatabaseError as exc:
        logger.error("could not record stream %s: %s", stream_id, type_name(exc))
        raise DatabaseUnavailable("The stream could not be recorded.", reason="db_error") from None
    logger.info("stream %s started (owner %s)", stream.pk, getattr(owner, "pk", None))
    transaction.on_commit(lambda: stream_started.send(sender=model, stream=stream))
    return StartResult(stream=stream, storage=grant)


def stop_stream(stream: AbstractStream, *, reason: str = StopReason.CLIENT) -> StopResult:
    """End ``stream`` exactly once, however many callers race to stop it.

    One conditional UPDATE (``WHERE id = ? AND status = 'live'``) decides. The winner
    updates ``stream`` in memory and sends ``stream_stopped`` after commit; a loser, or
    a stop of an ended stream, returns the stream as it is in the database.
    """
    model = type(stream)
    if stream.status != StreamStatus.LIVE:
        return StopResult(stream=stream, stopped=False)
    now = timezone.now()
    try:
        updated = model._default_manager.filter(pk=stream.pk, status=StreamStatus.LIVE).update(
            status=StreamStatus.ENDED, stop_date=now, stop_reason=reason
        )
        if not updated:  # another request stopped it between our read and our write
            stream.refresh_from_db(fields=["status", "stop_date", "stop_reason"])
            return StopResult(stream=stream, stopped=False)
    except DatabaseError as exc:
        logger.error("could not stop stream %s: %s", stream.pk, type_name(exc))
        raise DatabaseUnavailable("The stream could not be stopped.", reason="db_error") from None
    stream.status = StreamStatus.ENDED
    stream.stop_date = now
    stream.stop_reason = reason
    logger.info("stream %s stopped (%s)", stream.pk, reason)
    transaction.on_commit(lambda: stream_stopped.send(sender=model, stream=stream, reason=reason))
    return StopResult(stream=stream, stopped=True)


def stop_streams(queryset: QuerySet[Any], *, reason: str) -> int:
    """Stop every live stream of ``queryset`` (admin action); returns how many ended."""
    count = 0
    for stream in queryset.filter(status=StreamStatus.LIVE):
        count += stop_stream(stream, reason=reason).stopped
    return count


def type_name(exc: BaseException) -> str:
    return type(exc).__name__

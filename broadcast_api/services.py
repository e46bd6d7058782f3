"""The domain operations: start, refresh, resume and stop a stream.

Views, the seed's function API, the admin and management code all call these, so the
rules live in one place: credentials first, then one INSERT; one conditional UPDATE
decides a stop. Each change is announced through ``hooks``: what must be written with
it (the webhook outbox) in its transaction, the rest (signals, closing the recording)
after commit, once. A start may carry an
``Idempotency-Key`` (a retry returns the stream it created) and may be limited to
``BROADCAST_API_MAX_LIVE_STREAMS_PER_USER`` live streams.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from broadcast_api import hooks, viewers
from broadcast_api.conf import conf
from broadcast_api.credentials import StorageGrant, get_credential_provider
from broadcast_api.exceptions import (
    DatabaseUnavailable,
    IdempotencyKeyReused,
    LiveStreamLimitReached,
    StreamEnded,
)
from broadcast_api.models import (
    AbstractStream,
    StopReason,
    StreamStatus,
    StreamType,
    get_stream_model,
)
from broadcast_api.policies import UploadScope
from broadcast_api.sessions import note_resumed

if TYPE_CHECKING:
    from collections.abc import Iterator

    from django.db.models import QuerySet

logger = logging.getLogger("broadcast_api.services")

# How long an Idempotency-Key names the stream it created (the IETF draft's advice).
IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class StartResult:
    stream: AbstractStream
    storage: StorageGrant
    replayed: bool = False  # an Idempotency-Key retry: the stream an earlier start made


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


def stream_scope(stream: AbstractStream) -> UploadScope:
    """Where an existing stream uploads: the prefix it was given at start, in the
    folder of its current publishing session (``publish_session``)."""
    return UploadScope(
        stream_id=stream.pk,
        bucket=stream.s3_bucket,
        prefix=stream.s3_prefix,
        region=stream.s3_region,
        session=stream.publish_session,
    )


def streams_for(user: Any, *, include_others_for_staff: bool = True) -> QuerySet[Any]:
    """The streams ``user`` may act on: their own, and anyone's for staff.

    Anonymous users (no ``pk``) see the ownerless streams a host's own views may create.
    A stream being deleted (``deleted_at`` set) is seen by staff only.
    """
    streams = get_stream_model()._default_manager.all()
    is_staff = getattr(user, "is_staff", False)
    if not is_staff:
        streams = streams.filter(deleted_at__isnull=True)
    if include_others_for_staff and is_staff:
        return streams
    return streams.filter(owner_id=getattr(user, "pk", None))


# -- start ---------------------------------------------------------------------------------


def start_stream(
    *,
    owner: Any = None,
    name: str = "",
    type: str = StreamType.HLS,
    is_public: bool = False,
    title: str = "",
    description: str = "",
    idempotency_key: str = "",
    **extra: Any,
) -> StartResult:
    """Mint upload credentials, then record the stream with one INSERT.

    With ``idempotency_key`` (an authenticated ``owner``'s), a retry within 24 hours
    returns the stream the first start made, with fresh credentials; the same key with
    other parameters raises ``IdempotencyKeyReused``. With a live-stream limit, the
    owner's row is locked (``SELECT … FOR UPDATE``) while its live streams are counted
    and the new one is written, so concurrent starts cannot pass the limit together.

    Raises ``StorageUnavailable`` (nothing written), ``LiveStreamLimitReached`` or
    ``DatabaseUnavailable`` (the minted credentials are orphaned: they expire and their
    prefix belongs to no stream). ``extra`` holds values for fields a swapped stream
    model adds.
    """
    model = get_stream_model()
    values = {
        "name": name,
        "type": type,
        "is_public": is_public,
        "title": title,
        "description": description,
        **extra,
    }
    key = idempotency_key if getattr(owner, "pk", None) is not None else ""
    fingerprint = request_fingerprint(values) if key else ""
    try:
        with owner_locked_if_limited(owner):
            if key:
                replay = idempotent_replay(owner, key, fingerprint)
                if replay is not None:
                    return replay
            check_live_stream_limit(owner)
            stream_id = uuid.uuid4()
            scope = upload_scope(stream_id)
            grant = get_credential_provider().issue(scope, duration_seconds=conf.CREDENTIALS_TTL)
            writers = hooks.writers_for(hooks.STREAM_STARTED)
            # One transaction when there is more than the INSERT: a writer (the webhook
            # outbox), or a key (a concurrent start with it may win the unique
            # constraint, and the transaction around us must survive that).
            atomic = transaction.atomic() if key or writers else contextlib.nullcontext()
            try:
                with atomic:
                    stream = model._default_manager.create(
                        id=stream_id,
                        owner=owner,
                        s3_bucket=scope.bucket,
                        s3_prefix=scope.prefix,
                        s3_region=scope.region,
                        idempotency_key=key,
                        request_fingerprint=fingerprint,
                        **values,
                    )
                    change = hooks.Change(hooks.STREAM_STARTED, stream, at=stream.start_date)
                    hooks.announce(change, writers)
            except IntegrityError:
                # A concurrent start with the same key won: answer with its stream.
                replay = idempotent_replay(owner, key, fingerprint) if key else None
                if replay is None:
                    raise
                return replay
    except DatabaseError as exc:
        logger.error("could not record a stream: %s", type_name(exc))
        raise DatabaseUnavailable("The stream could not be recorded.", reason="db_error") from None
    logger.info("stream %s started (owner %s)", stream.pk, getattr(owner, "pk", None))
    return StartResult(stream=stream, storage=grant)


def request_fingerprint(values: dict[str, Any]) -> str:
    """What a start asked for, to tell a retry from a different request with the same key."""
    canonical = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_replay(owner: Any, key: str, fingerprint: str) -> StartResult | None:
    """The earlier start with this key, with fresh credentials; ``None`` when there is
    none within the window (an older one gives its key up)."""
    streams = get_stream_model()._default_manager.filter(owner=owner, idempotency_key=key)
    stream = streams.first()
    if stream is None:
        return None
    if stream.start_date < timezone.now() - IDEMPOTENCY_WINDOW:
        streams.filter(pk=stream.pk).update(idempotency_key="")
        return None
    if stream.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a start with other parameters."
        )
    logger.info("stream %s: start replayed for its Idempotency-Key", stream.pk)
    return StartResult(stream=stream, storage=issue_for(stream), replayed=True)


@contextlib.contextmanager
def owner_locked_if_limited(owner: Any) -> Iterator[None]:
    """With a live-stream limit, hold the owner's row lock for the whole start."""
    if conf.MAX_LIVE_STREAMS_PER_USER is None or getattr(owner, "pk", None) is None:
        yield
        return
    with transaction.atomic():
        # Locks on PostgreSQL (and MySQL, Oracle); SQLite serializes its writers anyway.
        list(get_user_model()._default_manager.select_for_update().filter(pk=owner.pk))
        yield


def check_live_stream_limit(owner: Any) -> None:
    limit = conf.MAX_LIVE_STREAMS_PER_USER
    if limit is None or getattr(owner, "pk", None) is None:
        return
    live = get_stream_model()._default_manager.filter(owner=owner, status=StreamStatus.LIVE)
    if live.count() >= limit:
        raise LiveStreamLimitReached(
            f"You already have {limit} live stream{'s' if limit != 1 else ''}; stop one first."
        )


# -- refresh -------------------------------------------------------------------------------


def issue_for(stream: AbstractStream) -> StorageGrant:
    """New credentials for ``stream``'s own prefix (the scope it was started with), in
    its current publishing session's folder."""
    return get_credential_provider().issue(
        stream_scope(stream), duration_seconds=conf.CREDENTIALS_TTL
    )


def refresh_credentials(stream: AbstractStream) -> StartResult:
    """New upload credentials for a live stream, for the same prefix (and the current
    publishing session's folder: ``stream.publish_session`` as read with the row).

    Raises ``StreamEnded`` for a stream that has ended, ``StorageUnavailable`` when STS
    fails. The credentials issued before stay valid until they expire.
    """
    if not stream.is_live:
        raise StreamEnded("The stream has ended; start a new one.")
    grant = issue_for(stream)
    logger.info("stream %s: credentials refreshed", stream.pk)
    return StartResult(stream=stream, storage=grant)


# -- resume and the broadcaster's connection ----------------------------------------------


def resume_stream(stream: AbstractStream) -> StartResult:
    """Begin the next publishing session of a live stream: credentials for its folder.

    One conditional UPDATE (``publish_session = publish_session + 1``, clearing
    ``disconnected_at``, ``WHERE status = 'live'``) numbers the session, so concurrent
    resumes get distinct sessions; the credentials are minted in the same transaction,
    so an STS failure (``StorageUnavailable``) leaves ``publish_session`` as it was.
    ``stream.reconnected`` is announced with it, whether or not the reaper had noticed
    the broadcaster's silence (``stream.disconnected``). Raises ``StreamEnded`` for a
    stream that has ended (or ends, or begins being deleted, meanwhile).
    """
    if not stream.is_live:
        raise StreamEnded("The stream has ended; start a new one.")
    model = type(stream)
    now = timezone.now()
    writers = hooks.writers_for(hooks.STREAM_RECONNECTED)
    try:
        with transaction.atomic():
            rows = model._default_manager.filter(
                pk=stream.pk, status=StreamStatus.LIVE, deleted_at__isnull=True
            )
            if not rows.update(publish_session=F("publish_session") + 1, disconnected_at=None):
                raise StreamEnded("The stream has ended; start a new one.")
            # Our UPDATE holds the row until commit: this reads our own number.
            stream.publish_session = rows.values_list("publish_session", flat=True).get()
            stream.disconnected_at = None
            grant = issue_for(stream)  # StorageUnavailable rolls the UPDATE back
            hooks.announce(hooks.Change(hooks.STREAM_RECONNECTED, stream, at=now), writers)
    except DatabaseError as exc:
        logger.error("could not resume stream %s: %s", stream.pk, type_name(exc))
        raise DatabaseUnavailable("The stream could not be resumed.", reason="db_error") from None
    note_resumed(stream, now)
    logger.info("stream %s resumed: publishing session %d", stream.pk, stream.publish_session)
    return StartResult(stream=stream, storage=grant)


def mark_disconnected(stream: AbstractStream, *, at: datetime | None = None) -> bool:
    """Record that a live stream's broadcaster went quiet and announce
    ``stream.disconnected``, once: the UPDATE is conditional on the stream being live,
    not marked yet and still in the session that went quiet (a resume in between wins).
    Returns whether this call marked it."""
    return _mark(stream, hooks.STREAM_DISCONNECTED, at or timezone.now(), marked=False)


def mark_reconnected(stream: AbstractStream, *, at: datetime | None = None) -> bool:
    """A marked broadcaster is uploading again in the same session (a network blip,
    no resume): clear the mark and announce ``stream.reconnected``, once."""
    return _mark(stream, hooks.STREAM_RECONNECTED, at or timezone.now(), marked=True)


def _mark(stream: AbstractStream, name: str, at: datetime, *, marked: bool) -> bool:
    model = type(stream)
    value = None if marked else at
    writers = hooks.writers_for(name)
    with transaction.atomic() if writers else contextlib.nullcontext():
        updated = model._default_manager.filter(
            pk=stream.pk,
            status=StreamStatus.LIVE,
            publish_session=stream.publish_session,
            disconnected_at__isnull=not marked,
        ).update(disconnected_at=value)
        if updated:
            stream.disconnected_at = value
            hooks.announce(hooks.Change(name, stream, at=at), writers)
    if updated:
        logger.info("stream %s: %s", stream.pk, name)
    return bool(updated)


# -- stop ----------------------------------------------------------------------------------


def stop_stream(stream: AbstractStream, *, reason: str = StopReason.CLIENT) -> StopResult:
    """End ``stream`` exactly once, however many callers race to stop it.

    One conditional UPDATE (``WHERE id = ? AND status = 'live'``) decides. The winner
    updates ``stream`` in memory and announces ``stream.stopped`` (after commit:
    ``stream_stopped``, the recording closed); a loser, or a stop of an ended stream,
    returns the stream as it is in the database. The UPDATE records the peak viewer
    count, read from the cache before it (``viewers.ViewerCounter.peak``).
    """
    model = type(stream)
    if stream.status != StreamStatus.LIVE:
        return StopResult(stream=stream, stopped=False)
    now = timezone.now()
    peak = viewers.counter.peak(stream.pk, since=stream.start_date)
    writers = hooks.writers_for(hooks.STREAM_STOPPED)
    try:
        with transaction.atomic() if writers else contextlib.nullcontext():
            updated = model._default_manager.filter(pk=stream.pk, status=StreamStatus.LIVE).update(
                status=StreamStatus.ENDED,
                stop_date=now,
                stop_reason=reason,
                peak_viewer_count=peak,
            )
            if updated:
                stream.status, stream.stop_date, stream.stop_reason = (
                    StreamStatus.ENDED,
                    now,
                    reason,
                )
                stream.peak_viewer_count = peak
                change = hooks.Change(hooks.STREAM_STOPPED, stream, at=now, reason=reason)
                hooks.announce(change, writers)  # the writers in the UPDATE's transaction
        if not updated:  # another request stopped it between our read and our write
            stream.refresh_from_db(
                fields=["status", "stop_date", "stop_reason", "peak_viewer_count"]
            )
            return StopResult(stream=stream, stopped=False)
    except DatabaseError as exc:
        logger.error("could not stop stream %s: %s", stream.pk, type_name(exc))
        raise DatabaseUnavailable("The stream could not be stopped.", reason="db_error") from None
    logger.info("stream %s stopped (%s)", stream.pk, reason)
    return StopResult(stream=stream, stopped=True)


def stop_streams(queryset: QuerySet[Any], *, reason: str) -> int:
    """Stop every live stream of ``queryset`` (admin action); returns how many ended."""
    count = 0
    for stream in queryset.filter(status=StreamStatus.LIVE):
        count += stop_stream(stream, reason=reason).stopped
    return count


def type_name(exc: BaseException) -> str:
    return type(exc).__name__

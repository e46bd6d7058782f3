"""Errors the domain layer raises; the API answers each with its status and ``code``.

They carry a stable machine-readable ``code``, the HTTP ``status_code`` the API answers
with, and (for a failing dependency) a ``reason`` naming which one failed and how.
Their messages never contain credentials.
"""

from __future__ import annotations


class BroadcastError(Exception):
    """Base class of the package's own errors."""

    code = "broadcast_error"
    status_code = 503

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class StorageUnavailable(BroadcastError):
    """STS or S3 failed: unreachable, slow, throttled, denied, or no identity."""

    code = "storage_unavailable"


class DatabaseUnavailable(BroadcastError):
    """The stream could not be recorded or read because the database failed."""

    code = "database_unavailable"


class PlaylistNotReady(BroadcastError):
    """The stream has no playlist in the bucket yet: its broadcaster has not uploaded."""

    code = "playlist_not_ready"
    status_code = 404


class StreamEnded(BroadcastError):
    """The stream has ended: no new upload credentials for it."""

    code = "stream_ended"
    status_code = 409


class PosterNotUploaded(BroadcastError):
    """A poster was announced, but there is none under the stream's prefix (yet)."""

    code = "poster_not_uploaded"
    status_code = 409


class LiveStreamLimitReached(BroadcastError):
    """The user already has ``BROADCAST_API_MAX_LIVE_STREAMS_PER_USER`` live streams."""

    code = "live_stream_limit"
    status_code = 409


class IdempotencyKeyReused(BroadcastError):
    """An ``Idempotency-Key`` already used for a start with other parameters."""

    code = "idempotency_key_reused"
    status_code = 422

"""Errors the domain layer raises; the API turns them into 503 responses.

They carry a stable machine-readable ``code`` and a ``reason`` naming which dependency
failed and how. Their messages never contain credentials.
"""

from __future__ import annotations


class BroadcastError(Exception):
    """Base class of the package's own errors."""

    code = "broadcast_error"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class StorageUnavailable(BroadcastError):
    """Upload credentials could not be minted (STS unreachable, slow, throttled, denied)."""

    code = "storage_unavailable"


class DatabaseUnavailable(BroadcastError):
    """The stream could not be recorded or read because the database failed."""

    code = "database_unavailable"

"""The webhook event types: plain names, registered in code.

A feature that announces a change through ``broadcast_api.hooks`` makes it a webhook by
registering its name (``register("stream.deleted")``, e.g. in its ``receivers``): from
then on endpoints may ask for it and the outbox writes it. No migration: the stored
type is a plain string.
"""

from __future__ import annotations

import re

from broadcast_api.hooks import (
    RECORDING_READY,
    STREAM_DELETED,
    STREAM_DISCONNECTED,
    STREAM_RECONNECTED,
    STREAM_STARTED,
    STREAM_STOPPED,
)

__all__ = [
    "EVENT_TYPES",
    "RECORDING_READY",
    "STREAM_DELETED",
    "STREAM_DISCONNECTED",
    "STREAM_RECONNECTED",
    "STREAM_STARTED",
    "STREAM_STOPPED",
    "event_types",
    "register",
]

NAME_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
MAX_LENGTH = 32  # WebhookEvent.type

_registered: list[str] = []


def register(name: str) -> str:
    """Make ``name`` (``<noun>.<past participle>``, at most 32 characters) a webhook
    event type; registering it again changes nothing. Returns ``name``."""
    if not NAME_RE.fullmatch(name) or len(name) > MAX_LENGTH:
        raise ValueError(f"{name!r} is not an event type name like 'stream.started'")
    if name not in _registered:
        _registered.append(name)
    return name


def event_types() -> tuple[str, ...]:
    """Every registered event type, in the order registered."""
    return tuple(_registered)


register(STREAM_STARTED)
register(STREAM_STOPPED)
register(STREAM_DISCONNECTED)
register(STREAM_RECONNECTED)
# Lifecycle's: a deletion (API, admin, retention, erasure) and a closed recording.
register(STREAM_DELETED)
register(RECORDING_READY)

# The built-in types (what ``broadcast_api.webhook_models.EVENT_TYPES`` was);
# ``event_types()`` also has those registered since.
EVENT_TYPES = (STREAM_STARTED, STREAM_STOPPED)

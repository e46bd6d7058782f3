"""The outbox: an event written with the state change it announces, delivered after it.

Before a start or a stop, :func:`~broadcast_api.webhooks.endpoints.subscribers` says
who wants the event; when anyone does, :func:`record` runs inside the same transaction
as the INSERT or UPDATE: the event and one delivery per endpoint are rows of that
transaction, so a rolled-back change announces nothing and a committed one is never
lost. After the commit, one task per delivery is enqueued (``webhooks.tasks``).

The body follows Standard Webhooks: ``{"type": "stream.stopped", "timestamp": "<ISO
8601>", "data": <the stream as GET /stream/{id}/ shows it>}``; never credentials. A
change's ``details`` are added to ``data`` beside the stream's keys (a recording's
``recording``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from broadcast_api.serializers import StreamSerializer
from broadcast_api.webhooks.models import WebhookDelivery, WebhookEvent
from broadcast_api.webhooks.tasks import enqueue_deliveries

if TYPE_CHECKING:
    from collections.abc import Mapping

    from broadcast_api.models import AbstractStream
    from broadcast_api.webhooks.endpoints import Subscriber

__all__ = ["event_body", "record"]


def event_body(
    event_type: str,
    stream: AbstractStream,
    at: datetime,
    details: Mapping[str, Any] | None = None,
) -> str:
    """The Standard Webhooks body: the stream as retrieve shows it (and the change's
    ``details`` beside it), no credentials."""
    data = {**StreamSerializer(stream).data, **(details or {})}
    timestamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"type": event_type, "timestamp": timestamp, "data": data},
        separators=(",", ":"),
        default=str,
    )


def record(
    event_type: str,
    stream: AbstractStream,
    targets: list[Subscriber],
    *,
    at: datetime,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Write the event and its deliveries in the current transaction; after commit,
    enqueue their delivery. Call it inside ``transaction.atomic()`` with the change."""
    event = WebhookEvent._default_manager.create(
        type=event_type, body=event_body(event_type, stream, at, details), stream_id=stream.pk
    )
    now = timezone.now()
    deliveries = WebhookDelivery._default_manager.bulk_create(
        [
            WebhookDelivery(
                event=event, endpoint_id=target.endpoint_id, url=target.url, next_attempt_at=now
            )
            for target in targets
        ]
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: enqueue_deliveries(ids))

"""Events for the rest of the system: written with the state change, delivered after it.

``services`` calls :func:`subscribers` before a start or a stop and, when any endpoint
wants the event, :func:`record` inside the same transaction as the INSERT or UPDATE: the
event and one delivery per endpoint are rows of that transaction (an outbox), so a
rolled-back change announces nothing and a committed one is never lost. After the
commit, one task per delivery is enqueued (``broadcast_api.delivery``).

Endpoints come from ``BROADCAST_API_WEBHOOKS`` and from the ``WebhookEndpoint`` model
(the admin). The model's are kept in Django's cache for a minute (cleared when one is
saved or deleted), so a start or stop with no webhooks makes no extra query.

The body follows Standard Webhooks: ``{"type": "stream.stopped", "timestamp": "<ISO
8601>", "data": <the stream as GET /stream/{id}/ shows it>}``; never credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from broadcast_api.conf import conf
from broadcast_api.webhook_models import (
    EVENT_TYPES,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

if TYPE_CHECKING:
    from broadcast_api.models import AbstractStream

ENDPOINTS_CACHE_KEY = "broadcast_api:webhook_endpoints:v1"
ENDPOINTS_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Subscriber:
    """Where one event goes: a configured URL, or an endpoint row (``endpoint_id``)."""

    url: str
    endpoint_id: int | None = None


def configured_endpoints() -> list[dict[str, Any]]:
    """``BROADCAST_API_WEBHOOKS``, each with ``events`` (default: all) filled in."""
    return [
        {**endpoint, "events": list(endpoint.get("events") or EVENT_TYPES)}
        for endpoint in conf.WEBHOOKS
    ]


def configured_secrets(endpoint: dict[str, Any]) -> list[Any]:
    """A ``BROADCAST_API_WEBHOOKS`` entry's ``secret``: one, or a list while rotating."""
    secret = endpoint.get("secret")
    if isinstance(secret, str):
        return [secret]
    return list(secret) if isinstance(secret, list | tuple) else []


def stored_endpoints() -> list[tuple[int, str, list[str]]]:
    """``(id, url, events)`` of the enabled ``WebhookEndpoint`` rows, cached (no secrets)."""
    found: list[tuple[int, str, list[str]]] | None = cache.get(ENDPOINTS_CACHE_KEY)
    if found is None:
        found = [
            (endpoint.pk, endpoint.url, list(endpoint.events or EVENT_TYPES))
            for endpoint in WebhookEndpoint._default_manager.filter(enabled=True)
        ]
        cache.set(ENDPOINTS_CACHE_KEY, found, ENDPOINTS_CACHE_SECONDS)
    return found


def forget_stored_endpoints(**kwargs: Any) -> None:
    """``post_save``/``post_delete`` receiver for ``WebhookEndpoint``: now, and once more
    after the commit (a start in between may have cached the rows from before it)."""
    cache.delete(ENDPOINTS_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(ENDPOINTS_CACHE_KEY))


def subscribers(event_type: str) -> list[Subscriber]:
    """Every endpoint that wants ``event_type`` (usually none: then nothing is written)."""
    found = [
        Subscriber(url=str(endpoint["url"]))
        for endpoint in configured_endpoints()
        if event_type in endpoint["events"]
    ]
    found += [
        Subscriber(url=url, endpoint_id=pk)
        for pk, url, events in stored_endpoints()
        if event_type in events
    ]
    return found


def event_body(event_type: str, stream: AbstractStream, at: datetime) -> str:
    """The Standard Webhooks body: the stream as retrieve shows it, no credentials."""
    from broadcast_api.serializers import StreamSerializer

    data = dict(StreamSerializer(stream).data)
    timestamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"type": event_type, "timestamp": timestamp, "data": data},
        separators=(",", ":"),
        default=str,
    )


def record(
    event_type: str, stream: AbstractStream, targets: list[Subscriber], *, at: datetime
) -> None:
    """Write the event and its deliveries in the current transaction; after commit,
    enqueue their delivery. Call it inside ``transaction.atomic()`` with the change."""
    event = WebhookEvent._default_manager.create(
        type=event_type, body=event_body(event_type, stream, at), stream_id=stream.pk
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

    def enqueue_all() -> None:
        from broadcast_api.tasks import enqueue_deliveries

        enqueue_deliveries(ids)

    transaction.on_commit(enqueue_all)

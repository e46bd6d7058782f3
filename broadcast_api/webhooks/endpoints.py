"""Where webhooks go: ``BROADCAST_API_WEBHOOKS`` and the ``WebhookEndpoint`` rows.

The rows are kept in Django's cache for a minute (cleared when one is saved or deleted),
so a start or stop with no webhooks makes no extra query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction

from broadcast_api.conf import conf
from broadcast_api.webhooks.events import event_types
from broadcast_api.webhooks.models import WebhookEndpoint

__all__ = [
    "ENDPOINTS_CACHE_KEY",
    "ENDPOINTS_CACHE_SECONDS",
    "Subscriber",
    "configured_endpoints",
    "configured_secrets",
    "forget_stored_endpoints",
    "stored_endpoints",
    "subscribers",
]

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
        {**endpoint, "events": list(endpoint.get("events") or event_types())}
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
            (endpoint.pk, endpoint.url, list(endpoint.events or event_types()))
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

"""Delivering one webhook: claim it, sign it, POST it, record the try, decide what next.

Following Standard Webhooks: headers ``webhook-id`` (the event's id: the same on every
retry, so receivers can drop duplicates), ``webhook-timestamp`` and ``webhook-signature``
(``v1,<base64>``, one per secret while a secret is rotated), signed with the
``standardwebhooks`` library.

- **At least once.** A worker claims a delivery with one conditional UPDATE (due, and
  not held by another worker) that holds it for a lease; it enqueues a backstop run at
  the lease's end, so a worker killed mid-delivery is replaced by whichever worker picks
  that up. ``broadcast_webhooks_resend`` and ``broadcast_reap`` re-enqueue what is due.
- **Retries**: timeouts, connection errors, 5xx and 429 are retried with exponential
  backoff and jitter (honouring ``Retry-After``) up to ``BROADCAST_API_WEBHOOK_MAX_ATTEMPTS``
  tries; any other answer that is not 2xx fails the delivery at once.
- **SSRF**: the host is resolved here, and refused when any address is loopback,
  private, link-local or otherwise not public (unless
  ``BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS``); the request then goes to the address
  that was checked, so DNS cannot change its answer in between. Redirects are not
  followed.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import urllib3
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks import Webhook

from broadcast_api import __version__
from broadcast_api.conf import conf
from broadcast_api.redaction import sending_webhook
from broadcast_api.webhooks.endpoints import configured_secrets
from broadcast_api.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.db.models import QuerySet

logger = logging.getLogger("broadcast_api.delivery")

MAX_RETRY_DELAY = 3600.0
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = f"broadcast-api-webhooks/{__version__}"


class RefusedURL(Exception):
    """The endpoint's host resolves to an address webhooks may not reach."""


class EndpointGone(Exception):
    """The delivery's endpoint was removed from the settings or the database."""


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str  # an exception's class name, or ""
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        if self.status_code is None:  # timeouts, refused or reset connections
            return self.error not in {"RefusedURL", "EndpointGone", "InvalidURL"}
        return self.status_code in RETRYABLE_STATUSES or self.status_code >= 500


# -- the destination ------------------------------------------------------------------------


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, address to connect to)``; raises :class:`RefusedURL`."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise RefusedURL("not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedURL(f"cannot resolve the host ({type(exc).__name__})") from None
    addresses = [str(info[4][0]) for info in infos]
    if not conf.WEBHOOK_ALLOW_PRIVATE_URLS:
        refused = [address for address in addresses if not is_public_address(address)]
        if refused:
            raise RefusedURL("the host resolves to a private, loopback or link-local address")
    return parts.scheme, parts.hostname, port, addresses[0]


def secrets_for(delivery: WebhookDelivery) -> list[str]:
    """The secrets to sign with (two while one is rotated), found now, not stored."""
    endpoint = delivery.endpoint
    if endpoint is not None:
        return [s for s in (endpoint.secret, endpoint.previous_secret) if s]
    for configured in conf.WEBHOOKS:
        if configured.get("url") == delivery.url:
            return configured_secrets(configured)
    raise EndpointGone("no longer in BROADCAST_API_WEBHOOKS")


def signed_headers(message_id: str, body: str, secrets: list[str], at: datetime) -> dict[str, str]:
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def post(url: str, body: str, headers: dict[str, str]) -> Outcome:
    """One POST to the address :func:`resolve` checked; never raises."""
    try:
        scheme, host, port, address = resolve(url)
    except RefusedURL:
        return Outcome(status_code=None, error="RefusedURL")
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    timeout = urllib3.Timeout(connect=conf.WEBHOOK_TIMEOUT, read=conf.WEBHOOK_TIMEOUT)
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, server_hostname=host, assert_hostname=host
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout)
    sending = sending_webhook.set(True)  # urllib3 would log the URL at DEBUG
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body.encode(),
            headers={**headers, "host": host_header},
            retries=False,
            redirect=False,
            preload_content=False,
        )
        response.read(64 * 1024)  # whatever it says, a little of it, then let it go
        response.release_conn()
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return Outcome(status_code=response.status, error="", retry_after=retry_after)
    except urllib3.exceptions.HTTPError as exc:
        return Outcome(status_code=None, error=type(exc).__name__)
    finally:
        pool.close()
        sending_webhook.reset(sending)


def parse_retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


# -- one attempt ------------------------------------------------------------------------------


def lease_seconds() -> float:
    """How long a worker holds a delivery: its request's longest wait, and some."""
    return 2 * conf.WEBHOOK_TIMEOUT + 5


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next try: doubling from ``WEBHOOK_RETRY_DELAY``, with jitter."""
    delay = min(MAX_RETRY_DELAY, float(conf.WEBHOOK_RETRY_DELAY) * 2.0 ** (attempts - 1))
    delay *= random.uniform(0.5, 1.5)  # noqa: S311  (jitter, not cryptography)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_DELAY))
    return delay


def due_and_free(now: datetime) -> Q:
    """Pending, due, and held by no worker (a lease that ran out holds nothing)."""
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) & (
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )


def claim(delivery_id: int) -> WebhookDelivery | None:
    """Take a due delivery for this worker (one conditional UPDATE decides), or ``None``."""
    now = timezone.now()
    claimed = WebhookDelivery._default_manager.filter(due_and_free(now), pk=delivery_id).update(
        locked_until=now + timedelta(seconds=lease_seconds()), attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return WebhookDelivery._default_manager.select_related("event", "endpoint").get(pk=delivery_id)


def attempt(delivery_id: int, *, schedule: Callable[[int, float], None] | None = None) -> str:
    """Try one delivery once; returns what happened (``succeeded``, ``retry``,
    ``failed``, ``skipped`` when it was not due or another worker holds it).

    ``schedule(delivery_id, delay_seconds)`` enqueues a later run (a retry, or the
    backstop for this worker dying); without it retries wait for the resend command.
    """
    delivery = claim(delivery_id)
    if delivery is None:
        return "skipped"
    if schedule is not None:
        schedule(delivery.pk, lease_seconds() + 1)  # the backstop
    started = timezone.now()
    clock = time.monotonic()
    try:
        body = delivery.event.body
        signed_at = datetime.now(UTC)  # standardwebhooks wants UTC, whatever USE_TZ says
        headers = signed_headers(str(delivery.event.pk), body, secrets_for(delivery), signed_at)
        outcome = post(delivery.url, body, headers)
    except EndpointGone:
        outcome = Outcome(status_code=None, error="EndpointGone")
    duration_ms = int((time.monotonic() - clock) * 1000)
    WebhookAttempt._default_manager.create(
        delivery=delivery,
        number=delivery.attempts,
        started_at=started,
        duration_ms=duration_ms,
        status_code=outcome.status_code,
        error=outcome.error,
    )
    result = settle(delivery, outcome)
    # A delivery given up on (refused, gone, out of attempts) is an operator's problem:
    # the task itself succeeded, so only this log line says the event was not delivered.
    logger.log(
        logging.WARNING if result == "failed" else logging.INFO,
        "webhook %s (%s), delivery %s to %s: attempt %d, %s (%s) in %d ms",
        delivery.event.type,
        delivery.event.pk,
        delivery.pk,
        urlsplit(delivery.url).hostname,  # not the URL: its path or query may be a secret
        delivery.attempts,
        result,
        outcome.status_code or outcome.error,
        duration_ms,
    )
    if result == "retry" and schedule is not None:
        delay = (delivery.next_attempt_at - timezone.now()).total_seconds()
        schedule(delivery.pk, max(0.0, delay))
    return result


def settle(delivery: WebhookDelivery, outcome: Outcome) -> str:
    """Record the outcome on the delivery and release it."""
    now = timezone.now()
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.locked_until = None
    if outcome.succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        result = "succeeded"
    elif outcome.retryable and delivery.attempts < conf.WEBHOOK_MAX_ATTEMPTS:
        delivery.next_attempt_at = now + timedelta(
            seconds=backoff(delivery.attempts, outcome.retry_after)
        )
        result = "retry"
    else:
        delivery.status = DeliveryStatus.FAILED
        result = "failed"
    delivery.save(
        update_fields=[
            "status",
            "last_status_code",
            "last_error",
            "locked_until",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return result


def reopen(deliveries: QuerySet[Any]) -> list[int]:
    """Give ``deliveries`` a fresh set of tries, due now (a resend); returns their ids.
    They keep their event, so the receiver sees the same ``webhook-id``."""
    ids = list(deliveries.values_list("pk", flat=True))
    WebhookDelivery._default_manager.filter(pk__in=ids).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        locked_until=None,
    )
    return ids


def due_deliveries(*, include_failed: bool = False) -> list[int]:
    """Deliveries a resend should enqueue: pending ones that are due and not held by a
    worker (and, with ``include_failed``, failed ones, given a fresh set of tries)."""
    manager = WebhookDelivery._default_manager
    if include_failed:
        reopen(manager.filter(status=DeliveryStatus.FAILED))
    return list(
        manager.filter(due_and_free(timezone.now()))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)
    )

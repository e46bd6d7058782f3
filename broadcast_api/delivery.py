"""Moved to ``broadcast_api.webhooks.delivery``; this path keeps working."""

from __future__ import annotations

from broadcast_api.webhooks.delivery import (
    MAX_RETRY_DELAY,
    RETRYABLE_STATUSES,
    USER_AGENT,
    EndpointGone,
    Outcome,
    RefusedURL,
    attempt,
    backoff,
    claim,
    due_and_free,
    due_deliveries,
    is_public_address,
    lease_seconds,
    parse_retry_after,
    post,
    reopen,
    resolve,
    secrets_for,
    settle,
    signed_headers,
)

__all__ = [
    "MAX_RETRY_DELAY",
    "RETRYABLE_STATUSES",
    "USER_AGENT",
    "EndpointGone",
    "Outcome",
    "RefusedURL",
    "attempt",
    "backoff",
    "claim",
    "due_and_free",
    "due_deliveries",
    "is_public_address",
    "lease_seconds",
    "parse_retry_after",
    "post",
    "reopen",
    "resolve",
    "secrets_for",
    "settle",
    "signed_headers",
]

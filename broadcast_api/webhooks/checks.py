"""Webhooks' system checks: ``BROADCAST_API_WEBHOOKS`` and the delivery settings
(``broadcast_api.E018``), endpoints that every delivery would refuse (``W009``), and
private addresses allowed at ``check --deploy`` (``W006``).

Registered when ``webhooks.receivers`` is imported, in the app's ``ready()``.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from standardwebhooks import Webhook

from broadcast_api.checks import is_url, positive_int
from broadcast_api.conf import conf
from broadcast_api.webhooks.delivery import is_public_address
from broadcast_api.webhooks.endpoints import configured_secrets
from broadcast_api.webhooks.events import event_types

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.apps import AppConfig

__all__ = [
    "always_refused",
    "check_refused_endpoints",
    "check_webhook_addresses",
    "check_webhooks",
    "is_webhook_secret",
]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_webhook_secret(value: Any) -> bool:
    """A ``whsec_<base64>`` string the ``standardwebhooks`` library accepts."""
    if not isinstance(value, str) or not value.startswith("whsec_"):
        return False
    try:
        Webhook(value)
    except Exception:  # any decoding error: not a secret
        return False
    return True


@register(Tags.compatibility)
def check_webhooks(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    def problem(text: str, hint: str) -> Error:
        return Error(text, hint=hint, id="broadcast_api.E018")

    hooks = conf.WEBHOOKS
    if not isinstance(hooks, list | tuple):
        return [problem(f"BROADCAST_API_WEBHOOKS {hooks!r} is not a list.", EXAMPLE_WEBHOOK)]
    messages: list[CheckMessage] = []
    for index, hook in enumerate(hooks):
        name = f"BROADCAST_API_WEBHOOKS[{index}]"
        if not isinstance(hook, dict) or not is_url(str(hook.get("url", ""))):
            messages.append(problem(f"{name} has no http(s) url.", EXAMPLE_WEBHOOK))
            continue
        unknown = sorted(set(hook) - {"url", "secret", "events"})
        if unknown:
            messages.append(problem(f"{name} has unknown keys {unknown}.", EXAMPLE_WEBHOOK))
        secrets = configured_secrets(hook)
        if not secrets or not all(is_webhook_secret(value) for value in secrets):
            messages.append(
                problem(
                    f"{name} has no valid secret.",
                    'A "whsec_<base64>" string (or a list of them while rotating); make one '
                    "with python -c \"import secrets,base64; print('whsec_'+base64."
                    'b64encode(secrets.token_bytes(32)).decode())".',
                )
            )
        events = hook.get("events")
        if events is not None and (
            not isinstance(events, list | tuple) or not set(events) <= set(event_types())
        ):
            messages.append(
                problem(
                    f"{name} events {events!r} are not among {list(event_types())}.",
                    "Leave events out to send every event.",
                )
            )
    if not isinstance(conf.WEBHOOK_ALLOW_PRIVATE_URLS, bool):
        messages.append(
            problem("BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS is not a bool.", "True or False.")
        )
    for name in ("WEBHOOK_TIMEOUT", "WEBHOOK_RETRY_DELAY"):
        value = getattr(conf, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            messages.append(
                problem(f"BROADCAST_API_{name} {value!r} is not a positive number.", "Seconds.")
            )
    messages += positive_int("WEBHOOK_MAX_ATTEMPTS", "The default is 8.", "E018")
    return messages


def always_refused(url: str) -> bool:
    """Whether every delivery to ``url`` would be refused as a private address, told
    without a DNS lookup: ``localhost`` and IP literals that are not public. (A name
    that resolves to a private address is refused too, but only a lookup can tell, and
    checks stay off the network.)"""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a name
    return not is_public_address(host)


@register(Tags.compatibility)
def check_refused_endpoints(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """A configured endpoint on loopback or a private address, while private URLs are
    not allowed: its deliveries would all fail (the task still succeeds)."""
    hooks = conf.WEBHOOKS
    if conf.WEBHOOK_ALLOW_PRIVATE_URLS is True or not isinstance(hooks, list | tuple):
        return []
    return [
        Warning(
            f"BROADCAST_API_WEBHOOKS[{index}] is on a loopback or private address: every "
            "delivery to it will be refused.",
            hint="Use a public address, or set BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS = "
            "True where receivers are internal (check --deploy then warns, W006).",
            id="broadcast_api.W009",
        )
        for index, hook in enumerate(hooks)
        if isinstance(hook, dict) and always_refused(str(hook.get("url", "")))
    ]


EXAMPLE_WEBHOOK = (
    'E.g. [{"url": "https://hooks.example.com/broadcasts", "secret": "whsec_...", '
    '"events": ["stream.started", "stream.stopped"]}].'
)


@register(Tags.security, deploy=True)
def check_webhook_addresses(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """``check --deploy``: webhooks allowed to reach private addresses."""
    if conf.WEBHOOK_ALLOW_PRIVATE_URLS is True:
        return [
            Warning(
                "BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS is True: webhooks may be sent to "
                "loopback, private and link-local addresses (SSRF).",
                hint="Leave it False in production unless your receivers are internal.",
                id="broadcast_api.W006",
            )
        ]
    return []

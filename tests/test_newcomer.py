"""What a newcomer following the docs alone tripped on (issue 19), each pinned by a test.

- A bucket that does not exist: ``check --deploy`` says so (E021) against moto over
  HTTP, and says it cannot tell (W008) when S3 cannot be reached; the storage layer
  names the failure ``s3_no_such_bucket`` rather than a bare ``s3_error``.
- A configured webhook on loopback or a private address, while private URLs are not
  allowed, is flagged by ``check`` (W009): every delivery to it would be refused.
- The secret one-liner E018's hint gives runs in a bare Python (no Django settings) and
  prints a secret the check accepts.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from typing import Any

import pytest
from django.core.checks import run_checks

from broadcast_api.checks import check_bucket
from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.storage import get_storage
from broadcast_api.webhooks.checks import (
    always_refused,
    check_refused_endpoints,
    check_webhooks,
    is_webhook_secret,
)
from tests.servers import MotoServer, free_port

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


# -- the bucket -------------------------------------------------------------------------------


def test_a_missing_bucket_is_e021_and_the_real_one_is_clean(
    sts: MotoServer, settings: Any
) -> None:
    assert ids(check_bucket(None)) == []  # the control: moto has the test bucket
    settings.BROADCAST_API_S3_BUCKET = "no-such-bucket-here"
    [message] = check_bucket(None)
    assert message.id == "broadcast_api.E021"
    assert "no-such-bucket-here" in message.msg
    with pytest.raises(StorageUnavailable) as raised:
        get_storage().read("no-such-bucket-here", "streams/x/index.m3u8")
    assert raised.value.reason == "s3_no_such_bucket"


def test_an_unreachable_store_is_w008_not_an_error(settings: Any) -> None:
    settings.BROADCAST_API_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # nobody
    settings.BROADCAST_API_AWS_ACCESS_KEY_ID = "testing"
    settings.BROADCAST_API_AWS_SECRET_ACCESS_KEY = "testing"
    [message] = check_bucket(None)
    assert message.id == "broadcast_api.W008"
    assert re.search(r"\(s3_\w+\)", message.msg), message.msg


def test_the_bucket_check_runs_at_deploy_only(db: None, sts: MotoServer, settings: Any) -> None:
    settings.BROADCAST_API_S3_BUCKET = "no-such-bucket-here"
    assert "broadcast_api.E021" not in ids(run_checks())
    assert "broadcast_api.E021" in ids(run_checks(include_deployment_checks=True))


# -- webhooks that would always be refused ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://localhost:8000/hook", True),
        ("http://app.localhost/hook", True),
        ("http://127.0.0.1:9/hook", True),
        ("http://10.1.2.3/hook", True),
        ("http://[::1]:8000/hook", True),
        ("http://192.168.0.10/hook", True),
        ("https://hooks.example.com/broadcasts", False),  # a name: only DNS could tell
        ("https://8.8.8.8/hook", False),
    ],
)
def test_always_refused_is_told_without_dns(url: str, refused: bool) -> None:
    assert always_refused(url) is refused


def test_a_configured_loopback_webhook_is_w009_unless_private_urls_are_allowed(
    settings: Any,
) -> None:
    settings.BROADCAST_API_WEBHOOKS = [
        {"url": "https://hooks.example.com/broadcasts", "secret": SECRET},
        {"url": "http://localhost:8000/hooks", "secret": SECRET},
    ]
    settings.BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS = False
    [message] = check_refused_endpoints(None)
    assert message.id == "broadcast_api.W009"
    assert "BROADCAST_API_WEBHOOKS[1]" in message.msg
    settings.BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert check_refused_endpoints(None) == []


# -- the secret one-liner -------------------------------------------------------------------------


def test_e018s_secret_one_liner_runs_without_django_and_makes_a_valid_secret(
    settings: Any,
) -> None:
    settings.BROADCAST_API_WEBHOOKS = [{"url": "https://hooks.example.com/x", "secret": "no"}]
    [message] = [m for m in check_webhooks(None) if "secret" in m.msg]
    command = re.search(r"python -c \"(.+)\"\.$", message.hint or "")
    assert command is not None, message.hint
    printed = subprocess.run(
        [sys.executable, "-c", command.group(1)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},  # no DJANGO_SETTINGS_MODULE
    ).stdout.strip()
    assert is_webhook_secret(printed), shlex.quote(printed)
    settings.BROADCAST_API_WEBHOOKS = [{"url": "https://hooks.example.com/x", "secret": printed}]
    assert ids(check_webhooks(None)) == []

"""Extension points: a subclassed ViewSet, a swapped stream model, other providers."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from broadcast_api.credentials import (
    AssumeRoleProvider,
    FederationTokenProvider,
    get_credential_provider,
    reset_credential_provider,
)
from broadcast_api.models import get_stream_model

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def test_subclassed_viewset_changes_auth_and_throttling(sts: Any, user: Any) -> None:
    """tests/custom_urls.py: token authentication and a 1/min throttle, in a few lines."""
    from django.core.cache import cache

    cache.clear()
    token = Token.objects.create(user=user)
    session_client = APIClient()
    session_client.force_login(user)
    assert session_client.post("/custom/stream/start/?type=hls").status_code == 401

    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    first = client.post("/custom/stream/start/?type=hls")
    assert first.status_code == 201
    assert set(first.json()) == {"stream", "endpoint"}
    second = client.post("/custom/stream/start/?type=hls")
    assert second.status_code == 429
    assert second.json()["code"] == "throttled"
    assert get_stream_model()._default_manager.count() == 1


def test_migrations_are_complete() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_swapped_model_migrates_and_serves_the_api() -> None:
    """Run the contract and function-API suites in a process whose model is swapped."""
    env = {
        **os.environ,
        "BROADCAST_TEST_SWAPPED_MODEL": "1",
        # The parent process holds the usual test database (PostgreSQL pass).
        "PGTESTDATABASE": "test_broadcast_api_swapped",
    }
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "--no-cov",
            "tests/test_api_contract.py",
            "tests/test_function_api.py",
            "tests/test_stop_paths.py",
            "tests/test_swapped_only.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]


def test_federation_token_provider_against_moto(
    sts: Any, settings: Any, client_for: Any, user: Any
) -> None:
    settings.BROADCAST_API_CREDENTIAL_PROVIDER = (
        "broadcast_api.credentials.FederationTokenProvider"
    )
    assert isinstance(get_credential_provider(), FederationTokenProvider)
    response = client_for(user).post("/stream/start/?type=hls&name=fed")
    assert response.status_code == 201
    s3 = response.json()["endpoint"]["S3"]
    assert s3["aws_access_key_id"]
    assert s3["aws_session_token"]
    settings.BROADCAST_API_CREDENTIAL_PROVIDER = "broadcast_api.credentials.AssumeRoleProvider"
    assert isinstance(get_credential_provider(), AssumeRoleProvider)


def test_reset_forgets_shared_providers(sts: Any) -> None:
    first = get_credential_provider()
    assert get_credential_provider() is first
    reset_credential_provider()
    assert get_credential_provider() is not first

"""Extension points: a subclassed ViewSet, a swapped stream model, other providers."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.cache import cache
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
            "tests/test_response_shapes.py",
            "tests/test_concurrency.py::test_fifty_threads_stop_one_stream_exactly_once",
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


def test_a_swapped_response_serializer_changes_the_response_and_the_schema(
    sts: Any, client_for: Any, user: Any, tmp_path: Path
) -> None:
    """tests/custom_urls.py: ``start_response_serializer_class`` set to a subclass."""
    body = client_for(user).post("/channel/stream/start/?type=hls&name=news").json()
    assert body["stream"]["channel"] == "channel-news"
    # The seed's keys are untouched beside the new one.
    assert set(body["stream"]) == {
        "id",
        "name",
        "start_date",
        "playback_url",
        "thumbnail_url",
        "channel",
    }
    assert set(body["endpoint"]["S3"]) >= {"aws_access_key_id", "s3_bucket_path"}
    stopped = client_for(user).post("/channel/stream/stop/", {"id": body["stream"]["id"]})
    assert "channel" not in stopped.json()["stream"]  # only start's serializer was swapped

    schema_file = tmp_path / "schema.yaml"
    call_command(
        "spectacular",
        "--urlconf",
        "tests.channel_urls",
        "--file",
        str(schema_file),
        "--validate",
        "--fail-on-warn",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    schema = yaml.safe_load(schema_file.read_text())
    components = schema["components"]["schemas"]
    start_201 = schema["paths"]["/stream/start/"]["post"]["responses"]["201"]
    response_ref = start_201["content"]["application/json"]["schema"]["$ref"]
    response_component = components[response_ref.rsplit("/", 1)[1]]
    stream_ref = response_component["properties"]["stream"]["allOf"][0]["$ref"]
    assert "channel" in components[stream_ref.rsplit("/", 1)[1]]["properties"]
    assert "channel" not in components["StoppedStream"]["properties"]

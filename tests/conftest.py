"""Fixtures shared by the suite: users, API clients, the moto S3/STS server, signals."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from rest_framework.test import APIClient

from broadcast_api import deferred
from broadcast_api.signals import stream_stopped
from broadcast_api.webhooks import endpoints
from tests.servers import MotoServer, postgres_reachable, required, run_moto

# The tooling's fixtures: demo_stack, browser_stack, chromium, rgw_gateway, test_output_dir.
pytest_plugins = ["devtools.pytest_plugin", "tests.playback_fixtures"]

# Never let a developer's own AWS configuration leak into the tests.
for _name in list(os.environ):
    if _name.startswith("AWS_"):
        del os.environ[_name]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
# No instance-metadata probe (a second of timeouts off EC2) when no credentials are set.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

# Runs only in the swapped-model subprocess of test_extending.py.
collect_ignore = [] if os.environ.get("BROADCAST_TEST_SWAPPED_MODEL") else ["test_swapped_only.py"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if deferred.FRAMEWORK is None:  # Django 5.2 without the backport: CI deselects them
        no_framework = pytest.mark.skip(reason="no Tasks framework (django-tasks) installed")
        for item in items:
            if item.get_closest_marker("tasks_framework"):
                item.add_marker(no_framework)
    if os.environ.get("BROADCAST_TEST_DB") != "postgres":
        return
    ok, reason = postgres_reachable()
    if ok:
        return
    if required("postgres"):
        raise pytest.UsageError(f"PostgreSQL is required but {reason}")
    skip = pytest.mark.skip(reason=f"postgres: {reason}")
    for item in items:
        item.add_marker(skip)


@pytest.fixture(autouse=True)
def empty_default_cache() -> None:
    """Each test starts with an empty default cache (throttles, webhook endpoints, ...):
    rows a test's transaction rolls back must not live on in it."""

    caches["default"].clear()


@pytest.fixture
def stopped_signals() -> Iterator[list[dict[str, Any]]]:
    """Every ``stream_stopped`` sent during the test, as ``{"sender", "stream", "reason"}``
    (from any thread)."""

    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    def receiver(sender: Any, stream: Any, reason: str, **kwargs: Any) -> None:
        with lock:
            received.append({"sender": sender, "stream": stream, "reason": reason})

    stream_stopped.connect(receiver, weak=False, dispatch_uid="tests.stopped_signals")
    try:
        yield received
    finally:
        stream_stopped.disconnect(dispatch_uid="tests.stopped_signals")


@pytest.fixture
def webhook_endpoints_cached(db: None) -> None:
    """Warm the list of webhook endpoints (cached for a minute, ``events``), as the first
    request of each minute does, so a test counting queries sees the steady ones."""

    endpoints.stored_endpoints()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:

    try:
        with run_moto(
            settings.BROADCAST_API_S3_BUCKET, settings.BROADCAST_API_S3_REGION
        ) as server:
            yield server
    except FileNotFoundError as exc:
        if required("moto"):
            raise
        pytest.skip(f"moto: {exc}")


@pytest.fixture
def sts(settings: Any, moto_server: MotoServer) -> MotoServer:
    """Point broadcast_api at the moto server for S3 and STS."""
    settings.BROADCAST_API_STS_ENDPOINT_URL = moto_server.endpoint_url
    settings.BROADCAST_API_S3_ENDPOINT_URL = moto_server.endpoint_url
    return moto_server


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", password="alice-password")


@pytest.fixture
def other_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", password="bob-password")


@pytest.fixture
def staff_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("carol", password="carol-password", is_staff=True)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Any:
    def make(user: Any) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make

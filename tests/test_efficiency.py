"""Queries per request, and no boto3 client or Session built per request."""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import botocore.session
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from broadcast_api.credentials import get_credential_provider

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoints_cached")]


def test_start_is_one_insert(sts: Any, client_for: Any, user: Any) -> None:
    client = client_for(user)
    client.post("/stream/start/?type=hls")  # warm up: builds the shared client
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/stream/start/?type=hls")
    assert response.status_code == 201
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 1, statements
    assert statements[0].startswith("INSERT")


def test_stop_is_a_read_and_a_conditional_update(sts: Any, client_for: Any, user: Any) -> None:
    client = client_for(user)
    stream_id = client.post("/stream/start/?type=hls").json()["stream"]["id"]
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/stream/stop/", {"id": stream_id}).status_code == 200
    statements = [query["sql"] for query in queries.captured_queries]
    assert [sql.split(" ", 1)[0] for sql in statements] == ["SELECT", "UPDATE"], statements
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/stream/stop/", {"id": stream_id}).status_code == 200
    statements = [query["sql"] for query in queries.captured_queries]
    assert [sql.split(" ", 1)[0] for sql in statements] == ["SELECT"], statements  # ended


@pytest.fixture
def construction_counts(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts = {"boto3_sessions": 0, "botocore_sessions": 0, "clients": 0}
    boto3_init = boto3.session.Session.__init__
    botocore_init = botocore.session.Session.__init__
    create_client = botocore.session.Session.create_client

    def count_boto3(self: Any, *args: Any, **kwargs: Any) -> None:
        counts["boto3_sessions"] += 1
        boto3_init(self, *args, **kwargs)

    def count_botocore(self: Any, *args: Any, **kwargs: Any) -> None:
        counts["botocore_sessions"] += 1
        botocore_init(self, *args, **kwargs)

    def count_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["clients"] += 1
        return create_client(self, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "__init__", count_boto3)
    monkeypatch.setattr(botocore.session.Session, "__init__", count_botocore)
    monkeypatch.setattr(botocore.session.Session, "create_client", count_client)
    return counts


def test_no_client_or_session_per_request(
    sts: Any, client_for: Any, user: Any, construction_counts: dict[str, int]
) -> None:
    client = client_for(user)
    assert client.post("/stream/start/?type=hls").status_code == 201
    after_first = dict(construction_counts)
    assert after_first["clients"] <= 1
    for _ in range(10):
        stream_id = client.post("/stream/start/?type=hls").json()["stream"]["id"]
        client.post("/stream/stop/", {"id": stream_id})
    assert construction_counts == after_first


def test_client_is_rebuilt_once_when_settings_change(
    sts: Any, settings: Any, client_for: Any, user: Any, construction_counts: dict[str, int]
) -> None:
    client = client_for(user)
    client.post("/stream/start/?type=hls")
    before = construction_counts["clients"]
    settings.BROADCAST_API_STS_READ_TIMEOUT = 3.0
    for _ in range(3):
        assert client.post("/stream/start/?type=hls").status_code == 201
    assert construction_counts["clients"] == before + 1


def test_client_is_shared_by_threads(sts: Any) -> None:

    provider = get_credential_provider()
    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(lambda _: provider.get_client(), range(32)))
    assert len({id(client) for client in clients}) == 1


def test_client_is_rebuilt_after_fork(sts: Any) -> None:
    provider = get_credential_provider()
    parent_client = provider.get_client()
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads alive
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read)
        rebuilt = provider.get_client() is not parent_client
        again = provider.get_client() is provider.get_client()
        os.write(write, b"1" if rebuilt and again else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert provider.get_client() is parent_client

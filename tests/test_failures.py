"""Failure injection: every dependency failure is a 503 in the one error shape.

Each case checks the status, the error ``code`` and ``reason``, the ``Retry-After``
header, that no stream row was written, and that no secret (the server's own key, or a
credential minted before the failure) reaches the response body or the logs, captured at
DEBUG level for every logger, botocore's and urllib3's included.

The failures are real: a closed loopback port, a TCP server that never answers, an HTTP
server answering STS-style XML errors, a database connection pointed at a closed port, a
PostgreSQL row lock that outlasts ``lock_timeout``. Only on SQLite, where a database
outage cannot be produced for real in-process, Django's ``execute_wrapper`` raises the
``OperationalError`` SQLite would.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import OperationalError, connection

from broadcast_api.credentials import StorageGrant, get_credential_provider
from broadcast_api.models import AbstractStream, get_stream_model
from broadcast_api.policies import UploadScope
from tests.servers import free_port

SERVER_SECRET: str = django_settings.BROADCAST_API_AWS_SECRET_ACCESS_KEY
DEBUG_LOGGERS = ("", "botocore", "boto3", "urllib3", "broadcast_api", "django", "psycopg")

STS_ERROR = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>{code}</Code>
    <Message>{message}</Message>
  </Error>
  <RequestId>{request_id}</RequestId>
</ErrorResponse>
"""


# -- helpers ------------------------------------------------------------------------


def stream_count() -> int:
    return get_stream_model()._default_manager.count()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every record at DEBUG, also from loggers configured above DEBUG."""
    for name in DEBUG_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture
def minted(monkeypatch: pytest.MonkeyPatch) -> list[StorageGrant]:
    """Every grant the credential provider mints during the test (a spy; no change)."""
    grants: list[StorageGrant] = []
    provider = get_credential_provider()
    issue = provider.issue

    def recording_issue(scope: UploadScope, *, duration_seconds: int) -> StorageGrant:
        grant = issue(scope, duration_seconds=duration_seconds)
        grants.append(grant)
        return grant

    monkeypatch.setattr(provider, "issue", recording_issue)
    return grants


def assert_unavailable(response: Any, code: str, reason: str) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["code"] == code
    assert body["reason"] == reason
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert set(body) == {"code", "detail", "reason"}


def assert_no_secrets(
    response: Any, caplog: pytest.LogCaptureFixture, grants: Sequence[StorageGrant] = ()
) -> None:
    secrets = [SERVER_SECRET]
    for grant in grants:
        secrets += [grant.secret_access_key, grant.session_token]
    body = response.content.decode()
    logs = caplog.text + "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    for index, secret in enumerate(secrets):
        # Booleans, so that a failure does not print the secret.
        in_body = secret in body
        in_logs = secret in logs
        leaks = sorted({r.name for r in caplog.records if secret in r.getMessage()})
        assert not in_body, f"secret #{index} is in the response body"
        assert not in_logs, f"secret #{index} is in the logs of {leaks}"


def assert_botocore_logged(caplog: pytest.LogCaptureFixture) -> None:
    """The secret checks are only meaningful when botocore's DEBUG output was captured."""
    assert any(record.name.startswith("botocore") for record in caplog.records)


# -- fake STS servers ---------------------------------------------------------------


@dataclass
class SilentServer:
    """Accepts TCP connections, reads nothing, answers nothing."""

    port: int
    accepted: list[socket.socket] = field(default_factory=list)


@contextlib.contextmanager
def silent_server() -> Iterator[SilentServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    server = SilentServer(port=listener.getsockname()[1])
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server.accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        done.set()
        thread.join(timeout=5)
        listener.close()
        for conn in server.accepted:
            conn.close()


@dataclass
class ErrorServer:
    """An HTTP server answering every request with one STS error response."""

    port: int
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def sts_error_server(status: int, code: str, message: str) -> Iterator[ErrorServer]:
    lock = threading.Lock()
    state = ErrorServer(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = self.rfile.read(length).decode()
            params = dict(part.split("=", 1) for part in form.split("&") if "=" in part)
            with lock:
                state.requests.append(params)
            request_id = str(uuid.uuid4())
            payload = STS_ERROR.format(code=code, message=message, request_id=request_id)
            data = payload.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", request_id)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# -- database outages ---------------------------------------------------------------


def fail_statements(predicate: Callable[[str], bool], message: str) -> Callable[..., Any]:
    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        if predicate(sql):
            raise OperationalError(message)
        return execute(sql, params, many, ctx)

    return wrapper


@contextlib.contextmanager
def database_down() -> Iterator[None]:
    """No query reaches the database while this is active.

    PostgreSQL: the connection is closed and pointed at a closed loopback port, so the
    next query's reconnect is refused for real. SQLite (in-memory, cannot be taken away
    in-process): every statement raises the ``OperationalError`` SQLite raises when its
    file is gone.
    """
    if connection.vendor == "postgresql":
        port = connection.settings_dict["PORT"]
        connection.close()
        connection.settings_dict["PORT"] = str(free_port())
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict["PORT"] = port
    else:
        failing = fail_statements(lambda sql: True, "unable to open database file")
        with connection.execute_wrapper(failing):
            yield


@contextlib.contextmanager
def stream_updates_fail(stream: AbstractStream) -> Iterator[None]:
    """Reads work, but the UPDATE of ``stream``'s row fails.

    PostgreSQL: a second connection holds the row lock (``SELECT ... FOR UPDATE`` in an
    open transaction) and this connection's ``lock_timeout`` is 200 ms, so the UPDATE
    fails with a real ``LockNotAvailable``. SQLite: UPDATEs raise "database is locked".
    """
    if connection.vendor == "postgresql":
        params = connection.settings_dict
        table = type(stream)._meta.db_table
        with psycopg.connect(
            host=params["HOST"],
            port=int(params["PORT"]),
            user=params["USER"],
            dbname=params["NAME"],
            connect_timeout=5,
        ) as locker:
            locker.execute(
                f'SELECT 1 FROM "{table}" WHERE id = %s FOR UPDATE',
                (stream.pk,),
            )
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '200ms'")
            try:
                yield
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")
                locker.rollback()
    else:
        failing = fail_statements(
            lambda sql: sql.lstrip().upper().startswith("UPDATE"), "database is locked"
        )
        with connection.execute_wrapper(failing):
            yield


# -- STS failures -------------------------------------------------------------------


@pytest.mark.django_db
def test_sts_unreachable(
    settings: Any, client_for: Any, user: Any, debug_logs: pytest.LogCaptureFixture
) -> None:
    settings.BROADCAST_API_STS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    response = client_for(user).post("/stream/start/?type=hls&name=unreachable")
    assert_unavailable(response, "storage_unavailable", "sts_unreachable")
    assert stream_count() == 0
    assert_botocore_logged(debug_logs)
    assert_no_secrets(response, debug_logs)


@pytest.mark.django_db
def test_sts_timeout(
    settings: Any, client_for: Any, user: Any, debug_logs: pytest.LogCaptureFixture
) -> None:
    settings.BROADCAST_API_STS_READ_TIMEOUT = 0.3
    settings.BROADCAST_API_STS_MAX_ATTEMPTS = 2
    with silent_server() as server:
        settings.BROADCAST_API_STS_ENDPOINT_URL = f"http://127.0.0.1:{server.port}"
        began = time.monotonic()
        response = client_for(user).post("/stream/start/?type=hls&name=slow")
        elapsed = time.monotonic() - began
        accepted = len(server.accepted)
    assert_unavailable(response, "storage_unavailable", "sts_timeout")
    # Timeouts are retried: one connection per attempt, each waited out for the timeout.
    assert accepted == 2
    assert 0.6 <= elapsed < 10
    assert stream_count() == 0
    assert_botocore_logged(debug_logs)
    assert_no_secrets(response, debug_logs)


@pytest.mark.django_db
@pytest.mark.parametrize("max_attempts", [1, 3])
def test_sts_throttled_is_retried_up_to_the_setting(
    settings: Any,
    client_for: Any,
    user: Any,
    debug_logs: pytest.LogCaptureFixture,
    max_attempts: int,
) -> None:
    settings.BROADCAST_API_STS_MAX_ATTEMPTS = max_attempts
    with sts_error_server(400, "Throttling", "Rate exceeded") as server:
        settings.BROADCAST_API_STS_ENDPOINT_URL = server.endpoint_url
        response = client_for(user).post("/stream/start/?type=hls&name=throttled")
    assert_unavailable(response, "storage_unavailable", "sts_throttled")
    assert len(server.requests) == max_attempts
    assert {request["Action"] for request in server.requests} == {"AssumeRole"}
    assert stream_count() == 0
    assert_botocore_logged(debug_logs)
    assert_no_secrets(response, debug_logs)


@pytest.mark.django_db
def test_sts_access_denied_is_not_retried(
    settings: Any, client_for: Any, user: Any, debug_logs: pytest.LogCaptureFixture
) -> None:
    settings.BROADCAST_API_STS_MAX_ATTEMPTS = 3
    message = (
        "User: arn:aws:iam::123456789012:user/server is not authorized to perform: sts:AssumeRole"
    )
    with sts_error_server(403, "AccessDenied", message) as server:
        settings.BROADCAST_API_STS_ENDPOINT_URL = server.endpoint_url
        response = client_for(user).post("/stream/start/?type=hls&name=denied")
    assert_unavailable(response, "storage_unavailable", "sts_access_denied")
    assert len(server.requests) == 1
    assert stream_count() == 0
    assert_botocore_logged(debug_logs)
    assert_no_secrets(response, debug_logs)


@pytest.mark.django_db
def test_server_without_credentials_is_told_so(
    sts: Any, settings: Any, client_for: Any, user: Any, debug_logs: pytest.LogCaptureFixture
) -> None:
    """No server keys and nothing in boto3's chain: its own reason, and a log that says
    what to set (the first hour of a host on an S3-compatible server)."""
    settings.BROADCAST_API_AWS_ACCESS_KEY_ID = None
    settings.BROADCAST_API_AWS_SECRET_ACCESS_KEY = None
    response = client_for(user).post("/stream/start/?type=hls&name=no-identity")
    assert_unavailable(response, "storage_unavailable", "sts_no_credentials")
    assert stream_count() == 0
    [record] = [r for r in debug_logs.records if r.name == "broadcast_api.credentials"]
    assert record.levelname == "ERROR"
    assert "BROADCAST_API_AWS_ACCESS_KEY_ID" in record.getMessage()
    assert_no_secrets(response, debug_logs)


# -- database failures --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_database_down_after_sts_succeeded(
    sts: Any,
    client_for: Any,
    user: Any,
    debug_logs: pytest.LogCaptureFixture,
    minted: list[StorageGrant],
) -> None:
    client = client_for(user)
    with database_down():
        response = client.post("/stream/start/?type=hls&name=no-database")
    assert_unavailable(response, "database_unavailable", "db_error")
    # STS (moto over HTTP) did mint credentials; the INSERT is what failed.
    assert len(minted) == 1
    assert stream_count() == 0
    assert_botocore_logged(debug_logs)
    assert_no_secrets(response, debug_logs, minted)


@pytest.mark.django_db(transaction=True)
def test_database_down_during_stop(
    sts: Any, client_for: Any, user: Any, debug_logs: pytest.LogCaptureFixture
) -> None:
    client = client_for(user)
    stream_id = client.post("/stream/start/?type=hls").json()["stream"]["id"]
    debug_logs.clear()  # only the failing request's logs are under test
    with database_down():
        response = client.post("/stream/stop/", {"id": stream_id})
    assert_unavailable(response, "database_unavailable", "db_error")
    row = get_stream_model()._default_manager.get(pk=stream_id)
    assert row.status == "live"
    assert row.stop_date is None
    assert stream_count() == 1
    assert_no_secrets(response, debug_logs)


@pytest.mark.django_db(transaction=True)
def test_stream_update_fails_during_stop(
    sts: Any, client_for: Any, user: Any, debug_logs: pytest.LogCaptureFixture
) -> None:
    client = client_for(user)
    stream_id = client.post("/stream/start/?type=hls").json()["stream"]["id"]
    stream = get_stream_model()._default_manager.get(pk=stream_id)
    debug_logs.clear()  # only the failing request's logs are under test
    with stream_updates_fail(stream):
        response = client.post("/stream/stop/", {"id": stream_id})
    assert_unavailable(response, "database_unavailable", "db_error")
    row = get_stream_model()._default_manager.get(pk=stream_id)
    assert row.status == "live"
    assert row.stop_date is None
    assert_no_secrets(response, debug_logs)
    # Once the database recovers, the same stop succeeds.
    retried = client.post("/stream/stop/", {"id": stream_id})
    assert retried.status_code == 200
    assert get_stream_model()._default_manager.get(pk=stream_id).status == "ended"


@pytest.mark.django_db(transaction=True)
def test_read_of_the_stream_fails_during_stop(
    sts: Any, client_for: Any, user: Any, debug_logs: pytest.LogCaptureFixture
) -> None:
    """A re-stop is one read (``get_object()``); when that read fails, 503 and nothing
    changes."""
    client = client_for(user)
    stream_id = client.post("/stream/start/?type=hls").json()["stream"]["id"]
    first = client.post("/stream/stop/", {"id": stream_id})
    assert first.status_code == 200
    debug_logs.clear()
    failing = fail_statements(lambda sql: sql.lstrip().upper().startswith("SELECT"), "gone")
    with connection.execute_wrapper(failing):
        response = client.post("/stream/stop/", {"id": stream_id})
    assert_unavailable(response, "database_unavailable", "db_error")
    assert_no_secrets(response, debug_logs)
    again = client.post("/stream/stop/", {"id": stream_id})
    assert again.json() == first.json()


@pytest.mark.django_db(transaction=True)
def test_database_down_during_list(
    sts: Any, client_for: Any, user: Any, debug_logs: pytest.LogCaptureFixture
) -> None:
    client = client_for(user)
    client.post("/stream/start/?type=hls")
    debug_logs.clear()  # only the failing request's logs are under test
    with database_down():
        listing = client.get("/stream/")
        status_filtered = client.get("/stream/?status=live")
    for response in (listing, status_filtered):
        assert_unavailable(response, "database_unavailable", "db_error")
        assert_no_secrets(response, debug_logs)
    assert stream_count() == 1


# -- bad input: one error shape, never a row ----------------------------------------


def assert_invalid(response: Any, field_name: str, code: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert isinstance(body["detail"], str)
    assert set(body) == {"code", "detail", "fields"}
    assert body["fields"][field_name][0]["code"] == code
    assert body["fields"][field_name][0]["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field_name", "code"),
    [
        ({"type": "dash", "name": "x"}, "type", "invalid_choice"),
        ({"type": "hls", "name": "n" * 256}, "name", "max_length"),
        ({"name": "no type"}, "type", "required"),
    ],
    ids=["unknown-type", "name-too-long", "missing-type"],
)
@pytest.mark.parametrize("fmt", ["multipart", "json"])
def test_invalid_start(
    sts: Any,
    client_for: Any,
    user: Any,
    data: dict[str, str],
    field_name: str,
    code: str,
    fmt: str,
) -> None:
    response = client_for(user).post("/stream/start/", data, format=fmt)
    assert_invalid(response, field_name, code)
    assert stream_count() == 0


@pytest.mark.django_db
def test_invalid_start_in_query_string(sts: Any, client_for: Any, user: Any) -> None:
    response = client_for(user).post("/stream/start/?type=mp4&name=x")
    assert_invalid(response, "type", "invalid_choice")
    assert stream_count() == 0


@pytest.mark.django_db
def test_name_of_exactly_255_is_accepted(sts: Any, client_for: Any, user: Any) -> None:
    response = client_for(user).post("/stream/start/", {"type": "hls", "name": "n" * 255})
    assert response.status_code == 201
    assert stream_count() == 1


@pytest.mark.django_db
def test_malformed_id_on_stop(sts: Any, client_for: Any, user: Any) -> None:
    client = client_for(user)
    client.post("/stream/start/?type=hls")
    response = client.post("/stream/stop/", {"id": "not-a-uuid"})
    assert_invalid(response, "id", "invalid")
    assert get_stream_model()._default_manager.get().status == "live"


@pytest.mark.django_db
def test_missing_id_on_stop(sts: Any, client_for: Any, user: Any) -> None:
    response = client_for(user).post("/stream/stop/")
    assert_invalid(response, "id", "required")


@pytest.mark.django_db
def test_unknown_id_on_stop(sts: Any, client_for: Any, user: Any) -> None:
    response = client_for(user).post("/stream/stop/", {"id": str(uuid.uuid4())})
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found"
    assert set(body) == {"code", "detail"}
    assert stream_count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/stream/start/", "/stream/stop/"])
def test_json_array_body(sts: Any, client_for: Any, user: Any, path: str) -> None:
    response = client_for(user).post(path, [{"type": "hls"}], format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"]["non_field_errors"][0]["code"] == "invalid"
    assert stream_count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/stream/start/", "/stream/stop/"])
def test_malformed_json(sts: Any, client_for: Any, user: Any, path: str) -> None:
    response = client_for(user).post(
        path, data=b'{"type": "hls", ', content_type="application/json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "parse_error"
    assert set(body) == {"code", "detail"}
    assert stream_count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_wrong_method_on_start(sts: Any, client_for: Any, user: Any, method: str) -> None:
    response = getattr(client_for(user), method)("/stream/start/")
    assert response.status_code == 405, response.content
    body = response.json()
    assert body["code"] == "method_not_allowed"
    assert set(body) == {"code", "detail"}
    assert stream_count() == 0

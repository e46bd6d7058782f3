"""A project served by gunicorn on a PostgreSQL database of its own, for the live suites.

``live_project`` migrates a fresh database (dropped afterwards), creates the user
``live``/``live-password`` and serves ``tests.live_project`` with gunicorn (2 processes x
8 threads), with STS and S3 on the moto server. Extra environment (webhooks, a task
backend) goes to every process it starts, ``db_worker`` ones included.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg

from broadcast_api.models import get_stream_model
from tests.servers import MotoServer, free_port, postgres_reachable, require_or_skip, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    worker_pid: str


@dataclass
class LiveProject:
    port: int
    database: str
    signal_log: Path
    stream_table: str
    env: dict[str, str] = field(default_factory=dict)
    username: str = "live"
    password: str = "live-password"

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> Reply:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
            pid = response.getheader("X-Worker-Pid", "")
        finally:
            conn.close()
        try:
            parsed = json.loads(content)
        except ValueError:
            parsed = {"unparsed": content[:200].decode(errors="replace")}
        return Reply(status=response.status, body=parsed, worker_pid=pid)

    def wait_for_workers(self, count: int, *, timeout: float) -> set[str]:
        """Until ``count`` worker processes have answered (each boots Django on its own)."""
        pids: set[str] = set()
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(pids) < count and time.monotonic() < deadline:
                replies = list(pool.map(lambda _: self.request("GET", "/stream/"), range(8)))
                assert {reply.status for reply in replies} == {200}
                pids |= {reply.worker_pid for reply in replies}
                time.sleep(0.05)
        return pids

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with pg_connect(self.database) as conn:
            return conn.execute(sql, params).fetchall()

    def signals(self) -> list[list[str]]:
        if not self.signal_log.exists():
            return []
        return [line.split() for line in self.signal_log.read_text().splitlines()]


def pg_connect(dbname: str) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=int(os.environ.get("PGPORT", "5432")),
        user=os.environ.get("PGUSER", "postgres"),
        dbname=dbname,
        connect_timeout=5,
        autocommit=True,
    )


def gunicorn_executable() -> str | None:
    candidate = Path(sys.executable).with_name("gunicorn")
    return str(candidate) if candidate.exists() else shutil.which("gunicorn")


@contextlib.contextmanager
def run_database() -> Iterator[str]:
    name = f"broadcast_live_{uuid.uuid4().hex[:12]}"
    with pg_connect("postgres") as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with pg_connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SETUP_SCRIPT = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
get_user_model().objects.create_user("live", password="live-password")
import json, os
stored = os.environ.get("BROADCAST_LIVE_STORED_ENDPOINT")
if stored:
    from broadcast_api.webhooks.models import WebhookEndpoint
    WebhookEndpoint.objects.create(**json.loads(stored))
"""


@contextlib.contextmanager
def run_gunicorn(executable: str, env: dict[str, str], log: Path) -> Iterator[int]:
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                executable,
                "tests.live_project.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--workers",
                "2",
                "--threads",
                "8",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, timeout=20, process=process)
            yield port
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def running_live_project(
    moto_server: MotoServer, tmp_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[LiveProject]:
    ok, reason = postgres_reachable()
    if not ok:
        require_or_skip("postgres", reason)
    executable = gunicorn_executable()
    if executable is None:
        require_or_skip("gunicorn", "gunicorn is not installed")
    assert executable is not None
    signal_log = tmp_path / "signals.log"
    with run_database() as database:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.live_project.settings",
            "PYTHONPATH": str(ROOT),
            "BROADCAST_LIVE_DB_NAME": database,
            "BROADCAST_LIVE_STS_URL": moto_server.endpoint_url,
            "BROADCAST_LIVE_SIGNAL_LOG": str(signal_log),
            **(extra_env or {}),
        }
        subprocess.run(
            [sys.executable, "-c", SETUP_SCRIPT], cwd=ROOT, env=env, check=True, timeout=60
        )
        with run_gunicorn(executable, env, tmp_path / "gunicorn.log") as port:
            yield LiveProject(
                port=port,
                database=database,
                signal_log=signal_log,
                stream_table=get_stream_model()._meta.db_table,
                env=env,
            )

"""Webhooks delivered by real task workers, to real receivers, nothing lost.

The live project (gunicorn, 2 processes x 8 threads) on a PostgreSQL database of its own
runs with ``django-tasks-db``: the stream's requests only enqueue; three ``db_worker``
processes deliver. Two receivers (one configured in ``BROADCAST_API_WEBHOOKS``, one a
``WebhookEndpoint`` row) verify every signature with the ``standardwebhooks`` library.
The tests then break things: a receiver down for a while, answering 500, too slow, a
worker killed with SIGKILL in the middle of a delivery.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from broadcast_api.webhooks.models import new_webhook_secret
from tests.live_support import ROOT, LiveProject, pg_connect, running_live_project
from tests.racing import at_once
from tests.servers import MotoServer
from tests.webhook_receiver import Receiver, ReceiverServer

pytestmark = [pytest.mark.live, pytest.mark.timeout(240)]

WEBHOOK_TIMEOUT = 2.0  # a worker holds a delivery 2 * 2 + 5 = 9 s (its lease)
RETRY_DELAY = 0.3
WORKERS = 3


@dataclass
class Stack:
    project: LiveProject
    configured: ReceiverServer  # in BROADCAST_API_WEBHOOKS
    stored: ReceiverServer  # a WebhookEndpoint row
    tmp_path: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"worker-{name}.log").open("ab")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "django",
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.1",
                "--worker-id",
                name,
            ],
            cwd=ROOT,
            env=self.project.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.workers.append(worker)
        return worker

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    def deliveries(self) -> Counter[str]:
        rows = self.project.query(
            "SELECT status, count(*) FROM broadcast_api_webhookdelivery GROUP BY status"
        )
        return Counter({str(status): int(count) for status, count in rows})

    def wait_until_settled(self, expected: int, timeout: float) -> Counter[str]:
        """Until ``expected`` deliveries exist and none is pending."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.deliveries()
            if sum(counts.values()) >= expected and counts["pending"] == 0:
                return counts
            if time.monotonic() > deadline:
                return counts
            time.sleep(0.2)

    def event_ids(self) -> set[str]:
        return {
            str(row[0]) for row in self.project.query("SELECT id FROM broadcast_api_webhookevent")
        }

    def reset(self) -> None:
        """Forget the deliveries and events so far (each test counts its own)."""
        with pg_connect(self.project.database) as conn:
            conn.execute("DELETE FROM broadcast_api_webhookattempt")
            conn.execute("DELETE FROM broadcast_api_webhookdelivery")
            conn.execute("DELETE FROM broadcast_api_webhookevent")
        for server in (self.configured, self.stored):
            server.receiver.received.clear()
            server.receiver.script.clear()
            server.receiver.default = (200, 0.0)


@pytest.fixture(scope="module")
def stack(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp_path = tmp_path_factory.mktemp("webhook-workers")
    secret_a, secret_b = new_webhook_secret(), new_webhook_secret()
    configured = ReceiverServer(Receiver(secret=secret_a))
    stored = ReceiverServer(Receiver(secret=secret_b))
    configured.up()
    stored.up()
    webhooks = {
        "endpoints": [{"url": configured.receiver.url, "secret": secret_a}],
        "timeout": WEBHOOK_TIMEOUT,
        "retry_delay": RETRY_DELAY,
        "max_attempts": 20,
    }
    extra_env = {
        "BROADCAST_LIVE_TASKS": "db",
        "BROADCAST_LIVE_WEBHOOKS": json.dumps(webhooks),
        "BROADCAST_LIVE_STORED_ENDPOINT": json.dumps(
            {"url": stored.receiver.url, "secret": secret_b}
        ),
        "PYTHONUNBUFFERED": "1",
    }
    try:
        with running_live_project(moto_server, tmp_path, extra_env) as project:
            running = Stack(
                project=project, configured=configured, stored=stored, tmp_path=tmp_path
            )
            for index in range(WORKERS):
                running.start_worker(f"w{index}")
            try:
                yield running
            finally:
                running.stop_workers()
    finally:
        configured.down()
        stored.down()


@pytest.fixture
def fresh(stack: Stack) -> Stack:
    stack.reset()
    return stack


def start_streams(stack: Stack, count: int) -> list[str]:
    ids: list[str] = []
    lock = threading.Lock()

    def go(index: int) -> None:
        reply = stack.project.request(
            "POST", "/stream/start/", {"type": "hls", "name": f"w{index}"}
        )
        assert reply.status == 201, reply.body
        with lock:
            ids.append(str(reply.body["stream"]["id"]))

    at_once(count, go)
    return ids


def stop_streams(stack: Stack, ids: list[str]) -> None:
    def go(index: int) -> None:
        reply = stack.project.request("POST", "/stream/stop/", {"id": ids[index]})
        assert reply.status == 200, reply.body

    at_once(len(ids), go)


def logs(stack: Stack) -> str:
    return "\n".join(
        path.read_text(errors="replace")[-3000:] for path in stack.tmp_path.glob("worker-*.log")
    )


def test_fifty_concurrent_starts_and_stops_arrive_once_per_endpoint(fresh: Stack) -> None:
    ids = start_streams(fresh, 50)
    stop_streams(fresh, ids)
    counts = fresh.wait_until_settled(200, timeout=90)
    assert counts == Counter({"succeeded": 200}), logs(fresh)
    events = fresh.event_ids()
    assert len(events) == 100
    for server in (fresh.configured, fresh.stored):
        received = server.receiver.received
        assert all(item.verified for item in received)
        assert sorted(server.receiver.ids) == sorted(events)  # each event once, no duplicate
        types = Counter(item.payload["type"] for item in received if item.payload)
        assert types == Counter({"stream.started": 50, "stream.stopped": 50})
    attempts = fresh.project.query("SELECT max(attempts) FROM broadcast_api_webhookdelivery")
    assert attempts == [(1,)]


def test_a_receiver_down_for_a_while_gets_every_event_when_it_is_back(fresh: Stack) -> None:
    fresh.configured.down()
    try:
        ids = start_streams(fresh, 5)
        time.sleep(2.0)  # a few refused tries, backing off
        retried = fresh.project.query(
            "SELECT count(*) FROM broadcast_api_webhookattempt WHERE error <> ''"
        )
        assert retried[0][0] >= 5
    finally:
        fresh.configured.up()  # the same port again
    counts = fresh.wait_until_settled(10, timeout=60)
    assert counts == Counter({"succeeded": 10}), logs(fresh)
    started = {
        str(row[0])
        for row in fresh.project.query(
            "SELECT id FROM broadcast_api_webhookevent WHERE type = 'stream.started'"
        )
    }
    assert set(fresh.configured.receiver.ids) == started
    received = fresh.configured.receiver.received
    assert all(item.verified for item in received)
    assert {item.payload["data"]["id"] for item in received if item.payload} == set(ids)


def test_500_then_200_and_a_slow_receiver_are_retried_with_the_same_webhook_id(
    fresh: Stack,
) -> None:
    fresh.configured.receiver.script = [(500, 0.0), (500, 0.0)]
    fresh.stored.receiver.script = [(200, WEBHOOK_TIMEOUT + 1.5)]  # answers too late
    start_streams(fresh, 1)
    counts = fresh.wait_until_settled(2, timeout=60)
    assert counts == Counter({"succeeded": 2}), logs(fresh)
    [event] = fresh.event_ids()
    # The 500s and the retry that succeeded: one event, one webhook-id, three requests.
    assert fresh.configured.receiver.ids == [event] * 3
    time.sleep(2.0)  # the slow receiver answers the request its sender gave up on
    assert set(fresh.stored.receiver.ids) == {event}
    attempts = fresh.project.query(
        "SELECT d.url, a.number, a.status_code, a.error FROM broadcast_api_webhookattempt a "
        "JOIN broadcast_api_webhookdelivery d ON d.id = a.delivery_id ORDER BY d.url, a.number"
    )
    by_url: dict[str, list[tuple[Any, Any]]] = {}
    for url, _, status, error in attempts:
        by_url.setdefault(url, []).append((status, error))
    assert by_url[fresh.configured.receiver.url] == [(500, ""), (500, ""), (200, "")]
    assert by_url[fresh.stored.receiver.url] == [(None, "ReadTimeoutError"), (200, "")]


def test_a_worker_killed_mid_delivery_loses_nothing(fresh: Stack) -> None:
    fresh.configured.receiver.script = [(200, WEBHOOK_TIMEOUT - 0.5)]  # long enough to die in
    start_streams(fresh, 1)
    assert fresh.configured.in_flight.wait(timeout=20), logs(fresh)
    # Which worker holds it: the one running the task of this delivery.
    [(delivery_id,)] = fresh.project.query(
        "SELECT id FROM broadcast_api_webhookdelivery WHERE url = %s",
        fresh.configured.receiver.url,
    )
    [(worker_id,)] = fresh.project.query(
        "SELECT worker_ids->>-1 FROM django_tasks_database_dbtaskresult "
        "WHERE status = 'RUNNING' AND args_kwargs->'args'->>0 = %s",
        str(delivery_id),
    )
    victim = fresh.workers[int(str(worker_id).removeprefix("w"))]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    fresh.workers[int(str(worker_id).removeprefix("w"))] = fresh.start_worker(str(worker_id))
    counts = fresh.wait_until_settled(2, timeout=60)
    assert counts == Counter({"succeeded": 2}), logs(fresh)
    [event] = fresh.event_ids()
    assert set(fresh.configured.receiver.ids) == {event}  # at least once, one webhook-id
    attempts = fresh.project.query(
        "SELECT attempts FROM broadcast_api_webhookdelivery WHERE url = %s",
        fresh.configured.receiver.url,
    )
    assert attempts[0][0] >= 2  # the try that died, then the backstop's

"""A real HTTP receiver of webhooks for the tests: it verifies every signature with the
``standardwebhooks`` library, records what arrived, and answers as a script tells it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: dict[str, Any] | None


@dataclass
class Receiver:
    secret: str
    url: str = ""
    received: list[Received] = field(default_factory=list)
    # Each request takes the next (status, delay seconds); then ``default`` for the rest.
    script: list[tuple[int, float]] = field(default_factory=list)
    default: tuple[int, float] = (200, 0.0)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> tuple[int, float]:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def record(self, headers: dict[str, str], body: bytes) -> None:
        try:
            payload = Webhook(self.secret).verify(body, headers)
            verified = True
        except (WebhookVerificationError, ValueError):
            payload, verified = None, False
        with self.lock:
            self.received.append(Received(headers, body, verified, payload))

    @property
    def ids(self) -> list[str]:
        with self.lock:
            return [item.headers["webhook-id"] for item in self.received]


class ReceiverServer:
    """Serves a :class:`Receiver` on one loopback port, and can go down and come back up
    on the same port (a receiver's outage, as its senders see it: connection refused)."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.port = 0
        self.in_flight = threading.Event()  # set while a request is being answered
        self._server: ThreadingHTTPServer | None = None

    def up(self) -> None:
        receiver, in_flight = self.receiver, self.in_flight

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, delay = receiver.answer()
                in_flight.set()
                try:
                    if delay:
                        time.sleep(delay)
                    # Recorded when answered: a request its sender gave up on counts too.
                    receiver.record({k.lower(): v for k, v in self.headers.items()}, body)
                    self.send_response(status)
                    if status == 429:
                        self.send_header("Retry-After", "1")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender timed out, or died, and left
                finally:
                    in_flight.clear()

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self.receiver.url = f"http://127.0.0.1:{self.port}/hooks/broadcasts"
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self._server = server

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def running_receiver(secret: str) -> Iterator[Receiver]:
    server = ReceiverServer(Receiver(secret=secret))
    server.up()
    try:
        yield server.receiver
    finally:
        server.down()

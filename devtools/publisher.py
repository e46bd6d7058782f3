"""The reference publisher (``broadcast-publish``) as a subprocess, its JSON events read.

It runs with a client's environment: none of the server's settings, keys or webhook
secret. It gets its upload credentials from the API, as any broadcaster does.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from devtools.example_server import python
from devtools.paths import EXAMPLE
from devtools.processes import spawn, stop_process

if TYPE_CHECKING:
    from pathlib import Path

# Where the reference publisher is and how it is run: the one place in devtools that names
# it (the ``broadcast_publish`` package of this distribution; any directory will do).
PUBLISHER_CWD = EXAMPLE
PUBLISHER_MODULE = "broadcast_publish"
SERVER_ONLY_PREFIXES = ("BROADCAST_API_", "DEMO_WEBHOOK_", "AWS_")


@dataclass(frozen=True)
class Broadcaster:
    """Who broadcasts where: the API, a user's login, and the S3 endpoint to upload to."""

    api_url: str
    user: str
    password: str
    s3_endpoint_url: str


def publisher_invocation() -> list[str]:
    """The publisher's command, before its options (run it from :data:`PUBLISHER_CWD`)."""
    return [python(), "-m", PUBLISHER_MODULE]


def shell_command(password: str) -> str:
    """What a user types to run the publisher (the demo's banner shows it)."""
    invocation = " ".join(publisher_invocation())
    return f"BROADCAST_PUBLISH_PASSWORD={password} {invocation}"


def publisher_command(
    who: Broadcaster, *, name: str, duration: float | None = None, extra: list[str] | None = None
) -> list[str]:
    argv = [*publisher_invocation(), "--api", who.api_url, "--user", who.user]
    argv += ["--name", name, "--s3-endpoint-url", who.s3_endpoint_url]
    if duration is not None:
        argv += ["--duration", str(duration)]
    return argv + list(extra or [])


def client_env(password: str) -> dict[str, str]:
    """This process's environment minus everything only the server may know."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(SERVER_ONLY_PREFIXES)
    }
    env.update(BROADCAST_PUBLISH_PASSWORD=password, PYTHONUNBUFFERED="1")
    return env


@dataclass
class Publisher:
    """A publisher subprocess; its JSON events arrive on :attr:`events`."""

    process: subprocess.Popen[bytes]
    events: queue.Queue[dict[str, Any]]
    seen: list[dict[str, Any]]

    def wait_event(self, name: str, timeout: float) -> dict[str, Any]:
        for event in self.seen:
            if event.get("event") == name:
                return event
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"publisher sent no {name!r} event within {timeout:.0f}s")
            try:
                event = self.events.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self.process.poll() is not None and self.events.empty():
                    raise RuntimeError(
                        f"publisher exited ({self.process.returncode}) before {name!r}"
                    ) from None
                continue
            if event.get("event") == name:
                return event

    def stop(self, *, grace: float = 30.0) -> int:
        """SIGINT: the publisher finishes the playlist and stops its stream."""
        stop_process(self.process, sig=signal.SIGINT, grace=grace)
        return self.process.returncode


def _read_events(
    stdout: IO[bytes], events: queue.Queue[dict[str, Any]], seen: list[dict[str, Any]]
) -> None:
    for raw in stdout:
        with contextlib.suppress(ValueError):
            event = json.loads(raw)
            if isinstance(event, dict):
                seen.append(event)
                events.put(event)


def start_publisher(
    who: Broadcaster,
    *,
    name: str,
    duration: float | None = None,
    extra: list[str] | None = None,
    log_path: Path | None = None,
) -> Publisher:
    """Start broadcasting a test pattern as ``who``; stderr goes to ``log_path``."""
    log: IO[bytes] | None = log_path.open("ab") if log_path else None
    proc = spawn(
        publisher_command(who, name=name, duration=duration, extra=extra),
        env=client_env(who.password),
        cwd=PUBLISHER_CWD,
        stdout=subprocess.PIPE,
        stderr=log if log else None,
    )
    if log is not None:
        log.close()  # the child holds its own descriptor
    assert proc.stdout is not None
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    seen: list[dict[str, Any]] = []
    threading.Thread(
        target=_read_events, args=(proc.stdout, events, seen), name="publisher-events", daemon=True
    ).start()
    return Publisher(proc, events, seen)

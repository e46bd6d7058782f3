"""Records every stream signal to a file, so counts hold across gunicorn workers."""

from __future__ import annotations

import os
from typing import Any

from django.apps import AppConfig

from broadcast_api.signals import stream_started, stream_stopped

SIGNAL_LOG_ENV = "BROADCAST_LIVE_SIGNAL_LOG"


def record(line: str) -> None:
    """Append one line; O_APPEND keeps concurrent small writes whole."""
    path = os.environ.get(SIGNAL_LOG_ENV)
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


def on_started(sender: Any, stream: Any, **kwargs: Any) -> None:
    record(f"started {stream.pk} {os.getpid()}")


def on_stopped(sender: Any, stream: Any, reason: str, **kwargs: Any) -> None:
    record(f"stopped {stream.pk} {reason} {os.getpid()}")


class LiveProjectConfig(AppConfig):
    name = "tests.live_project"
    label = "live_project"

    def ready(self) -> None:

        stream_started.connect(on_started, dispatch_uid="live_project.started")
        stream_stopped.connect(on_stopped, dispatch_uid="live_project.stopped")

"""The demo stack: the S3/STS emulator and the example project, running together."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devtools.emulator import Emulator, launch_emulator
from devtools.example_server import (
    DEMO_PASSWORD,
    DEMO_USER,
    ExampleServer,
    example_env,
    launch_example_server,
    prepare_database,
)
from devtools.processes import free_port
from devtools.publisher import Broadcaster

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class Stack:
    """The emulator and the example project, running."""

    emulator: Emulator
    server: ExampleServer
    workdir: Path
    user: str = DEMO_USER
    password: str = DEMO_PASSWORD

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def broadcaster(self) -> Broadcaster:
        """Who the publisher broadcasts as: the demo user, into the emulator."""
        return Broadcaster(self.base_url, self.user, self.password, self.emulator.endpoint_url)

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            self.emulator.stop()


def start_stack(
    workdir: Path,
    *,
    port: int | None = None,
    preferred_port: int | None = None,
    user: str = DEMO_USER,
    password: str = DEMO_PASSWORD,
) -> Stack:
    """Start moto, prepare it, migrate a fresh DB in ``workdir`` and serve the example.

    The steps overlap where they can (two cores go a long way): moto boots while the DB
    is migrated, and is prepared while Django boots."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(preferred_port)
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    emulator = launch_emulator(log_path=workdir / "moto.log")
    server: ExampleServer | None = None
    try:
        db_path = workdir / "db.sqlite3"
        db_path.unlink(missing_ok=True)
        env = example_env(emulator, db_path)
        # The example project subscribes to its own events (its /events/ page shows them).
        env["DEMO_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/webhooks/"
        env["DEMO_WEBHOOK_SECRET"] = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        prepare_database(env, user=user, password=password)
        server = launch_example_server(env, port, workdir / "django.log")
        emulator.prepare(origins)
        server.wait_ready()
    except BaseException:
        if server is not None:
            server.stop()
        emulator.stop()
        raise
    return Stack(emulator, server, workdir, user, password)

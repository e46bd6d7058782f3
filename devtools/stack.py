"""The demo stack: the S3/STS emulator and the example project, running together.

:func:`start_gateway_stack` serves the same example project against a Ceph RADOS
Gateway instead of the emulator (RGW enforces the session policies moto ignores)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devtools.emulator import Emulator, launch_emulator
from devtools.example_server import (
    DEFAULT_SETTINGS,
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
    from collections.abc import Sequence
    from pathlib import Path

    from mypy_boto3_s3.type_defs import CORSRuleTypeDef

    from devtools.ceph_rgw.clients import RGW


def page_origins(port: int) -> list[str]:
    """The origins a browser reaches the example project at: the bucket's CORS rule
    names these."""
    return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


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
    settings_module: str = DEFAULT_SETTINGS,
) -> Stack:
    """Start moto, prepare it, migrate a fresh DB in ``workdir`` and serve the example
    (with ``settings_module``: the example's own settings, or a module changing some).

    The steps overlap where they can (two cores go a long way): moto boots while the DB
    is migrated, and is prepared while Django boots."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(preferred_port)
    origins = page_origins(port)
    emulator = launch_emulator(log_path=workdir / "moto.log")
    server: ExampleServer | None = None
    try:
        db_path = workdir / "db.sqlite3"
        db_path.unlink(missing_ok=True)
        env = example_env(emulator.server_env(), db_path, settings_module=settings_module)
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


@dataclass
class GatewayStack:
    """The example project serving streams whose uploads go to a Ceph RGW bucket."""

    gateway: RGW
    bucket: str
    server: ExampleServer
    workdir: Path
    user: str = DEMO_USER
    password: str = DEMO_PASSWORD

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        """Stop the example project (the gateway belongs to whoever started it)."""
        self.server.stop()


# What a PUT signed by aws4fetch sends besides the simple headers: the SigV4 ones, and
# the Content-Type and Cache-Control the publisher sets on each piece.
BROWSER_UPLOAD_HEADERS = (
    "authorization",
    "cache-control",
    "content-type",
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
)


def gateway_cors_rule(origins: Sequence[str]) -> CORSRuleTypeDef:
    """The bucket CORS rule of docs/broadcasting/browser.md: PUT from the page's origins,
    with the headers the publisher's signed requests carry, and nothing more."""
    return {
        "AllowedOrigins": list(origins),
        "AllowedMethods": ["PUT"],
        "AllowedHeaders": list(BROWSER_UPLOAD_HEADERS),
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 600,
    }


def start_gateway_stack(
    workdir: Path,
    gateway: RGW,
    bucket: str,
    *,
    user: str = DEMO_USER,
    password: str = DEMO_PASSWORD,
    settings_module: str = DEFAULT_SETTINGS,
) -> GatewayStack:
    """Create ``bucket`` on the running gateway with the browser CORS rule for the
    example project's origins, and serve the example project against it."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    admin = gateway.admin_s3()
    admin.create_bucket(Bucket=bucket)
    admin.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [gateway_cors_rule(page_origins(port))]},
    )
    db_path = workdir / "db.sqlite3"
    db_path.unlink(missing_ok=True)
    env = example_env(gateway.server_env(bucket), db_path, settings_module=settings_module)
    prepare_database(env, user=user, password=password)
    server = launch_example_server(env, port, workdir / "django.log")
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return GatewayStack(gateway, bucket, server, workdir, user, password)

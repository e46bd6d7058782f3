"""Real servers the suite talks to, and the rule for when they are missing.

A missing server skips its tests with a visible reason, unless the environment variable
``BROADCAST_API_REQUIRE_SERVERS`` names it (comma-separated, e.g. ``postgres,moto,rgw``)
or is ``all``: then the tests fail instead. CI sets ``all``. The rule itself lives in
:mod:`devtools.testing.requirements` (the tooling's fixtures follow it too).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

# Re-exported (the suite imports the rule from here); explicit for mypy's strict mode.
from devtools.testing.requirements import require_or_skip as require_or_skip  # noqa: PLC0414
from devtools.testing.requirements import required as required  # noqa: PLC0414

MOTO_ACCOUNT = "123456789012"
ROLE_NAME = "broadcast-uploader"
ROLE_ARN = f"arn:aws:iam::{MOTO_ACCOUNT}:role/{ROLE_NAME}"
TRUST_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    f'"Principal":{{"AWS":"arn:aws:iam::{MOTO_ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}'
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    port: int, *, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def postgres_reachable() -> tuple[bool, str]:
    try:
        import psycopg  # noqa: PLC0415  (optional: a missing psycopg is reported, not raised)
    except ImportError:
        return False, "psycopg is not installed"
    try:
        with psycopg.connect(
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=int(os.environ.get("PGPORT", "5432")),
            user=os.environ.get("PGUSER", "postgres"),
            dbname="postgres",
            connect_timeout=3,
        ):
            return True, ""
    except psycopg.Error as exc:
        return False, f"PostgreSQL is not reachable ({type(exc).__name__})"


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str
    region: str = "us-west-1"
    access_key: str = "testing"
    secret_key: str = "testing-server-secret"

    def client(self, service: str) -> Any:

        session: Any = boto3.session.Session()
        return session.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )


def moto_executable() -> str | None:
    candidate = Path(sys.executable).with_name("moto_server")
    if candidate.exists():
        return str(candidate)
    return shutil.which("moto_server")


@contextlib.contextmanager
def run_moto(bucket: str, region: str = "us-west-1") -> Iterator[MotoServer]:
    """Start ``moto_server`` on a free loopback port with ``bucket`` and the role."""
    executable = moto_executable()
    if executable is None:
        raise FileNotFoundError("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    env = {**os.environ, "MOTO_ACCOUNT_ID": MOTO_ACCOUNT}
    process = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for_port(port, timeout=30, process=process)
        server = MotoServer(endpoint_url=f"http://127.0.0.1:{port}", region=region)
        iam = server.client("iam")
        iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=TRUST_POLICY)
        s3 = server.client("s3")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def broadcaster_s3(start_body: dict[str, Any]) -> Any:
    """An S3 client holding the credentials a start (or refresh) response minted."""

    s3 = start_body["endpoint"]["S3"]
    return boto3.session.Session().client(
        "s3",
        region_name=s3["s3_bucket_region"],
        endpoint_url=s3["s3_endpoint_url"],
        aws_access_key_id=s3["aws_access_key_id"],
        aws_secret_access_key=s3["aws_secret_access_key"],
        aws_session_token=s3["aws_session_token"],
    )

"""moto's server (S3 + STS + IAM) on 127.0.0.1, started, prepared and stopped."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from devtools.emulator.account import (
    DEFAULT_BUCKET,
    DEFAULT_REGION,
    ROLE_ARN,
    SERVER_ACCESS_KEY_ID,
    SERVER_SECRET_ACCESS_KEY,
    boto_client,
    prepare,
)
from devtools.processes import free_port, spawn, stop_process, wait_http

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


def moto_server_available() -> bool:
    """Whether moto's server can run here (``moto[server]``, or the demo group's
    ``moto[s3,sts,iam]`` with flask and flask-cors)."""
    try:
        return all(importlib.util.find_spec(name) for name in ("moto", "flask", "flask_cors"))
    except ModuleNotFoundError:
        return False


def moto_server_command(port: int) -> list[str]:
    """moto's server on 127.0.0.1, behind :mod:`devtools.emulator.moto_preflight` (which
    answers CORS preflights the way S3 does), with the running interpreter (the venv's)."""
    return [
        sys.executable,
        "-m",
        "devtools.emulator.moto_preflight",
        "-H",
        "127.0.0.1",
        "-p",
        str(port),
    ]


@dataclass
class Emulator:
    """A running moto server (prepared once :meth:`prepare` returned)."""

    process: subprocess.Popen[bytes]
    endpoint_url: str
    bucket: str
    region: str
    log_path: Path | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def server_env(self) -> dict[str, str]:
        """The ``BROADCAST_API_*`` settings pointing a Django project at this emulator."""
        return {
            "BROADCAST_API_S3_BUCKET": self.bucket,
            "BROADCAST_API_S3_REGION": self.region,
            "BROADCAST_API_S3_ENDPOINT_URL": self.endpoint_url,
            "BROADCAST_API_STS_ENDPOINT_URL": self.endpoint_url,
            "BROADCAST_API_STS_ROLE_ARN": ROLE_ARN,
            "BROADCAST_API_AWS_ACCESS_KEY_ID": SERVER_ACCESS_KEY_ID,
            "BROADCAST_API_AWS_SECRET_ACCESS_KEY": SERVER_SECRET_ACCESS_KEY,
        }

    def object_url(self, key: str) -> str:
        return f"{self.endpoint_url}/{self.bucket}/{key.lstrip('/')}"

    def s3(self) -> Any:
        return boto_client("s3", self.endpoint_url, self.region)

    def prepare(self, origins: Sequence[str]) -> None:
        """Wait for the server, then create the bucket (private, with CORS) and the role."""
        wait_http(f"{self.endpoint_url}/moto-api/", timeout=60, proc=self.process)
        prepare(self.endpoint_url, bucket=self.bucket, region=self.region, origins=origins)

    def stop(self) -> None:
        stop_process(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None


def launch_emulator(
    *,
    bucket: str = DEFAULT_BUCKET,
    region: str = DEFAULT_REGION,
    port: int | None = None,
    log_path: Path | None = None,
) -> Emulator:
    """Start ``moto_server`` on 127.0.0.1; :meth:`Emulator.prepare` makes it usable."""
    port = port or free_port()
    env = dict(os.environ)
    # The browser must be served by the bucket's CORS rule, as by AWS, not moto's blanket
    # ``Access-Control-Allow-Origin: *``.
    env["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    # moto must not pick up any real credentials or config of the calling user.
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(name, None)
    log: IO[bytes] | None = log_path.open("wb") if log_path else None
    proc = spawn(
        moto_server_command(port),
        env=env,
        stdout=log if log else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    return Emulator(proc, f"http://127.0.0.1:{port}", bucket, region, log_path, log)


def start_emulator(
    *,
    bucket: str = DEFAULT_BUCKET,
    region: str = DEFAULT_REGION,
    origins: Sequence[str] = (),
    port: int | None = None,
    log_path: Path | None = None,
) -> Emulator:
    """Start ``moto_server`` on 127.0.0.1 and prepare bucket, CORS and role."""
    emulator = launch_emulator(bucket=bucket, region=region, port=port, log_path=log_path)
    try:
        emulator.prepare(origins)
    except BaseException:
        emulator.stop()
        raise
    return emulator

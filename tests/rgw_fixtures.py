"""Helpers for the Ceph RADOS Gateway suite: run ``scripts/ceph_rgw.py``, build S3 clients.

The gateway script is project code but not part of the package, so it is loaded by path.
:func:`running_rgw` starts one gateway and stops it afterwards; when the gateway cannot
run here it skips, or fails when ``BROADCAST_API_REQUIRE_SERVERS`` names ``rgw``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.servers import require_or_skip

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sts.client import STSClient

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ceph_rgw.py"

# Path-style addressing (no DNS for bucket hosts), one attempt, short timeouts.
S3_CONFIG = Config(
    s3={"addressing_style": "path"},
    retries={"total_max_attempts": 1},
    connect_timeout=2,
    read_timeout=20,
)


@dataclass(frozen=True)
class RGW:
    """A running gateway: its endpoint, admin user's keys and the uploader role."""

    endpoint_url: str
    access_key: str
    secret_key: str
    role_arn: str
    region: str
    directory: Path
    session: boto3.session.Session

    def admin_s3(self) -> S3Client:
        return self.session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=S3_CONFIG,
        )

    def admin_sts(self) -> STSClient:
        return self.session.client(
            "sts",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=S3_CONFIG,
        )

    def s3(
        self, key: str, secret: str, token: str | None, endpoint_url: str | None = None
    ) -> S3Client:
        """An S3 client as a broadcasting app would build it from the API's answer."""
        return self.session.client(
            "s3",
            endpoint_url=endpoint_url or self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=S3_CONFIG,
        )


@cache
def ceph_rgw() -> ModuleType:
    """``scripts/ceph_rgw.py``, imported by path (once)."""
    spec = importlib.util.spec_from_file_location("ceph_rgw", SCRIPT)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("ceph_rgw", module)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def running_rgw(*, min_session_duration: int = 900) -> Iterator[RGW]:
    """Start a gateway in a short /tmp directory; skip (or fail) if it cannot run here."""
    if not SCRIPT.is_file():
        require_or_skip("rgw", f"{SCRIPT} is missing")
    script = ceph_rgw()
    ok, reason = script.available()
    if not ok:
        require_or_skip("rgw", f"Ceph RGW cannot run here: {reason}")
    directory = Path(tempfile.mkdtemp(prefix="rgw-", dir="/tmp"))
    try:
        info: dict[str, str] = script.start(directory, min_session_duration=min_session_duration)
    except script.RGWError as exc:
        with contextlib.suppress(OSError):
            directory.rmdir()
        require_or_skip("rgw", f"Ceph RGW did not start: {exc}")
        raise  # not reached: require_or_skip skips or fails
    try:
        yield RGW(
            endpoint_url=info["endpoint_url"],
            access_key=info["access_key"],
            secret_key=info["secret_key"],
            role_arn=info["role_arn"],
            region=info["region"],
            directory=directory,
            session=boto3.session.Session(),
        )
    finally:
        script.stop(directory)


def http_status(exc: ClientError) -> int:
    """The HTTP status of a failed call (RGW's STS errors often carry no error code)."""
    status: int = exc.response["ResponseMetadata"]["HTTPStatusCode"]
    return status


def status_of(call: Callable[[], Any]) -> int:
    """Run an S3/STS call and return its HTTP status, successful or not."""
    try:
        response = call()
    except ClientError as exc:
        return http_status(exc)
    status: int = response["ResponseMetadata"]["HTTPStatusCode"]
    return status

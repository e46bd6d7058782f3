"""S3 and STS clients of a running gateway: its admin's, and a broadcaster's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sts.client import STSClient

    from devtools.ceph_rgw.layout import RGWInfo

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

    @classmethod
    def from_info(cls, info: RGWInfo, directory: Path) -> RGW:
        return cls(
            endpoint_url=info["endpoint_url"],
            access_key=info["access_key"],
            secret_key=info["secret_key"],
            role_arn=info["role_arn"],
            region=info["region"],
            directory=directory,
            session=boto3.session.Session(),
        )

    def server_env(self, bucket: str) -> dict[str, str]:
        """The ``BROADCAST_API_*`` settings pointing a Django project (the example's
        settings read them from the environment) at this gateway and ``bucket``."""
        return {
            "BROADCAST_API_S3_BUCKET": bucket,
            "BROADCAST_API_S3_REGION": self.region,
            "BROADCAST_API_S3_ENDPOINT_URL": self.endpoint_url,
            "BROADCAST_API_STS_ENDPOINT_URL": self.endpoint_url,
            "BROADCAST_API_STS_ROLE_ARN": self.role_arn,
            "BROADCAST_API_AWS_ACCESS_KEY_ID": self.access_key,
            "BROADCAST_API_AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

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

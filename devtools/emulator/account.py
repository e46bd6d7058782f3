"""The emulator's account, prepared as an AWS account would be for broadcast_api.

A private bucket (moto answers an anonymous GET with 403, as a bucket with Block Public
Access does: viewers get presigned URLs from the playlist endpoint), an optional CORS
rule allowing GET from the player's origins only, and the role the server assumes to
mint each stream's upload credentials, allowed the default key prefix only (the
uploader policy of the docs). moto does not enforce session policies; the Ceph RGW
suite proves the scoping.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from collections.abc import Sequence

ACCOUNT_ID = "123456789012"  # moto's default account
ROLE_NAME = "broadcast-uploader"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"
DEFAULT_BUCKET = "broadcast-demo"
DEFAULT_REGION = "us-east-1"
KEY_PREFIX = "streams"
# The credentials the *server* (the Django project) uses against the emulator.
SERVER_ACCESS_KEY_ID = "demo-server-key"
SERVER_SECRET_ACCESS_KEY = "demo-server-secret"


def boto_client(service: str, endpoint_url: str, region: str = DEFAULT_REGION) -> Any:
    """A client of the emulator with the server's keys, path-style."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=SERVER_ACCESS_KEY_ID,
        aws_secret_access_key=SERVER_SECRET_ACCESS_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
    )


def cors_rule(origins: Sequence[str]) -> dict[str, Any]:
    """From the pages' origins: GET and HEAD for a browser player, PUT for the browser
    publisher."""
    return {
        "AllowedOrigins": list(origins),
        "AllowedMethods": ["GET", "HEAD", "PUT"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["Content-Length", "Content-Type", "ETag"],
        "MaxAgeSeconds": 600,
    }


def trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def uploader_policy(bucket: str) -> dict[str, Any]:
    """The docs' uploader policy: uploads under the default key prefix, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": f"arn:aws:s3:::{bucket}/{KEY_PREFIX}/*",
            }
        ],
    }


def prepare(endpoint_url: str, *, bucket: str, region: str, origins: Sequence[str]) -> None:
    """Create the bucket (with its CORS rule for the player's origins) and the role."""
    s3 = boto_client("s3", endpoint_url, region)
    create: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    if origins:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [cors_rule(origins)]})
    iam = boto_client("iam", endpoint_url, region)
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust_policy()))
    iam.put_role_policy(
        RoleName=ROLE_NAME,
        PolicyName="upload-streams",
        PolicyDocument=json.dumps(uploader_policy(bucket)),
    )

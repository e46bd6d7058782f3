"""The least-privilege session policy for one stream, and the key prefix it covers.

Only server-side values reach a policy: the bucket and key prefix from settings and the
stream's UUID. Each is validated here as well as by the system checks, so that no value
can widen the resource beyond one stream's prefix (``*``, ``?`` and ``${`` would).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

UPLOAD_ACTIONS = (
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)

# Patterns are applied with fullmatch: "$" would accept a trailing newline.
# S3 bucket naming rules (lowercase letters, digits, dots, hyphens; 3 to 63 characters).
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Key prefix: slash-separated segments of safe characters; no wildcards, no "..".
PREFIX_SEGMENT_RE = re.compile(r"[A-Za-z0-9_.-]+")
REGION_RE = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d+")
MAX_PREFIX_LENGTH = 512
SESSION_POLICY_LIMIT = 2048
# The poster image, one key under the stream's prefix whatever the publishing session.
POSTER_NAME = "poster.jpg"


def is_valid_bucket(bucket: str) -> bool:
    return bool(BUCKET_RE.fullmatch(bucket)) and ".." not in bucket


def is_valid_key_prefix(prefix: str) -> bool:
    """True for "" or slash-separated safe segments (no "." / ".." segments)."""
    if prefix == "":
        return True
    if len(prefix) > MAX_PREFIX_LENGTH:
        return False
    return all(
        PREFIX_SEGMENT_RE.fullmatch(segment) and segment not in {".", ".."}
        for segment in prefix.split("/")
    )


def is_valid_region(region: str) -> bool:
    return bool(REGION_RE.fullmatch(region))


# Region name prefixes of the partitions other than "aws", most specific first.
PARTITION_PREFIXES = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("eusc-", "aws-eusc"),
)


def partition_for_region(region: str) -> str:
    """The ARN partition that owns ``region`` (aws, aws-cn, aws-us-gov, the iso ones)."""
    for prefix, partition in PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def stream_key_prefix(key_prefix: str, stream_id: uuid.UUID) -> str:
    """The object key prefix (no trailing slash) a stream uploads under."""
    if not isinstance(stream_id, uuid.UUID):
        raise TypeError("stream_id must be a uuid.UUID")
    prefix = key_prefix.strip("/")
    if not is_valid_key_prefix(prefix):
        raise ValueError(f"invalid key prefix {key_prefix!r}")
    return f"{prefix}/{stream_id}" if prefix else str(stream_id)


def session_prefix(stream_prefix: str, session: int) -> str:
    """Where publishing session ``session`` uploads: the stream's prefix for the first
    (the layout of a stream that never resumed), ``<prefix>/session-<n>`` for later
    ones, so a resumed broadcaster never writes over an earlier session's objects."""
    if isinstance(session, bool) or not isinstance(session, int) or session < 1:
        raise ValueError(f"invalid publishing session {session!r}")
    return stream_prefix if session == 1 else f"{stream_prefix}/session-{session}"


@dataclass(frozen=True)
class UploadScope:
    """Where one stream may upload: a bucket and a key prefix ending in the stream id.

    ``session`` (a resume's publishing session, 1 at the start) narrows the upload to
    that session's folder (``upload_prefix``) plus the poster's key.
    """

    stream_id: uuid.UUID
    bucket: str
    prefix: str
    region: str
    session: int = 1

    @classmethod
    def for_stream(
        cls, stream_id: uuid.UUID, *, bucket: str, key_prefix: str, region: str
    ) -> UploadScope:
        if not is_valid_bucket(bucket):
            raise ValueError(f"invalid bucket name {bucket!r}")
        return cls(
            stream_id=stream_id,
            bucket=bucket,
            prefix=stream_key_prefix(key_prefix, stream_id),
            region=region,
        )

    @property
    def partition(self) -> str:
        return partition_for_region(self.region)

    @property
    def upload_prefix(self) -> str:
        """The key prefix this session's media and playlists go under."""
        return session_prefix(self.prefix, self.session)

    @property
    def resource_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket}/{self.upload_prefix}/*"

    @property
    def resource_arns(self) -> list[str]:
        """What the policy allows uploading to: the session's folder, and for a later
        session the poster too (the first session's folder is the prefix: it has it)."""
        if self.session == 1:
            return [self.resource_arn]
        poster = f"arn:{self.partition}:s3:::{self.bucket}/{self.prefix}/{POSTER_NAME}"
        return [self.resource_arn, poster]

    def policy(self) -> dict[str, Any]:
        return upload_policy(*self.resource_arns)

    def policy_json(self) -> str:
        return dumps_policy(self.policy())


def upload_policy(*resource_arns: str) -> dict[str, Any]:
    """Allow uploading (simple and multipart) to these resource ARNs, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "UploadStreamSegments",
                "Effect": "Allow",
                "Action": list(UPLOAD_ACTIONS),
                "Resource": list(resource_arns),
            }
        ],
    }


def dumps_policy(policy: dict[str, Any]) -> str:
    """Compact JSON: AWS counts characters, and Ceph RGW does not decode ``+`` as space."""
    return json.dumps(policy, separators=(",", ":"))

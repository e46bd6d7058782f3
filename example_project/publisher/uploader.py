"""Uploads to the stream's S3 prefix with the minted credentials, retrying with backoff."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client

    from publisher.api import UploadTarget

log = logging.getLogger(__name__)

PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_CONTENT_TYPE = "video/mp2t"
# Live playlists change every segment: players and caches must revalidate every time.
PLAYLIST_CACHE_CONTROL = "no-cache"
# A segment never changes once written.
SEGMENT_CACHE_CONTROL = "public, max-age=31536000, immutable"

# Errors that no retry will fix (the credentials are wrong or expired, the key is refused).
FATAL_CODES = frozenset(
    {"AccessDenied", "ExpiredToken", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket"}
)


class UploadError(RuntimeError):
    """An upload failed for good (fatal error, or every attempt failed)."""


def content_headers(filename: str) -> tuple[str, str]:
    """``(Content-Type, Cache-Control)`` for a file of an HLS stream."""
    if filename.endswith(".m3u8"):
        return PLAYLIST_CONTENT_TYPE, PLAYLIST_CACHE_CONTROL
    if filename.endswith(".ts"):
        return SEGMENT_CONTENT_TYPE, SEGMENT_CACHE_CONTROL
    return "application/octet-stream", "no-cache"


def make_s3_client(target: UploadTarget) -> S3Client:
    """An S3 client holding only the stream's temporary credentials; path-style addressing
    (S3-compatible servers and emulators), short timeouts (a stuck upload must not stall
    the live edge for long) and botocore's standard retries under our own backoff."""
    client: S3Client = boto3.session.Session().client(
        "s3",
        region_name=target.region,
        endpoint_url=target.endpoint_url,
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key,
        aws_session_token=target.session_token,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=3,
            read_timeout=10,
            retries={"mode": "standard", "max_attempts": 2},
        ),
    )
    return client


class Uploader:
    """PUTs files under ``s3://<bucket>/<path>/`` with the right headers."""

    def __init__(
        self,
        target: UploadTarget,
        *,
        client: S3Client | None = None,
        attempts: int = 6,
        first_delay: float = 0.25,
        max_delay: float = 4.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.target = target
        self.client = client if client is not None else make_s3_client(target)
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.bytes_sent = 0
        self.objects_sent = 0

    def put(self, filename: str, body: bytes) -> None:
        """Upload ``body`` as ``<path>/<filename>``; retry transient failures with
        exponential backoff; raise :class:`UploadError` when it cannot succeed."""
        content_type, cache_control = content_headers(filename)
        key = self.target.key(filename)
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            try:
                self.client.put_object(
                    Bucket=self.target.bucket,
                    Key=key,
                    Body=body,
                    ContentType=content_type,
                    CacheControl=cache_control,
                )
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in FATAL_CODES:
                    raise UploadError(f"upload of {key} refused: {code}") from exc
                error: Exception = exc
            except BotoCoreError as exc:  # connection refused/reset, timeouts, ...
                error = exc
            else:
                self.bytes_sent += len(body)
                self.objects_sent += 1
                return
            if attempt == self.attempts:
                raise UploadError(f"upload of {key} failed {attempt} times: {error}") from error
            log.warning("upload of %s failed (%s); retry %d in %.2fs", key, error, attempt, delay)
            self.sleep(delay)
            delay = min(delay * 2, self.max_delay)
        raise AssertionError("unreachable")  # pragma: no cover

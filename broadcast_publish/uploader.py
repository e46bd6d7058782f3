"""Uploads to the stream's S3 prefix with the minted credentials, retrying with backoff.

The credentials last ``aws_expiration`` seconds. The client's rule, followed here: ask
``POST /stream/<id>/credentials/`` for new ones ahead of expiry (when a third of the
lifetime, at most five minutes, is left), and at once when S3 says they expired; keep
using the old ones while a refresh fails, and try again a few seconds later.
"""

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

    from broadcast_publish.api import UploadTarget

log = logging.getLogger(__name__)

PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_CONTENT_TYPE = "video/mp2t"
# Live playlists change every segment: players and caches must revalidate every time.
PLAYLIST_CACHE_CONTROL = "no-cache"
POSTER_CONTENT_TYPE = "image/jpeg"
POSTER_CACHE_CONTROL = "max-age=5"
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
    if filename.endswith(".jpg"):  # the poster: rewritten every few seconds
        return POSTER_CONTENT_TYPE, POSTER_CACHE_CONTROL
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


EXPIRED_CODES = frozenset({"ExpiredToken", "AccessDenied", "InvalidAccessKeyId"})
REFRESH_RETRY_SECONDS = 5.0


def refresh_margin(lifetime: float) -> float:
    """Seconds before expiry to refresh: a third of the lifetime, at most five minutes."""
    return min(lifetime / 3, 300.0)


class Uploader:
    """PUTs files under ``s3://<bucket>/<path>/`` with the right headers.

    With ``refresh`` (a callable returning a new :class:`UploadTarget` for the same
    stream), it renews its credentials ahead of their expiry.
    """

    def __init__(
        self,
        target: UploadTarget,
        *,
        client: S3Client | None = None,
        refresh: Callable[[], UploadTarget] | None = None,
        on_refresh: Callable[[UploadTarget], None] | None = None,
        attempts: int = 6,
        first_delay: float = 0.25,
        max_delay: float = 4.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client if client is not None else make_s3_client(target)
        self.refresh = refresh
        self.on_refresh = on_refresh
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.clock = clock
        self.bytes_sent = 0
        self.objects_sent = 0
        self.refreshes = 0
        self._use(target)

    def _use(self, target: UploadTarget) -> None:
        self.target = target
        received = self.clock()
        self.expires_at = received + target.expiration_seconds
        self.refresh_at = self.expires_at - refresh_margin(target.expiration_seconds)

    def renew(self, *, force: bool = False) -> bool:
        """New credentials if they are due (or ``force``); ``False`` if that failed."""
        if self.refresh is None or (not force and self.clock() < self.refresh_at):
            return False
        try:
            target = self.refresh()
        except Exception as exc:
            log.warning("could not refresh the upload credentials: %s", exc)
            self.refresh_at = self.clock() + REFRESH_RETRY_SECONDS
            return False
        self.client = make_s3_client(target)
        self._use(target)
        self.refreshes += 1
        log.info("upload credentials refreshed; valid %.0fs", target.expiration_seconds)
        if self.on_refresh is not None:
            self.on_refresh(target)
        return True

    def put(self, filename: str, body: bytes) -> None:
        """Upload ``body`` as ``<path>/<filename>``; retry transient failures with
        exponential backoff; raise :class:`UploadError` when it cannot succeed."""
        content_type, cache_control = content_headers(filename)
        key = self.target.key(filename)
        delay = self.first_delay
        self.renew()
        renewed_for_this_put = False
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
                if code in EXPIRED_CODES and not renewed_for_this_put and self.renew(force=True):
                    renewed_for_this_put = True  # the credentials ran out: once more, renewed
                    continue
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

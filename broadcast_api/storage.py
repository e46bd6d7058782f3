"""The server's own S3 client: read playlists, presign media for viewers, write playlists,
empty a deleted stream's prefix.

One :class:`~broadcast_api.clients.SharedClient` for the whole process (never one per
request), with the same short timeouts as the STS client, path-style addressing on
S3-compatible servers, and the server's own identity: it needs ``s3:GetObject`` (and
``s3:PutObject`` to finish recordings, ``s3:ListBucket`` and ``s3:DeleteObject`` to
delete them) under the key prefix, see ``docs/deploying-aws.md``.

Every failure becomes :class:`ObjectNotFound`, :class:`NotModified` or
:class:`~broadcast_api.exceptions.StorageUnavailable` with a ``reason``; nothing here
logs or raises a secret.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from broadcast_api.clients import (
    NO_CREDENTIALS_HINT,
    SharedClient,
    aws_client_config,
    failure_kind,
    server_credentials,
)
from broadcast_api.conf import conf
from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.instances import SharedInstances

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_s3.client import S3Client

logger = logging.getLogger("broadcast_api.storage")

MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
DEFAULT_POOL_CONNECTIONS = 10  # botocore's default max_pool_connections
DENIED_CODES = frozenset({"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"})


class ObjectNotFound(Exception):
    """The key does not exist (yet)."""


class NotModified(Exception):
    """The object still has the ETag the caller named."""


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    etag: str
    last_modified: datetime


class S3Storage:
    """Read, presign, write and delete objects with the server's own identity."""

    # Keys listed (ListObjectsV2) and deleted (one DeleteObjects) per page: S3's maximum.
    delete_page_size = 1000

    def __init__(self) -> None:
        self._client: SharedClient[S3Client] = SharedClient(self.create_client)

    def create_client(self) -> S3Client:
        addressing = "path" if conf.S3_ENDPOINT_URL else "auto"
        session = boto3.session.Session()
        return session.client(
            "s3",
            region_name=conf.S3_REGION,
            endpoint_url=conf.S3_ENDPOINT_URL,
            config=aws_client_config(
                signature_version="s3v4",
                s3={"addressing_style": addressing},
                # One connection per reaper thread (and botocore's 10 for the playlist
                # refreshes), so the reaper's HEADs never queue for a connection.
                max_pool_connections=pool_connections(),
            ),
            **server_credentials(),
        )

    @property
    def client(self) -> S3Client:
        return self._client.get()

    def read(self, bucket: str, key: str, *, if_none_match: str = "") -> StoredObject:
        """GET ``key``; raise :class:`NotModified` when its ETag is still ``if_none_match``."""
        extra: dict[str, Any] = {"IfNoneMatch": if_none_match} if if_none_match else {}
        try:
            response = self.client.get_object(Bucket=bucket, Key=key, **extra)
            body = response["Body"].read()
        except ClientError as exc:
            raise self._translate(exc, "GetObject", if_none_match=bool(if_none_match)) from None
        except (BotoCoreError, OSError) as exc:
            raise self._unavailable(exc, "GetObject") from None
        return StoredObject(
            body=body, etag=response["ETag"], last_modified=response["LastModified"]
        )

    def last_modified(self, bucket: str, key: str) -> datetime | None:
        """When ``key`` was last written (HEAD), or ``None`` when it does not exist."""
        try:
            response = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            failure = self._translate(exc, "HeadObject")
            if isinstance(failure, ObjectNotFound):
                return None
            raise failure from None
        except (BotoCoreError, OSError) as exc:
            raise self._unavailable(exc, "HeadObject") from None
        return response["LastModified"]

    def write(self, bucket: str, key: str, body: bytes, *, content_type: str) -> None:
        try:
            self.client.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                CacheControl="no-cache",
            )
        except ClientError as exc:
            raise self._translate(exc, "PutObject") from None
        except (BotoCoreError, OSError) as exc:
            raise self._unavailable(exc, "PutObject") from None

    def presign_get(self, bucket: str, key: str, *, expires_in: int) -> str:
        """A URL anyone may GET ``key`` with for ``expires_in`` seconds (no network call)."""
        try:
            url: str = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(exc, "presign") from None
        return url

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every object whose key starts with ``prefix``, a page at a time
        (ListObjectsV2, then one DeleteObjects per page); returns how many were deleted.

        Raises :class:`~broadcast_api.exceptions.StorageUnavailable` when a call fails or
        DeleteObjects reports a key it could not delete: what was deleted stays deleted,
        and calling it again finishes the job. Each page is listed from the start again,
        so keys written meanwhile are found too; it returns once a listing is empty.
        """
        deleted = 0
        while True:
            try:
                listing = self.client.list_objects_v2(
                    Bucket=bucket, Prefix=prefix, MaxKeys=self.delete_page_size
                )
            except ClientError as exc:
                raise self._translate(exc, "ListObjectsV2") from None
            except (BotoCoreError, OSError) as exc:
                raise self._unavailable(exc, "ListObjectsV2") from None
            keys = [item["Key"] for item in listing.get("Contents", [])]
            if not keys:
                return deleted
            self._delete_keys(bucket, keys)
            deleted += len(keys)

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        try:
            response = self.client.delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )
        except ClientError as exc:
            raise self._translate(exc, "DeleteObjects") from None
        except (BotoCoreError, OSError) as exc:
            raise self._unavailable(exc, "DeleteObjects") from None
        errors = response.get("Errors", [])
        if errors:  # a per-key refusal (AccessDenied, ...) in a 200 answer
            code = str(errors[0].get("Code") or "Unknown")
            reason = "s3_access_denied" if code in DENIED_CODES else "s3_error"
            logger.warning(
                "S3 DeleteObjects left %d of %d keys: %s (%s)",
                len(errors),
                len(keys),
                reason,
                code,
            )
            raise StorageUnavailable("Storage is unavailable.", reason=reason)

    # -- errors -----------------------------------------------------------------------

    def _translate(
        self, exc: ClientError, operation: str, *, if_none_match: bool = False
    ) -> Exception:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in MISSING_CODES or (status == 404 and code != "NoSuchBucket"):
            return ObjectNotFound(operation)
        if if_none_match and (status == 304 or code == "304"):
            return NotModified(operation)
        if code == "NoSuchBucket":  # a configuration error, not an outage: say so
            reason = "s3_no_such_bucket"
        elif code in DENIED_CODES or status == 403:
            reason = "s3_access_denied"
        else:
            reason = "s3_error"
        logger.warning("S3 %s failed: %s (%s, HTTP %s)", operation, reason, code, status)
        return StorageUnavailable("Storage is unavailable.", reason=reason)

    def _unavailable(self, exc: BaseException, operation: str) -> StorageUnavailable:
        reason = f"s3_{failure_kind(exc)}"
        if reason == "s3_no_credentials":  # a configuration error: say what to set
            logger.error("S3 %s failed: %s", operation, NO_CREDENTIALS_HINT)
        else:  # the exception's class name only: its message may quote a request
            logger.warning("S3 %s failed: %s (%s)", operation, reason, type(exc).__name__)
        return StorageUnavailable("Storage is unavailable.", reason=reason)


def pool_connections() -> int:
    """The S3 client's connection pool: wide enough for the reaper's threads (a bad
    setting, reported by check E016, falls back to botocore's default)."""
    width = conf.REAPER_CONCURRENCY
    valid = isinstance(width, int) and not isinstance(width, bool)
    return max(DEFAULT_POOL_CONNECTIONS, width if valid else 0)


_storages: SharedInstances[S3Storage] = SharedInstances()


def get_storage() -> S3Storage:
    """The process's shared storage: one instance of ``BROADCAST_API_STORAGE`` (default
    :class:`S3Storage`; a subclass may change how objects are read, written or
    presigned), made on first use and shared by threads."""
    return _storages.get(conf.STORAGE)

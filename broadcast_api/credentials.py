"""Credential providers: mint short-lived credentials that can upload to one prefix.

A provider owns one boto3 STS client, a :class:`~broadcast_api.clients.SharedClient`:
built lazily, shared by every thread, rebuilt after ``fork()`` and when a
``BROADCAST_API_*`` setting changes, never per request.

Subclass :class:`CredentialProvider` and point ``BROADCAST_API_CREDENTIAL_PROVIDER`` at
the subclass to mint credentials another way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    from botocore.config import Config
    from mypy_boto3_sts.client import STSClient
    from mypy_boto3_sts.type_defs import CredentialsTypeDef

    from broadcast_api.policies import UploadScope

logger = logging.getLogger("broadcast_api.credentials")

THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded"})
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "InvalidClientTokenId"})


@dataclass(frozen=True)
class StorageGrant:
    """What a broadcasting client gets: temporary credentials and where to upload.

    ``prefix`` is where this publishing ``session`` uploads; ``stream_prefix`` the
    stream's own (the same for session 1; ``""`` is read as ``prefix``).
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    duration_seconds: int
    bucket: str
    prefix: str
    region: str
    endpoint_url: str | None = None
    session: int = 1
    stream_prefix: str = ""

    @property
    def stream_path(self) -> str:
        return self.stream_prefix or self.prefix


class CredentialProvider:
    """Base class: holds the shared STS client; subclasses make the STS call."""

    operation_name = "sts"

    def __init__(self) -> None:
        self._client: SharedClient[STSClient] = SharedClient(self.create_client)

    # -- hooks a subclass may override ------------------------------------------------

    def get_client_config(self) -> Config:
        """Short timeouts and standard retries, so a slow STS cannot pin every worker."""
        return aws_client_config()

    def get_client_kwargs(self) -> dict[str, Any]:
        """Arguments of the STS client; server keys come from boto3's chain when unset."""
        return {
            "region_name": conf.S3_REGION,
            "endpoint_url": conf.STS_ENDPOINT_URL,
            **server_credentials(),
        }

    def request_credentials(
        self, client: STSClient, scope: UploadScope, *, duration_seconds: int
    ) -> CredentialsTypeDef:
        """Call STS and return its ``Credentials`` structure."""
        raise NotImplementedError

    # -- the shared client ------------------------------------------------------------

    def get_client(self) -> STSClient:
        """The shared client (built on first use)."""
        return self._client.get()

    def invalidate(self) -> None:
        """Drop the client; the next request builds one from the current settings."""
        self._client.invalidate()

    def create_client(self) -> STSClient:
        session = boto3.session.Session()
        return session.client("sts", config=self.get_client_config(), **self.get_client_kwargs())

    # -- the one public operation -----------------------------------------------------

    def issue(self, scope: UploadScope, *, duration_seconds: int) -> StorageGrant:
        """Mint credentials for ``scope``, or raise :class:`StorageUnavailable`."""
        client = self.get_client()
        try:
            credentials = self.request_credentials(
                client, scope, duration_seconds=duration_seconds
            )
        except ClientError as exc:
            # Ceph RGW answers S3-style XML: boto3 then puts Code at the top level.
            response: dict[str, Any] = dict(exc.response)
            code = str(response.get("Error", {}).get("Code") or response.get("Code") or "Unknown")
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in THROTTLING_CODES:
                reason = "sts_throttled"
            elif code in DENIED_CODES:
                reason = "sts_access_denied"
            else:
                reason = "sts_error"
            raise self._unavailable(reason, f"{code} (HTTP {status})") from None
        except BotoCoreError as exc:  # no answer: timeouts, no connection, no identity
            kind = failure_kind(exc)
            if kind == "no_credentials":  # a configuration error: say what to set
                logger.error("STS %s failed: %s", self.operation_name, NO_CREDENTIALS_HINT)
                raise StorageUnavailable(
                    "Upload credentials are unavailable.", reason="sts_no_credentials"
                ) from None
            raise self._unavailable(f"sts_{kind}", type(exc).__name__) from None
        expiration = credentials["Expiration"]
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        return StorageGrant(
            access_key_id=credentials["AccessKeyId"],
            secret_access_key=credentials["SecretAccessKey"],
            session_token=credentials["SessionToken"],
            expiration=expiration,
            duration_seconds=duration_seconds,
            bucket=scope.bucket,
            prefix=scope.upload_prefix,
            region=scope.region,
            endpoint_url=conf.S3_ENDPOINT_URL,
            session=scope.session,
            stream_prefix=scope.prefix,
        )

    def _unavailable(self, reason: str, detail: str) -> StorageUnavailable:
        # ``detail`` is an exception class name or an STS error code: never a secret.
        logger.warning("STS %s failed: %s (%s)", self.operation_name, reason, detail)
        return StorageUnavailable("Upload credentials are unavailable.", reason=reason)


class AssumeRoleProvider(CredentialProvider):
    """``sts:AssumeRole`` on ``BROADCAST_API_STS_ROLE_ARN`` with the stream's session policy.

    Works from any server identity (instance role, task role, IAM user).
    """

    operation_name = "AssumeRole"

    def get_role_session_name(self, scope: UploadScope) -> str:
        return f"stream-{scope.stream_id}"

    def request_credentials(
        self, client: STSClient, scope: UploadScope, *, duration_seconds: int
    ) -> CredentialsTypeDef:
        response = client.assume_role(
            RoleArn=conf.STS_ROLE_ARN,
            RoleSessionName=self.get_role_session_name(scope),
            Policy=scope.policy_json(),
            DurationSeconds=duration_seconds,
        )
        return response["Credentials"]


class FederationTokenProvider(CredentialProvider):
    """``sts:GetFederationToken``, the seed package's mechanism.

    Needs long-term IAM user keys on the server (not a role); the session policy is the
    intersection with that user's own permissions.
    """

    operation_name = "GetFederationToken"

    def request_credentials(
        self, client: STSClient, scope: UploadScope, *, duration_seconds: int
    ) -> CredentialsTypeDef:
        response = client.get_federation_token(
            Name=scope.stream_id.hex,  # 32 characters: the API's limit
            Policy=scope.policy_json(),
            DurationSeconds=duration_seconds,
        )
        return response["Credentials"]


_providers: SharedInstances[CredentialProvider] = SharedInstances()


def get_credential_provider() -> CredentialProvider:
    """The shared instance of the configured provider class."""
    return _providers.get(conf.CREDENTIAL_PROVIDER)


def reset_credential_provider() -> None:
    """Forget the shared providers (tests; after swapping the provider class at runtime)."""
    _providers.clear()

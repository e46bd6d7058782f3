"""Typed access to the ``BROADCAST_API_*`` settings.

Every property reads Django's settings on every access, so ``override_settings`` works
without any cache to clear. The seed package's ``BROADCAST_SETTINGS`` dict is honoured
as a legacy spelling for the values it could hold; the new flat names win when both are
set, and ``manage.py check`` reports the legacy spelling (``broadcast_api.W001``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings as django_settings

if TYPE_CHECKING:
    from datetime import timedelta

DEFAULT_PROVIDER = "broadcast_api.credentials.AssumeRoleProvider"
DEFAULT_STORAGE = "broadcast_api.storage.S3Storage"
DEFAULT_MEDIA_SIGNER = "broadcast_api.playback.signers.S3PresignedUrlSigner"
DEFAULT_STREAM_MODEL = "broadcast_api.Stream"
DEFAULT_DISCONNECT_TIMEOUT = 30
MIN_CREDENTIALS_TTL = 900
MAX_CREDENTIALS_TTL = 43200
MAX_PRESIGNED_URL_TTL = 7 * 24 * 3600  # SigV4's limit
MAX_REAPER_CONCURRENCY = 256  # one thread each

# Legacy BROADCAST_SETTINGS["S3"] keys and the flat setting each one maps onto.
LEGACY_S3_KEYS = {
    "BUCKET": "S3_BUCKET",
    "AWS_ACCESS_KEY_ID": "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY",
    "REGION": "S3_REGION",
}

_MISSING = object()


class Settings:
    """The package's settings, each a typed property with its default."""

    def _get(self, name: str, default: Any) -> Any:
        value = getattr(django_settings, f"BROADCAST_API_{name}", _MISSING)
        if value is _MISSING:
            value = self._legacy(name, default)
        return value

    @staticmethod
    def _legacy(name: str, default: Any) -> Any:
        legacy = getattr(django_settings, "BROADCAST_SETTINGS", None)
        if not isinstance(legacy, dict):
            return default
        s3 = legacy.get("S3")
        if not isinstance(s3, dict):
            return default
        for legacy_key, flat_name in LEGACY_S3_KEYS.items():
            if flat_name == name and s3.get(legacy_key):
                return s3[legacy_key]
        return default

    @property
    def S3_BUCKET(self) -> str:
        value: str = self._get("S3_BUCKET", "")
        return value

    @property
    def S3_REGION(self) -> str:
        value: str = self._get("S3_REGION", "us-east-1")
        return value

    @property
    def S3_ENDPOINT_URL(self) -> str | None:
        value = self._get("S3_ENDPOINT_URL", None)
        return str(value) if value else None

    @property
    def STS_ENDPOINT_URL(self) -> str | None:
        value = self._get("STS_ENDPOINT_URL", None)
        return str(value) if value else None

    @property
    def STS_ROLE_ARN(self) -> str:
        return str(self._get("STS_ROLE_ARN", "") or "")

    @property
    def CREDENTIALS_TTL(self) -> int:
        value: int = self._get("CREDENTIALS_TTL", 3600)
        return value

    @property
    def KEY_PREFIX(self) -> str:
        value: str = self._get("KEY_PREFIX", "streams")
        return value

    @property
    def CREDENTIAL_PROVIDER(self) -> str:
        value: str = self._get("CREDENTIAL_PROVIDER", DEFAULT_PROVIDER)
        return value

    @property
    def STREAM_MODEL(self) -> str:
        value: str = self._get("STREAM_MODEL", DEFAULT_STREAM_MODEL)
        return value

    @property
    def AWS_ACCESS_KEY_ID(self) -> str | None:
        value = self._get("AWS_ACCESS_KEY_ID", None)
        return str(value) if value else None

    @property
    def AWS_SECRET_ACCESS_KEY(self) -> str | None:
        value = self._get("AWS_SECRET_ACCESS_KEY", None)
        return str(value) if value else None

    @property
    def STS_CONNECT_TIMEOUT(self) -> float:
        value: float = self._get("STS_CONNECT_TIMEOUT", 2.0)
        return value

    @property
    def STS_READ_TIMEOUT(self) -> float:
        value: float = self._get("STS_READ_TIMEOUT", 5.0)
        return value

    @property
    def STS_MAX_ATTEMPTS(self) -> int:
        value: int = self._get("STS_MAX_ATTEMPTS", 3)
        return value

    @property
    def PAGE_SIZE(self) -> int:
        value: int = self._get("PAGE_SIZE", 50)
        return value

    # -- playback ---------------------------------------------------------------------

    @property
    def PLAYLIST_NAME(self) -> str:
        value: str = self._get("PLAYLIST_NAME", "index.m3u8")
        return value

    @property
    def PLAYBACK_BASE_URL(self) -> str | None:
        value = self._get("PLAYBACK_BASE_URL", None)
        return str(value).rstrip("/") if value else None

    @property
    def PLAYBACK_TOKEN_TTL(self) -> int:
        value: int = self._get("PLAYBACK_TOKEN_TTL", 3600)
        return value

    @property
    def PLAYBACK_URL_TTL(self) -> int:
        value: int = self._get("PLAYBACK_URL_TTL", 3600)
        return value

    @property
    def PLAYLIST_URL_NAME(self) -> str | None:
        value = self._get("PLAYLIST_URL_NAME", None)
        return str(value) if value else None

    @property
    def MEDIA_SIGNER(self) -> str:
        value: str = self._get("MEDIA_SIGNER", DEFAULT_MEDIA_SIGNER)
        return value

    @property
    def CLOUDFRONT_DOMAIN(self) -> str:
        value: str = self._get("CLOUDFRONT_DOMAIN", "")
        return value

    @property
    def CLOUDFRONT_KEY_PAIR_ID(self) -> str:
        value: str = self._get("CLOUDFRONT_KEY_PAIR_ID", "")
        return value

    @property
    def CLOUDFRONT_PRIVATE_KEY(self) -> str:
        """PEM text: a secret, never logged or shown."""
        value: str = self._get("CLOUDFRONT_PRIVATE_KEY", "")
        return value

    @property
    def CLOUDFRONT_PRIVATE_KEY_FILE(self) -> str:
        value: str = self._get("CLOUDFRONT_PRIVATE_KEY_FILE", "")
        return str(value) if value else ""

    @property
    def STORAGE(self) -> str:
        value: str = self._get("STORAGE", DEFAULT_STORAGE)
        return value

    @property
    def LIVE_WINDOW(self) -> int | None:
        """Seconds of newest segments a live playlist is served with; None: all."""
        value: int | None = self._get("LIVE_WINDOW", 120)
        return value

    @property
    def PLAYLIST_CACHE(self) -> str:
        value: str = self._get("PLAYLIST_CACHE", "default")
        return value

    @property
    def VIEWER_WINDOW(self) -> int | None:
        """Seconds a viewer counts for after a poll (``broadcast_api.viewers``); None: off."""
        value: int | None = self._get("VIEWER_WINDOW", 30)
        return value

    # -- a broadcast's life ------------------------------------------------------------

    @property
    def MAX_LIVE_STREAMS_PER_USER(self) -> int | None:
        value: int | None = self._get("MAX_LIVE_STREAMS_PER_USER", None)
        return value

    @property
    def IDLE_TIMEOUT(self) -> int:
        """The older name of ``RECONNECT_WINDOW``, read when that is not set."""
        value: int = self._get("IDLE_TIMEOUT", 120)
        return value

    @property
    def RECONNECT_WINDOW(self) -> int:
        """Seconds a live stream whose broadcaster went quiet stays live (resumable); the
        reaper's idle rule. Unset: ``IDLE_TIMEOUT`` (default 120)."""
        value: int = self._get("RECONNECT_WINDOW", None)
        return self.IDLE_TIMEOUT if value is None else value

    @property
    def DISCONNECT_TIMEOUT(self) -> int:
        """Seconds without a playlist upload before the reaper marks a live stream
        disconnected (``stream.disconnected``). Unset: 30, or half the reconnect window
        when that is shorter."""
        value: int | None = self._get("DISCONNECT_TIMEOUT", None)
        if value is not None:
            return value
        window = self.RECONNECT_WINDOW
        if isinstance(window, int) and not isinstance(window, bool) and window >= 2:
            return min(DEFAULT_DISCONNECT_TIMEOUT, window // 2)
        return DEFAULT_DISCONNECT_TIMEOUT

    @property
    def MAX_DURATION(self) -> int | None:
        value: int | None = self._get("MAX_DURATION", None)
        return value

    @property
    def REAPER_CONCURRENCY(self) -> int:
        """S3 requests ``broadcast_reap`` has in flight at once (1: one after another)."""
        value: int = self._get("REAPER_CONCURRENCY", 16)
        return value

    @property
    def FINALIZE_RECORDINGS(self) -> bool:
        value: bool = self._get("FINALIZE_RECORDINGS", True)
        return value

    @property
    def RECORDING_RETENTION(self) -> timedelta | int | None:
        """How long an ended stream is kept (a ``timedelta``, or seconds); None: forever.
        ``lifecycle.retention.retention_period()`` reads it as a ``timedelta``."""
        value: timedelta | int | None = self._get("RECORDING_RETENTION", None)
        return value

    @property
    def ON_OWNER_DELETE(self) -> str:
        """What a deleted user's streams become: ``"keep"`` (ownerless) or ``"delete"``."""
        value: str = self._get("ON_OWNER_DELETE", "keep")
        return value

    @property
    def TASK_BACKEND(self) -> str:
        value: str = self._get("TASK_BACKEND", "default")
        return value

    @property
    def TASK_QUEUE(self) -> str:
        value: str = self._get("TASK_QUEUE", "default")
        return value

    # -- webhooks -----------------------------------------------------------------------

    @property
    def WEBHOOKS(self) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self._get("WEBHOOKS", [])
        return value

    @property
    def WEBHOOK_ALLOW_PRIVATE_URLS(self) -> bool:
        value: bool = self._get("WEBHOOK_ALLOW_PRIVATE_URLS", False)
        return value

    @property
    def WEBHOOK_TIMEOUT(self) -> float:
        value: float = self._get("WEBHOOK_TIMEOUT", 5.0)
        return value

    @property
    def WEBHOOK_MAX_ATTEMPTS(self) -> int:
        value: int = self._get("WEBHOOK_MAX_ATTEMPTS", 8)
        return value

    @property
    def WEBHOOK_RETRY_DELAY(self) -> float:
        value: float = self._get("WEBHOOK_RETRY_DELAY", 5.0)
        return value

    @property
    def LEGACY_SETTINGS(self) -> dict[str, Any] | None:
        value = getattr(django_settings, "BROADCAST_SETTINGS", None)
        return value if isinstance(value, dict) else None


conf = Settings()

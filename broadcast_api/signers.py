"""How media URLs are signed (a served playlist's segments, a stream's poster): a class
chosen by a setting.

``BROADCAST_API_MEDIA_SIGNER`` is the dotted path of a :class:`MediaSigner` subclass
(default :class:`S3PresignedUrlSigner`: SigV4 presigned S3 GETs with the server's own
identity). A CDN signer (for example with botocore's ``CloudFrontSigner``) subclasses
:class:`MediaSigner` and implements :meth:`~MediaSigner.sign`; the playlist cache asks
:meth:`~MediaSigner.url_lifetime` how long its URLs stay valid, reuses a URL while more
than half of that is left, and serves a cached playlist no longer than its URLs last.

One instance per process (per dotted path), made on first use: a signer must be safe to
share between threads, and must never log or raise what it signs with.

It lives in the core because a stream's representation signs its poster
(``viewing.thumbnail_url``); ``broadcast_api.playback.signers``, its documented path and
the setting's default, re-exports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from broadcast_api.conf import conf
from broadcast_api.instances import SharedInstances
from broadcast_api.storage import get_storage

if TYPE_CHECKING:
    from django.core.checks import CheckMessage

__all__ = ["MediaSigner", "S3PresignedUrlSigner", "get_media_signer"]


class MediaSigner:
    """Turns the key of a stream's media object into a URL a player may GET."""

    def url_lifetime(self) -> int:
        """Seconds a URL from :meth:`sign` stays valid (``BROADCAST_API_PLAYBACK_URL_TTL``
        unless a subclass knows better). The cache re-signs before half of it is gone."""
        return conf.PLAYBACK_URL_TTL

    def sign(self, key: str, *, bucket: str, expires_in: int) -> str:
        """A URL for the object ``key`` in ``bucket``, valid at least ``expires_in``
        seconds. Raise ``StorageUnavailable`` (``broadcast_api.exceptions``) when it
        cannot be made; the cache then serves a stale playlist while one is usable."""
        raise NotImplementedError

    @classmethod
    def check_settings(cls) -> list[CheckMessage]:
        """System check messages about the settings this signer reads (``manage.py
        check`` calls it for the configured signer only). None by default."""
        return []


class S3PresignedUrlSigner(MediaSigner):
    """The default: a presigned S3 GET (no network call), from ``get_storage()``."""

    def sign(self, key: str, *, bucket: str, expires_in: int) -> str:
        return get_storage().presign_get(bucket, key, expires_in=expires_in)


_signers: SharedInstances[MediaSigner] = SharedInstances()


def get_media_signer() -> MediaSigner:
    """The process's signer of ``BROADCAST_API_MEDIA_SIGNER`` (check E019 validates it)."""
    return _signers.get(conf.MEDIA_SIGNER)

"""Media URLs signed for Amazon CloudFront: ``BROADCAST_API_MEDIA_SIGNER =
"broadcast_api.playback.cloudfront.CloudFrontSigner"``.

Built on botocore's ``CloudFrontSigner`` (canned policies), with an RSA key from
``cryptography`` (the ``cloudfront`` extra installs it). Each URL's expiry is rounded up to a step
of time (:attr:`CloudFrontSigner.expiry_step`), so a segment signed by any server within
one step gets byte-identical URLs: playlists stay stable for players and for every cache
in between, and a cache policy that leaves the query string out of the cache key (as
CloudFront's managed ``CachingOptimized`` does) fetches each segment from S3 once.

The private key comes from ``BROADCAST_API_CLOUDFRONT_PRIVATE_KEY`` (PEM text, for
example read from the environment in settings) or ``..._PRIVATE_KEY_FILE`` (a path). It
is loaded once per process and never logged, shown or put in an exception's message:
failures say only which setting to fix (check ``broadcast_api.E022`` says it first).
"""

from __future__ import annotations

import functools
import math
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from botocore.signers import CloudFrontSigner as BotocoreCloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.core.checks import CheckMessage, Error

from broadcast_api.conf import conf
from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.signers import MediaSigner

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CloudFrontSigner",
    "KeyUnavailable",
    "distribution_base_url",
    "is_distribution_domain",
    "load_private_key",
    "rounded_expiry",
]


# CloudFront public key ids (K...) and legacy key pair ids (APKA...): capitals and digits.
KEY_PAIR_ID_RE = re.compile(r"[A-Z0-9]{8,64}")
DOMAIN_RE = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.I)


class KeyUnavailable(Exception):
    """The private key cannot be loaded. The message names a setting, never the key."""


def rounded_expiry(now: float, lifetime: int, step: int) -> int:
    """The epoch second a URL signed at ``now`` expires: at least ``lifetime`` seconds
    on, rounded up to a multiple of ``step`` (so it lasts less than ``lifetime + step``)."""
    return math.ceil((now + lifetime) / step) * step


def distribution_base_url(domain: str) -> str:
    """``https://<domain>`` for a bare domain name; a URL is kept as given, less any
    trailing slash (an alternate domain name with a path in front of the keys)."""
    domain = domain.strip().rstrip("/")
    return domain if urlsplit(domain).scheme else f"https://{domain}"


def is_distribution_domain(value: object) -> bool:
    """A bare domain name, or an https URL with no query or fragment."""
    if not isinstance(value, str) or not value.strip():
        return False
    parts = urlsplit(distribution_base_url(value))
    return (
        parts.scheme == "https"
        and bool(DOMAIN_RE.fullmatch(parts.hostname or ""))
        and not (parts.query or parts.fragment)
    )


def load_private_key() -> RSAPrivateKey:
    """The RSA key the settings name, loaded once per distinct setting value."""
    text, path = conf.CLOUDFRONT_PRIVATE_KEY, conf.CLOUDFRONT_PRIVATE_KEY_FILE
    if bool(text) == bool(path):
        raise KeyUnavailable(
            "Set exactly one of BROADCAST_API_CLOUDFRONT_PRIVATE_KEY and "
            "BROADCAST_API_CLOUDFRONT_PRIVATE_KEY_FILE."
        )
    if path:
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise KeyUnavailable(
                f"BROADCAST_API_CLOUDFRONT_PRIVATE_KEY_FILE cannot be read ({type(exc).__name__})."
            ) from None
    else:
        pem = str(text).encode()
    return _parse_key(pem)


@functools.lru_cache(maxsize=4)
def _parse_key(pem: bytes) -> RSAPrivateKey:
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):  # their messages never quote the key, but say less still
        raise KeyUnavailable(
            "The CloudFront private key is not an unencrypted PEM private key."
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise KeyUnavailable(
            "The CloudFront private key is not an RSA key (CloudFront needs RSA)."
        )
    return key


class CloudFrontSigner(MediaSigner):
    """CloudFront signed URLs with a canned policy, one per media key.

    Subclass to change :attr:`expiry_step` or how a key becomes a URL (:meth:`url_for`).
    """

    #: Seconds each URL's expiry is rounded up to. Larger steps keep URLs identical
    #: longer; a URL then lives up to this much beyond ``url_lifetime()``.
    expiry_step = 300

    @classmethod
    def check_settings(cls) -> list[CheckMessage]:
        messages: list[CheckMessage] = []
        key_problem = ""
        if not KEY_PAIR_ID_RE.fullmatch(str(conf.CLOUDFRONT_KEY_PAIR_ID or "")):
            key_problem = "BROADCAST_API_CLOUDFRONT_KEY_PAIR_ID is not a CloudFront key id."
        else:
            try:
                load_private_key()
            except KeyUnavailable as exc:
                key_problem = str(exc)
        if key_problem:
            messages.append(
                Error(
                    key_problem,
                    hint="The id of a public key in the distribution's trusted key group "
                    "(K...), and its RSA private key as PEM text or a file.",
                    id="broadcast_api.E022",
                )
            )
        if not is_distribution_domain(conf.CLOUDFRONT_DOMAIN):
            messages.append(
                Error(
                    f"BROADCAST_API_CLOUDFRONT_DOMAIN {conf.CLOUDFRONT_DOMAIN!r} is not a "
                    "domain name or an https URL.",
                    hint='E.g. "d111111abcdef8.cloudfront.net" or "https://media.example.com".',
                    id="broadcast_api.E023",
                )
            )
        return messages

    def now(self) -> float:
        """The time URLs are signed at (the epoch, in seconds)."""
        return time.time()

    def url_for(self, key: str) -> str:
        """The unsigned URL of ``key`` on the distribution (its origin is the bucket)."""
        return f"{distribution_base_url(conf.CLOUDFRONT_DOMAIN)}/{quote(key)}"

    def sign(self, key: str, *, bucket: str, expires_in: int) -> str:
        try:
            private_key = load_private_key()
        except KeyUnavailable as exc:
            raise StorageUnavailable(str(exc), reason="cdn_signing_key") from None
        expires = rounded_expiry(self.now(), expires_in, self.expiry_step)
        signer = BotocoreCloudFrontSigner(conf.CLOUDFRONT_KEY_PAIR_ID, _rsa_signer(private_key))
        url: str = signer.generate_presigned_url(
            self.url_for(key), date_less_than=datetime.fromtimestamp(expires, UTC)
        )
        return url


def _rsa_signer(private_key: RSAPrivateKey) -> Callable[[bytes], bytes]:
    """What botocore's ``CloudFrontSigner`` calls with the policy: RSA-SHA1 with PKCS#1
    v1.5 padding, as CloudFront requires."""

    def rsa_sign(message: bytes) -> bytes:
        return private_key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303  (CloudFront requires SHA-1)

    return rsa_sign

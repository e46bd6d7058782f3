"""CloudFront signed media URLs, verified the way CloudFront documents them.

A canned-policy signed URL carries ``Expires``, ``Signature`` and ``Key-Pair-Id``; the
signature is RSA-SHA1 (PKCS#1 v1.5) over the policy
``{"Statement":[{"Resource":"<url>","Condition":{"DateLessThan":{"AWS:EpochTime":<expires>}}}]}``
with no whitespace, in base64 with ``+ = /`` replaced by ``- _ ~``. These tests rebuild
that string from the URL and check the signature with the public key, so a signer that
signed anything else would fail them. (The served-playlist test, with moto over HTTP,
is in ``test_playback.py``.)
"""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.playback.checks import check_media_signer
from broadcast_api.playback.cloudfront import CloudFrontSigner, rounded_expiry

SIGNER = "broadcast_api.playback.cloudfront.CloudFrontSigner"
DEFAULT_SIGNER = "broadcast_api.playback.signers.S3PresignedUrlSigner"
KEY_ID = "K2JCJMDEHXQW5F"
DOMAIN = "d111111abcdef8.cloudfront.net"


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def configured(settings: Any, rsa_key: rsa.RSAPrivateKey) -> Any:
    settings.BROADCAST_API_MEDIA_SIGNER = SIGNER
    settings.BROADCAST_API_CLOUDFRONT_DOMAIN = DOMAIN
    settings.BROADCAST_API_CLOUDFRONT_KEY_PAIR_ID = KEY_ID
    settings.BROADCAST_API_CLOUDFRONT_PRIVATE_KEY = pem(rsa_key)
    return settings


def verify(url: str, public_key: rsa.RSAPublicKey) -> int:
    """Check ``url``'s signature as CloudFront does; return its expiry (epoch seconds)."""
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert set(query) == {"Expires", "Signature", "Key-Pair-Id"}
    resource = f"{parts.scheme}://{parts.netloc}{parts.path}"
    expires = int(query["Expires"])
    policy = (
        '{"Statement":[{"Resource":"'
        + resource
        + '","Condition":{"DateLessThan":{"AWS:EpochTime":'
        + str(expires)
        + "}}}]}"
    )
    signature = base64.b64decode(
        query["Signature"].replace("-", "+").replace("_", "=").replace("~", "/")
    )
    public_key.verify(signature, policy.encode(), padding.PKCS1v15(), hashes.SHA1())
    assert query["Key-Pair-Id"] == KEY_ID
    return expires


def test_a_signed_url_verifies_with_the_public_key(
    configured: Any, rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CloudFrontSigner, "now", lambda self: 1_800_000_123.0)
    url = CloudFrontSigner().sign("streams/abc/seg 000001.ts", bucket="b", expires_in=3600)
    assert url.startswith(f"https://{DOMAIN}/streams/abc/seg%20000001.ts?")
    expires = verify(url, rsa_key.public_key())
    assert expires == 1_800_003_900  # 1_800_003_723 rounded up to 300 s
    # The control: the same signature does not verify for another key or another URL.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidSignature):
        verify(url, other.public_key())
    with pytest.raises(InvalidSignature):
        verify(url.replace("seg%20000001", "seg%20000002"), rsa_key.public_key())


def test_viewers_and_servers_within_one_step_get_identical_urls(
    configured: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter([1_800_000_010.0, 1_800_000_250.0, 1_800_000_310.0])
    monkeypatch.setattr(CloudFrontSigner, "now", lambda self: next(clock))
    first, second = CloudFrontSigner(), CloudFrontSigner()  # two processes, four minutes apart
    key = "streams/abc/seg_000001.ts"
    a = first.sign(key, bucket="b", expires_in=3600)
    b = second.sign(key, bucket="b", expires_in=3600)
    c = second.sign(key, bucket="b", expires_in=3600)  # the next step
    assert a == b
    assert c != a


@pytest.mark.parametrize(
    ("now", "lifetime", "step", "expected"),
    [(1000.0, 3600, 300, 4800), (1200.0, 3600, 300, 4800), (1200.5, 3600, 300, 5100)],
)
def test_rounded_expiry_lasts_at_least_the_lifetime(
    now: float, lifetime: int, step: int, expected: int
) -> None:
    expires = rounded_expiry(now, lifetime, step)
    assert expires == expected
    assert now + lifetime <= expires < now + lifetime + step


def test_a_key_from_a_file_signs_the_same(
    configured: Any, rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    path = tmp_path / "cloudfront.pem"
    path.write_text(pem(rsa_key))
    configured.BROADCAST_API_CLOUDFRONT_PRIVATE_KEY = ""
    configured.BROADCAST_API_CLOUDFRONT_PRIVATE_KEY_FILE = str(path)
    verify(CloudFrontSigner().sign("k/seg.ts", bucket="b", expires_in=60), rsa_key.public_key())
    assert check_media_signer(None) == []


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_the_checks_name_a_bad_key_or_domain_and_never_show_the_key(
    configured: Any, tmp_path: Path
) -> None:
    assert check_media_signer(None) == []  # the control
    secret = configured.BROADCAST_API_CLOUDFRONT_PRIVATE_KEY
    cases: list[tuple[dict[str, str], str]] = [
        ({"CLOUDFRONT_KEY_PAIR_ID": ""}, "broadcast_api.E022"),
        ({"CLOUDFRONT_KEY_PAIR_ID": "not an id"}, "broadcast_api.E022"),
        ({"CLOUDFRONT_PRIVATE_KEY": secret[:200]}, "broadcast_api.E022"),  # truncated
        (
            {"CLOUDFRONT_PRIVATE_KEY": pem(ec.generate_private_key(ec.SECP256R1()))},
            "broadcast_api.E022",
        ),
        (
            {"CLOUDFRONT_PRIVATE_KEY_FILE": str(tmp_path / "nope.pem")},
            "broadcast_api.E022",
        ),  # both
        (
            {
                "CLOUDFRONT_PRIVATE_KEY": "",
                "CLOUDFRONT_PRIVATE_KEY_FILE": str(tmp_path / "nope.pem"),
            },
            "broadcast_api.E022",
        ),
        ({"CLOUDFRONT_DOMAIN": ""}, "broadcast_api.E023"),
        ({"CLOUDFRONT_DOMAIN": "http://d111111abcdef8.cloudfront.net"}, "broadcast_api.E023"),
        ({"CLOUDFRONT_DOMAIN": "https://media.example.com/?x=1"}, "broadcast_api.E023"),
        ({"CLOUDFRONT_DOMAIN": "not a domain"}, "broadcast_api.E023"),
    ]
    for overrides, expected in cases:
        saved = {name: getattr(configured, f"BROADCAST_API_{name}", "") for name in overrides}
        for name, value in overrides.items():
            setattr(configured, f"BROADCAST_API_{name}", value)
        messages = check_media_signer(None)
        assert ids(messages) == [expected], overrides
        assert all(secret[40:80] not in f"{m.msg} {m.hint}" for m in messages)
        for name, value in saved.items():
            setattr(configured, f"BROADCAST_API_{name}", value)
    configured.BROADCAST_API_CLOUDFRONT_DOMAIN = "https://media.example.com/live"
    assert check_media_signer(None) == []


def test_a_bad_key_at_signing_is_storage_unavailable_without_the_key(
    configured: Any, caplog: pytest.LogCaptureFixture
) -> None:
    secret = configured.BROADCAST_API_CLOUDFRONT_PRIVATE_KEY
    configured.BROADCAST_API_CLOUDFRONT_PRIVATE_KEY = secret[:300]
    with caplog.at_level(logging.DEBUG), pytest.raises(StorageUnavailable) as raised:
        CloudFrontSigner().sign("k/seg.ts", bucket="b", expires_in=60)
    assert raised.value.reason == "cdn_signing_key"
    assert secret[40:80] not in str(raised.value) + caplog.text


@pytest.mark.django_db
def test_the_poster_is_cloudfront_signed_in_the_representations(
    start: Any, client_for: Any, user: Any, configured: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    """With the CloudFront signer, ``thumbnail_url`` is a CloudFront signed URL of the
    poster's key (announced against moto over HTTP), like the playlist's segments."""
    configured.BROADCAST_API_MEDIA_SIGNER = DEFAULT_SIGNER  # the announce signs nothing
    broadcast = start()
    broadcast.upload("poster.jpg", b"\xff\xd8\xff\xd9")
    client = client_for(user)
    assert (
        client.post(f"/stream/{broadcast.id}/poster/")
        .json()["thumbnail_url"]
        .startswith(
            "http://127.0.0.1:"  # moto's presigned URL, the control
        )
    )
    configured.BROADCAST_API_MEDIA_SIGNER = SIGNER
    urls = [
        client.get(f"/stream/{broadcast.id}/").json()["thumbnail_url"],
        client.get("/stream/").json()["results"][0]["thumbnail_url"],
        client.post("/stream/stop/", {"id": broadcast.id}).json()["stream"]["thumbnail_url"],
    ]
    for url in urls:
        assert url.startswith(f"https://{DOMAIN}/{broadcast.prefix}/poster.jpg?")
        expires = verify(url, rsa_key.public_key())
        assert expires >= time.time() + 3600  # PLAYBACK_URL_TTL, rounded up to a step

"""Fixtures shared by the playback tests (``tests.conftest`` loads this as a plugin).

Streams are started through the API and their playlists and segments uploaded with the
minted credentials, as a broadcaster does, into moto over HTTP; ``redis_cache`` points
the playlist cache (and so the viewer counts) at the Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.servers import broadcaster_s3, require_or_skip

__all__ = ["MEDIA_PLAYLIST", "SEGMENT", "Broadcast", "live", "redis_cache", "start"]

SEGMENT = b"\x47" + bytes(187)
MEDIA_PLAYLIST = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:1
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-PROGRAM-DATE-TIME:2026-11-29T12:00:00.000+00:00
#EXTINF:1.000000,
seg_000007.ts
#EXTINF:1.000000,
seg_000008.ts
"""


@dataclass
class Broadcast:
    """A started stream, and the broadcaster's S3 client built from its credentials."""

    body: dict[str, Any]
    s3: Any

    @property
    def id(self) -> str:
        return str(self.body["stream"]["id"])

    @property
    def prefix(self) -> str:
        return str(self.body["endpoint"]["S3"]["s3_bucket_path"])

    @property
    def bucket(self) -> str:
        return str(self.body["endpoint"]["S3"]["s3_bucket_name"])

    @property
    def playback_path(self) -> str:
        """``playback_url`` as a test client requests it (path and query)."""
        parts = urlsplit(self.body["stream"]["playback_url"])
        return f"{parts.path}?{parts.query}" if parts.query else parts.path

    @property
    def playlist_path(self) -> str:
        return f"/stream/{self.id}/playlist.m3u8"

    def upload(self, name: str, body: bytes | str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}/{name}", Body=data)


@pytest.fixture
def start(sts: Any, client_for: Any, user: Any) -> Any:
    def start_stream(owner: Any = None, **params: Any) -> Broadcast:
        response = client_for(owner or user).post(
            "/stream/start/", {"type": "hls", **params}, format="json"
        )
        assert response.status_code == 201, response.content
        body = response.json()
        return Broadcast(body=body, s3=broadcaster_s3(body))

    return start_stream


@pytest.fixture
def live(start: Any) -> Broadcast:
    broadcast: Broadcast = start(name="live one")
    for name in ("seg_000007.ts", "seg_000008.ts"):
        broadcast.upload(name, SEGMENT + name.encode())
    broadcast.upload("index.m3u8", MEDIA_PLAYLIST)
    return broadcast


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[str]:
    """A shared cache on the Redis at 127.0.0.1:6379, through Django's ``RedisCache``."""

    try:
        import redis  # noqa: PLC0415  (optional: without Redis the test is skipped)

        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping()
    except Exception as exc:  # ImportError, or the server is not there
        require_or_skip("redis", f"Redis is not reachable at 127.0.0.1:6379 ({exc!r})")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        **settings.CACHES,
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/7",
            "KEY_PREFIX": prefix,
        },
    }
    settings.BROADCAST_API_PLAYLIST_CACHE = "shared"
    yield "shared"
    # Only this test's keys: ``clear()`` would flush the database other runs share.
    client = redis.Redis(host="127.0.0.1", port=6379, db=7)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)

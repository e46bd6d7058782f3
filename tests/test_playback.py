"""Playback: ``playback_url`` and ``GET /stream/{id}/playlist.m3u8``, against moto over HTTP.

Streams are started through the API; their playlists and segments are uploaded with the
minted credentials (as a broadcaster does) into a bucket with no public access; the
playlist endpoint is read as the owner, staff, a token holder, an anonymous viewer of a
public stream and everyone else; every presigned URL is fetched over HTTP. S3 reads are
counted on the server's own client.
"""

from __future__ import annotations

import base64
import gzip
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import m3u8
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import caches
from rest_framework.test import APIClient

from broadcast_api.checks import check_settings
from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.playback import playlists
from broadcast_api.playback.checks import check_media_signer
from broadcast_api.playback.cloudfront import CloudFrontSigner
from broadcast_api.playback.signers import MediaSigner, S3PresignedUrlSigner, get_media_signer
from broadcast_api.playback.views import accepts_gzip
from broadcast_api.storage import ObjectNotFound, S3Storage, StoredObject, get_storage
from broadcast_api.viewing import playback_token, token_stream_id
from tests import test_cloudfront as cloudfront_tests
from tests.playback_fixtures import MEDIA_PLAYLIST, SEGMENT, Broadcast
from tests.racing import at_once
from tests.servers import free_port
from tests.test_playlist_rewrite import event_playlist

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_presigned_urls_kept() -> None:
    """Each test presigns afresh (conftest empties the default cache, where playlists go)."""
    playlists.presigned_urls.clear()


@pytest.fixture
def s3_reads() -> Iterator[list[str]]:
    """The keys the server's own S3 client GETs over the network, in order (presigning a
    GET makes no request, so it is not counted)."""
    seen: list[str] = []
    lock = threading.Lock()

    def count(request: Any, **kwargs: Any) -> None:
        path = urlsplit(request.url).path  # /<bucket>/<key>, path-style
        with lock:
            seen.append(path.split("/", 2)[2])

    events = get_storage().client.meta.events
    events.register("before-send.s3.GetObject", count)
    yield seen
    events.unregister("before-send.s3.GetObject", count)


@pytest.fixture
def recorded(live: Broadcast) -> Broadcast:
    """A playlist that no longer changes (``#EXT-X-ENDLIST``): fresh for 15 minutes, so a
    test of sharing does not depend on how fast this machine answers within half a
    second."""
    live.upload("index.m3u8", MEDIA_PLAYLIST + "#EXT-X-ENDLIST\n")
    return live


def media_uris(body: bytes) -> list[str]:
    return [str(segment.uri) for segment in m3u8.loads(body.decode()).segments]


# -- who may watch ------------------------------------------------------------------------


def test_owner_gets_the_playlist_with_presigned_segments(
    live: Broadcast, client_for: Any, user: Any
) -> None:
    response = client_for(user).get(live.playlist_path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response["Cache-Control"] == "private, max-age=0"  # live: half of 1 s, floored
    text = response.content.decode()
    assert "#EXT-X-MEDIA-SEQUENCE:7" in text
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T12:00:00" in text
    uris = media_uris(response.content)
    assert len(uris) == 2
    for uri, name in zip(uris, ("seg_000007.ts", "seg_000008.ts"), strict=True):
        parts = urlsplit(uri)
        assert parts.path.endswith(f"/{live.prefix}/{name}")
        assert "X-Amz-Signature" in parse_qs(parts.query)
        fetched = requests.get(uri, timeout=10)
        assert fetched.status_code == 200
        assert fetched.content == SEGMENT + name.encode()


def test_the_bucket_itself_is_not_readable_anonymously(live: Broadcast, sts: Any) -> None:
    """The presigned URLs are what opens the segments: the bucket has no public access."""
    plain = f"{sts.endpoint_url}/{live.bucket}/{live.prefix}/seg_000007.ts"
    assert requests.get(plain, timeout=10).status_code == 403


def test_a_token_holder_watches_without_logging_in(live: Broadcast, api: APIClient) -> None:
    assert "token=" in live.playback_path
    response = api.get(live.playback_path)
    assert response.status_code == 200, response.content
    assert len(media_uris(response.content)) == 2


@pytest.mark.parametrize("who", ["anonymous", "another user", "another stream's token"])
def test_others_get_404(
    live: Broadcast, start: Any, who: str, client_for: Any, other_user: Any
) -> None:
    path = live.playlist_path
    client = client_for(None)
    if who == "another user":
        client = client_for(other_user)
    elif who == "another stream's token":
        other = start(owner=other_user)
        path += "?token=" + parse_qs(urlsplit(other.playback_path).query)["token"][0]
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_staff_watch_anyones(live: Broadcast, client_for: Any, staff_user: Any) -> None:
    assert client_for(staff_user).get(live.playlist_path).status_code == 200


def test_anyone_watches_a_public_stream(start: Any, api: APIClient) -> None:
    broadcast = start(is_public=True)
    broadcast.upload("seg_000007.ts", SEGMENT)
    broadcast.upload("seg_000008.ts", SEGMENT)
    broadcast.upload("index.m3u8", MEDIA_PLAYLIST)
    assert "token=" not in broadcast.body["stream"]["playback_url"]
    response = api.get(broadcast.playback_path)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"].startswith("public,")


def test_an_expired_token_is_refused(start: Any, api: APIClient, settings: Any) -> None:
    settings.BROADCAST_API_PLAYBACK_TOKEN_TTL = 2
    broadcast = start(is_public=False)
    broadcast.upload("index.m3u8", MEDIA_PLAYLIST + "#EXT-X-ENDLIST\n")
    assert api.get(broadcast.playback_path).status_code == 200  # cached from here on
    time.sleep(3.1)
    assert api.get(broadcast.playback_path).status_code == 404
    fresh = start()  # a new token for the same rules works again
    fresh.upload("index.m3u8", MEDIA_PLAYLIST + "#EXT-X-ENDLIST\n")
    assert api.get(fresh.playback_path).status_code == 200


def test_a_token_opens_the_stream_however_its_id_is_spelled(
    live: Broadcast, api: APIClient
) -> None:
    """The token names a stream, not a spelling of its id in the path."""
    live.upload("index.m3u8", MEDIA_PLAYLIST)
    token = parse_qs(urlsplit(live.playback_path).query)["token"][0]
    for spelling in (live.id.upper(), uuid.UUID(live.id).hex):
        path = live.playlist_path.replace(live.id, spelling)
        assert api.get(path, {"token": token}).status_code == 200, spelling


def test_a_forged_or_garbled_token_is_refused(live: Broadcast, api: APIClient) -> None:
    token = parse_qs(urlsplit(live.playback_path).query)["token"][0]
    stream_hex = uuid.UUID(live.id).hex
    forged_expiry = token.replace(token.split(".")[1].split(":")[0], "9999999999")
    for bad in (token[:-2] + "xx", "nonsense", f"{stream_hex}.9999999999:abc", forged_expiry):
        assert api.get(f"{live.playlist_path}?token={bad}").status_code == 404


def test_unknown_stream_and_bad_rendition_are_404(
    live: Broadcast, client_for: Any, user: Any
) -> None:
    client = client_for(user)
    assert client.get(f"/stream/{uuid.uuid4()}/playlist.m3u8").status_code == 404
    assert client.get("/stream/not-a-uuid/playlist.m3u8").status_code == 404
    for rendition in ("../other/index.m3u8", "/etc/index.m3u8", "index.ts", "a//b.m3u8"):
        response = client.get(live.playlist_path, {"rendition": rendition})
        assert response.status_code == 404, rendition


# -- what the playlist says -----------------------------------------------------------------


def test_not_uploaded_yet_is_its_own_404(start: Any, client_for: Any, user: Any) -> None:
    broadcast = start()
    response = client_for(user).get(broadcast.playlist_path)
    assert response.status_code == 404
    assert response.json()["code"] == "playlist_not_ready"


def test_uris_outside_the_prefix_are_never_presigned(
    start: Any, client_for: Any, user: Any, other_user: Any
) -> None:
    broadcast, other = start(), start(owner=other_user)
    other.upload("secret.ts", b"other stream's segment")
    playlist = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:1\n"
        f"#EXTINF:1,\n../{other.id}/secret.ts\n"
        "#EXTINF:1,\nhttps://cdn.example.com/elsewhere.ts\n"
        "#EXTINF:1,\nmine.ts\n"
    )
    broadcast.upload("mine.ts", SEGMENT)
    broadcast.upload("index.m3u8", playlist)
    uris = media_uris(client_for(user).get(broadcast.playlist_path).content)
    assert uris[0] == f"../{other.id}/secret.ts"  # left as written, never signed
    assert uris[1] == "https://cdn.example.com/elsewhere.ts"
    assert "X-Amz-Signature" in uris[2]


def test_master_playlist_points_its_variants_back_here(
    start: Any, client_for: Any, user: Any, api: APIClient
) -> None:
    broadcast = start()
    broadcast.upload(
        "index.m3u8",
        "#EXTM3U\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720\n720p/index.m3u8\n",
    )
    broadcast.upload(
        "720p/index.m3u8",
        '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init.mp4"\n'
        "#EXTINF:2,\nseg1.m4s\n#EXTINF:2,\nseg2.m4s\n",
    )
    broadcast.upload("720p/init.mp4", b"init")
    broadcast.upload("720p/seg1.m4s", b"one")
    broadcast.upload("720p/seg2.m4s", b"two")
    master = m3u8.loads(client_for(user).get(broadcast.playlist_path).content.decode())
    variants = [str(variant.uri) for variant in master.playlists]
    assert [parse_qs(urlsplit(uri).query)["rendition"] for uri in variants] == [
        ["360p/index.m3u8"],
        ["720p/index.m3u8"],
    ]
    assert all(uri.startswith(broadcast.playlist_path + "?") for uri in variants)
    # A player follows the variant URI anonymously: its token names this stream.
    response = api.get(variants[1])
    assert response.status_code == 200, response.content
    variant = m3u8.loads(response.content.decode())
    init_uris = {str(s.init_section.uri) for s in variant.segments if s.init_section}
    assert len(init_uris) == 1  # one signature for the shared init section
    assert requests.get(init_uris.pop(), timeout=10).content == b"init"
    assert [requests.get(str(s.uri), timeout=10).content for s in variant.segments] == [
        b"one",
        b"two",
    ]
    assert api.get(variants[0]).json()["code"] == "playlist_not_ready"


def test_a_recording_is_cached_longer(live: Broadcast, client_for: Any, user: Any) -> None:
    live.upload("index.m3u8", MEDIA_PLAYLIST + "#EXT-X-ENDLIST\n")
    response = client_for(user).get(live.playlist_path)
    assert response.status_code == 200
    scope, max_age = response["Cache-Control"].split(", max-age=")
    assert scope == "private"
    assert 890 <= int(max_age) <= 900  # a quarter of the URLs' 3600 s, less what has passed
    assert response.content.decode().rstrip().endswith("#EXT-X-ENDLIST")


# -- many viewers, few S3 reads -----------------------------------------------------------


def test_viewers_share_one_read_while_it_is_fresh(
    recorded: Broadcast, api: APIClient, s3_reads: list[str]
) -> None:
    bodies = {api.get(recorded.playback_path).content for _ in range(20)}
    assert len(bodies) == 1
    assert s3_reads == [f"{recorded.prefix}/index.m3u8"]


def test_an_unchanged_playlist_is_not_rewritten_again(
    live: Broadcast, api: APIClient, s3_reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rewrites: list[str] = []
    original = playlists.rewrite

    def counted(text: str, **kwargs: Any) -> Any:
        rewrites.append(kwargs["playlist_key"])
        return original(text, **kwargs)

    monkeypatch.setattr(playlists, "rewrite", counted)
    first = api.get(live.playback_path).content
    time.sleep(0.6)  # past half a target duration
    second = api.get(live.playback_path).content
    assert len(s3_reads) == 2  # a conditional GET: 304, the same rewrite is kept
    assert len(rewrites) == 1
    assert second == first


def test_presigned_urls_are_reused_between_refreshes(
    live: Broadcast, api: APIClient, s3_reads: list[str]
) -> None:
    first = media_uris(api.get(live.playback_path).content)
    live.upload("seg_000009.ts", SEGMENT)
    live.upload("index.m3u8", MEDIA_PLAYLIST + "#EXTINF:1.000000,\nseg_000009.ts\n")
    time.sleep(0.6)
    second = media_uris(api.get(live.playback_path).content)
    assert len(s3_reads) == 2
    assert second[:2] == first  # the same URLs for the segments both playlists list
    assert len(second) == 3


@pytest.mark.django_db(transaction=True)
def test_one_refresh_in_flight_per_stream(recorded: Broadcast, s3_reads: list[str]) -> None:
    statuses = at_once(16, lambda _: APIClient().get(recorded.playback_path).status_code)
    assert statuses == [200] * 16
    assert s3_reads == [f"{recorded.prefix}/index.m3u8"]


@pytest.mark.django_db(transaction=True)
def test_servers_sharing_redis_share_one_refresh(
    redis_cache: str, recorded: Broadcast, s3_reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each thread plays a server of its own (no shared thread lock): only the cache's
    lock, in Redis, stands between them and S3."""
    monkeypatch.setattr(playlists, "_thread_lock", lambda key: threading.Lock())

    def watch(_: int) -> bytes:
        response = APIClient().get(recorded.playback_path)
        assert response.status_code == 200
        return bytes(response.content)

    bodies = at_once(12, watch)
    assert len(set(bodies)) == 1
    assert s3_reads == [f"{recorded.prefix}/index.m3u8"]
    assert caches[redis_cache].get(playlists.cache_key(uuid.UUID(recorded.id), "")) is not None


# -- when S3 fails ------------------------------------------------------------------------


def test_s3_down_serves_the_stale_copy_then_503(
    live: Broadcast, api: APIClient, settings: Any
) -> None:

    cached = api.get(live.playback_path)
    assert cached.status_code == 200
    settings.BROADCAST_API_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    time.sleep(0.6)  # no longer fresh: the refresh fails, the stale copy is still usable
    stale = api.get(live.playback_path)
    assert stale.status_code == 200
    assert stale.content == cached.content
    caches["default"].clear()  # nothing cached left
    down = api.get(live.playback_path)
    assert down.status_code == 503
    assert down.json()["code"] == "storage_unavailable"
    assert down.json()["reason"] == "s3_unreachable"
    assert down["Retry-After"] == "5"


# -- playback_url -------------------------------------------------------------------------


def test_playback_url_in_start_stop_list_and_retrieve(
    live: Broadcast, client_for: Any, user: Any
) -> None:
    client = client_for(user)
    url = f"http://testserver{live.playlist_path}?token="
    assert live.body["stream"]["playback_url"].startswith(url)
    assert client.get(f"/stream/{live.id}/").json()["playback_url"].startswith(url)
    assert client.get("/stream/").json()["results"][0]["playback_url"].startswith(url)
    stopped = client.post("/stream/stop/", {"id": live.id}).json()
    assert stopped["stream"]["playback_url"].startswith(url)


def test_public_mode_playback_url_is_the_cdn(
    sts: Any, client_for: Any, user: Any, settings: Any
) -> None:
    settings.BROADCAST_API_PLAYBACK_BASE_URL = "https://cdn.example.com/live/"
    body = client_for(user).post("/stream/start/", {"type": "hls"}, format="json").json()
    prefix = body["endpoint"]["S3"]["s3_bucket_path"]
    assert body["stream"]["playback_url"] == f"https://cdn.example.com/live/{prefix}/index.m3u8"


def test_a_recording_plays_after_stop(
    live: Broadcast, client_for: Any, user: Any, api: APIClient
) -> None:
    client = client_for(user)
    live.upload("index.m3u8", MEDIA_PLAYLIST + "#EXT-X-ENDLIST\n")
    assert client.post("/stream/stop/", {"id": live.id}).status_code == 200
    response = api.get(live.playback_path)
    assert response.status_code == 200
    assert [requests.get(uri, timeout=10).status_code for uri in media_uris(response.content)] == [
        200,
        200,
    ]


def test_tokens_name_their_stream() -> None:

    stream_id = uuid.uuid4()
    assert token_stream_id(playback_token(stream_id)) == stream_id
    assert token_stream_id(None) is None
    assert token_stream_id("") is None


def test_storage_failures_become_reasons(sts: Any) -> None:
    """What S3 says (a missing bucket, a missing key, no answer) is a reason, not a leak."""

    storage = get_storage()
    with pytest.raises(StorageUnavailable) as failed:
        storage.write("no-such-bucket", "x/index.m3u8", b"#EXTM3U\n", content_type="text/plain")
    assert failed.value.reason == "s3_no_such_bucket"
    with pytest.raises(ObjectNotFound):
        storage.read("broadcast-test", "no/such/key.m3u8")
    assert storage.last_modified("broadcast-test", "no/such/key.m3u8") is None
    storage.write("broadcast-test", "x/index.m3u8", b"#EXTM3U\n", content_type="text/plain")
    assert storage.last_modified("broadcast-test", "x/index.m3u8") is not None
    with pytest.raises(StorageUnavailable) as missing_bucket:
        storage.read("no-such-bucket", "x")
    assert missing_bucket.value.reason == "s3_no_such_bucket"  # configuration, not "not ready"


# -- extension points: the media signer and the storage ------------------------------------


class CdnSigner(MediaSigner):
    """What a CDN signer looks like (issue 15 brings a CloudFront one)."""

    signed: ClassVar[list[tuple[str, str, int]]] = []

    def url_lifetime(self) -> int:
        return 600

    def sign(self, key: str, *, bucket: str, expires_in: int) -> str:
        self.signed.append((bucket, key, expires_in))
        return f"https://cdn.example.com/{key}?expires_in={expires_in}"


def test_the_media_signer_chosen_by_the_setting_signs_the_served_playlist(
    live: Broadcast, api: APIClient, settings: Any
) -> None:
    settings.BROADCAST_API_MEDIA_SIGNER = "tests.test_playback.CdnSigner"
    CdnSigner.signed.clear()
    before = time.time()
    uris = media_uris(api.get(live.playback_path).content)
    assert uris == [
        f"https://cdn.example.com/{live.prefix}/seg_00000{n}.ts?expires_in=600" for n in (7, 8)
    ]
    assert CdnSigner.signed == [
        (live.bucket, f"{live.prefix}/seg_00000{n}.ts", 600) for n in (7, 8)
    ]
    assert isinstance(get_media_signer(), CdnSigner)
    entry = playlists.PlaylistCache().get(uuid.UUID(live.id))
    assert entry is not None
    # Served no longer than half the signer's lifetime (not PLAYBACK_URL_TTL's hour).
    assert before + 300 - 5 <= entry.usable_until <= time.time() + 300


def test_cloudfront_urls_are_identical_for_two_viewers_on_two_servers(
    live: Broadcast, api: APIClient, client_for: Any, user: Any, settings: Any
) -> None:
    """The served playlist, CloudFront-signed: every media URI verifies with the public
    key, and two viewers served by two servers (nothing cached or reused between them,
    a minute apart within one expiry step) get byte-identical playlists."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.BROADCAST_API_MEDIA_SIGNER = "broadcast_api.playback.cloudfront.CloudFrontSigner"
    settings.BROADCAST_API_CLOUDFRONT_DOMAIN = cloudfront_tests.DOMAIN
    settings.BROADCAST_API_CLOUDFRONT_KEY_PAIR_ID = cloudfront_tests.KEY_ID
    settings.BROADCAST_API_CLOUDFRONT_PRIVATE_KEY = cloudfront_tests.pem(key)
    clock = [1_800_000_010.0]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CloudFrontSigner, "now", lambda self: clock[0])
        anonymous = api.get(live.playback_path)  # a viewer with the playback token
        caches["default"].clear()  # the second server: its own cache...
        playlists.presigned_urls.clear()  # ...and its own reused URLs
        clock[0] += 60
        owner = client_for(user).get(live.playlist_path)
    assert anonymous.status_code == owner.status_code == 200
    assert anonymous.content == owner.content
    uris = media_uris(owner.content)
    assert len(uris) == 2
    for n, uri in zip((7, 8), uris, strict=True):
        assert uri.startswith(f"https://{cloudfront_tests.DOMAIN}/{live.prefix}/seg_00000{n}.ts?")
        cloudfront_tests.verify(uri, key.public_key())


def test_the_default_signer_presigns_with_s3(live: Broadcast, api: APIClient) -> None:
    assert type(get_media_signer()) is S3PresignedUrlSigner
    [first, _] = media_uris(api.get(live.playback_path).content)
    assert "X-Amz-Signature=" in first
    assert requests.get(first, timeout=10).content == SEGMENT + b"seg_000007.ts"


class CountingStorage(S3Storage):
    reads: ClassVar[list[str]] = []

    def read(self, bucket: str, key: str, *, if_none_match: str = "") -> StoredObject:
        self.reads.append(key)
        return super().read(bucket, key, if_none_match=if_none_match)


def test_the_storage_chosen_by_the_setting_is_shared_and_used(
    live: Broadcast, api: APIClient, settings: Any
) -> None:
    settings.BROADCAST_API_STORAGE = "tests.test_playback.CountingStorage"
    CountingStorage.reads.clear()
    assert get_storage() is get_storage()
    assert type(get_storage()) is CountingStorage
    assert api.get(live.playback_path).status_code == 200
    assert CountingStorage.reads == [f"{live.prefix}/index.m3u8"]


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("MEDIA_SIGNER", "tests.test_playback.NoSuchSigner", "broadcast_api.E019"),
        ("MEDIA_SIGNER", "tests.test_playback.CountingStorage", "broadcast_api.E019"),
        ("STORAGE", "tests.test_playback.CdnSigner", "broadcast_api.E020"),
        ("STORAGE", 42, "broadcast_api.E020"),
    ],
)
def test_a_signer_or_storage_that_is_not_one_is_an_error(
    settings: Any, name: str, value: Any, check_id: str
) -> None:
    setattr(settings, f"BROADCAST_API_{name}", value)
    found = [m for m in [*check_settings(None), *check_media_signer(None)] if m.id == check_id]
    assert len(found) == 1
    assert found[0].is_serious()


# -- gzip ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("gzip;q=0", False),
        ("*;q=0.5, gzip;q=0", False),
        ("deflate, br", False),
        ("gzip;q=bogus", False),
    ],
)
def test_accept_encoding_is_read_as_rfc_9110_says(header: str, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


def test_the_playlist_is_gzipped_once_per_refresh_for_clients_that_accept_it(
    live: Broadcast, api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compressions: list[int] = []
    real_gzip_once = playlists.gzip_once

    def counting(body: bytes) -> bytes | None:
        compressions.append(len(body))
        return real_gzip_once(body)

    monkeypatch.setattr(playlists, "gzip_once", counting)
    plain = api.get(live.playback_path)
    encoded = [api.get(live.playback_path, HTTP_ACCEPT_ENCODING="gzip, br") for _ in range(5)]
    assert compressions == [len(plain.content)]  # one refresh, one compression
    assert "Content-Encoding" not in plain
    for response in encoded:
        assert response["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.content) == plain.content
        assert len(response.content) < len(plain.content)
    for response in (plain, *encoded):
        assert "Accept-Encoding" in response["Vary"]


def test_with_gzip_middleware_nothing_is_encoded_twice(
    live: Broadcast, api: APIClient, settings: Any
) -> None:
    settings.MIDDLEWARE = ["django.middleware.gzip.GZipMiddleware", *settings.MIDDLEWARE]
    plain = api.get(live.playback_path, HTTP_ACCEPT_ENCODING="identity")
    encoded = api.get(live.playback_path, HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in plain
    assert encoded["Content-Encoding"] == "gzip"
    assert gzip.decompress(encoded.content) == plain.content  # one layer, not two
    assert encoded["Vary"].count("Accept-Encoding") == 1


# -- the live window ---------------------------------------------------------------------------


def test_a_two_hour_broadcast_polls_like_a_one_minute_one(
    start: Any, api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live window: a 2-hour EVENT playlist is served as its newest 120 s, so a poll
    costs no more than twice the bytes of a 1-minute broadcast's (gzip-encoded both),
    and its refresh no more than twice the work: the text the m3u8 library parses and
    the URLs signed, counted rather than timed (``make bench`` times it). ``?window=all``
    still gives every segment, and so does the recording after the end."""
    long, short = start(name="two hours"), start(name="one minute")
    long.upload("index.m3u8", event_playlist(7200))
    short.upload("index.m3u8", event_playlist(60))
    work: dict[str, list[int]] = {"parsed": [], "signed": []}
    parse, sign = m3u8.loads, S3PresignedUrlSigner.sign

    def parse_spy(content: str, *args: Any, **kwargs: Any) -> Any:
        work["parsed"].append(len(content))
        return parse(content, *args, **kwargs)

    def sign_spy(self: S3PresignedUrlSigner, key: str, **kwargs: Any) -> str:
        work["signed"].append(1)
        return sign(self, key, **kwargs)

    monkeypatch.setattr(m3u8, "loads", parse_spy)  # the module playlists parses with
    monkeypatch.setattr(S3PresignedUrlSigner, "sign", sign_spy)

    def poll(broadcast: Broadcast, **query: str) -> Any:
        path = broadcast.playback_path + "".join(f"&{k}={v}" for k, v in query.items())
        response = api.get(path, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200, response.content
        assert response["Content-Encoding"] == "gzip"
        return response

    def refresh_work(broadcast: Broadcast) -> tuple[int, int]:
        for counts in work.values():
            counts.clear()
        poll(broadcast)
        return sum(work["parsed"]), len(work["signed"])

    (long_parsed, long_signed), (short_parsed, short_signed) = (
        refresh_work(long),
        refresh_work(short),
    )
    assert (long_signed, short_signed) == (120 + 1, 60 + 1)  # the segments and the MAP
    assert 0 < long_parsed <= 2.5 * short_parsed  # the 2-hour text is 100 times the 1-minute's
    caches["default"].clear()
    long_poll, short_poll = poll(long), poll(short)
    assert len(long_poll.content) <= 2 * len(short_poll.content)
    served = m3u8.loads(gzip.decompress(long_poll.content).decode())
    assert served.media_sequence == 7080
    assert len(served.segments) == 120
    assert str(served.segments[-1].uri).split("?")[0].endswith("/seg_007199.m4s")  # newest last
    whole = m3u8.loads(gzip.decompress(poll(long, window="all").content).decode())
    assert len(whole.segments) == 7200
    assert whole.playlist_type == "event"

    long.upload("index.m3u8", event_playlist(7200, ended=True))
    caches["default"].clear()  # past the live entry's half-second freshness
    recording = m3u8.loads(gzip.decompress(poll(long).content).decode())
    assert len(recording.segments) == 7200
    assert recording.is_endlist


def test_a_whole_playlist_refresh_rewrites_only_what_was_appended(
    start: Any, api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``?window=all`` (DVR) of a 2-hour EVENT playlist: once rewritten, a refresh signs
    the appended segment only, and serves what a full rewrite would, up to the end."""
    playlists.PlaylistCache.appended_rewrites.clear()
    broadcast = start(name="dvr")
    broadcast.upload("index.m3u8", event_playlist(7200))
    path = broadcast.playback_path + "&window=all"

    def poll() -> m3u8.M3U8:
        response = api.get(path, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200, response.content
        return m3u8.loads(gzip.decompress(response.content).decode())

    assert len(poll().segments) == 7200
    signed: list[str] = []
    original = S3PresignedUrlSigner.sign

    def spy(self: S3PresignedUrlSigner, key: str, *, bucket: str, expires_in: int) -> str:
        signed.append(key)
        return original(self, key, bucket=bucket, expires_in=expires_in)

    monkeypatch.setattr(S3PresignedUrlSigner, "sign", spy)
    full_rewrites: list[str] = []
    whole_rewrite = playlists.rewrite

    def rewrite_spy(text: str, **kwargs: Any) -> playlists.Rewritten:
        full_rewrites.append(kwargs["playlist_key"])
        return whole_rewrite(text, **kwargs)

    monkeypatch.setattr(playlists, "rewrite", rewrite_spy)
    broadcast.upload("index.m3u8", event_playlist(7201))
    time.sleep(0.6)  # past the entry's half-second freshness; the entry itself stays
    grown = poll()
    assert len(grown.segments) == 7201
    assert str(grown.segments[-1].uri).split("?")[0].endswith("/seg_007200.m4s")
    assert [key.rsplit("/", 1)[1] for key in signed] == ["seg_007200.m4s"]
    assert full_rewrites == []  # nothing was parsed whole
    broadcast.upload("index.m3u8", event_playlist(7201, ended=True))
    time.sleep(0.6)
    recording = poll()
    assert recording.is_endlist
    assert len(recording.segments) == 7201
    assert full_rewrites == []


def test_a_master_asked_for_whole_passes_window_all_to_its_renditions(
    start: Any, api: APIClient
) -> None:
    broadcast = start(name="ladder")
    broadcast.upload(
        "index.m3u8",
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n720p/index.m3u8\n",
    )
    [live_variant] = m3u8.loads(api.get(broadcast.playback_path).content.decode()).playlists
    [whole_variant] = m3u8.loads(
        api.get(broadcast.playback_path + "&window=all").content.decode()
    ).playlists
    assert "window=all" not in str(live_variant.uri)
    assert parse_qs(urlsplit(str(whole_variant.uri)).query)["window"] == ["all"]


def test_live_window_none_serves_every_segment(start: Any, api: APIClient, settings: Any) -> None:
    settings.BROADCAST_API_LIVE_WINDOW = None
    broadcast = start(name="no window")
    broadcast.upload("index.m3u8", event_playlist(600))
    served = m3u8.loads(api.get(broadcast.playback_path).content.decode())
    assert len(served.segments) == 600
    assert served.playlist_type == "event"


def test_a_token_viewer_needs_no_authentication_and_a_bad_login_without_one_is_401(
    live: Broadcast, api: APIClient
) -> None:
    """Authentication is lazy on the playlist: a playback token admits without looking at
    the user (so a stale Authorization header a player carries along does not matter),
    while a request that needs the user still fails authentication (403 here: the first
    authenticator, SessionAuthentication, sends no WWW-Authenticate, as DRF decides)."""
    bogus = "Basic " + base64.b64encode(b"alice:wrong").decode()
    assert api.get(live.playback_path, HTTP_AUTHORIZATION=bogus).status_code == 200
    response = api.get(live.playlist_path, HTTP_AUTHORIZATION=bogus)
    assert response.status_code == 403
    assert response.json()["code"] == "authentication_failed"

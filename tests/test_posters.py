"""The poster: announced by the broadcaster, recorded once, shown as ``thumbnail_url``.

Streams are started through the API and their posters uploaded with the minted
credentials into moto over HTTP, as a broadcaster does; every signed URL is fetched
over HTTP. (A real publisher's JPEG, decoded, is in ``test_e2e_publish.py``; the
CloudFront-signed poster in ``test_cloudfront.py``.)
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from broadcast_api.api import prepare_stop_hls_stream_response
from broadcast_api.models import get_stream_model
from broadcast_api.storage import S3Storage
from broadcast_api.webhooks.outbox import event_body
from tests.playback_fixtures import Broadcast
from tests.servers import free_port
from tests.test_failures import assert_unavailable, fail_statements

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoints_cached")]

# Enough of a JPEG for S3 (the real publisher's, decoded, is the e2e test's).
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64) + b"\xff\xd9"


def row(broadcast: Broadcast) -> Any:
    return get_stream_model()._default_manager.get(pk=broadcast.id)


@pytest.fixture
def heads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys the server HEADs."""
    seen: list[str] = []
    original = S3Storage.last_modified

    def spy(self: S3Storage, bucket: str, key: str) -> Any:
        seen.append(key)
        return original(self, bucket, key)

    monkeypatch.setattr(S3Storage, "last_modified", spy)
    return seen


def assert_serves_the_poster(url: str, broadcast: Broadcast) -> None:
    assert urlsplit(url).path.endswith(f"/{broadcast.prefix}/poster.jpg")
    assert "X-Amz-Signature=" in url
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == JPEG


# -- the announce -------------------------------------------------------------------------


def test_thumbnail_url_is_null_until_the_announced_poster_is_seen(
    start: Any,
    client_for: Any,
    user: Any,
    heads: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    broadcast: Broadcast = start(name="poster")
    client = client_for(user)
    assert broadcast.body["stream"]["thumbnail_url"] is None
    assert client.get(f"/stream/{broadcast.id}/").json()["thumbnail_url"] is None

    early = client.post(f"/stream/{broadcast.id}/poster/")
    assert early.status_code == 409
    assert early.json() == {
        "code": "poster_not_uploaded",
        "detail": "No poster has been uploaded under the stream's prefix yet.",
    }
    assert row(broadcast).poster_uploaded_at is None

    broadcast.upload("poster.jpg", JPEG)
    announced = client.post(f"/stream/{broadcast.id}/poster/")
    assert announced.status_code == 200
    body = announced.json()
    assert body["id"] == broadcast.id
    assert body["status"] == "live"
    assert_serves_the_poster(body["thumbnail_url"], broadcast)
    recorded_at = row(broadcast).poster_uploaded_at
    assert recorded_at is not None
    assert heads == [f"{broadcast.prefix}/poster.jpg"] * 2

    # Idempotent: the first time stays, and a recorded poster costs no S3 request.
    again = client.post(f"/stream/{broadcast.id}/poster/")
    assert again.status_code == 200
    assert again.json()["thumbnail_url"]
    assert row(broadcast).poster_uploaded_at == recorded_at
    assert len(heads) == 2

    # Every representation the owner gets carries it, through the stop and after.
    assert_serves_the_poster(
        client.get(f"/stream/{broadcast.id}/").json()["thumbnail_url"], broadcast
    )
    listed = client.get("/stream/").json()["results"]
    assert_serves_the_poster(listed[0]["thumbnail_url"], broadcast)
    refreshed = client.post(f"/stream/{broadcast.id}/credentials/").json()
    assert_serves_the_poster(refreshed["stream"]["thumbnail_url"], broadcast)
    patched = client.patch(f"/stream/{broadcast.id}/", {"title": "t"}, format="json").json()
    assert_serves_the_poster(patched["thumbnail_url"], broadcast)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stopped = client.post("/stream/stop/", {"id": broadcast.id}).json()["stream"]
    assert callbacks  # the stop's look ran, and found the poster recorded already
    assert_serves_the_poster(stopped["thumbnail_url"], broadcast)
    assert len(heads) == 2  # the stop's own look was not needed
    ended = client.get(f"/stream/{broadcast.id}/").json()
    assert ended["status"] == "ended"
    assert_serves_the_poster(ended["thumbnail_url"], broadcast)


def test_an_ended_stream_takes_a_late_announce(start: Any, client_for: Any, user: Any) -> None:
    broadcast: Broadcast = start()
    client = client_for(user)
    assert (
        client.post("/stream/stop/", {"id": broadcast.id}).json()["stream"]["thumbnail_url"]
        is None
    )
    broadcast.upload("poster.jpg", JPEG)  # still within the credentials' lifetime
    late = client.post(f"/stream/{broadcast.id}/poster/")
    assert late.status_code == 200
    assert late.json()["status"] == "ended"
    assert_serves_the_poster(late.json()["thumbnail_url"], broadcast)


def test_someone_elses_stream_is_404_and_anonymous_is_refused(
    start: Any, client_for: Any, other_user: Any, staff_user: Any, api: Any
) -> None:
    broadcast: Broadcast = start()
    broadcast.upload("poster.jpg", JPEG)
    for caller in (other_user, staff_user):  # staff may stop it, but not announce for it
        response = client_for(caller).post(f"/stream/{broadcast.id}/poster/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert api.post(f"/stream/{broadcast.id}/poster/").status_code in (401, 403)
    assert client_for(other_user).post("/stream/not-a-uuid/poster/").status_code == 404
    assert row(broadcast).poster_uploaded_at is None


def test_s3_down_is_503_and_records_nothing(
    start: Any, client_for: Any, user: Any, settings: Any
) -> None:
    broadcast: Broadcast = start()
    broadcast.upload("poster.jpg", JPEG)
    settings.BROADCAST_API_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    response = client_for(user).post(f"/stream/{broadcast.id}/poster/")
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert response.json()["reason"] == "s3_unreachable"
    assert response["Retry-After"] == "5"
    assert row(broadcast).poster_uploaded_at is None


@pytest.mark.django_db(transaction=True)
def test_a_failing_update_is_503_and_the_retry_records_it(
    start: Any, client_for: Any, user: Any
) -> None:
    broadcast: Broadcast = start()
    broadcast.upload("poster.jpg", JPEG)
    client = client_for(user)
    failing = fail_statements(lambda sql: sql.lstrip().upper().startswith("UPDATE"), "gone")
    with connection.execute_wrapper(failing):
        response = client.post(f"/stream/{broadcast.id}/poster/")
    assert_unavailable(response, "database_unavailable", "db_error")
    assert row(broadcast).poster_uploaded_at is None
    assert client.post(f"/stream/{broadcast.id}/poster/").json()["thumbnail_url"]
    assert row(broadcast).poster_uploaded_at is not None


def test_only_those_who_may_watch_get_a_representation_with_it(
    start: Any, client_for: Any, user: Any, other_user: Any, staff_user: Any
) -> None:
    """The owner and staff (who may watch any stream) get the private stream's poster
    URL; anyone else never gets its representation at all."""
    broadcast: Broadcast = start()
    broadcast.upload("poster.jpg", JPEG)
    assert client_for(user).post(f"/stream/{broadcast.id}/poster/").status_code == 200
    assert client_for(other_user).get(f"/stream/{broadcast.id}/").status_code == 404
    assert client_for(other_user).get("/stream/").json()["results"] == []
    assert client_for(staff_user).get("/stream/").json()["results"] == []  # their own only
    staff_view = client_for(staff_user).get(f"/stream/{broadcast.id}/").json()
    assert_serves_the_poster(staff_view["thumbnail_url"], broadcast)


# -- the stop's own look ------------------------------------------------------------------
# Real transactions: the look runs after the stop commits, as it does in production,
# where it is over before the stop's response is written.


@pytest.mark.django_db(transaction=True)
def test_the_stop_records_a_poster_nobody_announced(
    start: Any, client_for: Any, user: Any, heads: list[str]
) -> None:
    broadcast: Broadcast = start()
    broadcast.upload("poster.jpg", JPEG)
    client = client_for(user)
    stopped = client.post("/stream/stop/", {"id": broadcast.id})
    assert stopped.status_code == 200
    assert heads == [f"{broadcast.prefix}/poster.jpg"]
    assert row(broadcast).poster_uploaded_at is not None
    assert_serves_the_poster(stopped.json()["stream"]["thumbnail_url"], broadcast)
    # A second stop changes nothing and looks no more.
    assert client.post("/stream/stop/", {"id": broadcast.id}).status_code == 200
    assert len(heads) == 1


@pytest.mark.django_db(transaction=True)
def test_a_stop_without_a_poster_or_with_s3_down_still_stops(
    start: Any, client_for: Any, user: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(user)
    bare: Broadcast = start()
    stopped = client.post("/stream/stop/", {"id": bare.id})
    assert stopped.status_code == 200
    assert stopped.json()["stream"]["thumbnail_url"] is None
    assert row(bare).poster_uploaded_at is None

    down: Broadcast = start()
    down.upload("poster.jpg", JPEG)
    settings.BROADCAST_API_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING, logger="broadcast_api"):
        stopped = client.post("/stream/stop/", {"id": down.id})
    assert stopped.status_code == 200
    assert stopped.json()["stream"]["stop_date"]
    assert stopped.json()["stream"]["thumbnail_url"] is None
    assert row(down).status == "ended"
    assert row(down).poster_uploaded_at is None
    assert f"stream {down.id}: poster not looked for (s3_unreachable)" in caplog.messages


# -- who gets the URL, and what it costs --------------------------------------------------


def test_a_private_poster_url_goes_only_with_a_request(
    start: Any, client_for: Any, user: Any
) -> None:
    """Without a request (webhook payloads, the function API) a private stream's poster
    URL is left out, as its ``playback_url`` carries no token; a public one's is not."""
    private: Broadcast = start()
    public: Broadcast = start(is_public=True)
    client = client_for(user)
    for broadcast in (private, public):
        broadcast.upload("poster.jpg", JPEG)
        assert client.post(f"/stream/{broadcast.id}/poster/").status_code == 200
    stream = row(private)
    assert prepare_stop_hls_stream_response({"stream": stream})["stream"]["thumbnail_url"] is None
    assert '"thumbnail_url":null' in event_body("stream.stopped", stream, stream.start_date)
    public_row = row(public)
    url = prepare_stop_hls_stream_response({"stream": public_row})["stream"]["thumbnail_url"]
    assert_serves_the_poster(url, public)
    assert f"/{public.prefix}/poster.jpg?" in event_body(
        "stream.stopped", public_row, public_row.start_date
    )


def test_public_mode_thumbnail_url_is_under_the_base_url(
    start: Any, client_for: Any, user: Any, settings: Any
) -> None:
    broadcast: Broadcast = start()
    broadcast.upload("poster.jpg", JPEG)
    client = client_for(user)
    assert client.post(f"/stream/{broadcast.id}/poster/").status_code == 200
    settings.BROADCAST_API_PLAYBACK_BASE_URL = "https://cdn.example.com/live/"
    expected = f"https://cdn.example.com/live/{broadcast.prefix}/poster.jpg"
    assert client.get(f"/stream/{broadcast.id}/").json()["thumbnail_url"] == expected
    stream = row(broadcast)
    assert prepare_stop_hls_stream_response({"stream": stream})["stream"]["thumbnail_url"] == (
        expected
    )


def test_a_list_page_costs_the_same_queries_with_posters_and_no_s3_request(
    start: Any, client_for: Any, user: Any, heads: list[str]
) -> None:
    client = client_for(user)
    first: Broadcast = start()
    client.get("/stream/")  # warm up
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/stream/").status_code == 200
    without = [query["sql"].split(" ", 1)[0] for query in queries.captured_queries]

    broadcasts = [first, *(start() for _ in range(4))]
    for broadcast in broadcasts:
        broadcast.upload("poster.jpg", JPEG)
        assert client.post(f"/stream/{broadcast.id}/poster/").status_code == 200
    heads.clear()
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/stream/")
    assert page.status_code == 200
    results = page.json()["results"]
    assert len(results) == 5
    assert all(result["thumbnail_url"] for result in results)
    assert [query["sql"].split(" ", 1)[0] for query in queries.captured_queries] == without
    assert heads == []


def test_a_signer_that_fails_leaves_the_thumbnail_out_not_the_list(
    start: Any, client_for: Any, user: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    broadcast: Broadcast = start()
    broadcast.upload("poster.jpg", JPEG)
    client = client_for(user)
    assert client.post(f"/stream/{broadcast.id}/poster/").status_code == 200
    # CloudFront without its key (check E022 says so first): sign() raises.
    settings.BROADCAST_API_MEDIA_SIGNER = "broadcast_api.playback.cloudfront.CloudFrontSigner"
    settings.BROADCAST_API_CLOUDFRONT_DOMAIN = "d111111abcdef8.cloudfront.net"
    settings.BROADCAST_API_CLOUDFRONT_KEY_PAIR_ID = "K2JCJMDEHXQW5F"
    with caplog.at_level(logging.WARNING, logger="broadcast_api"):
        response = client.get("/stream/")
    assert response.status_code == 200
    assert response.json()["results"][0]["thumbnail_url"] is None
    assert f"stream {broadcast.id}: poster URL not signed (cdn_signing_key)" in caplog.messages


def test_a_stream_being_deleted_shows_no_poster(
    start: Any, client_for: Any, user: Any, staff_user: Any
) -> None:
    """Staff still see a stream whose deletion stopped part way; its objects are going,
    so it has no poster URL to hand out."""
    broadcast: Broadcast = start()
    broadcast.upload("poster.jpg", JPEG)
    assert client_for(user).post(f"/stream/{broadcast.id}/poster/").status_code == 200
    staff = client_for(staff_user)
    assert staff.get(f"/stream/{broadcast.id}/").json()["thumbnail_url"]  # the control
    get_stream_model()._default_manager.filter(pk=broadcast.id).update(deleted_at=timezone.now())
    marked = staff.get(f"/stream/{broadcast.id}/").json()
    assert marked["deleted_at"]
    assert marked["thumbnail_url"] is None
    assert client_for(user).post(f"/stream/{broadcast.id}/poster/").status_code == 404

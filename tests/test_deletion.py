"""Deleting streams: DELETE, an S3 failure part way and the reaper finishing it,
retention, erasure of a deleted user's streams, the admin action, and
``stream.recording_ready``. S3 and STS are moto over HTTP; webhooks go to a real
receiver that verifies their signatures; the database is SQLite or PostgreSQL.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import include, path, reverse
from django.utils import timezone

from broadcast_api import hooks, lifecycle
from broadcast_api.lifecycle.deletion import delete_stream, mark_for_deletion
from broadcast_api.lifecycle.recordings import finalize_recording_of
from broadcast_api.models import Stream, get_stream_model
from broadcast_api.playback.playlists import PlaylistCache
from broadcast_api.storage import S3Storage, get_storage
from broadcast_api.webhooks.models import new_webhook_secret
from tests.racing import run_together
from tests.servers import broadcaster_s3
from tests.webhook_receiver import Receiver, running_receiver

# The admin action's tests need the admin mounted; the API is mounted as in tests/urls.py.
urlpatterns = [path("admin/", admin.site.urls), path("", include("broadcast_api.urls"))]

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_deletion")]

SECRET = new_webhook_secret()
PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg0.ts\n#EXTINF:2.0,\nseg1.ts\n"
FILES = ["seg0.ts", "seg1.ts", "seg2.ts", "poster.jpg", "index.m3u8"]


def rows() -> Any:
    return get_stream_model()._default_manager


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    with running_receiver(SECRET) as running:
        settings.BROADCAST_API_WEBHOOKS = [{"url": running.url, "secret": SECRET}]
        settings.BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS = True  # it listens on loopback
        settings.BROADCAST_API_WEBHOOK_TIMEOUT = 1.0
        yield running


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """Two keys per ListObjectsV2 and DeleteObjects page, so five objects take three."""
    monkeypatch.setattr(S3Storage, "delete_page_size", 2)
    return 2


def events(receiver: Receiver, kind: str) -> list[dict[str, Any]]:
    """The verified payloads of type ``kind`` the receiver got."""
    assert all(item.verified for item in receiver.received)
    return [
        item.payload
        for item in receiver.received
        if item.payload is not None and item.payload["type"] == kind
    ]


def start(client: Any, name: str = "to delete") -> dict[str, Any]:
    response = client.post("/stream/start/", {"type": "hls", "name": name}, format="json")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def upload_all(body: dict[str, Any], files: list[str] = FILES) -> None:
    s3 = body["endpoint"]["S3"]
    client = broadcaster_s3(body)
    for name in files:
        data = PLAYLIST if name.endswith(".m3u8") else f"bytes of {name}"
        client.put_object(
            Bucket=s3["s3_bucket_name"], Key=f"{s3['s3_bucket_path']}/{name}", Body=data.encode()
        )


def keys_under(sts: Any, body: dict[str, Any]) -> list[str]:
    """What moto holds under the stream's prefix, listed with the server's keys."""
    s3 = body["endpoint"]["S3"]
    listing = sts.client("s3").list_objects_v2(
        Bucket=s3["s3_bucket_name"], Prefix=f"{s3['s3_bucket_path']}/"
    )
    return [item["Key"] for item in listing.get("Contents", [])]


class FailingDeletes:
    """Answers every DeleteObjects after the first ``passing`` with S3's 500 (through
    botocore's documented ``before-send`` event, on the server's own client): S3
    failing in the middle of a deletion."""

    def __init__(self, passing: int = 1) -> None:
        self.passing = passing
        self.calls = 0

    def __call__(self, request: Any, **kwargs: Any) -> Any:  # an AWSResponse, or None
        self.calls += 1
        if self.calls <= self.passing:
            return None
        body = b"<Error><Code>InternalError</Code><Message>injected</Message></Error>"

        class Raw:
            def stream(self, **kwargs: Any) -> Iterator[bytes]:
                yield body

        headers = HTTPHeaders()
        headers["Content-Type"] = "application/xml"
        return AWSResponse(request.url, 500, headers, Raw())


@pytest.fixture
def erasure_on(settings: Any) -> None:
    settings.BROADCAST_API_ON_OWNER_DELETE = "delete"


@pytest.fixture
def failing_deletes(sts: Any) -> Iterator[FailingDeletes]:
    """On the server's S3 client of now: request it after the fixtures that change
    ``BROADCAST_API_*`` settings (a change makes a new client)."""
    failing = FailingDeletes()
    events_ = get_storage().client.meta.events
    events_.register("before-send.s3.DeleteObjects", failing, unique_id="tests.failing")
    yield failing
    events_.unregister("before-send.s3.DeleteObjects", unique_id="tests.failing")


# -- DELETE ---------------------------------------------------------------------------------


def test_delete_leaves_nothing_under_the_prefix_and_announces_once(
    sts: Any,
    client_for: Any,
    user: Any,
    receiver: Receiver,
    small_pages: int,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(user)
    body = start(client)
    stream_id = body["stream"]["id"]
    client.post("/stream/stop/", {"id": stream_id})
    upload_all(body)
    assert len(keys_under(sts, body)) == len(FILES) > 2 * small_pages  # three pages
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/stream/{stream_id}/")
    assert response.status_code == 204, response.content
    assert response.content == b""
    assert keys_under(sts, body) == []
    assert not rows().filter(pk=stream_id).exists()
    assert client.get(f"/stream/{stream_id}/").status_code == 404
    deleted = events(receiver, "stream.deleted")
    assert len(deleted) == 1
    assert deleted[0]["data"]["id"] == stream_id
    assert deleted[0]["data"]["deleted_at"] is not None
    # Deleting again is a 404, and announces nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/stream/{stream_id}/").status_code == 404
        lifecycle.reap()
    assert len(events(receiver, "stream.deleted")) == 1


@pytest.mark.parametrize(("who", "reason"), [("owner", "client"), ("staff", "admin")])
def test_a_live_stream_is_stopped_first(
    sts: Any,
    client_for: Any,
    user: Any,
    staff_user: Any,
    receiver: Receiver,
    stopped_signals: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
    who: str,
    reason: str,
) -> None:
    body = start(client_for(user))
    stream_id = body["stream"]["id"]
    upload_all(body)
    caller = client_for(user if who == "owner" else staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        assert caller.delete(f"/stream/{stream_id}/").status_code == 204
    assert [(str(s["stream"].pk), s["reason"]) for s in stopped_signals] == [(stream_id, reason)]
    kinds = [item.payload["type"] for item in receiver.received if item.payload]
    assert kinds[-2:] == ["stream.stopped", "stream.deleted"]
    # The stop's closing of the recording left the prefix alone (it was being deleted).
    assert keys_under(sts, body) == []
    assert not rows().filter(pk=stream_id).exists()


@pytest.mark.parametrize("who", ["another user", "anonymous"])
def test_others_cannot_delete(
    sts: Any, client_for: Any, user: Any, other_user: Any, who: str
) -> None:
    body = start(client_for(user))
    stream_id = body["stream"]["id"]
    upload_all(body, ["seg0.ts"])
    caller = client_for(other_user if who == "another user" else None)
    response = caller.delete(f"/stream/{stream_id}/")
    # Anonymous: 401 or 403 by the first authentication class (Session here: 403).
    assert response.status_code in ({404} if who == "another user" else {401, 403})
    assert response.json()["code"] == (
        "not_found" if who == "another user" else "not_authenticated"
    )
    assert rows().get(pk=stream_id).deleted_at is None
    assert keys_under(sts, body) != []


# -- an S3 failure part way -----------------------------------------------------------------


def test_an_s3_failure_part_way_leaves_a_marked_row_that_the_reaper_finishes(
    sts: Any,
    client_for: Any,
    user: Any,
    staff_user: Any,
    receiver: Receiver,
    small_pages: int,
    failing_deletes: FailingDeletes,
    django_capture_on_commit_callbacks: Any,
) -> None:
    owner = client_for(user)
    body = start(owner)
    stream_id = body["stream"]["id"]
    owner.post("/stream/stop/", {"id": stream_id})
    upload_all(body)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.delete(f"/stream/{stream_id}/")
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert failing_deletes.calls == 2  # the first page went, the second failed
    left = keys_under(sts, body)
    assert 0 < len(left) < len(FILES)  # half deleted, and the row says so:
    assert rows().get(pk=stream_id).deleted_at is not None
    # 404 to the owner everywhere; staff still see it, marked.
    assert owner.get(f"/stream/{stream_id}/").status_code == 404
    assert owner.get("/stream/").json()["count"] == 0
    assert owner.get(f"/stream/{stream_id}/playlist.m3u8").status_code == 404
    assert owner.post("/stream/stop/", {"id": stream_id}).status_code == 404
    assert owner.patch(f"/stream/{stream_id}/", {"title": "x"}, format="json").status_code == 404
    assert owner.delete(f"/stream/{stream_id}/").status_code == 404
    seen = client_for(staff_user).get(f"/stream/{stream_id}/")
    assert seen.status_code == 200
    assert seen.json()["deleted_at"] is not None
    assert events(receiver, "stream.deleted") == []

    failing_deletes.passing = 10**6  # S3 is back
    with django_capture_on_commit_callbacks(execute=True):
        report = lifecycle.reap()
    assert [str(stream.pk) for stream in report.deleted] == [stream_id]
    assert report.deletion_errors == []
    assert keys_under(sts, body) == []
    assert not rows().filter(pk=stream_id).exists()
    assert len(events(receiver, "stream.deleted")) == 1


def test_a_deletion_that_fails_again_is_reported_by_the_command(
    sts: Any, client_for: Any, user: Any, failing_deletes: FailingDeletes
) -> None:
    failing_deletes.passing = 0
    body = start(client_for(user))
    upload_all(body, ["seg0.ts"])
    stream_id = body["stream"]["id"]
    assert client_for(user).delete(f"/stream/{stream_id}/").status_code == 503
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("broadcast_reap", stdout=StringIO(), stderr=err)
    assert f"could not delete {stream_id}: s3_error; left marked" in err.getvalue()
    assert rows().get(pk=stream_id).deleted_at is not None


# -- retention ------------------------------------------------------------------------------


@pytest.mark.parametrize("retention", [timedelta(days=30), 30 * 24 * 3600])
def test_retention_deletes_exactly_the_streams_past_it(
    sts: Any, client_for: Any, user: Any, settings: Any, retention: Any
) -> None:
    client = client_for(user)
    now = timezone.now()
    bodies = {name: start(client, name) for name in ("old", "recent", "live", "just-kept")}
    for body in bodies.values():
        upload_all(body, ["seg0.ts", "index.m3u8"])  # the live one is not idle either
    ids = {name: body["stream"]["id"] for name, body in bodies.items()}
    for name, age in (("old", 31), ("recent", 29)):
        client.post("/stream/stop/", {"id": ids[name]})
        rows().filter(pk=ids[name]).update(stop_date=now - timedelta(days=age))
    client.post("/stream/stop/", {"id": ids["just-kept"]})
    rows().filter(pk=ids["just-kept"]).update(stop_date=now - timedelta(days=30, seconds=-60))
    rows().filter(pk=ids["live"]).update(start_date=now - timedelta(days=40))
    settings.BROADCAST_API_RECORDING_RETENTION = retention

    out = StringIO()
    call_command("broadcast_reap", "--dry-run", stdout=out)
    lines = [line for line in out.getvalue().splitlines() if "retention" in line]
    assert len(lines) == 1
    assert lines[0].startswith(f"would delete {ids['old']} (retention; owner alice; ended ")
    assert rows().count() == 4  # the dry run deleted nothing
    assert keys_under(sts, bodies["old"]) != []

    out = StringIO()
    call_command("broadcast_reap", stdout=out)
    assert f"deleted {ids['old']} (retention" in out.getvalue()
    assert set(map(str, rows().values_list("pk", flat=True))) == {
        ids["recent"],
        ids["live"],
        ids["just-kept"],
    }
    assert keys_under(sts, bodies["old"]) == []
    for kept in ("recent", "live", "just-kept"):
        assert keys_under(sts, bodies[kept]) != []


def test_without_retention_nothing_expires(sts: Any, client_for: Any, user: Any) -> None:
    client = client_for(user)
    stream_id = start(client)["stream"]["id"]
    client.post("/stream/stop/", {"id": stream_id})
    rows().filter(pk=stream_id).update(stop_date=timezone.now() - timedelta(days=3650))
    assert lifecycle.reap().expired == []
    assert rows().filter(pk=stream_id).exists()


# -- erasure --------------------------------------------------------------------------------


def test_deleting_a_user_with_erasure_on_deletes_their_recordings(
    sts: Any,
    client_for: Any,
    user: Any,
    other_user: Any,
    erasure_on: None,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mine = [start(client_for(user), f"mine-{i}") for i in range(2)]
    client_for(user).post("/stream/stop/", {"id": mine[0]["stream"]["id"]})  # one ended
    theirs = start(client_for(other_user), "theirs")
    for body in (*mine, theirs):
        upload_all(body)
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    for body in mine:
        assert keys_under(sts, body) == []
        assert not rows().filter(pk=body["stream"]["id"]).exists()
    assert len(keys_under(sts, theirs)) == len(FILES)
    assert rows().get(pk=theirs["stream"]["id"]).deleted_at is None
    deleted = {event["data"]["id"] for event in events(receiver, "stream.deleted")}
    assert deleted == {body["stream"]["id"] for body in mine}


def test_erasure_that_fails_is_finished_by_the_reaper(
    sts: Any,
    client_for: Any,
    user: Any,
    erasure_on: None,
    failing_deletes: FailingDeletes,
    django_capture_on_commit_callbacks: Any,
) -> None:
    failing_deletes.passing = 0
    body = start(client_for(user))
    upload_all(body)
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()  # the user is gone; S3 failed: the stream stays marked, ownerless
    stream = rows().get(pk=body["stream"]["id"])
    assert (stream.owner_id, stream.deleted_at is not None) == (None, True)
    assert failing_deletes.calls == 1
    failing_deletes.passing = 10**6
    lifecycle.reap()
    assert keys_under(sts, body) == []
    assert not rows().filter(pk=body["stream"]["id"]).exists()


def test_by_default_a_deleted_users_streams_stay_ownerless(
    sts: Any, client_for: Any, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    body = start(client_for(user))
    upload_all(body, ["seg0.ts"])
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    stream = rows().get(pk=body["stream"]["id"])
    assert (stream.owner_id, stream.deleted_at) == (None, None)
    assert keys_under(sts, body) != []


# -- the admin action -----------------------------------------------------------------------


@pytest.mark.skipif(Stream._meta.swapped is not None, reason="the default admin")
def test_the_admin_action_confirms_then_deletes(
    sts: Any,
    client_for: Any,
    user: Any,
    admin_client: Any,
    stopped_signals: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    bodies = [start(client_for(user), f"admin-{i}") for i in range(2)]
    for body in bodies:
        upload_all(body)
    ids = [body["stream"]["id"] for body in bodies]
    url = reverse("admin:broadcast_api_stream_changelist")
    data = {"action": "delete_with_recordings", helpers.ACTION_CHECKBOX_NAME: ids}
    page = admin_client.post(url, data)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Delete streams and their recordings?" in html
    for body in bodies:
        assert body["endpoint"]["S3"]["s3_bucket_path"] in html
    assert rows().filter(pk__in=ids, deleted_at__isnull=True).count() == 2  # nothing yet

    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(url, {**data, "post": "yes"}, follow=True)
    messages = [str(message) for message in done.context["messages"]]
    assert messages == ["2 streams and their recordings deleted."]
    assert not rows().filter(pk__in=ids).exists()
    for body in bodies:
        assert keys_under(sts, body) == []
    assert {signal["reason"] for signal in stopped_signals} == {"admin"}


@pytest.mark.skipif(Stream._meta.swapped is not None, reason="the default admin")
def test_the_admin_action_needs_the_delete_permission(
    sts: Any, client_for: Any, user: Any, client: Any, django_user_model: Any
) -> None:
    editor = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    for codename in ("view_stream", "change_stream"):
        editor.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(editor)
    stream_id = start(client_for(user))["stream"]["id"]
    url = reverse("admin:broadcast_api_stream_changelist")
    assert "delete_with_recordings" not in client.get(url).content.decode()
    data = {"action": "delete_with_recordings", helpers.ACTION_CHECKBOX_NAME: [stream_id]}
    client.post(url, {**data, "post": "yes"})
    assert rows().get(pk=stream_id).deleted_at is None


# -- stream.recording_ready -----------------------------------------------------------------


@pytest.mark.parametrize("endlist", [False, True])
def test_recording_ready_is_announced_once_with_url_and_duration(
    sts: Any,
    client_for: Any,
    user: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
    endlist: bool,
) -> None:
    client = client_for(user)
    body = start(client)
    stream_id = body["stream"]["id"]
    s3 = body["endpoint"]["S3"]
    playlist = PLAYLIST + "#EXTINF:1.5,\nseg2.ts\n" + ("#EXT-X-ENDLIST\n" if endlist else "")
    broadcaster_s3(body).put_object(
        Bucket=s3["s3_bucket_name"],
        Key=f"{s3['s3_bucket_path']}/index.m3u8",
        Body=playlist.encode(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/stream/stop/", {"id": stream_id})
    assert rows().get(pk=stream_id).finalized_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert finalize_recording_of(stream_id) is True  # again: nothing more
        lifecycle.reap()
    ready = events(receiver, "stream.recording_ready")
    assert len(ready) == 1
    data = ready[0]["data"]
    assert data["id"] == stream_id
    assert data["status"] == "ended"
    assert data["recording"] == {
        "playback_url": f"/stream/{stream_id}/playlist.m3u8",
        "duration": 5.5,
    }


def test_no_recording_ready_without_a_playlist(
    sts: Any,
    client_for: Any,
    user: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(user)
    stream_id = start(client)["stream"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/stream/stop/", {"id": stream_id})
    assert rows().get(pk=stream_id).finalized_at is not None  # nothing to close
    assert events(receiver, "stream.stopped") != []
    assert events(receiver, "stream.recording_ready") == []


def test_unknown_stream_ids_are_404(sts: Any, client_for: Any, staff_user: Any) -> None:
    assert client_for(staff_user).delete(f"/stream/{uuid.uuid4()}/").status_code == 404
    assert client_for(staff_user).delete("/stream/not-a-uuid/").status_code == 404


# -- racing deleters ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_deleters_racing_delete_once_and_announce_once(
    sts: Any, client_for: Any, user: Any, stopped_signals: list[dict[str, Any]]
) -> None:
    """Four deleters (each its own instance and connection) and a reaper at once, on a
    live stream: one stop, one row deletion, one ``stream.deleted``, an empty prefix."""
    body = start(client_for(user))
    upload_all(body)
    stream_id = body["stream"]["id"]
    announced: list[Any] = []
    lock = threading.Lock()

    def on_deleted(change: hooks.Change) -> None:
        with lock:
            announced.append(change.stream.pk)

    hooks.after_commit(on_deleted, names=[hooks.STREAM_DELETED])
    try:

        def delete(index: int, barrier: threading.Barrier) -> bool:
            stream = rows().get(pk=stream_id)
            if index == 0:  # the reaper sees it once one of the others has marked it
                barrier.wait()
                return bool(lifecycle.reap().deleted)
            barrier.wait()
            return delete_stream(stream)

        results = run_together(5, delete)
    finally:
        hooks.unsubscribe(on_deleted)
    assert sum(results) == 1  # one of them deleted the row
    assert [str(pk) for pk in announced] == [stream_id]
    assert [str(signal["stream"].pk) for signal in stopped_signals] == [stream_id]
    assert keys_under(sts, body) == []
    assert not rows().filter(pk=stream_id).exists()


def test_a_deleted_streams_cached_playlist_is_forgotten(
    sts: Any, client_for: Any, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """However it is deleted (here the reaper's path, not the view), the playlist leaves
    the shared cache: no viewer is served URLs of objects that are gone."""
    client = client_for(user)
    body = start(client)
    upload_all(body)
    stream_id = uuid.UUID(body["stream"]["id"])
    assert client.get(f"/stream/{stream_id}/playlist.m3u8").status_code == 200
    assert PlaylistCache().get(stream_id) is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert delete_stream(rows().get(pk=stream_id)) is True
    assert PlaylistCache().get(stream_id) is None
    assert client.get(f"/stream/{stream_id}/playlist.m3u8").status_code == 404


def test_closing_the_recording_leaves_a_stream_being_deleted_alone(
    sts: Any, client_for: Any, user: Any
) -> None:
    """A finalize task that runs after the deletion began writes nothing into the prefix
    being emptied (it would leave an object behind) and announces nothing."""
    client = client_for(user)
    body = start(client)
    upload_all(body, ["index.m3u8"])
    stream_id = body["stream"]["id"]
    client.post("/stream/stop/", {"id": stream_id})  # (its on-commit work not run here)
    mark_for_deletion(rows().filter(pk=stream_id))
    assert finalize_recording_of(stream_id) is False
    s3 = body["endpoint"]["S3"]
    stored = sts.client("s3").get_object(
        Bucket=s3["s3_bucket_name"], Key=f"{s3['s3_bucket_path']}/index.m3u8"
    )
    assert stored["Body"].read().decode() == PLAYLIST  # no ENDLIST appended
    assert rows().get(pk=stream_id).finalized_at is None

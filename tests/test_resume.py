"""Resume within the reconnect window: the API, the joined playlist, the recording, the
reaper's disconnected and reconnected marks. STS and S3 are moto over HTTP; the database
is SQLite or PostgreSQL. (The publisher killed and resumed: ``test_e2e_resume.py``; the
session's credentials refused elsewhere: ``test_rgw_security.py``.)
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import m3u8
import pytest
from django.utils import timezone

from broadcast_api import hooks, lifecycle, sessions
from broadcast_api.lifecycle.recordings import finalize_recording_of
from broadcast_api.models import get_stream_model
from broadcast_api.playback.views import PlaylistMixin
from broadcast_api.services import mark_disconnected, resume_stream
from broadcast_api.storage import get_storage
from broadcast_api.webhooks.events import event_types
from tests.playback_fixtures import SEGMENT, Broadcast
from tests.racing import at_once
from tests.servers import broadcaster_s3, free_port

pytestmark = pytest.mark.django_db


def rows() -> Any:
    return get_stream_model()._default_manager


def event_playlist(first: int, count: int, *, ended: bool = False, sequence: int = 0) -> str:
    """An EVENT playlist as ffmpeg writes it: segments ``seg_<n>.ts`` from ``first``."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:1",
        f"#EXT-X-MEDIA-SEQUENCE:{sequence}",
        "#EXT-X-PLAYLIST-TYPE:EVENT",
    ]
    for number in range(first, first + count):
        lines += ["#EXTINF:1.000000,", f"seg_{number:06d}.ts"]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def resume(client: Any, stream_id: str) -> Any:
    return client.post(f"/stream/{stream_id}/resume/")


def session(body: dict[str, Any]) -> Broadcast:
    return Broadcast(body=body, s3=broadcaster_s3(body))


def upload_session(broadcast: Broadcast, count: int, *, ended: bool = False) -> None:
    """Segments first, then the playlist that lists them (the protocol's order)."""
    for number in range(count):
        broadcast.upload(f"seg_{number:06d}.ts", SEGMENT)
    broadcast.upload("index.m3u8", event_playlist(0, count, ended=ended))


def segment_keys(text: str, prefix: str) -> list[str]:
    """The S3 keys a served playlist's presigned URLs name, in order."""
    return [
        urlsplit(str(segment.uri)).path.split("/", 2)[2].removeprefix(f"{prefix}/")
        for segment in m3u8.loads(text).segments
    ]


@pytest.fixture
def changes() -> Any:
    """Every change the core announces, after commit (names and sessions)."""
    seen: list[hooks.Change] = []

    def receiver(change: hooks.Change) -> None:
        seen.append(change)

    hooks.after_commit(receiver)
    yield seen
    hooks.unsubscribe(receiver)


# -- the API --------------------------------------------------------------------------------


def test_the_owner_resumes_into_a_new_session_folder(
    start: Any,
    client_for: Any,
    user: Any,
    changes: list[hooks.Change],
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = start(name="crashing")
    prefix = first.prefix
    assert first.body["endpoint"]["S3"]["publish_session"] == 1
    assert first.body["endpoint"]["S3"]["s3_stream_path"] == prefix
    client = client_for(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = resume(client, first.id)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"stream", "endpoint"}  # start's shape
    s3 = body["endpoint"]["S3"]
    assert (s3["publish_session"], s3["s3_bucket_path"]) == (2, f"{prefix}/session-2")
    assert s3["s3_stream_path"] == prefix
    assert s3["aws_access_key_id"] != first.body["endpoint"]["S3"]["aws_access_key_id"]
    assert body["stream"]["id"] == first.id
    assert rows().get(pk=first.id).publish_session == 2
    assert [change.name for change in changes] == ["stream.reconnected"]
    # The refresh now covers the current session, and a second resume the next one.
    refreshed = client.post(f"/stream/{first.id}/credentials/").json()["endpoint"]["S3"]
    assert (refreshed["publish_session"], refreshed["s3_bucket_path"]) == (
        2,
        f"{prefix}/session-2",
    )
    again = resume(client, first.id).json()["endpoint"]["S3"]
    assert again["s3_bucket_path"] == f"{prefix}/session-3"
    detail = client.get(f"/stream/{first.id}/").json()
    assert (detail["publish_session"], detail["disconnected_at"]) == (3, None)


def test_resume_refusals_have_clear_codes(
    start: Any, client_for: Any, user: Any, other_user: Any, staff_user: Any
) -> None:
    broadcast = start()
    owner = client_for(user)
    # Someone else's stream, staff's included (as refresh: the owner only), is not found.
    for who in (other_user, staff_user):
        response = resume(client_for(who), broadcast.id)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        response = resume(owner, unknown)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert client_for(None).post(f"/stream/{broadcast.id}/resume/").status_code in (401, 403)
    # A stream being deleted takes no new session.
    rows().filter(pk=broadcast.id).update(deleted_at=timezone.now())
    assert resume(owner, broadcast.id).status_code == 404
    rows().filter(pk=broadcast.id).update(deleted_at=None)
    # An ended one: 409, as refresh answers.
    owner.post("/stream/stop/", {"id": broadcast.id})
    response = resume(owner, broadcast.id)
    assert (response.status_code, response.json()["code"]) == (409, "stream_ended")
    assert rows().get(pk=broadcast.id).publish_session == 1


def test_an_sts_failure_during_resume_is_503_and_changes_nothing(
    start: Any,
    client_for: Any,
    user: Any,
    settings: Any,
    changes: list[hooks.Change],
    django_capture_on_commit_callbacks: Any,
) -> None:
    broadcast = start()
    settings.BROADCAST_API_STS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    with django_capture_on_commit_callbacks(execute=True):
        response = resume(client_for(user), broadcast.id)
    assert response.status_code == 503, response.content
    assert (response.json()["code"], response.json()["reason"]) == (
        "storage_unavailable",
        "sts_unreachable",
    )
    assert response["Retry-After"] == "5"
    assert rows().get(pk=broadcast.id).publish_session == 1
    assert changes == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_resumes_get_distinct_sessions(start: Any, client_for: Any, user: Any) -> None:
    broadcast = start()

    def call(_: int) -> Any:
        return resume(client_for(user), broadcast.id).json()["endpoint"]["S3"]

    answers = at_once(3, call)
    assert sorted(a["publish_session"] for a in answers) == [2, 3, 4]
    assert len({a["s3_bucket_path"] for a in answers}) == 3
    assert rows().get(pk=broadcast.id).publish_session == 4


def test_the_function_api_resumes_too(start: Any) -> None:
    broadcast = start()
    result = resume_stream(rows().get(pk=broadcast.id))
    assert (result.stream.publish_session, result.storage.session) == (2, 2)
    assert result.storage.prefix == f"{broadcast.prefix}/session-2"
    assert result.storage.stream_path == broadcast.prefix
    assert {"stream.disconnected", "stream.reconnected"} <= set(event_types())


# -- viewers: the sessions joined -------------------------------------------------------


def test_viewers_see_the_sessions_joined_with_one_discontinuity(
    start: Any, client_for: Any, user: Any
) -> None:
    client = client_for(user)
    first = start()
    upload_session(first, 3)
    second = session(resume(client, first.id).json())
    upload_session(second, 2)

    for window in ("?window=all", ""):
        text = client.get(first.playlist_path + window).content.decode()
        playlist = m3u8.loads(text)
        assert segment_keys(text, first.prefix) == [
            "seg_000000.ts",
            "seg_000001.ts",
            "seg_000002.ts",
            "session-2/seg_000000.ts",
            "session-2/seg_000001.ts",
        ]
        assert [segment.discontinuity for segment in playlist.segments] == [
            False,
            False,
            False,
            True,
            False,
        ]
        assert playlist.media_sequence == 0
        assert text.count("#EXT-X-DISCONTINUITY\n") == 1
        assert not playlist.is_endlist


def test_the_earlier_sessions_are_read_once(
    start: Any,
    client_for: Any,
    user: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: Any,
) -> None:
    client = client_for(user)
    first = start()
    upload_session(first, 2)
    second = session(resume(client, first.id).json())
    upload_session(second, 1)
    storage = get_storage()
    read = storage.read
    keys: list[str] = []

    def spy(bucket: str, key: str, **kwargs: Any) -> Any:
        keys.append(key.removeprefix(first.prefix + "/"))
        return read(bucket, key, **kwargs)

    monkeypatch.setattr(storage, "read", spy)
    assert client.get(first.playlist_path + "?window=all").status_code == 200
    assert keys == ["session-2/index.m3u8", "index.m3u8"]
    second.upload("seg_000001.ts", SEGMENT)
    second.upload("index.m3u8", event_playlist(0, 2))
    keys.clear()
    PlaylistMixin.playlist_cache.forget_stream(uuid.UUID(first.id))  # as if it aged
    with django_assert_num_queries(1):  # the stream, as a single session's refresh
        text = client.get(first.playlist_path + "?window=all").content.decode()
    assert keys == ["session-2/index.m3u8"]  # the first session came from the cache
    assert segment_keys(text, first.prefix)[-1] == "session-2/seg_000001.ts"


def test_renditions_are_joined_each_and_the_master_kept(
    start: Any, client_for: Any, user: Any
) -> None:
    master = (
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index.m3u8\n"
    )
    client = client_for(user)
    first = start()
    for number in range(2):
        first.upload(f"360p/seg_{number:06d}.ts", SEGMENT)
    first.upload("360p/index.m3u8", event_playlist(0, 2))
    first.upload("index.m3u8", master)
    second = session(resume(client, first.id).json())
    second.upload("360p/seg_000000.ts", SEGMENT)
    second.upload("360p/index.m3u8", event_playlist(0, 1))
    second.upload("index.m3u8", master)

    served = m3u8.loads(client.get(first.playlist_path).content.decode())
    (variant,) = served.playlists
    rendition = client.get(str(variant.uri)).content.decode()
    assert segment_keys(rendition, first.prefix) == [
        "360p/seg_000000.ts",
        "360p/seg_000001.ts",
        "session-2/360p/seg_000000.ts",
    ]
    assert rendition.count("#EXT-X-DISCONTINUITY\n") == 1


def test_a_session_that_uploaded_nothing_yet_serves_the_earlier_ones(
    start: Any, client_for: Any, user: Any
) -> None:
    client = client_for(user)
    first = start()
    upload_session(first, 2)
    resume(client, first.id)
    text = client.get(first.playlist_path).content.decode()
    assert segment_keys(text, first.prefix) == ["seg_000000.ts", "seg_000001.ts"]
    assert "#EXT-X-DISCONTINUITY" not in text


# -- the recording ----------------------------------------------------------------------


def test_the_recording_is_one_joined_playlist_and_closing_it_again_changes_nothing(
    start: Any, client_for: Any, user: Any, sts: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(user)
    first = start()
    upload_session(first, 2)
    second = session(resume(client, first.id).json())
    upload_session(second, 2, ended=True)
    third = session(resume(client, first.id).json())
    upload_session(third, 1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/stream/stop/", {"id": first.id})  # closes the recording
    stream = rows().get(pk=first.id)
    assert stream.finalized_at is not None
    s3 = sts.client("s3")
    stored = s3.get_object(Bucket=first.bucket, Key=f"{first.prefix}/index.m3u8")
    recording = stored["Body"].read().decode()
    expected = [
        "seg_000000.ts",
        "seg_000001.ts",
        "session-2/seg_000000.ts",
        "session-2/seg_000001.ts",
        "session-3/seg_000000.ts",
    ]
    parsed = m3u8.loads(recording)
    assert [segment.uri for segment in parsed.segments] == expected
    assert recording.count("#EXT-X-DISCONTINUITY\n") == 2
    assert recording.count("#EXT-X-ENDLIST") == 1
    assert parsed.is_endlist
    served = client.get(first.playlist_path).content.decode()
    assert segment_keys(served, first.prefix) == expected
    # Closing it again (a retried task, a racing viewer reading it as session 1's): as it is.
    rows().filter(pk=first.id).update(finalized_at=None)
    assert finalize_recording_of(first.id)
    again = s3.get_object(Bucket=first.bucket, Key=f"{first.prefix}/index.m3u8")
    assert again["Body"].read().decode() == recording


# -- the reaper: disconnected, reconnected, idle -----------------------------------------


def test_the_reaper_marks_quiet_streams_and_ends_them_after_the_window(
    start: Any,
    client_for: Any,
    user: Any,
    settings: Any,
    changes: list[hooks.Change],
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BROADCAST_API_RECONNECT_WINDOW = 120
    settings.BROADCAST_API_DISCONNECT_TIMEOUT = 30
    client = client_for(user)
    quiet = start(name="quiet")
    upload_session(quiet, 1)
    rows().update(start_date=timezone.now() - timedelta(minutes=10))
    now = timezone.now()

    def reap(seconds_later: float) -> lifecycle.ReapReport:
        with django_capture_on_commit_callbacks(execute=True):
            return lifecycle.reap(now=now + timedelta(seconds=seconds_later))

    assert reap(10).disconnected == []  # uploaded 10 s ago
    first = reap(45)
    assert [str(s.pk) for s in first.disconnected] == [quiet.id]
    assert rows().get(pk=quiet.id).disconnected_at is not None
    assert reap(50).disconnected == []  # once
    assert [c.name for c in changes] == ["stream.disconnected"]
    assert client.get(f"/stream/{quiet.id}/").json()["disconnected_at"] is not None

    # The broadcaster resumes: reconnected, the mark cleared; the resume counts as a sign
    # of life until the new session's first playlist.
    changes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert resume(client, quiet.id).status_code == 200
    assert [c.name for c in changes] == ["stream.reconnected"]
    assert rows().get(pk=quiet.id).disconnected_at is None
    changes.clear()
    assert reap(20).ended == []
    assert changes == []  # the resume is younger than 30 s: not quiet

    # Nothing is uploaded in the new session: quiet again, then idle past the window.
    assert [str(s.pk) for s in reap(60).disconnected] == [quiet.id]
    assert [c.name for c in changes] == ["stream.disconnected"]
    report = reap(200)
    assert [(str(s.pk), reason) for s, reason in report.ended] == [(quiet.id, "idle")]


def test_uploads_again_in_the_same_session_unmark_it(
    start: Any, settings: Any, changes: list[hooks.Change], django_capture_on_commit_callbacks: Any
) -> None:
    settings.BROADCAST_API_RECONNECT_WINDOW = 120
    settings.BROADCAST_API_DISCONNECT_TIMEOUT = 30
    blip = start(name="blip")
    upload_session(blip, 1)
    rows().update(start_date=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.reap(now=timezone.now() + timedelta(seconds=40))
    upload_session(blip, 2)  # the network came back
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.reap()
    assert [c.name for c in changes] == ["stream.disconnected", "stream.reconnected"]
    assert rows().get(pk=blip.id).disconnected_at is None


def test_a_resume_between_the_reapers_read_and_its_mark_wins(
    start: Any, client_for: Any, user: Any
) -> None:
    broadcast = start()
    stale = rows().get(pk=broadcast.id)  # what the reaper read: session 1
    resume(client_for(user), broadcast.id)
    assert not mark_disconnected(stale)
    assert rows().get(pk=broadcast.id).disconnected_at is None


def test_last_upload_falls_back_to_the_earlier_session(
    start: Any, client_for: Any, user: Any
) -> None:
    first = start()
    upload_session(first, 1)
    resume(client_for(user), first.id)
    stream = rows().get(pk=first.id)
    found = sessions.last_upload(stream)
    assert found is not None
    assert abs((found - timezone.now()).total_seconds()) < 30

"""A broadcast's whole life: refresh, idempotent start, limits, reaping, recordings,
metadata. STS and S3 are moto over HTTP; the database is SQLite or PostgreSQL.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from broadcast_api import lifecycle
from broadcast_api.deferred import FRAMEWORK, task_backend
from broadcast_api.lifecycle.reaper import FINALIZE_RETRY_AFTER
from broadcast_api.models import get_stream_model
from broadcast_api.storage import S3Storage
from tests.racing import at_once
from tests.servers import broadcaster_s3, free_port

pytestmark = pytest.mark.django_db

PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg0.ts\n"
MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240\nlow/index.m3u8\n"


def rows() -> Any:
    return get_stream_model()._default_manager


def start(client: Any, **params: Any) -> Any:
    headers = {}
    if "key" in params:
        headers["HTTP_IDEMPOTENCY_KEY"] = params.pop("key")
    return client.post("/stream/start/", {"type": "hls", **params}, format="json", **headers)


def upload(body: dict[str, Any], name: str, data: str | bytes) -> None:
    s3 = body["endpoint"]["S3"]
    payload = data.encode() if isinstance(data, str) else data
    broadcaster_s3(body).put_object(
        Bucket=s3["s3_bucket_name"], Key=f"{s3['s3_bucket_path']}/{name}", Body=payload
    )


def pk_and_reason(signals: list[dict[str, Any]]) -> list[tuple[Any, str]]:
    return [(signal["stream"].pk, signal["reason"]) for signal in signals]


def stored_playlist(sts: Any, body: dict[str, Any]) -> str:
    s3 = body["endpoint"]["S3"]
    key = f"{s3['s3_bucket_path']}/index.m3u8"
    obj = sts.client("s3").get_object(Bucket=s3["s3_bucket_name"], Key=key)
    return str(obj["Body"].read().decode())


# -- credential refresh -------------------------------------------------------------------


def test_owner_refreshes_a_live_streams_credentials(sts: Any, client_for: Any, user: Any) -> None:
    client = client_for(user)
    started = start(client).json()
    stream_id = started["stream"]["id"]
    response = client.post(f"/stream/{stream_id}/credentials/")
    assert response.status_code == 200, response.content
    refreshed = response.json()
    assert set(refreshed) == {"stream", "endpoint"}  # start's shape
    assert refreshed["stream"]["id"] == stream_id
    old, new = started["endpoint"]["S3"], refreshed["endpoint"]["S3"]
    assert new["aws_access_key_id"] != old["aws_access_key_id"]
    assert new["aws_session_token"] != old["aws_session_token"]
    for same in ("s3_bucket_name", "s3_bucket_path", "s3_bucket_region", "aws_expiration"):
        assert new[same] == old[same]
    upload(refreshed, "seg1.ts", b"uploaded with the new credentials")
    assert rows().count() == 1


def test_refresh_of_an_ended_stream_is_409(sts: Any, client_for: Any, user: Any) -> None:
    client = client_for(user)
    stream_id = start(client).json()["stream"]["id"]
    client.post("/stream/stop/", {"id": stream_id})
    response = client.post(f"/stream/{stream_id}/credentials/")
    assert response.status_code == 409
    assert response.json()["code"] == "stream_ended"


@pytest.mark.parametrize("who", ["another user", "staff", "anonymous"])
def test_only_the_owner_refreshes(
    sts: Any, client_for: Any, user: Any, other_user: Any, staff_user: Any, who: str
) -> None:
    stream_id = start(client_for(user)).json()["stream"]["id"]
    caller = {"another user": other_user, "staff": staff_user, "anonymous": None}[who]
    response = client_for(caller).post(f"/stream/{stream_id}/credentials/")
    expected = {401, 403} if caller is None else {404}
    assert response.status_code in expected


# -- Idempotency-Key ----------------------------------------------------------------------


def test_a_retry_with_the_same_key_returns_the_same_stream(
    sts: Any, client_for: Any, user: Any
) -> None:
    client = client_for(user)
    key = str(uuid.uuid4())
    first = start(client, name="retry me", key=key)
    second = start(client, name="retry me", key=f'"{key}"')  # the draft's quoted form
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["stream"]["id"] == first.json()["stream"]["id"]
    old, new = first.json()["endpoint"]["S3"], second.json()["endpoint"]["S3"]
    assert new["aws_access_key_id"] != old["aws_access_key_id"]  # freshly minted
    assert new["s3_bucket_path"] == old["s3_bucket_path"]
    assert rows().count() == 1


def test_the_same_key_with_other_parameters_is_422(sts: Any, client_for: Any, user: Any) -> None:
    client = client_for(user)
    start(client, name="one", key="key-1")
    response = start(client, name="two", key="key-1")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert rows().count() == 1


def test_keys_are_per_user_and_last_a_day(
    sts: Any, client_for: Any, user: Any, other_user: Any
) -> None:
    mine = start(client_for(user), key="shared").json()["stream"]["id"]
    theirs = start(client_for(other_user), key="shared").json()["stream"]["id"]
    assert mine != theirs
    rows().filter(pk=mine).update(start_date=timezone.now() - timedelta(hours=25))
    later = start(client_for(user), key="shared")
    assert later.status_code == 201
    assert later.json()["stream"]["id"] not in {mine, theirs}
    assert rows().get(pk=mine).idempotency_key == ""  # the old stream gave its key up


@pytest.mark.parametrize("bad", ["", "with space", "x" * 256, "é"])
def test_a_malformed_key_is_400(sts: Any, client_for: Any, user: Any, bad: str) -> None:
    response = client_for(user).post(
        "/stream/start/", {"type": "hls"}, format="json", headers={"Idempotency-Key": bad}
    )
    assert response.status_code == 400
    assert response.json()["fields"]["Idempotency-Key"][0]["code"] == "invalid"
    assert rows().count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_with_one_key_create_one_stream(sts: Any, user: Any) -> None:
    def go(_: int) -> Any:
        client = APIClient()
        client.force_authenticate(user)
        return start(client, name="raced", key="the-same-key")

    responses = at_once(10, go)
    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["stream"]["id"] for r in responses}) == 1
    assert rows().count() == 1
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == 9


# -- limits -------------------------------------------------------------------------------


def test_live_stream_limit(sts: Any, client_for: Any, user: Any, settings: Any) -> None:
    settings.BROADCAST_API_MAX_LIVE_STREAMS_PER_USER = 1
    client = client_for(user)
    first = start(client, key="k")
    assert first.status_code == 201
    refused = start(client)
    assert refused.status_code == 409
    assert refused.json()["code"] == "live_stream_limit"
    assert start(client, key="k").status_code == 201  # a replay is not another stream
    client.post("/stream/stop/", {"id": first.json()["stream"]["id"]})
    assert start(client).status_code == 201
    assert rows().count() == 2


@contextlib.contextmanager
def sqlite_transaction_mode(mode: str | None) -> Iterator[None]:
    """SQLite's ``OPTIONS["transaction_mode"]`` for the connections opened meanwhile (each
    racing thread opens its own); nothing on other databases."""
    options = connection.settings_dict.setdefault("OPTIONS", {})
    before = options.get("transaction_mode")
    if connection.vendor == "sqlite":
        options["transaction_mode"] = mode
    try:
        yield
    finally:
        options["transaction_mode"] = before
        if before is None:
            del options["transaction_mode"]


def race_starts(owner: Any, count: int) -> list[tuple[int, str | None]]:
    def go(_: int) -> tuple[int, str | None]:
        client = APIClient()
        client.force_authenticate(owner)
        response = start(client)
        return response.status_code, response.json().get("code")

    return at_once(count, go)


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_never_pass_the_limit(
    sts: Any, user: Any, other_user: Any, settings: Any
) -> None:
    """PostgreSQL locks the owner's row (``SELECT ... FOR UPDATE``): the others wait, then
    count and refuse. SQLite has no row locks: with ``transaction_mode`` IMMEDIATE (the
    README's advice) each start takes the write lock first and waits its turn, and the
    others are refused alike; in SQLite's default (deferred) mode a start that finds the
    database locked answers 503 instead. Either way one stream, never two."""
    settings.BROADCAST_API_MAX_LIVE_STREAMS_PER_USER = 1
    with sqlite_transaction_mode("IMMEDIATE"):
        statuses = race_starts(user, 8)
    assert sorted(statuses) == [(201, None)] + [(409, "live_stream_limit")] * 7
    assert rows().filter(owner=user, status="live").count() == 1
    if connection.vendor != "sqlite":
        return
    with sqlite_transaction_mode(None):
        statuses = race_starts(other_user, 8)
    assert statuses.count((201, None)) == 1
    refused = {(409, "live_stream_limit"), (503, "database_unavailable")}
    assert set(statuses) - {(201, None)} <= refused, statuses
    assert rows().filter(owner=other_user, status="live").count() == 1


def test_the_broadcast_start_throttle_scope(sts: Any, client_for: Any, user: Any) -> None:
    """tests/custom_urls.py: ScopedRateThrottle with a rate for ``broadcast_start`` (its
    counts live in the default cache, which conftest empties before each test)."""
    client = client_for(user)

    def scoped_start() -> Any:
        return client.post("/scoped/stream/start/", {"type": "hls"}, format="json")

    assert [scoped_start().status_code for _ in range(3)] == [201, 201, 429]
    assert scoped_start().json()["code"] == "throttled"
    assert client.get("/scoped/stream/").status_code == 200  # other actions: no scope


# -- reaping ------------------------------------------------------------------------------


def test_reap_ends_idle_and_overlong_streams_once(
    sts: Any,
    client_for: Any,
    user: Any,
    settings: Any,
    stopped_signals: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BROADCAST_API_IDLE_TIMEOUT = 120
    settings.BROADCAST_API_MAX_DURATION = 3600
    client = client_for(user)
    uploading = start(client, name="uploading").json()
    never_uploaded = start(client, name="silent").json()
    overlong = start(client, name="overlong").json()
    upload(uploading, "index.m3u8", PLAYLIST)
    ids = {
        body["stream"]["name"]: body["stream"]["id"]
        for body in (uploading, never_uploaded, overlong)
    }
    rows().filter(pk=ids["overlong"]).update(start_date=timezone.now() - timedelta(hours=2))
    rows().filter(pk=ids["silent"]).update(start_date=timezone.now() - timedelta(minutes=5))
    rows().filter(pk=ids["uploading"]).update(start_date=timezone.now() - timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        report = lifecycle.reap()
    ended = {str(stream.pk): reason for stream, reason in report.ended}
    assert ended == {ids["silent"]: "idle", ids["overlong"]: "max_duration"}
    assert rows().get(pk=ids["uploading"]).status == "live"  # uploaded just now
    for name, reason in (("silent", "idle"), ("overlong", "max_duration")):
        stream = rows().get(pk=ids[name])
        assert (stream.status, stream.stop_reason) == ("ended", reason)
    assert sorted(pk_and_reason(stopped_signals)) == sorted(
        [(uuid.UUID(ids["silent"]), "idle"), (uuid.UUID(ids["overlong"]), "max_duration")]
    )

    # Later, the uploading stream has gone quiet too; a second reap ends only it.
    stopped_signals.clear()
    with django_capture_on_commit_callbacks(execute=True):
        later = lifecycle.reap(now=timezone.now() + timedelta(minutes=3))
    assert [(str(s.pk), r) for s, r in later.ended] == [(ids["uploading"], "idle")]
    assert pk_and_reason(stopped_signals) == [(uuid.UUID(ids["uploading"]), "idle")]


def test_a_master_written_once_is_live_while_its_renditions_are_written(
    sts: Any,
    client_for: Any,
    user: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """With several renditions the broadcaster uploads the master once and then rewrites
    only the renditions: the reaper asks the first rendition once the master looks quiet
    (reading the master once per session), and ends the stream only when that is quiet."""
    settings.BROADCAST_API_RECONNECT_WINDOW = 120
    settings.BROADCAST_API_DISCONNECT_TIMEOUT = 1
    reads: list[str] = []
    original = S3Storage.read

    def spy(self: S3Storage, bucket: str, key: str, **kwargs: Any) -> Any:
        reads.append(key)
        return original(self, bucket, key, **kwargs)

    monkeypatch.setattr(S3Storage, "read", spy)
    body = start(client_for(user), name="ladder").json()
    pk = body["stream"]["id"]
    rows().filter(pk=pk).update(start_date=timezone.now() - timedelta(minutes=5))
    upload(body, "index.m3u8", MASTER)
    time.sleep(4)  # S3's LastModified has whole seconds
    upload(body, "low/index.m3u8", PLAYLIST)
    # Idle by the master alone: its upload is older than the cutoff, the rendition's not.
    cutoff_in_between = timezone.now() + timedelta(seconds=120 - 2)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert lifecycle.reap(now=cutoff_in_between).ended == []
    assert rows().get(pk=pk).status == "live"
    prefix = body["endpoint"]["S3"]["s3_bucket_path"]
    assert reads == [f"{prefix}/index.m3u8"]  # the master, read once for two reaps
    with django_capture_on_commit_callbacks(execute=True):
        later = lifecycle.reap(now=timezone.now() + timedelta(minutes=10))
    assert [(str(stream.pk), reason) for stream, reason in later.ended] == [(pk, "idle")]


@pytest.mark.django_db(transaction=True)
def test_two_reapers_at_once_end_each_stream_once(
    sts: Any, user: Any, stopped_signals: list[dict[str, Any]]
) -> None:
    model = get_stream_model()
    old = timezone.now() - timedelta(hours=1)
    for _ in range(6):
        stream_id = uuid.uuid4()
        model._default_manager.create(
            id=stream_id,
            owner=user,
            start_date=old,
            s3_bucket="broadcast-test",
            s3_prefix=f"streams/{stream_id}",
            s3_region="us-west-1",
        )
    reports = at_once(2, lambda _: lifecycle.reap())
    ended = [stream.pk for report in reports for stream, _ in report.ended]
    assert len(ended) == len(set(ended)) == 6
    assert len(stopped_signals) == 6
    assert model._default_manager.filter(status="live").count() == 0


def test_reap_command_dry_run_and_output(
    sts: Any, client_for: Any, user: Any, settings: Any
) -> None:
    settings.BROADCAST_API_FINALIZE_RECORDINGS = False
    stream_id = start(client_for(user), name="quiet").json()["stream"]["id"]
    rows().filter(pk=stream_id).update(start_date=timezone.now() - timedelta(minutes=10))
    out = StringIO()
    call_command("broadcast_reap", "--dry-run", stdout=out)
    assert f"would end {stream_id} (idle; owner alice;" in out.getvalue()
    assert "1 stream would end." in out.getvalue()
    assert rows().get(pk=stream_id).status == "live"
    out = StringIO()
    call_command("broadcast_reap", stdout=out)
    assert f"ended {stream_id} (idle;" in out.getvalue()
    assert rows().get(pk=stream_id).stop_reason == "idle"
    out = StringIO()
    call_command("broadcast_reap", stdout=out)
    assert "0 streams ended." in out.getvalue()


def test_reap_leaves_streams_live_when_s3_does_not_answer(
    sts: Any, client_for: Any, user: Any, settings: Any
) -> None:
    stream_id = start(client_for(user)).json()["stream"]["id"]
    rows().filter(pk=stream_id).update(start_date=timezone.now() - timedelta(minutes=10))
    settings.BROADCAST_API_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    err = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("broadcast_reap", stdout=StringIO(), stderr=err)
    assert failed.value.returncode == 1
    assert f"could not check {stream_id}: s3_unreachable" in err.getvalue()
    assert rows().get(pk=stream_id).status == "live"


# -- recordings ---------------------------------------------------------------------------


def test_stop_closes_the_recording(
    sts: Any, client_for: Any, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(user)
    body = start(client).json()
    upload(body, "index.m3u8", PLAYLIST)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/stream/stop/", {"id": body["stream"]["id"]}).status_code == 200
    assert stored_playlist(sts, body) == PLAYLIST + "#EXT-X-ENDLIST\n"
    assert rows().get(pk=body["stream"]["id"]).finalized_at is not None


def test_a_closed_playlist_is_left_as_it_is(
    sts: Any, client_for: Any, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(user)
    body = start(client).json()
    closed = PLAYLIST + "#EXT-X-ENDLIST\n#EXT-X-DISCONTINUITY-MARKER-OF-THIS-TEST\n"
    upload(body, "index.m3u8", closed)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/stream/stop/", {"id": body["stream"]["id"]})
    assert stored_playlist(sts, body) == closed
    assert rows().get(pk=body["stream"]["id"]).finalized_at is not None


def test_a_failed_close_never_fails_the_stop_and_reap_retries_it(
    sts: Any,
    client_for: Any,
    user: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(user)
    body = start(client).json()
    upload(body, "index.m3u8", PLAYLIST)
    endpoint = settings.BROADCAST_API_S3_ENDPOINT_URL
    settings.BROADCAST_API_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/stream/stop/", {"id": body["stream"]["id"]})
    assert response.status_code == 200
    assert rows().get(pk=body["stream"]["id"]).finalized_at is None
    settings.BROADCAST_API_S3_ENDPOINT_URL = endpoint
    assert lifecycle.reap().finalized == []  # its task's turn: not retried at once
    report = lifecycle.reap(now=timezone.now() + FINALIZE_RETRY_AFTER)
    assert [str(stream.pk) for stream in report.finalized] == [body["stream"]["id"]]
    assert stored_playlist(sts, body).endswith("#EXT-X-ENDLIST\n")


def test_closing_recordings_can_be_turned_off(
    sts: Any, client_for: Any, user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BROADCAST_API_FINALIZE_RECORDINGS = False
    client = client_for(user)
    body = start(client).json()
    upload(body, "index.m3u8", PLAYLIST)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/stream/stop/", {"id": body["stream"]["id"]})
    assert stored_playlist(sts, body) == PLAYLIST
    assert lifecycle.reap().finalized == []


@pytest.mark.tasks_framework  # a worker backend
def test_with_a_task_backend_the_close_is_enqueued_after_commit(
    sts: Any, client_for: Any, user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """With workers (here Django's dummy backend, which only records), the stop request
    does no S3 work: it enqueues the task once its transaction has committed."""
    settings.TASKS = {"default": {"BACKEND": f"{FRAMEWORK}.backends.dummy.DummyBackend"}}
    backend: Any = task_backend()
    client = client_for(user)
    body = start(client).json()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post("/stream/stop/", {"id": body["stream"]["id"]})
        assert backend.results == []  # nothing before the commit
    for callback in callbacks:
        callback()
    [enqueued] = backend.results
    assert enqueued.task.name == "finalize_recording"
    assert enqueued.args == [body["stream"]["id"]]


# -- metadata -----------------------------------------------------------------------------


def test_title_description_and_visibility(
    sts: Any, client_for: Any, user: Any, other_user: Any
) -> None:
    client = client_for(user)
    body = start(client, title="Friday stand-up", description="Weekly.", is_public=True).json()
    stream_id = body["stream"]["id"]
    detail = client.get(f"/stream/{stream_id}/").json()
    assert (detail["title"], detail["description"], detail["is_public"]) == (
        "Friday stand-up",
        "Weekly.",
        True,
    )
    changed = client.patch(
        f"/stream/{stream_id}/", {"title": "Renamed", "is_public": False}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["title"], changed.json()["is_public"]) == ("Renamed", False)
    assert changed.json()["description"] == "Weekly."  # untouched
    assert (
        client_for(other_user)
        .patch(f"/stream/{stream_id}/", {"title": "mine now"}, format="json")
        .status_code
        == 404
    )
    too_long = client.patch(f"/stream/{stream_id}/", {"title": "x" * 256}, format="json")
    assert too_long.status_code == 400
    assert too_long.json()["fields"]["title"][0]["code"] == "max_length"
    assert client.put(f"/stream/{stream_id}/", {"title": "x"}, format="json").status_code == 405
    assert rows().get(pk=stream_id).title == "Renamed"


def test_list_filters_by_visibility(sts: Any, client_for: Any, user: Any) -> None:
    client = client_for(user)
    public = start(client, is_public=True).json()["stream"]["id"]
    private = start(client).json()["stream"]["id"]
    assert [s["id"] for s in client.get("/stream/?is_public=true").json()["results"]] == [public]
    assert [s["id"] for s in client.get("/stream/?is_public=false").json()["results"]] == [private]
    assert client.get("/stream/?status=live").json()["count"] == 2
    assert client.get("/stream/?is_public=maybe").status_code == 400


def test_making_a_stream_private_takes_effect_for_viewers_at_once(
    sts: Any, client_for: Any, user: Any, api: APIClient
) -> None:
    client = client_for(user)
    body = start(client, is_public=True).json()
    upload(body, "index.m3u8", PLAYLIST + "#EXT-X-ENDLIST\n")  # cached for 15 minutes
    path = f"/stream/{body['stream']['id']}/playlist.m3u8"
    assert api.get(path).status_code == 200
    client.patch(f"/stream/{body['stream']['id']}/", {"is_public": False}, format="json")
    assert api.get(path).status_code == 404

"""The seed README's start/stop contract, against moto_server over HTTP."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broadcast_api.models import get_stream_model

pytestmark = pytest.mark.django_db

SEED_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
S3_KEYS = {
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_expiration",
    "s3_bucket_name",
    "s3_bucket_path",
    "s3_bucket_region",
}


def parse_seed_time(value: str) -> datetime:
    assert SEED_TIME.match(value), value
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def assert_start_shape(body: dict[str, Any], name: str) -> None:
    assert set(body) == {"stream", "endpoint"}
    stream = body["stream"]
    assert {"id", "name", "start_date"} <= set(stream)
    assert stream["name"] == name
    uuid.UUID(stream["id"])
    started = parse_seed_time(stream["start_date"])
    # UTC, although the test settings use TIME_ZONE = "America/Chicago".
    assert abs(datetime.now(UTC) - started) < timedelta(seconds=30)
    s3 = body["endpoint"]["S3"]
    assert S3_KEYS <= set(s3)
    assert isinstance(s3["aws_expiration"], float)
    assert s3["aws_expiration"] == 3600.0
    assert s3["s3_bucket_name"] == "broadcast-test"
    assert s3["s3_bucket_region"] == "us-west-1"
    assert s3["s3_bucket_path"] == f"streams/{stream['id']}"
    for key in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
        assert isinstance(s3[key], str)
        assert s3[key]


def test_seed_example_request_with_query_string(sts: Any, client_for: Any, user: Any) -> None:
    response = client_for(user).post("/stream/start/?name=some_name&type=hls")
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert_start_shape(body, "some_name")
    stream = get_stream_model()._default_manager.get(pk=body["stream"]["id"])
    assert stream.owner == user
    assert stream.status == "live"
    assert stream.s3_prefix == body["endpoint"]["S3"]["s3_bucket_path"]


def test_start_with_form_body(sts: Any, client_for: Any, user: Any) -> None:
    response = client_for(user).post("/stream/start/", {"type": "hls", "name": "form"})
    assert response.status_code == 201
    assert_start_shape(response.json(), "form")


def test_start_with_json_body(sts: Any, client_for: Any, user: Any) -> None:
    response = client_for(user).post(
        "/stream/start/", {"type": "hls", "name": "json"}, format="json"
    )
    assert response.status_code == 201
    assert_start_shape(response.json(), "json")


def test_body_wins_over_query_string(sts: Any, client_for: Any, user: Any) -> None:
    response = client_for(user).post("/stream/start/?name=query&type=hls", {"name": "body"})
    assert response.status_code == 201
    assert response.json()["stream"]["name"] == "body"


def test_name_is_optional(sts: Any, client_for: Any, user: Any) -> None:
    response = client_for(user).post("/stream/start/?type=hls")
    assert response.status_code == 201
    assert response.json()["stream"]["name"] == ""


def test_credentials_from_moto_expire_after_the_ttl(
    sts: Any, client_for: Any, user: Any, settings: Any
) -> None:
    settings.BROADCAST_API_CREDENTIALS_TTL = 900
    s3 = client_for(user).post("/stream/start/?type=hls").json()["endpoint"]["S3"]
    assert s3["aws_expiration"] == 900.0
    expires = parse_seed_time(s3["aws_expiration_date"])
    assert timedelta(seconds=880) < expires - datetime.now(UTC) <= timedelta(seconds=901)
    assert s3["s3_endpoint_url"] == sts.endpoint_url


def test_stop_contract(sts: Any, client_for: Any, user: Any) -> None:
    client = client_for(user)
    started = client.post("/stream/start/?name=some_name&type=hls").json()["stream"]
    response = client.post(f"/stream/stop/?id={started['id']}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"stream"}
    stream = body["stream"]
    assert {"id", "name", "start_date", "stop_date"} <= set(stream)
    assert stream["id"] == started["id"]
    assert stream["name"] == "some_name"
    assert stream["start_date"] == started["start_date"]
    assert parse_seed_time(stream["stop_date"]) >= parse_seed_time(stream["start_date"])
    row = get_stream_model()._default_manager.get(pk=started["id"])
    assert row.status == "ended"
    assert row.stop_reason == "client"


def test_stop_accepts_uppercase_id_from_the_seed_example(
    sts: Any, client_for: Any, user: Any
) -> None:
    client = client_for(user)
    stream_id = client.post("/stream/start/?type=hls").json()["stream"]["id"]
    response = client.post("/stream/stop/", {"id": stream_id.upper()})
    assert response.status_code == 200
    assert response.json()["stream"]["id"] == stream_id


def test_stop_of_an_ended_stream_returns_it_unchanged(
    sts: Any, client_for: Any, user: Any
) -> None:
    client = client_for(user)
    stream_id = client.post("/stream/start/?type=hls").json()["stream"]["id"]
    first = client.post("/stream/stop/", {"id": stream_id}).json()
    second = client.post("/stream/stop/", {"id": stream_id}, format="json")
    assert second.status_code == 200
    assert second.json() == first


def test_list_and_retrieve_never_carry_credentials(sts: Any, client_for: Any, user: Any) -> None:
    client = client_for(user)
    started = client.post("/stream/start/?name=a&type=hls").json()
    secret = started["endpoint"]["S3"]["aws_secret_access_key"]
    token = started["endpoint"]["S3"]["aws_session_token"]
    listing = client.get("/stream/")
    detail = client.get(f"/stream/{started['stream']['id']}/")
    assert listing.status_code == 200
    assert detail.status_code == 200
    for response in (listing, detail):
        text = response.content.decode()
        assert secret not in text
        assert token not in text
        assert "aws_" not in text
    assert listing.json()["count"] == 1
    item = listing.json()["results"][0]
    assert item == detail.json()
    assert item["status"] == "live"
    assert item["stop_date"] is None
    assert item["s3_bucket_path"] == started["endpoint"]["S3"]["s3_bucket_path"]


def test_list_filters_by_status_and_paginates(
    sts: Any, client_for: Any, user: Any, settings: Any
) -> None:
    settings.BROADCAST_API_PAGE_SIZE = 2
    client = client_for(user)
    ids = [client.post("/stream/start/?type=hls").json()["stream"]["id"] for _ in range(3)]
    client.post("/stream/stop/", {"id": ids[0]})
    live = client.get("/stream/?status=live").json()
    ended = client.get("/stream/?status=ended").json()
    assert live["count"] == 2
    assert {item["id"] for item in live["results"]} == set(ids[1:])
    assert [item["id"] for item in ended["results"]] == [ids[0]]
    everything = client.get("/stream/").json()
    assert everything["count"] == 3
    assert len(everything["results"]) == 2
    assert everything["next"] is not None
    bad = client.get("/stream/?status=paused")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"
    assert bad.json()["fields"]["status"][0]["code"] == "invalid_choice"

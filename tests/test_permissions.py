"""Who may do what: anonymous, the owner, another user, staff."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from broadcast_api.models import get_stream_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream_id(sts: Any, client_for: Any, user: Any) -> str:
    response = client_for(user).post("/stream/start/?name=owned&type=hls")
    assert response.status_code == 201
    stream_id: str = response.json()["stream"]["id"]
    return stream_id


def is_live(stream_id: str) -> bool:
    return get_stream_model()._default_manager.get(pk=stream_id).status == "live"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/stream/start/?type=hls"),
        ("post", "/stream/stop/?id={id}"),
        ("get", "/stream/"),
        ("get", "/stream/{id}/"),
    ],
)
def test_anonymous_is_refused_everything(api: Any, stream_id: str, method: str, path: str) -> None:
    response = getattr(api, method)(path.format(id=stream_id))
    assert response.status_code in {401, 403}
    assert response.json()["code"] == "not_authenticated"
    assert is_live(stream_id)
    assert get_stream_model()._default_manager.count() == 1


def test_owner_may_retrieve_and_stop(client_for: Any, user: Any, stream_id: str) -> None:
    client = client_for(user)
    assert client.get(f"/stream/{stream_id}/").status_code == 200
    assert client.post("/stream/stop/", {"id": stream_id}).status_code == 200
    assert not is_live(stream_id)


def test_other_user_gets_404_not_403(client_for: Any, other_user: Any, stream_id: str) -> None:
    client = client_for(other_user)
    for response in (
        client.get(f"/stream/{stream_id}/"),
        client.post("/stream/stop/", {"id": stream_id}),
    ):
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "detail": "Not found."}
    assert client.get("/stream/").json()["count"] == 0
    assert is_live(stream_id)


def test_unknown_stream_looks_the_same_as_a_foreign_one(
    client_for: Any, other_user: Any, stream_id: str
) -> None:
    client = client_for(other_user)
    foreign = client.post("/stream/stop/", {"id": stream_id})
    unknown = client.post("/stream/stop/", {"id": "00000000-0000-4000-8000-000000000000"})
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()


def test_staff_may_retrieve_and_stop_anyones(
    client_for: Any, staff_user: Any, stream_id: str
) -> None:
    client = client_for(staff_user)
    assert client.get(f"/stream/{stream_id}/").json()["name"] == "owned"
    response = client.post("/stream/stop/", {"id": stream_id})
    assert response.status_code == 200
    assert response.json()["stream"]["stop_date"] is not None
    assert not is_live(stream_id)


def test_staff_list_shows_only_their_own(client_for: Any, staff_user: Any, stream_id: str) -> None:
    assert client_for(staff_user).get("/stream/").json()["count"] == 0


def test_session_login_works_with_csrf(sts: Any, user: Any) -> None:

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    refused = client.post("/stream/start/?type=hls")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert get_stream_model()._default_manager.count() == 0

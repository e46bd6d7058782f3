"""The seed README's function API, called from a host's own views (tests/host_views.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404
from django.test import Client, RequestFactory
from rest_framework.exceptions import ValidationError

from broadcast_api.api import (
    prepare_start_hls_stream_response,
    start_hls_stream,
    stop_hls_stream,
)
from broadcast_api.credentials import StorageGrant
from broadcast_api.models import AbstractStream, get_stream_model

pytestmark = pytest.mark.django_db


def test_host_view_as_in_the_seed_readme(sts: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    response = client.post("/host/start/?name=some_name&type=hls")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    started = body["response"]
    assert set(started) == {"stream", "endpoint"}
    assert started["stream"]["name"] == "some_name"
    assert started["endpoint"]["S3"]["aws_expiration"] == 3600.0
    assert get_stream_model()._default_manager.get(pk=started["stream"]["id"]).owner == user

    stopped = client.post("/host/stop/", {"id": started["stream"]["id"]}).json()["response"]
    assert stopped["stream"]["id"] == started["stream"]["id"]
    assert stopped["stream"]["stop_date"]


def test_start_result_is_a_dict_of_stream_and_storage(sts: Any, user: Any) -> None:
    request = RequestFactory().post("/", {"name": "direct"})
    request.user = user
    result = start_hls_stream(request=request)
    assert set(result) == {"stream", "storage"}
    assert isinstance(result["stream"], AbstractStream)
    assert isinstance(result["storage"], StorageGrant)
    assert result["stream"].name == "direct"
    prepared = prepare_start_hls_stream_response(result)
    assert prepared["stream"]["id"] == str(result["stream"].id)
    assert prepared["endpoint"]["S3"]["aws_session_token"] == result["storage"].session_token


def test_storage_grant_repr_hides_secrets(sts: Any, user: Any) -> None:
    request = RequestFactory().post("/")
    request.user = user
    grant = start_hls_stream(request=request)["storage"]
    assert grant.secret_access_key not in repr(grant)
    assert grant.session_token not in repr(grant)
    assert grant.access_key_id in repr(grant)


def test_invalid_name_raises_validation_error_and_writes_nothing(sts: Any, user: Any) -> None:
    request = RequestFactory().post("/", {"name": "x" * 256})
    request.user = user
    with pytest.raises(ValidationError):
        start_hls_stream(request=request)
    assert get_stream_model()._default_manager.count() == 0


def test_stop_of_someone_elses_stream_is_404(sts: Any, user: Any, other_user: Any) -> None:

    start = RequestFactory().post("/")
    start.user = user
    stream = start_hls_stream(request=start)["stream"]
    stop = RequestFactory().post("/", {"id": str(stream.id)})
    stop.user = other_user
    with pytest.raises(Http404):
        stop_hls_stream(request=stop)
    stop.user = user
    assert stop_hls_stream(request=stop)["stream"].status == "ended"


def test_anonymous_host_view_gets_ownerless_streams(sts: Any) -> None:
    response = Client().post("/host/start/?type=hls")
    assert response.status_code == 200
    stream_id = response.json()["response"]["stream"]["id"]
    assert get_stream_model()._default_manager.get(pk=stream_id).owner is None
    stopped = Client().post("/host/stop/", {"id": stream_id}).json()
    assert stopped["response"]["stream"]["stop_date"]

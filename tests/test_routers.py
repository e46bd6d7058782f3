"""``playback_url`` with any router: DRF's SimpleRouter and DefaultRouter mounting a
``StreamViewSet`` subclass, and ``broadcast_api.urls.StreamRouter`` (issue 19, point 2).

In responses the URL is the route that answered (``reverse_action``); in webhook
payloads and the function API, where there is no request, it is the first mounted
playlist route, found whatever the router and basename.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import resolve
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from broadcast_api.models import get_stream_model
from broadcast_api.viewing import playback_url
from broadcast_api.webhooks.outbox import event_body

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.router_urls")]


@pytest.fixture
def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.parametrize(
    ("mount", "url_name", "trailing"),
    [
        ("simple", "host-stream-playlist", "/"),
        ("default", "default-stream-playlist", "/"),
        ("ours", "ours-stream-playlist", ""),
    ],
)
def test_the_playback_url_of_a_response_is_the_route_that_serves_the_playlist(
    sts: Any, token_client: APIClient, mount: str, url_name: str, trailing: str
) -> None:
    response = token_client.post(f"/{mount}/stream/start/", {"type": "hls"}, format="json")
    assert response.status_code == 201, response.content
    stream = response.json()["stream"]
    url = urlsplit(stream["playback_url"])
    assert url.path == f"/{mount}/stream/{stream['id']}/playlist.m3u8{trailing}"
    assert resolve(url.path).url_name == url_name
    served = APIClient().get(f"{url.path}?{url.query}")  # the token lets anyone watch
    assert served.status_code == 404  # the route answers: nothing uploaded yet
    assert served.json()["code"] == "playlist_not_ready"


def test_a_webhook_payload_names_a_mounted_playlist_without_broadcast_api_urls(
    sts: Any, token_client: APIClient
) -> None:
    stream_id = token_client.post("/simple/stream/start/?type=hls").json()["stream"]["id"]
    stream = get_stream_model()._default_manager.get(pk=stream_id)
    data = json.loads(event_body("stream.started", stream, timezone.now()))["data"]
    assert data["playback_url"] is not None
    match = resolve(data["playback_url"])
    assert match.url_name is not None
    assert match.url_name.endswith("-stream-playlist")
    assert match.kwargs == {"id": stream_id}
    assert playback_url(stream) == data["playback_url"]  # the function API's, too


def test_the_playlist_url_name_setting_wins(sts: Any, user: Any, settings: Any) -> None:
    settings.BROADCAST_API_PLAYLIST_URL_NAME = "ours-stream-playlist"
    stream = get_stream_model()._default_manager.create(
        owner=user, s3_bucket="b", s3_prefix="streams/x", s3_region="us-east-1"
    )
    assert playback_url(stream) == f"/ours/stream/{stream.pk}/playlist.m3u8"
    settings.BROADCAST_API_PLAYLIST_URL_NAME = "no-such-name"
    assert playback_url(stream) is None

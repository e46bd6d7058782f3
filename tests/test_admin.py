"""The stream admin: read-only pages without secrets, a stop action, no add."""

from __future__ import annotations

import html as html_module
import re
import uuid
from typing import Any

import pytest
import requests
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import include, path, reverse

from broadcast_api.models import Stream, get_stream_model
from tests.servers import broadcaster_s3

# tests/urls.py does not mount the admin; this module is the URLconf of its tests.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("broadcast_api.urls")),
]

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("tests.test_admin"),
    pytest.mark.skipif(
        Stream._meta.swapped is not None, reason="the default admin is for the default model"
    ),
]

CHANGELIST = "admin:broadcast_api_stream_changelist"


def start(client: Any, name: str) -> dict[str, Any]:
    response = client.post(f"/stream/start/?type=hls&name={name}")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def test_changelist_and_change_page_show_no_secret(
    sts: Any, client_for: Any, user: Any, admin_client: Any
) -> None:
    started = start(client_for(user), "admin-secret-check")
    s3 = started["endpoint"]["S3"]
    secrets = [
        s3["aws_secret_access_key"],
        s3["aws_session_token"],
        "testing-server-secret",  # the server's own key, from the settings
    ]
    assert all(secrets)
    stream_id = started["stream"]["id"]

    changelist = admin_client.get(reverse(CHANGELIST))
    change = admin_client.get(reverse("admin:broadcast_api_stream_change", args=[stream_id]))

    assert changelist.status_code == 200
    assert change.status_code == 200
    changelist_html = changelist.content.decode()
    change_html = change.content.decode()
    # The pages do show the stream (so the absence of secrets below means something).
    assert "admin-secret-check" in changelist_html
    assert s3["s3_bucket_path"] in change_html
    assert "broadcast-test" in change_html
    for html in (changelist_html, change_html):
        for secret in secrets:
            assert secret not in html


def test_nothing_can_be_changed_or_deleted(
    sts: Any, client_for: Any, user: Any, admin_client: Any
) -> None:
    """Even a superuser: a name edit is refused, and so is a delete (it would skip stop)."""
    stream_id = start(client_for(user), "read-only")["stream"]["id"]
    change_url = reverse("admin:broadcast_api_stream_change", args=[stream_id])
    page = admin_client.get(change_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="name"' not in html  # no form field: the page is a view
    assert 'name="_save"' not in html
    edit = admin_client.post(change_url, {"name": "renamed", "status": "ended"})
    assert edit.status_code == 403
    delete_url = reverse("admin:broadcast_api_stream_delete", args=[stream_id])
    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    changelist = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "delete_selected" not in changelist
    assert "stop_selected" in changelist
    bulk_delete = admin_client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [stream_id], "post": "yes"},
    )
    assert bulk_delete.status_code in {200, 302}
    stream = get_stream_model()._default_manager.get(pk=stream_id)
    assert (stream.name, stream.status) == ("read-only", "live")


def test_search_by_exact_id_and_by_name(
    sts: Any, client_for: Any, user: Any, admin_client: Any
) -> None:
    client = client_for(user)
    first = start(client, "first-one")["stream"]["id"]
    second = start(client, "second-one")["stream"]["id"]
    url = reverse(CHANGELIST)
    by_id = admin_client.get(url, {"q": first})
    assert by_id.status_code == 200
    assert list(by_id.context["cl"].result_list.values_list("pk", flat=True)) == [uuid.UUID(first)]
    by_name = admin_client.get(url, {"q": "second"})
    assert list(by_name.context["cl"].result_list.values_list("pk", flat=True)) == [
        uuid.UUID(second)
    ]
    by_owner = admin_client.get(url, {"q": user.username})
    assert by_owner.context["cl"].result_count == 2
    not_an_id = admin_client.get(url, {"q": "not-a-uuid"})
    assert not_an_id.status_code == 200
    assert not_an_id.context["cl"].result_count == 0


def test_stop_action_stops_live_streams_once(
    sts: Any,
    client_for: Any,
    user: Any,
    admin_client: Any,
    stopped_signals: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(user)
    live = [start(client, f"live-{i}")["stream"]["id"] for i in range(2)]
    ended = start(client, "ended")["stream"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/stream/stop/", {"id": ended}).status_code == 200
    assert len(stopped_signals) == 1
    stopped_signals.clear()

    url = reverse(CHANGELIST)
    data = {"action": "stop_selected", helpers.ACTION_CHECKBOX_NAME: [*live, ended]}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data, follow=True)

    assert response.status_code == 200
    assert [str(message) for message in response.context["messages"]] == ["2 streams stopped."]
    streams = get_stream_model()._default_manager.in_bulk([*live, ended])
    for stream_id in live:
        stream = streams[uuid.UUID(stream_id)]
        assert stream.status == "ended"
        assert stream.stop_reason == "admin"
        assert stream.stop_date is not None
    already = streams[uuid.UUID(ended)]
    assert already.stop_reason == "client"
    assert sorted(str(signal["stream"].pk) for signal in stopped_signals) == sorted(live)
    assert {signal["reason"] for signal in stopped_signals} == {"admin"}
    assert {signal["sender"] for signal in stopped_signals} == {get_stream_model()}

    # Running the action again stops nothing and sends nothing.
    stopped_signals.clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = admin_client.post(url, data, follow=True)
    assert [str(message) for message in again.context["messages"]] == ["0 streams stopped."]
    assert stopped_signals == []


def test_add_is_disallowed(admin_client: Any, admin_user: Any) -> None:
    response = admin_client.get(reverse("admin:broadcast_api_stream_add"))
    assert response.status_code == 403
    changelist = admin_client.get(reverse(CHANGELIST))
    assert changelist.status_code == 200
    assert reverse("admin:broadcast_api_stream_add") not in changelist.content.decode()
    request = RequestFactory().get("/")
    request.user = admin_user
    assert admin.site.get_model_admin(Stream).has_add_permission(request) is False


def test_the_stop_action_needs_the_change_permission(
    sts: Any, client_for: Any, user: Any, client: Any, django_user_model: Any
) -> None:
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_stream"))
    client.force_login(viewer)
    stream_id = start(client_for(user), "viewer-cannot-stop")["stream"]["id"]
    url = reverse(CHANGELIST)
    changelist = client.get(url)
    assert changelist.status_code == 200
    assert "viewer-cannot-stop" in changelist.content.decode()
    assert "stop_selected" not in changelist.content.decode()
    client.post(url, {"action": "stop_selected", helpers.ACTION_CHECKBOX_NAME: [stream_id]})
    assert get_stream_model()._default_manager.get(pk=stream_id).status == "live"


def test_the_poster_shows_as_an_image_in_the_list_and_on_the_page(
    sts: Any, client_for: Any, user: Any, admin_client: Any
) -> None:
    """A small picture, signed as a viewer's: the server's secret is not in it, and it
    serves the poster over HTTP."""
    client = client_for(user)
    started = start(client, "with-a-poster")
    stream_id = started["stream"]["id"]
    bare_id = start(client, "without-a-poster")["stream"]["id"]
    jpeg = b"\xff\xd8\xff\xe0 admin poster \xff\xd9"
    broadcaster_s3(started).put_object(
        Bucket="broadcast-test",
        Key=f"{started['endpoint']['S3']['s3_bucket_path']}/poster.jpg",
        Body=jpeg,
    )
    assert client.post(f"/stream/{stream_id}/poster/").status_code == 200

    changelist = admin_client.get(reverse(CHANGELIST)).content.decode()
    change = admin_client.get(reverse("admin:broadcast_api_stream_change", args=[stream_id]))
    bare = admin_client.get(reverse("admin:broadcast_api_stream_change", args=[bare_id]))
    images = [
        re.findall(r'<img src="([^"]+/poster\.jpg[^"]*)"', html)
        for html in (changelist, change.content.decode())
    ]
    assert [len(found) for found in images] == [1, 1]  # the stream without one shows none
    assert 'style="height:36px"' in changelist
    assert "poster" in bare.content.decode()
    assert "poster.jpg" not in bare.content.decode()
    for [src] in images:
        url = html_module.unescape(src)
        assert "X-Amz-Signature=" in url
        assert "testing-server-secret" not in url
        fetched = requests.get(url, timeout=10)
        assert (fetched.status_code, fetched.content) == (200, jpeg)

"""Stop, the plain DRF way: ``get_object()``, then ``perform_stop()``, then one
conditional UPDATE in ``services.stop_stream``.

These pin the queries each case runs (a SELECT and an UPDATE for a live stream, one
SELECT for an ended one, one SELECT for a stream the caller may not see), that a
subclass's queryset, object permission and ``perform_stop`` always take part, and that
the response and the signal carry the row as written.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.test import APIRequestFactory, force_authenticate

from broadcast_api import events
from broadcast_api.models import AbstractStream, StopReason, get_stream_model
from broadcast_api.permissions import IsOwnerOrStaff
from broadcast_api.services import StopResult, stop_stream
from broadcast_api.views import StreamViewSet
from tests.seed_format import seed_time

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoints_cached")]


def test_a_cold_endpoint_cache_costs_one_select_a_minute(user: Any) -> None:

    cache.delete(events.ENDPOINTS_CACHE_KEY)
    first, second = make_stream(user), make_stream(user)
    _, cold = statements_of(lambda: stop_via(StreamViewSet, user, first.pk))
    _, warm = statements_of(lambda: stop_via(StreamViewSet, user, second.pk))
    assert cold == ["SELECT", "SELECT", "UPDATE"]  # the stream, the endpoints, the stop
    assert warm == ["SELECT", "UPDATE"]


STARTED = timezone.now().replace(microsecond=123456) - timedelta(minutes=5)


def make_stream(owner: Any, name: str = "evening show") -> AbstractStream:
    stream_id = uuid.uuid4()
    return get_stream_model()._default_manager.create(
        id=stream_id,
        name=name,
        owner=owner,
        start_date=STARTED,
        s3_bucket="bucket",
        s3_prefix=f"streams/{stream_id}",
        s3_region="us-west-1",
    )


def stop_via(view_class: type[StreamViewSet], user: Any, stream_id: Any) -> Any:
    request = APIRequestFactory().post("/stream/stop/", {"id": str(stream_id)})
    force_authenticate(request, user)
    response = view_class.as_view({"post": "stop"})(request)
    response.render()
    return response


def statements_of(call: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        result = call()
    return result, [query["sql"].split(" ", 1)[0] for query in queries.captured_queries]


# -- the queries of each case -----------------------------------------------------------


def test_live_stop_is_a_select_then_one_conditional_update(
    user: Any,
    stopped_signals: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    stream = make_stream(user)
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        response = stop_via(StreamViewSet, user, stream.pk)
    assert response.status_code == 200
    select, update = (query["sql"] for query in queries.captured_queries)
    assert select.startswith("SELECT")
    assert update.startswith("UPDATE")
    # The UPDATE decides: it only matches a stream that is still live.
    assert "status" in update.split("WHERE", 1)[1]
    row = get_stream_model()._default_manager.get(pk=stream.pk)
    assert row.status == "ended"
    assert row.stop_reason == StopReason.CLIENT
    assert row.stop_date is not None
    body = response.data
    playback_url = body["stream"].pop("playback_url")
    assert body["stream"].pop("thumbnail_url") is None  # no poster was uploaded
    # Beside the seed's keys: nobody watched, and the UPDATE recorded that peak.
    assert (body["stream"].pop("viewer_count"), body["stream"].pop("peak_viewer_count")) == (0, 0)
    assert row.peak_viewer_count == 0
    assert body == {
        "stream": {
            "id": str(stream.pk),
            "name": "evening show",
            "start_date": seed_time(STARTED),
            "stop_date": seed_time(row.stop_date),
        }
    }
    assert playback_url.startswith(f"http://testserver/stream/{stream.pk}/playlist.m3u8?token=")
    [signal] = stopped_signals
    assert signal["reason"] == StopReason.CLIENT
    assert signal["sender"] is get_stream_model()
    sent = signal["stream"]
    for field in get_stream_model()._meta.concrete_fields:
        assert getattr(sent, field.attname) == getattr(row, field.attname), field.name


def test_staff_stop_anyones(user: Any, staff_user: Any) -> None:
    stream = make_stream(user)
    response, executed = statements_of(lambda: stop_via(StreamViewSet, staff_user, stream.pk))
    assert response.status_code == 200
    assert executed == ["SELECT", "UPDATE"]
    assert get_stream_model()._default_manager.get(pk=stream.pk).owner_id == user.pk


def test_restop_is_one_select_and_answers_the_first_stop_date(
    user: Any, stopped_signals: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    stream = make_stream(user)
    with django_capture_on_commit_callbacks(execute=True):
        first = stop_via(StreamViewSet, user, stream.pk)
        second, executed = statements_of(lambda: stop_via(StreamViewSet, user, stream.pk))
    assert second.status_code == 200
    assert executed == ["SELECT"]

    def without_token(data: Any) -> dict[str, Any]:
        # Each answer mints a fresh playback token (its expiry counts from now, so two
        # answers a second apart differ there); everything else is the first stop's.
        stream = {**data["stream"], "playback_url": data["stream"]["playback_url"].split("?")[0]}
        return {**data, "stream": stream}

    assert without_token(second.data) == without_token(first.data)
    assert second.data["stream"]["stop_date"] == first.data["stream"]["stop_date"]
    assert len(stopped_signals) == 1


@pytest.mark.parametrize("whose", ["other user's", "unknown"])
def test_foreign_or_unknown_stream_is_404_and_untouched(
    user: Any, other_user: Any, whose: str, stopped_signals: list[dict[str, Any]]
) -> None:
    stream = make_stream(other_user)
    target = stream.pk if whose == "other user's" else uuid.uuid4()
    response, executed = statements_of(lambda: stop_via(StreamViewSet, user, target))
    assert response.status_code == 404
    assert response.data["code"] == "not_found"
    assert executed == ["SELECT"]
    assert get_stream_model()._default_manager.get(pk=stream.pk).status == "live"
    assert stopped_signals == []


def test_a_stream_stopped_between_read_and_write_is_answered_as_ended(
    user: Any, stopped_signals: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    """The race stop_stream is built for: our copy says live, the row says ended."""
    stream = make_stream(user)
    stale = get_stream_model()._default_manager.get(pk=stream.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert stop_stream(stream, reason=StopReason.ADMIN).stopped
        result, executed = statements_of(lambda: stop_stream(stale))
    assert executed == ["UPDATE", "SELECT"]  # the UPDATE matched nothing; read the truth
    assert not result.stopped
    assert result.stream.stop_reason == StopReason.ADMIN
    assert result.stream.stop_date == stream.stop_date
    assert len(stopped_signals) == 1


# -- a subclass's queryset, permissions and hooks always take part ------------------------


class EveryoneSees(StreamViewSet):
    """A host widens the queryset (say, a moderation screen) and keeps IsOwnerOrStaff."""

    def get_queryset(self) -> Any:
        return get_stream_model()._default_manager.all()


def test_widened_queryset_still_refuses_other_users(user: Any, other_user: Any) -> None:
    stream = make_stream(other_user)
    response = stop_via(EveryoneSees, user, stream.pk)
    assert response.status_code == 403
    assert get_stream_model()._default_manager.get(pk=stream.pk).status == "live"
    response, executed = statements_of(lambda: stop_via(EveryoneSees, other_user, stream.pk))
    assert response.status_code == 200
    assert executed == ["SELECT", "UPDATE"]


class OnlyNamed(BasePermission):
    """An object permission that looks at the stream."""

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return bool(obj.name)


class NamedOnly(StreamViewSet):
    permission_classes = [IsAuthenticated, IsOwnerOrStaff, OnlyNamed]


def test_custom_object_permission_sees_the_stream_before_the_write(user: Any) -> None:
    unnamed = make_stream(user, name="")
    response, executed = statements_of(lambda: stop_via(NamedOnly, user, unnamed.pk))
    assert response.status_code == 403
    assert executed == ["SELECT"]
    assert get_stream_model()._default_manager.get(pk=unnamed.pk).status == "live"
    named = make_stream(user)
    response, executed = statements_of(lambda: stop_via(NamedOnly, user, named.pk))
    assert response.status_code == 200
    assert executed == ["SELECT", "UPDATE"]


class ComposedPermission(EveryoneSees):
    """DRF's ``&`` composes permissions; their object checks run as usual."""

    permission_classes = [IsAuthenticated & IsOwnerOrStaff]


def test_composed_permission_refuses_others(user: Any, other_user: Any) -> None:
    stream = make_stream(other_user)
    assert stop_via(ComposedPermission, user, stream.pk).status_code == 403
    assert stop_via(ComposedPermission, other_user, stream.pk).status_code == 200


class AuditedStop(StreamViewSet):
    seen: list[tuple[str, str]] = []

    def perform_stop(self, stream: AbstractStream) -> StopResult:
        self.seen.append((str(stream.pk), stream.status))
        return super().perform_stop(stream)


def test_perform_stop_override_receives_the_live_stream_every_time(user: Any) -> None:
    stream = make_stream(user)
    AuditedStop.seen.clear()
    assert stop_via(AuditedStop, user, stream.pk).status_code == 200
    assert stop_via(AuditedStop, user, stream.pk).status_code == 200
    assert AuditedStop.seen == [(str(stream.pk), "live"), (str(stream.pk), "ended")]


class OpenToAnonymous(StreamViewSet):
    """A host drops IsAuthenticated; IsOwnerOrStaff still refuses ownerless streams."""

    permission_classes = [IsOwnerOrStaff]


def test_anonymous_cannot_stop_an_ownerless_stream(db: Any) -> None:

    stream = make_stream(None)
    response = stop_via(OpenToAnonymous, AnonymousUser(), stream.pk)
    assert response.status_code in {401, 403}
    assert get_stream_model()._default_manager.get(pk=stream.pk).status == "live"

"""Stop's one-statement path and the two-step path it falls back to.

A stop of a live stream the caller may stop is one ``UPDATE … RETURNING``. Everything
else (a re-stop, someone else's stream, an unknown id, a subclass hook or an object
permission that must see the stream first, a database without ``UPDATE … RETURNING``)
takes ``get_object()`` then ``perform_stop()``. These tests pin both: the executed
each path runs, that their answers are the same, and that a subclass's permission or
widened queryset can never be bypassed by the shorter path.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.db import connection, router
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.connection import ConnectionDoesNotExist
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.test import APIRequestFactory, force_authenticate

from broadcast_api import statements
from broadcast_api.models import AbstractStream, StopReason, get_stream_model
from broadcast_api.permissions import IsOwnerOrStaff
from broadcast_api.services import StopResult, stop_live_stream
from broadcast_api.signals import stream_stopped
from broadcast_api.views import StreamViewSet

pytestmark = pytest.mark.django_db

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


@pytest.fixture
def stopped_signals() -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, stream: AbstractStream, reason: str, **kwargs: Any) -> None:
        received.append({"sender": sender, "stream": stream, "reason": reason})

    stream_stopped.connect(receiver)
    yield received
    stream_stopped.disconnect(receiver)


# -- the one-statement path -------------------------------------------------------------


def test_live_stop_is_one_update_returning_the_row(
    user: Any,
    stopped_signals: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    stream = make_stream(user)
    with django_capture_on_commit_callbacks(execute=True):
        response, executed = statements_of(lambda: stop_via(StreamViewSet, user, stream.pk))
    assert response.status_code == 200
    assert executed == ["UPDATE"]
    row = get_stream_model()._default_manager.get(pk=stream.pk)
    assert row.status == "ended"
    assert row.stop_reason == StopReason.CLIENT
    assert row.stop_date is not None
    assert response.data == {
        "stream": {
            "id": str(stream.pk),
            "name": "evening show",
            "start_date": STARTED.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "stop_date": row.stop_date.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
    }
    # The signal's stream is the row as written, every field converted as an ORM read.
    [signal] = stopped_signals
    assert signal["reason"] == StopReason.CLIENT
    assert signal["sender"] is get_stream_model()
    sent = signal["stream"]
    for field in get_stream_model()._meta.concrete_fields:
        assert getattr(sent, field.attname) == getattr(row, field.attname), field.name
    assert isinstance(sent.pk, uuid.UUID)
    assert sent.start_date == STARTED
    assert sent.stop_date is not None
    assert sent.stop_date.tzinfo is not None
    assert sent._state.adding is False


def test_staff_stop_anyones_in_one_statement(
    user: Any, staff_user: Any, stopped_signals: list[dict[str, Any]]
) -> None:
    stream = make_stream(user)
    response, executed = statements_of(lambda: stop_via(StreamViewSet, staff_user, stream.pk))
    assert response.status_code == 200
    assert executed == ["UPDATE"]
    assert get_stream_model()._default_manager.get(pk=stream.pk).owner_id == user.pk


def test_restop_reads_once_and_answers_the_first_stop_date(user: Any) -> None:
    stream = make_stream(user)
    first = stop_via(StreamViewSet, user, stream.pk)
    second, executed = statements_of(lambda: stop_via(StreamViewSet, user, stream.pk))
    assert second.status_code == 200
    assert executed == ["UPDATE", "SELECT"]  # the UPDATE matches nothing; no second write
    assert second.data == first.data


@pytest.mark.parametrize("whose", ["other user's", "unknown"])
def test_foreign_or_unknown_stream_is_404_and_untouched(
    user: Any, other_user: Any, whose: str, stopped_signals: list[dict[str, Any]]
) -> None:
    stream = make_stream(other_user)
    target = stream.pk if whose == "other user's" else uuid.uuid4()
    response, executed = statements_of(lambda: stop_via(StreamViewSet, user, target))
    assert response.status_code == 404
    assert response.data["code"] == "not_found"
    assert executed == ["UPDATE", "SELECT"]
    assert get_stream_model()._default_manager.get(pk=stream.pk).status == "live"
    assert stopped_signals == []


# -- what keeps a subclass on the two-step path -----------------------------------------


class EveryoneSees(StreamViewSet):
    """A host widens the queryset (say, a moderation screen) and keeps IsOwnerOrStaff."""

    def get_queryset(self) -> Any:
        return get_stream_model()._default_manager.all()


def test_widened_queryset_still_refuses_other_users(user: Any, other_user: Any) -> None:
    stream = make_stream(other_user)
    response = stop_via(EveryoneSees, user, stream.pk)
    assert response.status_code == 403
    assert get_stream_model()._default_manager.get(pk=stream.pk).status == "live"
    # The owner still stops in one statement through the widened queryset.
    response, executed = statements_of(lambda: stop_via(EveryoneSees, other_user, stream.pk))
    assert response.status_code == 200
    assert executed == ["UPDATE"]


class OnlyNamed(BasePermission):
    """An object permission the UPDATE cannot express: it must see the stream."""

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


class ComposedPermission(StreamViewSet):
    """DRF's ``&`` builds a permission whose object check the package cannot read."""

    permission_classes = [IsAuthenticated & IsOwnerOrStaff]


def test_composed_permission_takes_the_two_step_path(user: Any, other_user: Any) -> None:
    stream = make_stream(other_user)
    widened = type("Widened", (ComposedPermission, EveryoneSees), {})
    assert stop_via(widened, user, stream.pk).status_code == 403
    response, executed = statements_of(lambda: stop_via(widened, other_user, stream.pk))
    assert response.status_code == 200
    assert executed == ["SELECT", "UPDATE"]


class AuditedStop(StreamViewSet):
    seen: list[tuple[str, str]] = []

    def perform_stop(self, stream: AbstractStream) -> StopResult:
        self.seen.append((str(stream.pk), stream.status))
        return super().perform_stop(stream)


def test_perform_stop_override_receives_the_live_stream(user: Any) -> None:
    stream = make_stream(user)
    AuditedStop.seen.clear()
    response, executed = statements_of(lambda: stop_via(AuditedStop, user, stream.pk))
    assert response.status_code == 200
    assert executed == ["SELECT", "UPDATE"]
    assert AuditedStop.seen == [(str(stream.pk), "live")]


def test_without_update_returning_the_two_step_path_answers_the_same(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MySQL, MariaDB, Oracle: ``supports_update_returning`` is False."""
    monkeypatch.setattr(statements, "RETURNING_VENDORS", frozenset())
    stream = make_stream(user)
    response, executed = statements_of(lambda: stop_via(StreamViewSet, user, stream.pk))
    assert response.status_code == 200
    assert executed == ["SELECT", "UPDATE"]
    row = get_stream_model()._default_manager.get(pk=stream.pk)
    assert (row.status, row.stop_reason) == ("ended", StopReason.CLIENT)
    with pytest.raises(NotImplementedError):
        statements.update_returning(get_stream_model()._default_manager.all(), {"name": "x"})


# -- update_returning itself ------------------------------------------------------------


def test_update_returning_keeps_joined_filters_and_returns_only_matches(
    user: Any, other_user: Any
) -> None:
    """A filter across a join (a host's scope) becomes a subquery, as in ``update()``."""
    mine, theirs = make_stream(user), make_stream(other_user)
    manager = get_stream_model()._default_manager
    rows = statements.update_returning(
        manager.filter(owner__username=user.username), {"name": "renamed"}
    )
    assert [row.pk for row in rows] == [mine.pk]
    assert rows[0].name == "renamed"
    assert manager.get(pk=theirs.pk).name == "evening show"
    assert statements.update_returning(manager.filter(pk=uuid.uuid4()), {"name": "x"}) == []


def test_stop_live_stream_outside_the_view(user: Any) -> None:
    """The service for a host's own code: scope, lookup and reason are the caller's."""
    stream = make_stream(user)
    manager = get_stream_model()._default_manager
    result = stop_live_stream(manager.all(), {"pk": stream.pk}, reason=StopReason.ADMIN)
    assert result is not None
    assert result.stopped
    assert result.stream.stop_reason == StopReason.ADMIN
    assert stop_live_stream(manager.all(), {"pk": stream.pk}) is None  # already ended


# -- the statement cache ----------------------------------------------------------------


@pytest.fixture
def empty_statement_cache() -> Iterator[dict[Any, str]]:
    saved = dict(statements._statements)
    statements._statements.clear()
    yield statements._statements
    statements._statements.clear()
    statements._statements.update(saved)


@pytest.mark.parametrize("scope", ["owner", "staff"])
def test_cached_statements_are_the_compilers_own(
    user: Any, staff_user: Any, scope: str, empty_statement_cache: dict[Any, str]
) -> None:
    """Every later stop's SQL and parameters are what Django would compile for it."""
    caller = user if scope == "owner" else staff_user
    first, second = make_stream(user), make_stream(user)
    assert stop_via(StreamViewSet, caller, first.pk).status_code == 200
    assert stop_via(StreamViewSet, caller, first.pk).status_code == 200  # re-stop: a read
    cached = {key[0]: (key, sql) for key, sql in empty_statement_cache.items()}
    assert sorted(cached) == ["select", "update"]
    assert len(empty_statement_cache) == 2

    model = get_stream_model()
    where: dict[str, Any] = {"pk": second.pk}
    if scope == "owner":
        where["owner_id"] = user.pk
    values = {"status": "ended", "stop_date": timezone.now(), "stop_reason": "client"}
    for kind, set_values, lookup, compile_ in [
        ("update", values, {**where, "status": "live"}, statements.compile_update),
        ("select", {}, where, statements.compile_select),
    ]:
        key, sql = cached[kind]
        assert key[4:] == (tuple(set_values), tuple(sorted(lookup)))
        compiled_sql, compiled_params = compile_(
            model._default_manager.filter(**lookup), set_values, connection
        )
        assert sql == compiled_sql
        prepared = statements.prepared_params(model, set_values, lookup, connection)
        assert prepared == compiled_params

    # And the cached statements really run: a fresh stop, then its re-stop.
    response, executed = statements_of(lambda: stop_via(StreamViewSet, caller, second.pk))
    assert response.status_code == 200
    assert executed == ["UPDATE"]
    assert model._default_manager.get(pk=second.pk).status == "ended"
    again, executed = statements_of(lambda: stop_via(StreamViewSet, caller, second.pk))
    assert executed == ["UPDATE", "SELECT"]
    assert again.data == response.data
    assert len(empty_statement_cache) == 2


def test_filtered_querysets_and_null_lookups_are_compiled_every_time(
    user: Any, other_user: Any, empty_statement_cache: dict[Any, str]
) -> None:
    manager = get_stream_model()._default_manager
    mine, theirs, ownerless = make_stream(user), make_stream(other_user), make_stream(None)
    values = {"name": "renamed"}
    rows = statements.update_returning(manager.filter(owner=user), values, {"pk": mine.pk})
    assert [row.pk for row in rows] == [mine.pk]
    rows = statements.update_returning(manager.all(), values, {"owner_id": None})
    assert [row.pk for row in rows] == [ownerless.pk]  # IS NULL, not "= NULL"
    rows = statements.update_returning(manager.all(), values, {"owner__username": "bob"})
    assert [row.pk for row in rows] == [theirs.pk]
    assert empty_statement_cache == {}


class ReadsFromAReplica:
    """A host's primary/replica router; the "replica" alias does not exist here."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return "replica"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"


def test_stop_writes_and_rereads_on_the_primary(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop is a write: neither its UPDATE nor the read after it may go to a replica."""
    stream = make_stream(user)
    monkeypatch.setattr(router, "routers", [ReadsFromAReplica()])
    first = stop_via(StreamViewSet, user, stream.pk)
    again = stop_via(StreamViewSet, user, stream.pk)
    assert first.status_code == 200
    assert again.status_code == 200
    assert again.data == first.data
    with pytest.raises(ConnectionDoesNotExist):  # the router is really in force
        get_stream_model()._default_manager.get(pk=stream.pk)


def test_what_the_cache_refuses_is_compiled_instead(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each shape ``prepared_params``/``statement_key`` cannot vouch for returns None."""
    from django.contrib.auth import get_user_model
    from django.db.models import CharField, F

    model = get_stream_model()
    manager = model._default_manager

    def prepared(values: dict[str, Any], lookup: dict[str, Any], on: Any = model) -> Any:
        return statements.prepared_params(on, values, lookup, connection)

    assert prepared({}, {"pk": uuid.uuid4(), "owner_id": user.pk}) is not None
    assert prepared({"name": F("s3_bucket")}, {}) is None  # an expression
    assert prepared({}, {"owner_id": None}) is None  # compiles to IS NULL
    assert prepared({}, {"no_such_field": 1}) is None
    assert prepared({}, {"groups": 1}, on=get_user_model()) is None  # many-to-many
    assert prepared({}, {"logentry": 1}, on=get_user_model()) is None  # reverse relation
    monkeypatch.setattr(CharField, "get_placeholder", lambda *a: "%s", raising=False)
    assert prepared({"name": "x"}, {}) is None  # its SQL may depend on the value

    def key(queryset: Any, lookup: dict[str, Any]) -> Any:
        return statements.statement_key(queryset, "default", "select", {}, lookup)

    assert key(manager.all(), {"pk": 1}) is not None
    assert key(manager.filter(name="x"), {"pk": 1}) is None  # filters of its own
    assert key(manager.only("name"), {"pk": 1}) is None  # deferred columns
    assert key(manager.all(), {"owner__username": "x"}) is None  # a join


class OpenToAnonymous(StreamViewSet):
    """A host drops IsAuthenticated; IsOwnerOrStaff still refuses ownerless streams."""

    permission_classes = [IsOwnerOrStaff]


def test_anonymous_cannot_stop_an_ownerless_stream(db: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    stream = make_stream(None)
    response = stop_via(OpenToAnonymous, AnonymousUser(), stream.pk)
    assert response.status_code in {401, 403}
    assert get_stream_model()._default_manager.get(pk=stream.pk).status == "live"

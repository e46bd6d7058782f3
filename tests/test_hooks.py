"""``broadcast_api.hooks``: what the core announces, in the transaction and after commit.

Real starts and stops against moto and the test database: a writer that raises rolls the
change back, after-commit receivers never hear of a rolled-back change, and a change
nobody writes for opens no transaction.
"""

from __future__ import annotations

import gc
import json
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from broadcast_api import hooks
from broadcast_api.lifecycle import reap
from broadcast_api.models import StreamStatus, get_stream_model
from broadcast_api.services import start_stream, stop_stream
from broadcast_api.webhooks import events as webhook_events
from broadcast_api.webhooks.models import WebhookDelivery, WebhookEvent
from broadcast_api.webhooks.receivers import plan_outbox

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.django_db

HOOK_URL = "https://hooks.example.com/x"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La"


@pytest.fixture
def subscribed() -> Iterator[Callable[..., Any]]:
    """Subscribe through ``hooks``; everything subscribed is removed afterwards."""
    added: list[Any] = []

    def subscribe(kind: Callable[..., None], receiver: Any, *args: Any, **kwargs: Any) -> Any:
        kind(*args, receiver, **kwargs) if args else kind(receiver, **kwargs)
        added.append(receiver)
        return receiver

    yield subscribe
    for receiver in added:
        hooks.unsubscribe(receiver)


class Boom(Exception):
    pass


def test_a_writer_that_raises_rolls_the_start_back(
    sts: Any, user: Any, subscribed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    heard: list[hooks.Change] = []
    subscribed(hooks.after_commit, heard.append)

    def explode(change: hooks.Change) -> None:
        assert get_stream_model()._default_manager.filter(pk=change.stream.pk).exists()
        raise Boom

    subscribed(hooks.in_transaction, lambda name: explode, names=[hooks.STREAM_STARTED])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Boom):
        start_stream(owner=user, name="doomed")
    assert not get_stream_model()._default_manager.filter(name="doomed").exists()
    assert heard == []  # rolled back: announced to nobody


def test_a_writer_runs_in_the_stops_transaction(
    sts: Any, user: Any, subscribed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    stream = start_stream(owner=user).stream

    def explode(change: hooks.Change) -> None:
        assert change.reason == "admin"
        raise Boom

    subscribed(hooks.in_transaction, lambda name: explode, names=[hooks.STREAM_STOPPED])
    with pytest.raises(Boom):
        stop_stream(stream, reason="admin")
    stream.refresh_from_db()
    assert stream.status == StreamStatus.LIVE  # the UPDATE rolled back with the writer


def test_after_commit_receivers_hear_each_change_once_after_the_commit(
    sts: Any, user: Any, subscribed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    heard: list[tuple[str, str]] = []
    subscribed(hooks.after_commit, lambda change: heard.append((change.name, change.reason)))
    with django_capture_on_commit_callbacks(execute=False) as pending:
        stream = start_stream(owner=user).stream
        stop_stream(stream, reason="client")
        stop_stream(stream, reason="client")  # already ended: no second announcement
    assert heard == []  # nothing before the commit
    for callback in pending:
        callback()
    assert heard == [(hooks.STREAM_STARTED, ""), (hooks.STREAM_STOPPED, "client")]


def test_names_filter_what_a_receiver_hears(
    sts: Any, user: Any, subscribed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    stops: list[str] = []
    subscribed(hooks.after_commit, lambda c: stops.append(c.name), names=[hooks.STREAM_STOPPED])
    with django_capture_on_commit_callbacks(execute=True):
        stop_stream(start_stream(owner=user).stream)
    assert stops == [hooks.STREAM_STOPPED]


def test_subscribing_twice_keeps_one_and_receivers_are_held_strongly(
    subscribed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    heard: list[str] = []

    def receiver(change: hooks.Change) -> None:
        heard.append(change.name)

    subscribed(hooks.after_commit, receiver)
    subscribed(hooks.after_commit, receiver)
    # Only the registry holds this one (a weakly held Signal receiver would be gone).
    subscribed(hooks.after_commit, lambda change: heard.append("anonymous"))
    gc.collect()
    with django_capture_on_commit_callbacks(execute=True):
        hooks.announce(hooks.Change("thing.happened", stream=None, at=None))  # type: ignore[arg-type]
    assert heard == ["thing.happened", "anonymous"]
    assert hooks.writers_for("thing.happened") == []


def test_with_no_webhooks_a_change_asks_for_no_transaction(sts: Any, user: Any) -> None:
    assert hooks.writers_for(hooks.STREAM_STARTED) == []
    with CaptureQueriesContext(connection) as queries:
        start_stream(owner=None)
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert "SAVEPOINT" not in statements
    assert statements.count("INSERT") == 1


def test_a_webhook_endpoint_makes_the_outbox_a_writer(settings: Any) -> None:
    settings.BROADCAST_API_WEBHOOKS = [{"url": HOOK_URL, "secret": SECRET}]
    assert len(hooks.writers_for(hooks.STREAM_STOPPED)) == 1
    assert plan_outbox("thing.happened") is None  # not a webhook event type
    settings.BROADCAST_API_WEBHOOKS = [
        {"url": HOOK_URL, "secret": SECRET, "events": [hooks.STREAM_STARTED]}
    ]
    assert hooks.writers_for(hooks.STREAM_STOPPED) == []  # nobody wants this one


def test_a_new_event_type_is_registered_in_code_and_written_without_a_migration(
    sts: Any, user: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What issue 18's ``stream.deleted`` will do: register, announce, and the outbox
    writes it (the event type is a plain string column, no choices)."""
    monkeypatch.setattr(webhook_events, "_registered", list(webhook_events._registered))
    assert webhook_events.register("stream.archived") == "stream.archived"
    assert webhook_events.register("stream.archived") == "stream.archived"  # idempotent
    assert webhook_events.event_types()[-1] == "stream.archived"
    with pytest.raises(ValueError, match="not an event type name"):
        webhook_events.register("Stream Archived")
    settings.BROADCAST_API_WEBHOOKS = [
        {"url": HOOK_URL, "secret": SECRET, "events": ["stream.archived"]}
    ]
    stream = start_stream(owner=user).stream
    assert not WebhookEvent._default_manager.exists()  # started: not asked for
    writers = hooks.writers_for("stream.archived")
    with transaction.atomic():
        hooks.announce(hooks.Change("stream.archived", stream, at=stream.start_date), writers)
    event = WebhookEvent._default_manager.get()
    assert event.type == "stream.archived"
    assert json.loads(event.body)["data"]["id"] == str(stream.pk)
    assert WebhookDelivery._default_manager.filter(event=event, url=HOOK_URL).count() == 1


def test_the_sweep_runs_each_features_sweeper(sts: Any, subscribed: Any) -> None:
    subscribed(hooks.on_sweep, lambda: 3, "tests")
    assert hooks.sweep()["tests"] == 3
    report = reap()
    assert report.swept["tests"] == 3
    assert report.swept["webhooks"] == 0 == report.webhooks_resent
    assert "tests" not in reap(dry_run=True).swept  # a dry run changes nothing

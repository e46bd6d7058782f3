"""Viewer counts: concurrent viewers per stream, counted from the playlist endpoint's polls.

Streams are started through the API and their playlists uploaded into moto over HTTP;
the counts live in Redis through Django's ``RedisCache`` (the shared cache several
servers use). Time is the counter's clock, set by the test, so a window's edges are
exact on any machine; the polls, the cache and the database are real.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from broadcast_api import viewers
from broadcast_api.models import get_stream_model
from broadcast_api.webhooks.models import WebhookEndpoint, WebhookEvent
from tests.playback_fixtures import MEDIA_PLAYLIST, Broadcast

pytestmark = pytest.mark.django_db

WINDOW = 10


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # on a window's edge for WINDOW = 10

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Clock:
    settings.BROADCAST_API_VIEWER_WINDOW = WINDOW
    clock = Clock()
    monkeypatch.setattr(viewers.counter, "clock", clock)
    return clock


@pytest.fixture
def cache_ops(redis_cache: str, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The viewer counter's operations on the shared cache, by name."""
    ops: Counter[str] = Counter()
    cache = caches[redis_cache]
    for name in ("add", "incr", "get", "get_many", "set"):
        original = getattr(cache, name)

        def spy(
            key: Any, *args: Any, _name: str = name, _original: Any = original, **kw: Any
        ) -> Any:
            keys = [key] if isinstance(key, str) else list(key)
            if any(k.startswith(viewers.KEY_PREFIX) for k in keys):
                ops[_name] += 1
            return _original(key, *args, **kw)

        monkeypatch.setattr(cache, name, spy)
    return ops


AGENT = "Mozilla/5.0 hls.js"


def viewer(number: int) -> APIClient:
    """A viewer of its own: its own address, the same browser as everyone else."""
    return APIClient(REMOTE_ADDR=f"198.51.100.{number}", HTTP_USER_AGENT=AGENT)


def poll(client: APIClient, broadcast: Broadcast, rendition: str = "") -> None:
    path = broadcast.playback_path + (f"&rendition={rendition}" if rendition else "")
    response = client.get(path)
    assert response.status_code == 200, response.content


def viewer_count(owner: APIClient, broadcast: Broadcast) -> int:
    response = owner.get(f"/stream/{broadcast.id}/")
    assert response.status_code == 200, response.content
    count: int = response.json()["viewer_count"]
    return count


def test_counts_rise_and_fall_with_viewers_and_the_peak_is_kept_at_the_stop(
    clock: Clock,
    cache_ops: Counter[str],
    live: Broadcast,
    client_for: Any,
    user: Any,
) -> None:
    """N viewers polling the master and a rendition every second count N; when half go,
    the count falls to N/2 within two windows of their last poll and never below; the
    stop answers the viewers still there, records the peak on the row and sends it in
    ``stream.stopped``."""
    WebhookEndpoint._default_manager.create(
        url="https://hooks.example.com/in", secret="whsec_" + "A" * 32, events=["stream.stopped"]
    )
    live.upload("low/index.m3u8", MEDIA_PLAYLIST)
    owner = client_for(user)
    n = 8
    audience = [viewer(number) for number in range(n)]
    assert viewer_count(owner, live) == 0

    def second(clients: list[APIClient]) -> None:
        for client in clients:
            poll(client, live)
            poll(client, live, rendition="low/index.m3u8")
        clock.now += 1

    second(audience)
    assert viewer_count(owner, live) == n  # from the first poll
    for _ in range(2 * WINDOW):
        second(audience)
        assert viewer_count(owner, live) == n

    staying = audience[: n // 2]
    last_poll_of_the_leavers = clock.now - 1
    counts: list[tuple[float, int]] = []
    for _ in range(3 * WINDOW):
        second(staying)
        counts.append((clock.now - last_poll_of_the_leavers, viewer_count(owner, live)))
    assert {count for _, count in counts} == {n, n // 2}
    assert all(count == n // 2 for since, count in counts if since >= 2 * WINDOW), counts
    assert all(count == n for since, count in counts if since < WINDOW), counts

    ops_before_stop = sum(cache_ops.values())
    response = owner.post("/stream/stop/", {"id": live.id}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["stream"]["viewer_count"] == n // 2
    assert response.json()["stream"]["peak_viewer_count"] == n
    assert get_stream_model()._default_manager.get(pk=live.id).peak_viewer_count == n
    [event] = WebhookEvent._default_manager.filter(type="stream.stopped")
    data = json.loads(event.body)["data"]
    assert (data["peak_viewer_count"], data["viewer_count"]) == (n, n // 2)
    # The stop read the peak in one get_many; the response and the event one each.
    assert sum(cache_ops.values()) - ops_before_stop == 3
    assert get_stream_model()._default_manager.get(pk=live.id).peak_viewer_count == n


def test_a_poll_costs_at_most_one_cache_operation(
    clock: Clock, cache_ops: Counter[str], live: Broadcast
) -> None:
    """Per process and window: one ``add`` per viewer, one ``incr`` per viewer new to the
    window, and nothing for the polls after. A second server (another counter, with its
    own memory) adds each viewer once more and counts none of them again."""
    live.upload("low/index.m3u8", MEDIA_PLAYLIST)
    audience = [viewer(number) for number in range(6)]
    polls = 0
    for _ in range(WINDOW - 1):
        for client in audience:
            poll(client, live)
            poll(client, live, rendition="low/index.m3u8")
            polls += 2
        clock.now += 1
    # (and the window's first viewer one more add, creating the window's count)
    assert cache_ops == Counter(add=6 + 1, incr=6)
    assert sum(cache_ops.values()) <= polls  # the budget: 13 operations for 108 polls

    other_server = viewers.ViewerCounter(clock=clock)
    stream_id = uuid.UUID(live.id)
    token = parse_qs(urlsplit(live.playback_path).query)["token"][0]
    cache_ops.clear()
    for number in range(6):  # the same viewers, polling the other server now
        other_server.saw(stream_id, viewers.viewer_id(token, f"198.51.100.{number}", AGENT))
    assert cache_ops == Counter(add=6)  # their markers are there: counted once, not twice
    assert other_server.count(stream_id) == 6
    cache_ops.clear()
    for client in audience:
        poll(client, live)
    assert cache_ops == Counter()  # this server already counted them in this window


def test_one_viewer_counts_once_however_many_servers_it_polls(
    clock: Clock, redis_cache: str, live: Broadcast
) -> None:
    """Polls of one viewer spread over three servers (three counters, as three processes
    have) count it once: the marker in the shared cache is added once."""
    servers = [viewers.ViewerCounter(clock=clock) for _ in range(3)]
    stream_id = uuid.UUID(live.id)
    for second in range(WINDOW):
        for number in range(4):
            servers[(second + number) % 3].saw(stream_id, f"viewer-{number}")
        clock.now += 0.5
    assert {server.count(stream_id) for server in servers} == {4}


def test_list_reads_the_counts_of_a_page_in_one_cache_operation(
    clock: Clock, cache_ops: Counter[str], start: Any, client_for: Any, user: Any
) -> None:
    broadcasts = [start(name=f"stream {number}") for number in range(3)]
    for number, broadcast in enumerate(broadcasts):
        broadcast.upload("index.m3u8", MEDIA_PLAYLIST)
        for watcher in range(number):
            poll(viewer(watcher), broadcast)
    cache_ops.clear()
    response = client_for(user).get("/stream/")
    assert response.status_code == 200, response.content
    counts = {item["id"]: item["viewer_count"] for item in response.json()["results"]}
    assert counts == {broadcast.id: number for number, broadcast in enumerate(broadcasts)}
    assert cache_ops == Counter(get_many=1)


def test_viewers_are_told_apart_by_token_address_and_browser(
    clock: Clock, redis_cache: str, live: Broadcast, client_for: Any, user: Any
) -> None:
    """Two browsers behind one address count twice; the same browser and address with
    another playback token (another page load handed out another URL) counts again; the
    same token, address and browser count once."""
    time.sleep(1.1)  # a token carries the second it was made in
    later = client_for(user).get(f"/stream/{live.id}/").json()["playback_url"]
    assert urlsplit(later).query != urlsplit(live.playback_path).query
    behind_nat = "203.0.113.9"
    for agent in ("Safari", "Firefox", "Safari"):
        response = APIClient(HTTP_USER_AGENT=agent, REMOTE_ADDR=behind_nat).get(live.playback_path)
        assert response.status_code == 200
    assert viewers.counter.count(uuid.UUID(live.id)) == 2
    parts = urlsplit(later)
    response = APIClient(HTTP_USER_AGENT="Safari", REMOTE_ADDR=behind_nat).get(
        f"{parts.path}?{parts.query}"
    )
    assert response.status_code == 200
    assert viewers.counter.count(uuid.UUID(live.id)) == 3


def test_refused_polls_are_not_counted(clock: Clock, redis_cache: str, live: Broadcast) -> None:
    response = APIClient().get(live.playlist_path)  # no token, not public
    assert response.status_code == 404
    assert viewers.counter.count(uuid.UUID(live.id)) == 0


def test_counting_off_costs_nothing(
    clock: Clock, cache_ops: Counter[str], live: Broadcast, settings: Any
) -> None:
    settings.BROADCAST_API_VIEWER_WINDOW = None
    poll(viewer(1), live)
    assert viewers.counter.count(uuid.UUID(live.id)) == 0
    assert cache_ops == Counter()


def test_a_failing_cache_never_fails_a_poll_or_a_read(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Down:
        def __getattr__(self, name: str) -> Any:
            def fail(*args: Any, **kwargs: Any) -> Any:
                raise ConnectionError("redis went away")

            return fail

    monkeypatch.setattr(viewers.ViewerCounter, "cache", property(lambda self: Down()))
    counter = viewers.ViewerCounter(clock=clock)
    stream_id = uuid.uuid4()
    counter.saw(stream_id, "someone")
    assert counter.count(stream_id) == 0
    assert counter.peak(stream_id, since=datetime(2027, 1, 15, tzinfo=UTC)) == 0
    assert [r.levelname for r in caplog.records] == ["WARNING"] * 3
    assert all("redis went away" not in r.getMessage() for r in caplog.records)

"""What the browser publisher's tests share: chromium with fake media devices, and the
example project's "Go live from this tab" page driven as a person would."""

from __future__ import annotations

import contextlib
import importlib
from typing import TYPE_CHECKING, Any

from devtools.testing.prerequisites import CHROMIUM, CHROMIUM_ARGS, require_browser

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
PUBLISHER_EVENTS = ["live", "segment", "lag", "error", "stopped", "credentials"]
# Every event of the page's publisher (window.broadcastPublisher), with its time.
RECORD_EVENTS = """types => { window.seen = [];
    for (const type of types) window.broadcastPublisher.addEventListener(type,
        (e) => window.seen.push({type, detail: e.detail, at: Date.now()})); }"""


@contextlib.contextmanager
def fake_media_chromium(profile: Path) -> Iterator[Any]:
    """A headless Debian chromium (Playwright) whose camera and microphone are fakes."""
    require_browser()
    # Imported here: only the browser suites need Playwright installed.
    sync_api = importlib.import_module("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, *FAKE_MEDIA],
        )
        try:
            yield context
        finally:
            context.close()


def localhost(url: str) -> str:
    """The same URL on ``localhost``: a secure context, where WebCodecs and
    ``getUserMedia`` exist (``127.0.0.1`` is one too, but the bucket's CORS rule and the
    issue name ``localhost``)."""
    return url.replace("://127.0.0.1:", "://localhost:")


def log_in(page: Any, base: str, user: str, password: str, then: str) -> None:
    page.goto(f"{base}/admin/login/?next={then}")
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}{then}")


def go_live(page: Any, name: str) -> dict[str, Any]:
    """Record the publisher's events, press Go live, wait for ``live``: the stream."""
    page.evaluate(RECORD_EVENTS, PUBLISHER_EVENTS)
    page.fill("#name", name)
    page.click("#start")
    page.wait_for_function(
        "document.getElementById('state').textContent === 'live'", timeout=30_000
    )
    stream: dict[str, Any] = page.evaluate(
        "window.seen.find(e => e.type === 'live').detail.stream"
    )
    return stream


def wait_for_segments(page: Any, count: int, timeout_ms: int = 30_000) -> None:
    page.wait_for_function(
        "n => Number(document.getElementById('segments').textContent) >= n",
        arg=count,
        timeout=timeout_ms,
    )


def stop_broadcast(page: Any) -> list[dict[str, Any]]:
    """Press Stop, wait for ``ended``: every event the publisher sent."""
    page.click("#stop")
    page.wait_for_function(
        "document.getElementById('state').textContent === 'ended'", timeout=30_000
    )
    seen: list[dict[str, Any]] = page.evaluate("window.seen")
    return seen

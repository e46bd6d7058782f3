"""Fixtures for the suites that run the tooling: the demo stack, chromium, the Ceph gateway.

Registered by ``tests/conftest.py`` (``pytest_plugins``). Each fixture checks its
prerequisites first: a missing one skips, or fails when ``BROADCAST_API_REQUIRE_SERVERS``
names the suite's kind (see :mod:`devtools.testing.requirements`).

- ``demo_stack`` / ``browser_stack`` (module): moto_server and the example project on
  free ports, with a fresh SQLite DB and the user demo/demo (:func:`devtools.stack.start_stack`);
- ``chromium`` (module): a headless Debian chromium through Playwright, fresh profile;
- ``rgw_gateway`` (session): a one-node Ceph RADOS Gateway with STS, whose minimum
  session duration is 1 s so that expiry can be tested with short lifetimes;
- ``test_output_dir``: ``test-output/`` of the checkout, for reports and screenshots.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import pytest

from devtools.paths import REPO
from devtools.stack import Stack, start_stack
from devtools.testing.prerequisites import (
    CHROMIUM,
    CHROMIUM_ARGS,
    require_browser,
    require_e2e,
)
from devtools.testing.rgw import running_rgw

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from devtools.ceph_rgw.clients import RGW

TEST_OUTPUT = REPO / "test-output"


def _running_stack(factory: pytest.TempPathFactory, name: str) -> Iterator[Stack]:
    stack = start_stack(factory.mktemp(name))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The demo's emulator and example project, for the end-to-end tests."""
    require_e2e()
    yield from _running_stack(tmp_path_factory, "e2e-stack")


@pytest.fixture(scope="module")
def browser_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The same stack, once chromium, Playwright and the player's hls.js are there too."""
    require_browser()
    yield from _running_stack(tmp_path_factory, "browser-stack")


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Playwright browser context of Debian's chromium (never a downloaded browser)."""
    require_browser()
    # Imported here: only the browser suite needs Playwright installed.
    sync_api = importlib.import_module("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh user-data dir
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="session")
def rgw_gateway() -> Iterator[RGW]:
    """A running Ceph RGW; stopped (daemons ended, directory removed) after the session."""
    with running_rgw(min_session_duration=1) as gateway:
        yield gateway


@pytest.fixture
def test_output_dir() -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT

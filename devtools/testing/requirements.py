"""The rule for a missing server: skip with the reason, or fail when it is required.

A missing server skips its tests with a visible reason, unless the environment variable
``BROADCAST_API_REQUIRE_SERVERS`` names it (comma-separated, e.g. ``postgres,moto,rgw``)
or is ``all``: then the tests fail instead. CI sets ``all``.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def required(name: str) -> bool:
    wanted = {
        part.strip()
        for part in os.environ.get("BROADCAST_API_REQUIRE_SERVERS", "").split(",")
        if part.strip()
    }
    return "all" in wanted or name in wanted


def require_or_skip(name: str, reason: str) -> NoReturn:
    """Skip (or, when ``name`` is required, fail) the current test."""
    if required(name):
        pytest.fail(f"{name} is required (BROADCAST_API_REQUIRE_SERVERS) but {reason}")
    pytest.skip(f"{name}: {reason}")

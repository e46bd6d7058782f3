"""Collected only with BROADCAST_TEST_SWAPPED_MODEL set (see test_extending.py)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from broadcast_api.models import get_stream_model
from tests.testapp.models import CustomStream

pytestmark = pytest.mark.django_db


def test_swapped_model_is_active() -> None:
    assert get_stream_model() is CustomStream


def test_swapped_migrations_are_complete() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()

"""The seed's time format, written out by hand so the tests do not borrow the package's."""

from __future__ import annotations

from datetime import UTC, datetime


def seed_time(value: datetime | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` in UTC (years zero-padded), or ``None``."""
    if value is None:
        return None
    utc = value.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} {utc:%H:%M:%S}"

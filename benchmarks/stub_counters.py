"""Reading the STS/S3 stub's counters (``GET /__stats`` of ``sts_stub.py``)."""

from __future__ import annotations

from benchmarks.config import S3_PREFIX


def sts_total(stats: dict[str, int]) -> int:
    """STS calls among the stub's counters (the others count S3 reads)."""
    return sum(v for k, v in stats.items() if not k.startswith(S3_PREFIX))


def s3_reads(stats: dict[str, int]) -> dict[str, int]:
    """S3 GETs among the stub's counters, by status: {"200": n, "304": n, "404": n}."""
    return {status: stats.get(f"{S3_PREFIX}GET {status}", 0) for status in ("200", "304", "404")}

"""Runs into rows: medians per side, ratios against the baseline, verdicts."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.config import (
    BUDGET_P99_RATIO,
    BUDGET_RPS_RATIO,
    BUDGET_VIEWER_RPS_RATIO,
    MODES,
    VIEWER_S3_GROWTH,
    VIEWER_S3_SLACK_READS,
)


def summarise(rs: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's repeats: medians of throughput, latency and CPU, and the totals."""
    return {
        "rps": round(statistics.median(r["rps"] for r in rs), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in rs), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in rs), 2),
        "rps_runs": [r["rps"] for r in rs],
        "p99_runs": [r["p99_ms"] for r in rs],
        "errors": sum(sum(r["errors"].values()) for r in rs),
        "built": sum(sum(r["built"].values()) for r in rs),
        "requests": sum(r["requests"] for r in rs),
        "worker_cpu_ms": round(statistics.median(r["worker_cpu_ms"] for r in rs), 3),
    }


def spread(summaries: list[dict[str, Any]]) -> float:
    """How far apart a side's repeats are (the worst side): a shared machine makes whole
    runs slow."""
    worst = max(max(s["rps_runs"]) / max(1e-9, min(s["rps_runs"])) for s in summaries)
    return round(float(worst), 2)


def aggregate(runs: list[dict[str, Any]], sides: list[str]) -> list[dict[str, Any]]:
    rows = []
    for mode in MODES:
        for endpoint in ("start", "stop"):
            sel = {
                s: [
                    r for r in runs if (r["mode"], r["endpoint"], r["side"]) == (mode, endpoint, s)
                ]
                for s in sides
            }
            if not sel["baseline"]:
                continue
            row: dict[str, Any] = {"mode": mode, "endpoint": endpoint}
            for side in sides:
                rs = sel[side]
                row[side] = {
                    **summarise(rs),
                    "sts_calls_per_request": round(
                        sum(r["sts_calls"] for r in rs) / max(1, sum(r["requests"] for r in rs)), 3
                    ),
                    "foreign_cpu_cores": round(
                        statistics.fmean(r["foreign_cpu_cores"] for r in rs), 2
                    ),
                }
            if "package" in sides:
                b, p = row["baseline"], row["package"]
                row["rps_ratio"] = round(p["rps"] / b["rps"], 3)
                row["p99_ratio"] = round(p["p99_ms"] / b["p99_ms"], 3)
                pairs = [
                    pr["rps"] / br["rps"]
                    for br, pr in zip(sel["baseline"], sel["package"], strict=True)
                ]
                row["rps_ratio_per_repeat"] = [round(x, 3) for x in pairs]
                row["cpu_ratio"] = round(p["worker_cpu_ms"] / max(1e-9, b["worker_cpu_ms"]), 3)
                row["verdict_rps"] = "PASS" if row["rps_ratio"] >= BUDGET_RPS_RATIO else "FAIL"
                row["verdict_p99"] = "PASS" if row["p99_ratio"] <= BUDGET_P99_RATIO else "FAIL"
            row["spread"] = spread([row[s] for s in sides])
            rows.append(row)
    return rows


def summarise_viewer(rs: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's viewer runs of one cell: the medians, S3 reads and bytes per poll."""
    return {
        **summarise(rs),
        "s3_gets_per_s": round(statistics.median(r["s3_gets_per_s"] for r in rs), 2),
        "s3_200_per_s": round(statistics.median(r["s3_200_per_s"] for r in rs), 2),
        "s3_304_per_s": round(statistics.median(r["s3_304_per_s"] for r in rs), 2),
        "s3_gets_per_s_runs": [r["s3_gets_per_s"] for r in rs],
        "wire_bytes_per_request": round(
            statistics.median(r["wire_bytes_per_request"] for r in rs), 1
        ),
        "gzip_bytes": rs[0]["check_gzip_bytes"],
        "body_bytes": rs[0]["check_body_bytes"],
        "segments": rs[0]["check_segments"],
    }


def aggregate_viewer(runs: list[dict[str, Any]], duration: float) -> list[dict[str, Any]]:
    """One row per (mode, playlist length, connections): medians per side, the ratio."""
    rows = []
    cells = sorted(
        {(r["seconds_of_playlist"], r["connections"]) for r in runs},
    )
    for mode in MODES:
        for seconds, conns in cells:
            sel = {
                side: [
                    r
                    for r in runs
                    if (r["mode"], r["side"], r["seconds_of_playlist"], r["connections"])
                    == (mode, side, seconds, conns)
                ]
                for side in ("baseline", "package")
            }
            if not sel["baseline"] or not sel["package"]:
                continue
            b, p = summarise_viewer(sel["baseline"]), summarise_viewer(sel["package"])
            row: dict[str, Any] = {
                "mode": mode,
                "seconds": seconds,
                "connections": conns,
                "baseline": b,
                "package": p,
            }
            row["rps_ratio"] = round(p["rps"] / max(1e-9, b["rps"]), 3)
            row["rps_ratio_per_repeat"] = [
                round(pr["rps"] / max(1e-9, br["rps"]), 3)
                for br, pr in zip(sel["baseline"], sel["package"], strict=True)
            ]
            row["p99_ratio"] = round(p["p99_ms"] / max(1e-9, b["p99_ms"]), 3)
            row["cpu_ratio"] = round(p["worker_cpu_ms"] / max(1e-9, b["worker_cpu_ms"]), 3)
            row["verdict_rps"] = "PASS" if row["rps_ratio"] >= BUDGET_VIEWER_RPS_RATIO else "FAIL"
            row["spread"] = spread([b, p])
            rows.append(row)
    return rows


def viewer_s3_flatness(table: list[dict[str, Any]], duration: float) -> list[dict[str, Any]]:
    """Per mode: the package's S3 GETs/s over every length and number of connections
    (the medians of the table's cells) stay within ``VIEWER_S3_GROWTH`` of the lowest,
    plus ``VIEWER_S3_SLACK_READS`` a run."""
    slack = VIEWER_S3_SLACK_READS / max(1.0, round(duration))
    result = []
    for mode in MODES:
        rates = [row["package"]["s3_gets_per_s"] for row in table if row["mode"] == mode]
        if not rates:
            continue
        limit = min(rates) * VIEWER_S3_GROWTH + slack
        result.append(
            {
                "mode": mode,
                "min_per_s": min(rates),
                "max_per_s": max(rates),
                "slack_per_s": round(slack, 2),
                "limit_per_s": round(limit, 2),
                "verdict": "PASS" if max(rates) <= limit else "FAIL",
            }
        )
    return result

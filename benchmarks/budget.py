"""The budget verdicts of issue #5, from the aggregated report."""

from __future__ import annotations

from typing import Any

from benchmarks.config import (
    BUDGET_P99_RATIO,
    BUDGET_RPS_RATIO,
    BUDGET_RSS_MB,
    BUDGET_VIEWER_RPS_RATIO,
    VIEWER_S3_GROWTH,
    length_label,
)


def budget(report: dict[str, Any]) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    if "package" not in report["sides"]:
        return [{"verdict": "n/a", "check": "broadcast_api not measured", "value": "--no-package"}]
    for row in report["table"]:
        items.append(
            {
                "verdict": row["verdict_rps"],
                "check": f"{row['mode']} {row['endpoint']} req/s >= {BUDGET_RPS_RATIO}x baseline",
                "value": f"{row['rps_ratio']:.2f}x"
                f" ({row['package']['rps']} vs {row['baseline']['rps']})",
            }
        )
        items.append(
            {
                "verdict": row["verdict_p99"],
                "check": f"{row['mode']} {row['endpoint']} p99 <= {BUDGET_P99_RATIO}x baseline",
                "value": f"{row['p99_ratio']:.2f}x"
                f" ({row['package']['p99_ms']} vs {row['baseline']['p99_ms']} ms)",
            }
        )
    viewer = report.get("viewer") or {}
    for row in viewer.get("table", []):
        b, p = row["baseline"], row["package"]
        items.append(
            {
                "verdict": row["verdict_rps"],
                "check": f"{row['mode']} viewer playlist {length_label(row['seconds'])}"
                f" req/s >= {BUDGET_VIEWER_RPS_RATIO}x baseline (-c{row['connections']})",
                "value": f"{row['rps_ratio']:.2f}x ({p['rps']} vs {b['rps']}; p99"
                f" {p['p99_ms']} vs {b['p99_ms']} ms)",
            }
        )
    for flat in viewer.get("s3_flat", []):
        items.append(
            {
                "verdict": flat["verdict"],
                "check": f"{flat['mode']} viewer S3 GETs/s flat in viewers and length"
                f" (highest <= {VIEWER_S3_GROWTH}x lowest + {flat['slack_per_s']:g}/s)",
                "value": f"{flat['min_per_s']:.2f} to {flat['max_per_s']:.2f}/s"
                f" (limit {flat['limit_per_s']:.2f}/s)",
            }
        )
    viewer_runs = [r for r in viewer.get("runs", []) if r["side"] == "package"]
    built_runs = sum(
        sum(r["built"].values()) for r in [*report["runs"], *viewer_runs] if r["side"] == "package"
    )
    requests = sum(
        r["requests"] for r in [*report["runs"], *viewer_runs] if r["side"] == "package"
    )
    mem = report.get("memory") or {}
    built_mem = sum(mem.get("built", {}).values())
    built_ip = report.get("inprocess", {}).get("built_during_run", {})
    built_total = built_runs + built_mem + sum(built_ip.values())
    items.append(
        {
            "verdict": "PASS" if built_total == 0 else "FAIL",
            "check": "boto3 Sessions/clients built per request (after warm-up)",
            "value": (
                f"{built_runs} during {requests} wrk requests, {built_mem} during the memory run,"
                f" {sum(built_ip.values())} in-process"
            ),
        }
    )
    if mem:
        scaled = mem["rss_growth_per_20000_mb"]
        grown_objects = (mem["gc_objects_after"] or 0) - (mem["gc_objects_before"] or 0)
        complete = mem["starts"] >= 20000
        if not mem["worker_survived"] or mem["rss_growth_mb"] >= BUDGET_RSS_MB:
            verdict = "FAIL"
        elif complete or scaled < BUDGET_RSS_MB:
            verdict = "PASS"
        else:
            # Fewer starts than the budget speaks of, and a linear extrapolation above it:
            # RSS growth levels off when it is allocator high-water, so this cannot decide.
            verdict = "INCOMPLETE"
        value = (
            f"{mem['rss_growth_mb']:+.2f} MB over {mem['starts']} starts;"
            f" Python objects alive after gc: {grown_objects:+d}"
        )
        if not complete:
            value += (
                f" (only {mem['starts']} of 20,000 starts fitted in the time budget; linear"
                f" extrapolation {scaled:+.2f} MB. Full check: python -m benchmarks --skip"
                " servers,viewer,inprocess)"
            )
        items.append(
            {
                "verdict": verdict,
                "check": f"worker RSS growth < {BUDGET_RSS_MB} MB per 20,000 starts",
                "value": value,
            }
        )
    return items

"""The text report (``results/latest.md``) rendered from the report dict (``latest.json``)."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
from benchmarks.config import BUDGET_VIEWER_RPS_RATIO, NCPU, NOISY_SPREAD, length_label


def noise_notes(
    table: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    label: Callable[[dict[str, Any]], str],
    during: str,
) -> list[str]:
    """A NOTE for each row whose repeats differ too much, and the CPU other processes
    used while ``runs`` ran."""
    lines = [
        f"  NOTE {label(row)}: repeats differ by up to"
        f" {(row['spread'] - 1) * 100:.0f}% in req/s; treat its ratio with care"
        for row in table
        if row.get("spread", 1) > NOISY_SPREAD
    ]
    noise = [run["foreign_cpu_cores"] for run in runs]
    if noise:
        lines.append(
            f"  CPU used by other processes during {during}: mean"
            f" {statistics.fmean(noise):.2f}, max {max(noise):.2f} of {NCPU} cores"
        )
    return lines


def render_viewer(viewer: dict[str, Any]) -> list[str]:
    """The viewer section: per mode, playlist length and connections, the cached-bytes
    baseline against the package."""
    conns = ",".join(str(c) for c in viewer["connections"])
    lengths = ", ".join(length_label(n) for n in viewer["lengths"])
    lines = [
        "",
        f"Viewer path: GET playlist.m3u8 of live EVENT playlists {lengths} into their"
        f" broadcast (1 s segments), wrk -t{viewer['threads']} -c{{{conns}}}"
        f" -d{viewer['duration']:g}s -H 'Accept-Encoding: gzip', Redis cache, live window"
        f" {viewer['window']:g} s;",
        "baseline = the cached-bytes view: the same token check, the rewritten playlist"
        " (same window) from the cache,",
        "gzip-encoded once per refresh (1 s TTL, no single-flight). Bytes: the gzip body"
        " as sent, and what wrk read per poll (headers too):",
    ]
    head = (
        f"{'mode':8} {'playlist':8} {'-c':>3} {'baseline req/s':>14} {'package req/s':>13}"
        f" {'ratio':>6}  {'gzip body B b/p':>15}  {'wire B/poll b/p':>15}"
        f"  {'CPU ms/req b/p':>14}  {'S3 GETs/s b/p':>13}  verdict"
    )
    lines += [head, "-" * len(head)]
    for row in viewer["table"]:
        b, p = row["baseline"], row["package"]
        lines.append(
            f"{row['mode']:8} {length_label(row['seconds']):8} {row['connections']:3d}"
            f" {b['rps']:14.1f} {p['rps']:13.1f} {row['rps_ratio']:6.2f}"
            f"  {b['gzip_bytes']:7d}/{p['gzip_bytes']:<7d}"
            f"  {b['wire_bytes_per_request']:7.0f}/{p['wire_bytes_per_request']:<7.0f}"
            f"  {b['worker_cpu_ms']:6.3f}/{p['worker_cpu_ms']:<7.3f}"
            f"  {b['s3_gets_per_s']:5.2f}/{p['s3_gets_per_s']:<6.2f}"
            f"  {row['verdict_rps']} (req/s >= {BUDGET_VIEWER_RPS_RATIO}x)"
        )
    lines.append("")
    lines.append(
        "Per repeat (B P / P B / B P): package/baseline req/s; p50/p99 ms baseline |"
        " package; segments served (decoded bytes) b/p:"
    )
    for row in viewer["table"]:
        b, p = row["baseline"], row["package"]
        lines.append(
            f"  {row['mode']:8} {length_label(row['seconds']):6} -c{row['connections']:<3}"
            f" {row['rps_ratio_per_repeat']}  {b['p50_ms']:.2f}/{b['p99_ms']:.2f} |"
            f" {p['p50_ms']:.2f}/{p['p99_ms']:.2f} ms  {b['segments']}/{p['segments']}"
            f" ({b['body_bytes']}/{p['body_bytes']} B)  err {b['errors']}/{p['errors']}"
        )
    refresh = viewer.get("refresh")
    if refresh:
        lines.append(
            f"CPU per refresh (in-process, thread CPU, median of {viewer['refresh_n']}: an"
            " unconditional S3 GET, the live window rewritten, gzip, cache.set):"
        )
        lines.append(
            f"  {'playlist':8} {'stored':>22} {'served':>8} {'package ms':>10} {'baseline ms':>11}"
        )
        for seconds in viewer["lengths"]:
            r = refresh.get(str(seconds))
            if r is None:
                continue
            stored = f"{r['stored_segments']} seg, {r['stored_bytes']} B"
            lines.append(
                f"  {length_label(seconds):8} {stored:>22} {r['served_segments']:8d}"
                f" {r['package']['cpu_ms_p50']:10.2f} {r['baseline']['cpu_ms_p50']:11.2f}"
            )
    lines.append("S3 GETs/s by the package's viewers (medians of 3), by playlist and connections:")
    for flat in viewer.get("s3_flat", []):
        cells = ", ".join(
            f"{length_label(row['seconds'])} -c{row['connections']}"
            f" {row['package']['s3_gets_per_s']:.2f}"
            for row in viewer["table"]
            if row["mode"] == flat["mode"]
        )
        lines.append(
            f"  {flat['mode']:8} {cells}  (limit {flat['limit_per_s']:.2f})  {flat['verdict']}"
        )
    lines += noise_notes(
        viewer["table"],
        viewer["runs"],
        lambda row: f"{row['mode']} viewer {length_label(row['seconds'])} -c{row['connections']}",
        "the viewer runs",
    )
    if viewer.get("paired"):
        lines.append(
            "Paired (baseline and package GETs alternating on the same connections; server"
            " thread CPU per request):"
        )
        for row in viewer["paired"]:
            lines.append(
                f"  {row['mode']:8} {length_label(row['seconds_of_playlist']):6}"
                f" -c{row['connections']:<3} {row['requests']:7d} requests  baseline"
                f" {row['baseline']['cpu_ms']:.3f} ms  package {row['package']['cpu_ms']:.3f}"
                f" ms  baseline/package {row['cpu_ratio']:.2f}  errors {row['errors']}"
            )
    return lines


def render_reaper(reaper: dict[str, Any]) -> list[str]:
    """The reaper section: one reap() serial against concurrent, and the stops' cost."""
    lines = [
        "",
        f"Reaper: one reap() over live streams (1 in {reaper['idle_share']} idle), S3 stub"
        f" answering each HEAD in {reaper['delay_ms']:g} ms (its own process), PostgreSQL,"
        " a webhook endpoint, recordings closed by workers:",
    ]
    head = (
        f"{'concurrency':>11} {'watched':>7} {'streams':>8} {'wall s':>7} {'streams/s':>9}"
        f" {'10,000 streams':>15} {'ended':>6} {'HEADs':>6} {'in flight':>9}"
    )
    lines += [head, "-" * len(head)]
    for run in reaper["runs"]:
        ten_k = f"{run['wall_10k_s']:.1f} s" + (" (extr.)" if run["extrapolated"] else "")
        watched = f"{run.get('watched_percent', 0)}%"
        lines.append(
            f"{run['width']:>11} {watched:>7} {run['streams']:>8} {run['wall_s']:>7.1f}"
            f" {run['streams_per_s']:>9.0f} {ten_k:>15} {run['ended']:>6} {run['heads']:>6}"
            f" {run['max_in_flight']:>9}"
        )
    for stop in reaper["stops"]:
        lines.append(
            f"  {stop['stops']} stop_stream calls in a row, recording closed by"
            f" {stop['close']}: {stop['wall_s']:.1f} s ({stop['ms_per_stop']:.2f} ms each,"
            f" {stop['s3_requests']} S3 GET/PUTs)"
        )
    return lines


def render(report: dict[str, Any]) -> str:
    lines = []
    sides = report["sides"]
    head = (
        f"{'mode':8} {'endpoint':8} {'baseline req/s':>14} {'package req/s':>13} {'ratio':>6}"
        f"  {'baseline p50/p99 ms':>19}  {'package p50/p99 ms':>18} {'p99 ratio':>9}"
        f"  {'CPU ms/req b/p':>14}  verdict"
    )
    if report["table"]:
        lines.append(head)
        lines.append("-" * len(head))
    for row in report["table"]:
        b = row["baseline"]
        if "package" in sides:
            p = row["package"]
            verdict = "PASS" if row["verdict_rps"] == row["verdict_p99"] == "PASS" else "FAIL"
            detail = f"{verdict} (req/s {row['verdict_rps']}, p99 {row['verdict_p99']})"
            lines.append(
                f"{row['mode']:8} {row['endpoint']:8} {b['rps']:14.1f} {p['rps']:13.1f}"
                f" {row['rps_ratio']:6.2f}  {b['p50_ms']:8.2f} / {b['p99_ms']:7.2f}"
                f"  {p['p50_ms']:7.2f} / {p['p99_ms']:7.2f} {row['p99_ratio']:9.2f}"
                f"  {b['worker_cpu_ms']:6.2f}/{p['worker_cpu_ms']:<7.2f}  {detail}"
            )
        else:
            lines.append(
                f"{row['mode']:8} {row['endpoint']:8} {b['rps']:14.1f} {'-':>13} {'-':>6}"
                f"  {b['p50_ms']:8.2f} / {b['p99_ms']:7.2f}  {'-':>18} {'-':>9}"
                f"  {b['worker_cpu_ms']:6.2f}/{'-':7}  -"
            )
    if report["table"]:
        lines.append("")
        lines.append("Per-repeat req/s (baseline | package), wrk errors, STS calls per request:")
    for row in report["table"]:
        parts = [f"  {row['mode']:8} {row['endpoint']:5}"]
        for side in sides:
            s = row[side]
            parts.append(
                f"{side} {s['rps_runs']} err {s['errors']} sts/req {s['sts_calls_per_request']}"
            )
        lines.append(" | ".join(parts))
    lines += noise_notes(
        report["table"], report["runs"], lambda row: f"{row['mode']} {row['endpoint']}", "the runs"
    )

    if report.get("paired"):
        lines.append("")
        lines.append(
            "Paired runs (baseline and package requests alternating on the same connections,"
            " one wrk run;"
        )
        lines.append(
            "server-side thread CPU per request by path, so both sides see the same machine"
            " speed):"
        )
        lines.append(
            f"  {'mode':8} {'endpoint':8} {'requests':>8} {'baseline ms':>11}"
            f" {'package ms':>10}  {'baseline/package':>16}"
        )
        for row in report["paired"]:
            lines.append(
                f"  {row['mode']:8} {row['endpoint']:8} {row['requests']:8d}"
                f" {row['baseline']['cpu_ms']:11.3f} {row['package']['cpu_ms']:10.3f}"
                f"  {row['cpu_ratio']:16.2f}"
            )
        lines.append(
            "  (a CPU-bound server's req/s ratio is about baseline/package CPU; gunicorn's"
            " own per-request CPU, the same for both, is not in these figures)"
        )

    ip = report.get("inprocess")
    if ip:
        lines.append("")
        lines.append(f"In-process (Django test client, {ip['n']} calls each, interleaved):")
        lines.append(
            f"  {'endpoint':19} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'CPU p50 ms':>11}"
            "  SQL queries"
        )
        ip_sides = list(ip["latency"])
        for side in ip_sides:
            for endpoint in ("start", "stop"):
                s = ip["latency"][side][endpoint]
                c = ip["cpu"][side][endpoint]
                q = ip["queries"][side]
                nq = (
                    str(len(q[endpoint]))
                    if endpoint == "start"
                    else f"{len(q['stop'])} (re-stop {len(q['restop'])})"
                )
                lines.append(
                    f"  {side + ' ' + endpoint:19} {s['p50_ms']:8.2f} {s['p99_ms']:8.2f}"
                    f" {s['mean_ms']:8.2f} {c['p50_ms']:11.2f}  {nq}"
                )
        for other in [x for x in ("package",) if x in ip_sides]:
            for endpoint in ("start", "stop"):
                b = ip["latency"]["baseline"][endpoint]
                p = ip["latency"][other][endpoint]
                bc = ip["cpu"]["baseline"][endpoint]
                pc = ip["cpu"][other][endpoint]
                lines.append(
                    f"  {other} - baseline {endpoint}: p50 {p['p50_ms'] - b['p50_ms']:+.2f} ms,"
                    f" CPU p50 {pc['p50_ms'] - bc['p50_ms']:+.2f} ms"
                    f" ({pc['p50_ms'] / bc['p50_ms']:.2f}x)"
                )
        lines.append(
            f"  boto3 Sessions/clients built during {ip['requests_in_run']} calls:"
            f" {ip['built_during_run']}"
        )

    if report.get("viewer", {}).get("table"):
        lines += render_viewer(report["viewer"])

    if report.get("reaper"):
        lines += render_reaper(report["reaper"])

    mem = report.get("memory")
    if mem:
        lines.append("")
        lines.append(
            f"Memory ({mem['side']} start, 1 sync worker, after 500 warm-up starts): VmRSS"
            f" {mem['rss_before_mb']:.1f} MB -> {mem['rss_after_mb']:.1f} MB after"
            f" {mem['starts']} starts ({mem['rss_growth_mb']:+.2f} MB; second half"
            f" {mem['rss_growth_second_half_mb']:+.2f} MB; {mem['seconds']} s,"
            f" errors {sum(mem['errors'].values())})"
        )
        lines.append(
            f"  Python objects alive after gc.collect(): {mem['gc_objects_before']} ->"
            f" {mem['gc_objects_after']}; gc collections per generation during the run:"
            f" {mem['gc_collections_during']}"
        )
        curve = mem["rss_curve"]
        step = max(1, len(curve) // 8)
        points = curve[::step] + ([curve[-1]] if (len(curve) - 1) % step else [])
        lines.append(
            "  RSS curve (starts: MB): " + ", ".join(f"{n}: {mb:.1f}" for n, mb in points)
        )

    lines.append("")
    lines.append("Budget:")
    for item in report["budget"]:
        lines.append(f"  {item['verdict']:4}  {item['check']}: {item['value']}")
    lines.append("")
    meta = report["meta"]
    lines.append(
        f"{meta['date']}  commit {meta['commit']}"
        f"{' (dirty broadcast_api/)' if meta['dirty'] else ''}"
        f"  {meta['cpus']} CPUs  Python {meta['python']}  Django {meta['django']}"
        f"  DRF {meta['drf']}  boto3 {meta['boto3']}  gunicorn {meta['gunicorn']}"
        f"  {meta['postgres']}"
        f"  wrk -t{meta['wrk_threads']} -c{meta['wrk_connections']} -d{meta['duration']:g}s"
        f" x{meta['repeats']}  total {meta['elapsed_s']:.0f} s"
    )
    return "\n".join(lines).lstrip("\n")


def markdown(name: str, text: str) -> str:
    """``results/<name>.md``: the rendered report in a code block under a title."""
    return f"# {name.title()} `make bench` results\n\n```\n" + text + "\n```\n"

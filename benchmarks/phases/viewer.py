"""The viewer phase: GETs of one live stream's playlist, baseline against package."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from benchmarks.config import MODES, RESULTS, log
from benchmarks.database import env_db, pg_backend_pids
from benchmarks.servers import Env, gunicorn, redis_pids

if TYPE_CHECKING:
    from benchmarks.wrk import Wrk


def check_playlist(url: str, side: str) -> int:
    """GET ``url`` once: a 200 HLS playlist (the package's with presigned URLs), or raise."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raise RuntimeError(
            f"{side} playlist {url}: HTTP {exc.code} {exc.read()[:500]!r}"
        ) from None
    if (
        not body.startswith(b"#EXTM3U")
        or "mpegurl" not in content_type
        or (side == "package" and b"X-Amz-Signature=" not in body)
    ):
        raise RuntimeError(f"{side} playlist {url}: unexpected {content_type!r} {body[:500]!r}")
    return len(body)


def viewer_phase(
    env: Env,
    wrk: Wrk,
    mode: str,
    duration: float,
    repeats: int,
    port: int,
    conns: int,
    low_conns: int,
    paired: list[dict[str, Any]],
    paired_duration: float,
) -> list[dict[str, Any]]:
    """Viewers of one live stream: GET its playlist, the baseline's view and the package's.

    ``wrk -c<conns>`` runs alternate B P / P B / B P; then the package once at
    ``low_conns`` (S3 reads must not grow with viewers), and one paired run.
    """
    runs: list[dict[str, Any]] = []
    sides = ["baseline", "package"]
    with gunicorn(env, MODES[mode], port, RESULTS / f"gunicorn-viewer-{mode}.log") as server:
        body_bytes = {
            side: check_playlist(server["url"] + wrk.urls[(side, "playlist")], side)
            for side in sides
        }
        log(
            f"{mode}: viewer path, gunicorn {' '.join(MODES[mode])} workers {server['workers']};"
            f" playlist bytes baseline {body_bytes['baseline']}, package {body_bytes['package']}"
        )
        # Warm up (the package's S3 client is built lazily by the first refresh in each
        # worker, and only one worker refreshes at a time): until a round builds nothing.
        previous: dict[str, int] | None = None
        for _ in range(4):
            for side in sides:
                wrk.run(server["url"], side, "playlist", 1.0, conns=conns)
            built = env.counters(server["workers"])
            if built == previous:
                break
            previous = built
        our_pids = [server["proc"].pid, *server["workers"], *pg_backend_pids(env_db())]
        our_pids += [env.stub_pid, *redis_pids()]
        plan = [
            (side, conns, repeat)
            for repeat in range(repeats)
            for side in (sides if repeat % 2 == 0 else list(reversed(sides)))
        ]
        plan.append(("package", low_conns, 0))
        for side, connections, repeat in plan:
            result = wrk.run(
                server["url"],
                side,
                "playlist",
                duration,
                our_pids=our_pids,
                workers=server["workers"],
                conns=connections,
            )
            result.update(mode=mode, repeat=repeat + 1, body_bytes=body_bytes[side])
            runs.append(result)
            log(
                f"{mode:7} viewer -c{connections:<3} {side:8} #{repeat + 1}:"
                f" {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.2f} ms"
                f"  p99 {result['p99_ms']:7.2f} ms  errors {sum(result['errors'].values())}"
                f"  S3 GETs/s {result['s3_gets_per_s']:.2f}"
                f" (200 {result['s3_200_per_s']:.2f}, 304 {result['s3_304_per_s']:.2f})"
                f"  worker CPU {result['worker_cpu_ms']:.3f} ms/req"
                f"  other CPU {result['foreign_cpu_cores']:.2f} cores"
            )
        if paired_duration > 0:
            result = wrk.paired(server["url"], "playlist", paired_duration, conns)
            result["mode"] = mode
            paired.append(result)
            log(
                f"{mode:7} viewer paired: {result['requests']} requests, server CPU/req"
                f" baseline {result['baseline']['cpu_ms']:.3f} ms,"
                f" package {result['package']['cpu_ms']:.3f} ms"
                f" (ratio {result['cpu_ratio']:.2f}), errors {result['errors']}"
            )
    return runs

"""The viewer phase: GETs of live streams' playlists, the cached-bytes baseline against
the package, per playlist length and number of connections."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from benchmarks.config import MODES, RESULTS, length_label, log
from benchmarks.database import env_db, pg_backend_pids
from benchmarks.servers import Env, gunicorn, redis_pids

if TYPE_CHECKING:
    from benchmarks.wrk import Wrk

SIDES = ("baseline", "package")


def check_playlist(url: str, side: str, seconds: int, window: float) -> dict[str, int]:
    """GET ``url`` once as a player does (``Accept-Encoding: gzip``): a 200 gzip-encoded
    HLS playlist with presigned URLs and the live window's segments, or raise. Returns
    the bytes sent (gzip) and decoded, and the segments served."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            sent = response.read()
            content_type = response.headers.get("Content-Type", "")
            encoding = response.headers.get("Content-Encoding", "")
    except urllib.error.HTTPError as exc:
        raise RuntimeError(
            f"{side} playlist {url}: HTTP {exc.code} {exc.read()[:500]!r}"
        ) from None
    body = gzip.decompress(sent) if encoding == "gzip" else sent
    segments = body.count(b"#EXTINF:")
    expected = min(seconds, window)
    if (
        encoding != "gzip"
        or not body.startswith(b"#EXTM3U")
        or "mpegurl" not in content_type
        or b"X-Amz-Signature=" not in body
        or not expected <= segments <= expected + 3
    ):
        raise RuntimeError(
            f"{side} playlist {url}: unexpected {content_type!r} {encoding!r},"
            f" {segments} segments (expected {expected}), {body[:500]!r}"
        )
    return {"gzip_bytes": len(sent), "body_bytes": len(body), "segments": segments}


def viewer_phase(
    env: Env,
    wrk: Wrk,
    mode: str,
    duration: float,
    repeats: int,
    port: int,
    lengths: list[int],
    connections: list[int],
    paired: list[dict[str, Any]],
    paired_duration: float,
    window: float = 120.0,
) -> list[dict[str, Any]]:
    """Viewers of one live stream per playlist length: the baseline's view and the
    package's.

    For each length and each number of connections, ``wrk`` runs alternate B P / P B /
    B P, then one paired run; each run starts with the stub's broadcasts restarted at
    their age, so a run sees the length it is named after.
    """
    runs: list[dict[str, Any]] = []
    with gunicorn(env, MODES[mode], port, RESULTS / f"gunicorn-viewer-{mode}.log") as server:
        checked = {
            (side, seconds): check_playlist(
                server["url"] + wrk.playlist_path(side, seconds), side, seconds, window
            )
            for seconds in lengths
            for side in SIDES
        }
        log(
            f"{mode}: viewer path, gunicorn {' '.join(MODES[mode])} workers {server['workers']};"
            " gzip bytes per playlist baseline/package: "
            + ", ".join(
                f"{length_label(seconds)} {checked[('baseline', seconds)]['gzip_bytes']}"
                f"/{checked[('package', seconds)]['gzip_bytes']}"
                for seconds in lengths
            )
        )
        # Warm up (the package's S3 client is built lazily by the first refresh in each
        # worker, and only one worker refreshes at a time): until a round builds nothing.
        previous: dict[str, int] | None = None
        for _ in range(4):
            for seconds in lengths:
                for side in SIDES:
                    path = wrk.playlist_path(side, seconds)
                    wrk.run(
                        server["url"], side, "playlist", 1.0, conns=max(connections), path=path
                    )
            built = env.counters(server["workers"])
            if built == previous:
                break
            previous = built
        our_pids = [server["proc"].pid, *server["workers"], *pg_backend_pids(env_db())]
        our_pids += [env.stub_pid, *redis_pids()]
        for seconds in lengths:
            label = length_label(seconds)
            paths = {side: wrk.playlist_path(side, seconds) for side in SIDES}
            for conns in connections:
                plan = [
                    (side, repeat)
                    for repeat in range(repeats)
                    for side in (SIDES if repeat % 2 == 0 else tuple(reversed(SIDES)))
                ]
                for side, repeat in plan:
                    env.stub_reset()
                    result = wrk.run(
                        server["url"],
                        side,
                        "playlist",
                        duration,
                        our_pids=our_pids,
                        workers=server["workers"],
                        conns=conns,
                        path=paths[side],
                    )
                    result.update(
                        mode=mode,
                        repeat=repeat + 1,
                        seconds_of_playlist=seconds,
                        **{f"check_{k}": v for k, v in checked[(side, seconds)].items()},
                    )
                    runs.append(result)
                    log(
                        f"{mode:7} viewer {label:>5} -c{conns:<3} {side:8} #{repeat + 1}:"
                        f" {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.2f} ms"
                        f"  p99 {result['p99_ms']:7.2f} ms"
                        f"  errors {sum(result['errors'].values())}"
                        f"  {result['wire_bytes_per_request']:.0f} B/poll"
                        f"  S3 GETs/s {result['s3_gets_per_s']:.2f}"
                        f" (200 {result['s3_200_per_s']:.2f}, 304 {result['s3_304_per_s']:.2f})"
                        f"  worker CPU {result['worker_cpu_ms']:.3f} ms/req"
                        f"  other CPU {result['foreign_cpu_cores']:.2f} cores"
                    )
                if paired_duration > 0:
                    env.stub_reset()
                    result = wrk.paired(server["url"], "playlist", paired_duration, conns, paths)
                    result.update(mode=mode, seconds_of_playlist=seconds, connections=conns)
                    paired.append(result)
                    log(
                        f"{mode:7} viewer {label:>5} -c{conns:<3} paired: {result['requests']}"
                        f" requests, server CPU/req baseline {result['baseline']['cpu_ms']:.3f}"
                        f" ms, package {result['package']['cpu_ms']:.3f} ms"
                        f" (ratio {result['cpu_ratio']:.2f}), errors {result['errors']}"
                    )
    return runs

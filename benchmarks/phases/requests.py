"""The start and stop phase: wrk runs per gunicorn mode, alternating the sides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchmarks import spy_summary
from benchmarks.config import MODES, RESULTS, log
from benchmarks.database import env_db, pg_backend_pids
from benchmarks.phases.profile import py_spy
from benchmarks.servers import Env, gunicorn

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks.wrk import Wrk


def server_phase(
    env: Env,
    wrk: Wrk,
    mode: str,
    sides: list[str],
    duration: float,
    repeats: int,
    port: int,
    profile_dir: Path | None,
    paired: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    with gunicorn(env, MODES[mode], port, RESULTS / f"gunicorn-{mode}.log") as server:
        log(f"{mode}: gunicorn {' '.join(MODES[mode])} workers {server['workers']}")
        # Warm up every endpoint (lazy STS and S3 clients, URL and serializer caches, DB
        # connections). wrk's connections may all land on one worker, so repeat until
        # every worker has built each side's STS and S3 client (the baseline builds its
        # own at import, the package lazily: its S3 client when a stop closes a
        # recording), or a round builds nothing new.
        previous: dict[str, int] | None = None
        for _ in range(4):
            for endpoint in ("start", "stop"):
                for side in sides:
                    wrk.run(server["url"], side, endpoint, 1.0)
            built = env.counters(server["workers"])
            if built == previous or all(
                env.counters([w])["clients"] >= 2 * len(sides) for w in server["workers"]
            ):
                break
            previous = built
        our_pids = [server["proc"].pid, *server["workers"], *pg_backend_pids(env_db())]
        our_pids.append(env.stub_pid)
        for endpoint in ("start", "stop"):
            for repeat in range(repeats):
                order = sides if repeat % 2 == 0 else list(reversed(sides))
                for side in order:
                    result = wrk.run(
                        server["url"],
                        side,
                        endpoint,
                        duration,
                        our_pids=our_pids,
                        workers=server["workers"],
                    )
                    result.update(mode=mode, repeat=repeat + 1)
                    runs.append(result)
                    log(
                        f"{mode:7} {endpoint:5} {side:8} #{repeat + 1}: {result['rps']:8.1f} req/s"
                        f"  p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms"
                        f"  errors {sum(result['errors'].values())}"
                        f"  built {sum(result['built'].values())}"
                        f"  worker CPU {result['worker_cpu_ms']:.2f} ms/req"
                        f"  other CPU {result['foreign_cpu_cores']:.2f} cores"
                    )
        if "package" in sides and "baseline" in sides:
            for endpoint in ("start", "stop"):
                result = wrk.paired(server["url"], endpoint, duration)
                result["mode"] = mode
                paired.append(result)
                log(
                    f"{mode:7} {endpoint:5} paired: {result['requests']} requests,"
                    f" server CPU/req baseline {result['baseline']['cpu_ms']:.2f} ms,"
                    f" package {result['package']['cpu_ms']:.2f} ms"
                    f" (ratio {result['cpu_ratio']:.2f}), errors {result['errors']}"
                )
        # py-spy only on sync workers: with gthread, threads waiting for the GIL are
        # sampled as busy, which smears the per-request attribution.
        if profile_dir is not None and "package" in sides and mode == "sync":
            py_spy(env, wrk, server, mode, profile_dir)
            summary = spy_summary.report(profile_dir)
            (profile_dir / "summary.txt").write_text(summary)
            print(summary, flush=True)
    return runs

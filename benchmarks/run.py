"""``make bench``: broadcast_api's start, stop and viewer path against hand-written baselines.

Run from the repository root: ``.venv/bin/python benchmarks/run.py`` (about 6 minutes).

1. Starts the STS and S3 stub (``benchmarks/sts_stub.py``), creates the PostgreSQL
   database ``broadcast_bench`` if missing, migrates it, creates the bench user and its
   token, seeds two pools of live streams (baseline, package) for the stop runs, creates
   one live stream and a playback token for the viewer runs, and deletes the bench's keys
   from the Redis cache.
2. In-process: Django's test client, per-request latency and CPU time of the baseline,
   and broadcast_api, interleaved.
3. For gunicorn ``sync`` (2 workers) and ``gthread`` (2 workers x 4 threads): warms up,
   then for start and for stop runs ``wrk -t2 -c8 -d6s --latency`` three times,
   alternating baseline and package (B P, P B, B P). Each run records requests/s, p50,
   p99, wrk errors, the workers' CPU per request, STS calls per start, boto3
   Sessions/clients built in the workers during the run, and the CPU other processes on
   the machine used meanwhile (so a noisy run can be recognised). Then one paired run
   per endpoint: baseline and package requests alternate on the same connections and
   ``benchproject/request_cpu.py`` sums each side's thread CPU, measured at the same
   moments (this machine's CPU speed drifts by up to ~40 % between separate runs).
4. Viewer path, for ``sync`` and ``gthread``: ``GET /stream/<id>/playlist.m3u8?token=``
   of one live stream whose playlist (served by the stub) changes every second, against
   ``/baseline/playlist/<id>.m3u8`` (a plain Django view returning the cached bytes from
   the same Redis cache), ``wrk -t2 -c64 -d4s`` B P / P B / B P, then the package once at
   ``-c8``, then one paired run. Each run also counts the S3 GETs the stub answered
   (200 and 304): the package's must not grow with the number of viewers.
5. Memory: one sync worker, VmRSS before and after 20,000 starts (a count-bounded wrk),
   with the RSS curve. It gets the time left of ``--time-budget`` (350 s) and says so
   when it could not finish (the growth is then scaled linearly, which overstates a
   growth that levels off).
6. Prints the table and the budget verdicts; writes ``benchmarks/results/latest.json``
   and ``latest.md`` (``partial.*`` for --quick, --skip or --no-package runs).

Why 6 s runs and not 10: on a 2-core machine where one start costs ~7 ms of worker CPU,
20,000 starts on one worker take about 2.5 minutes by themselves; 24 runs of 10 s would
not fit beside them in 5 minutes. ``BENCH_DURATION=10`` gives 10 s runs (about 8 min).
Viewer runs are 4 s (``--viewer-duration``): a GET costs ~1 ms, so 4 s is thousands of
requests, and 14 such runs fit in about 80 s.

Budget (issue #5): start and stop each >= 0.85x the baseline's requests/s and p99 <=
1.5x the baseline's; the playlist (viewer path) >= 0.8x the baseline's requests/s at
-c64, and its S3 reads/s at -c64 no more than 1.25x (+2 reads a run) those at -c8;
zero boto3 clients or Sessions built per request; worker RSS growth < 5 MB per 20,000
starts. The exit status is 0 whether or not the budget holds (the verdicts are the
output); it is 2 when the harness itself failed.

Options: ``--duration``, ``--quick`` (2 s runs, one repeat, 2,000 starts: a smoke
test), ``--profile`` (pyinstrument in-process and py-spy on a sync worker; writes
``benchmarks/results/profile/``), ``--no-package``, ``--skip
servers,viewer,memory,inprocess``; viewer runs: ``--viewer-duration``,
``--viewer-connections`` (64), ``--viewer-low-connections`` (8), ``--viewer-paired``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
PROJECT = BENCH / "benchproject"
LUA = BENCH / "lua" / "bench.lua"
RESULTS = BENCH / "results"
PY = sys.executable
HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1

DEFAULT_DURATION = 6.0
BUDGET_RPS_RATIO = 0.85
BUDGET_P99_RATIO = 1.5
BUDGET_RSS_MB = 5.0
BUDGET_VIEWER_RPS_RATIO = 0.8
# S3 reads/s must not grow with the number of viewers: at -c64 at most this much above
# the -c8 run's rate, plus two reads per run (a run that follows the baseline's starts
# with a stale entry, and where in the second a run starts moves one read in or out).
VIEWER_S3_GROWTH = 1.25
VIEWER_S3_SLACK_READS = 2
NOISY_SPREAD = 1.25
S3_PREFIX = "S3 "  # the stub's counters of S3 reads ("S3 GET 200", ...); the rest is STS

URLS = {
    ("baseline", "start"): "/baseline/start/",
    ("baseline", "stop"): "/baseline/stop/",
    ("package", "start"): "/stream/start/",
    ("package", "stop"): "/stream/stop/",
    # The viewer path: one live stream (bench_prepare), filled in by Wrk.__init__.
    ("baseline", "playlist"): "/baseline/playlist/{id}.m3u8",
    ("package", "playlist"): "/stream/{id}/playlist.m3u8?token={token}",
}
MODES = {
    "sync": ["--workers", "2", "--worker-class", "sync"],
    "gthread": ["--workers", "2", "--worker-class", "gthread", "--threads", "4"],
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                response.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def sts_total(stats: dict[str, int]) -> int:
    """STS calls among the stub's counters (the others count S3 reads)."""
    return sum(v for k, v in stats.items() if not k.startswith(S3_PREFIX))


def s3_reads(stats: dict[str, int]) -> dict[str, int]:
    """S3 GETs among the stub's counters, by status: {"200": n, "304": n, "404": n}."""
    return {status: stats.get(f"{S3_PREFIX}GET {status}", 0) for status in ("200", "304", "404")}


# -- machine noise ----------------------------------------------------------------------


def proc_jiffies(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def busy_jiffies() -> int:
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return parts[0] + parts[1] + parts[2] + parts[5] + parts[6] + parts[7]


def cpu_pressure_us() -> int:
    try:
        with open("/proc/pressure/cpu") as fh:
            return int(fh.readline().rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return 0


class NoiseMeter:
    """CPU used by processes that are not this benchmark's, during one run."""

    def __init__(self, our_pids: list[int]) -> None:
        self.pids = our_pids

    def __enter__(self) -> NoiseMeter:
        self.t0 = time.monotonic()
        self.busy0 = busy_jiffies()
        self.ours0 = sum(proc_jiffies(p) for p in self.pids)
        self.children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.psi0 = cpu_pressure_us()
        return self

    def __exit__(self, *exc: object) -> None:
        elapsed = time.monotonic() - self.t0
        busy = busy_jiffies() - self.busy0
        ours = sum(proc_jiffies(p) for p in self.pids) - self.ours0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        wrk = (children.ru_utime - self.children0.ru_utime) + (
            children.ru_stime - self.children0.ru_stime
        )
        ours_s = ours / HZ + wrk
        self.foreign_cores = max(0.0, (busy / HZ - ours_s) / elapsed)
        self.ours_cores = ours_s / elapsed
        self.cpu_some_pct = (cpu_pressure_us() - self.psi0) / (elapsed * 1e6) * 100


# -- processes --------------------------------------------------------------------------


class Env:
    def __init__(self, stub_port: int, counter_dir: str, package: bool) -> None:
        self.stub_url = f"http://127.0.0.1:{stub_port}"
        self.counter_dir = counter_dir
        self.vars = {
            **os.environ,
            "BENCH_STS_URL": self.stub_url,
            "BENCH_COUNTER_DIR": counter_dir,
            "BENCH_PACKAGE": "1" if package else "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            # Never let a developer's AWS configuration leak into the benchmark.
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        }
        for name in (
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "DJANGO_SETTINGS_MODULE",
        ):
            self.vars.pop(name, None)

    def manage(self, *args: str, timeout: float = 120) -> Any:
        out = subprocess.run(
            [PY, str(PROJECT / "manage.py"), *args],
            env=self.vars,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{out.stdout}\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def stub_stats(self) -> dict[str, int]:
        return dict(get_json(f"{self.stub_url}/__stats"))

    def counters(self, pids: list[int] | None = None) -> dict[str, int]:
        """boto3 Sessions / clients built so far, summed over worker processes."""
        total = {"boto3_sessions": 0, "botocore_sessions": 0, "clients": 0}
        paths = (
            [Path(self.counter_dir) / f"{pid}.json" for pid in pids]
            if pids is not None
            else list(Path(self.counter_dir).glob("*.json"))
        )
        for path in paths:
            if not path.exists():
                continue
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for key in total:
                total[key] += int(data.get(key, 0))
        return total

    def request_cpu(self) -> dict[str, list[int]]:
        """Requests and thread CPU ns per path, summed over workers (request_cpu.py)."""
        total: dict[str, list[int]] = {}
        for path in Path(self.counter_dir).glob("*.cpu"):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for url_path, (count, ns) in data.items():
                entry = total.setdefault(url_path, [0, 0])
                entry[0] += int(count)
                entry[1] += int(ns)
        return total


@contextmanager
def background(
    cmd: list[str], env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log_path, "ab") as fh:
        proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@contextmanager
def gunicorn(
    env: Env, mode_args: list[str], port: int, log_path: Path
) -> Iterator[dict[str, Any]]:
    cmd = [
        PY,
        "-m",
        "gunicorn",
        "benchproject.wsgi:application",
        "--chdir",
        str(PROJECT),
        "--bind",
        f"127.0.0.1:{port}",
        *mode_args,
        "--log-level",
        "warning",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
    ]
    with background(cmd, env.vars, log_path) as proc:
        wait_http(f"http://127.0.0.1:{port}/__bench/counters/")
        deadline = time.monotonic() + 10
        expected = int(mode_args[mode_args.index("--workers") + 1])
        while len(children(proc.pid)) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        yield {"proc": proc, "url": f"http://127.0.0.1:{port}", "workers": children(proc.pid)}


def pg_backend_pids(dbname: str) -> list[int]:
    import psycopg

    with psycopg.connect(db_dsn("postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [dbname],
        ).fetchall()
    return [int(r[0]) for r in rows]


def db_dsn(dbname: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        host=os.environ.get("BENCH_DB_HOST", "127.0.0.1"),
        port=os.environ.get("BENCH_DB_PORT", "5432"),
        user=os.environ.get("BENCH_DB_USER", "postgres"),
        password=os.environ.get("BENCH_DB_PASSWORD", "") or None,
        dbname=dbname,
    )


def ensure_database(dbname: str) -> None:
    import psycopg

    with psycopg.connect(db_dsn("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dbname}"')


def table_count(dbname: str, table: str) -> int:
    import psycopg

    with psycopg.connect(db_dsn(dbname), autocommit=True) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return int(row[0]) if row else 0


# -- wrk --------------------------------------------------------------------------------


class Wrk:
    def __init__(
        self, env: Env, token: str, prep: dict[str, Any], threads: int, conns: int
    ) -> None:
        self.env = env
        self.token = token
        self.pools = prep["pools"]
        self.pool_size = int(prep["pool_size"])
        self.threads = threads
        self.conns = conns
        self.next_index = dict.fromkeys(self.pools, 0)  # first unused stop id per pool
        viewer = prep.get("viewer") or {}
        self.urls = {
            key: url.format(id=viewer.get("stream_id", ""), token=viewer.get("token", ""))
            for key, url in URLS.items()
        }

    def run(
        self,
        base_url: str,
        side: str,
        endpoint: str,
        duration: float,
        *,
        limit: int = 0,
        our_pids: list[int] | None = None,
        workers: list[int] | None = None,
        conns: int | None = None,
    ) -> dict[str, Any]:
        env = {
            **os.environ,
            "BENCH_KIND": "get" if endpoint == "playlist" else endpoint,
            "BENCH_TOKEN": self.token,
            "BENCH_THREADS": str(self.threads),
            "BENCH_LIMIT": str(limit),
        }
        if endpoint == "stop":
            env["BENCH_POOL"] = self.pools[side]
            env["BENCH_BASE"] = str(self.next_index[side])
        cmd = self.command(base_url + self.urls[(side, endpoint)], duration, conns)
        stats0 = self.env.stub_stats()
        built0 = self.env.counters()
        worker_cpu0 = sum(proc_jiffies(p) for p in workers or [])
        with NoiseMeter(our_pids or []) as noise:
            if limit:
                out = self._run_bounded(cmd, env, duration)
            else:
                out = subprocess.run(
                    cmd,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=duration + 60,
                    check=False,
                )
        worker_cpu = sum(proc_jiffies(p) for p in workers or []) - worker_cpu0
        stats1 = self.env.stub_stats()
        built1 = self.env.counters()
        data = self.summary(out)
        if endpoint == "stop":
            self.advance(side, data["fresh_max"])
        seconds = data["duration_us"] / 1e6
        errors = {k.removeprefix("err_"): v for k, v in data.items() if k.startswith("err_")}
        sts_calls = sts_total(stats1) - sts_total(stats0)
        s3_0, s3_1 = s3_reads(stats0), s3_reads(stats1)
        s3 = {status: s3_1[status] - s3_0[status] for status in s3_0}
        return {
            "side": side,
            "endpoint": endpoint,
            "connections": conns or self.conns,
            "requests": data["requests"],
            "seconds": round(seconds, 3),
            "rps": round(data["requests"] / seconds, 1),
            "p50_ms": round(data["p50_us"] / 1000, 3),
            "p90_ms": round(data["p90_us"] / 1000, 3),
            "p99_ms": round(data["p99_us"] / 1000, 3),
            "max_ms": round(data["max_us"] / 1000, 3),
            "errors": errors,
            "sts_calls": sts_calls,
            "sts_calls_per_request": round(sts_calls / max(1, data["requests"]), 3),
            # S3 GETs the stub answered during the run (viewer runs), and per second.
            "s3_gets": s3,
            "s3_gets_per_s": round(sum(s3.values()) / max(1e-9, seconds), 2),
            "s3_200_per_s": round(s3["200"] / max(1e-9, seconds), 2),
            "s3_304_per_s": round(s3["304"] / max(1e-9, seconds), 2),
            "built": {k: built1[k] - built0[k] for k in built0},
            # CPU the gunicorn workers spent per request (user + system): the Python work,
            # much less sensitive than req/s to other load on the machine.
            "worker_cpu_ms": round(worker_cpu / HZ * 1000 / max(1, data["requests"]), 3),
            "foreign_cpu_cores": round(noise.foreign_cores, 2),
            "bench_cpu_cores": round(noise.ours_cores, 2),
            "cpu_pressure_some_pct": round(noise.cpu_some_pct, 1),
        }

    def paired(
        self, base_url: str, endpoint: str, duration: float, conns: int | None = None
    ) -> dict[str, Any]:
        """Baseline and package requests alternating on every connection, one run.

        Returns each side's server-side thread CPU per request, measured at the same
        moments: free of the machine's speed drift that separate runs see.
        """
        sides = ("baseline", "package")
        env = {
            **os.environ,
            "BENCH_KIND": "get" if endpoint == "playlist" else endpoint,
            "BENCH_TOKEN": self.token,
            "BENCH_THREADS": str(self.threads),
            "BENCH_PATHS": ",".join(self.urls[(side, endpoint)] for side in sides),
            "BENCH_POOL": ",".join(self.pools.get(side, "00000000") for side in sides),
            "BENCH_BASE": ",".join(str(self.next_index.get(side, 0)) for side in sides),
        }
        before = self.env.request_cpu()
        out = subprocess.run(
            self.command(base_url + "/", duration, conns),
            env=env,
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
        time.sleep(0.3)  # the last requests in flight finish and are written
        after = self.env.request_cpu()
        data = self.summary(out)
        if endpoint == "stop":
            self.advance("baseline", data["fresh_max"])
            self.advance("package", data["fresh_max2"])
        result: dict[str, Any] = {
            "endpoint": endpoint,
            "requests": data["requests"],
            "errors": sum(v for k, v in data.items() if k.startswith("err_")),
        }
        for side in sides:
            path = self.urls[(side, endpoint)].split("?", 1)[0]  # request_cpu: PATH_INFO
            count = after.get(path, [0, 0])[0] - before.get(path, [0, 0])[0]
            ns = after.get(path, [0, 0])[1] - before.get(path, [0, 0])[1]
            result[side] = {"requests": count, "cpu_ms": round(ns / 1e6 / max(1, count), 3)}
        package_ms = result["package"]["cpu_ms"]
        baseline_ms = result["baseline"]["cpu_ms"]
        result["cpu_ratio"] = round(baseline_ms / package_ms, 3) if package_ms else 0.0
        return result

    def command(self, url: str, duration: float, conns: int | None = None) -> list[str]:
        return [
            "wrk",
            f"-t{self.threads}",
            f"-c{conns or self.conns}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ]

    @staticmethod
    def summary(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
        """The ``BENCH_JSON`` line bench.lua's ``done()`` prints."""
        line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
        if out.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
        return data

    def advance(self, side: str, fresh_max: int) -> None:
        """Move ``side``'s first unused stop id past the ids this run used."""
        self.next_index[side] += self.threads * (int(fresh_max) + 1)
        if self.next_index[side] > self.pool_size:
            raise RuntimeError(f"stop id pool {side} exhausted: raise --pool-size")

    def _run_bounded(
        self, cmd: list[str], env: dict[str, str], duration: float
    ) -> subprocess.CompletedProcess[str]:
        """wrk with a per-thread response limit: SIGINT it once every thread is done."""
        with tempfile.TemporaryDirectory(prefix="bench-wrk-") as done_dir:
            env = {**env, "BENCH_DONE_DIR": done_dir}
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            deadline = time.monotonic() + duration
            while proc.poll() is None and time.monotonic() < deadline:
                if len(os.listdir(done_dir)) >= self.threads:
                    break
                time.sleep(0.02)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=30)
        return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


# -- phases -----------------------------------------------------------------------------


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
        our_pids.append(STUB_PID[0])
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
            summary = importlib.import_module("spy_summary").report(profile_dir)
            (profile_dir / "summary.txt").write_text(summary)
            print(summary, flush=True)
    return runs


def py_spy(env: Env, wrk: Wrk, server: dict[str, Any], mode: str, profile_dir: Path) -> None:
    exe = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    if not Path(exe).exists():
        log("py-spy not installed: skipping (pip install py-spy)")
        return
    profile_dir.mkdir(parents=True, exist_ok=True)
    for endpoint in ("start", "stop"):
        for side in ("baseline", "package"):
            worker = server["workers"][0]
            out = profile_dir / f"py-spy-{mode}-{side}-{endpoint}.txt"
            # On-CPU samples only (py-spy leaves out idle frames unless --idle).
            spy = subprocess.Popen(
                [
                    exe,
                    "record",
                    "--pid",
                    str(worker),
                    "--duration",
                    "6",
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            result = wrk.run(server["url"], side, endpoint, 7.0)
            spy.wait(timeout=30)
            (profile_dir / f"py-spy-{mode}-{side}-{endpoint}.requests").write_text(
                str(result["requests"] // len(server["workers"]))
            )
            log(f"py-spy {mode} {side} {endpoint}: {out}")


def redis_pids() -> list[int]:
    """The local Redis server's pid (the viewer runs' cache), to count it as ours."""
    try:
        import redis

        url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
        pid = int(redis.Redis.from_url(url, socket_timeout=2).info("server")["process_id"])
        with open(f"/proc/{pid}/comm") as fh:
            return [pid] if "redis" in fh.read() else []
    except Exception:  # another host or pid namespace: then it is not ours to count
        return []


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
        our_pids += [STUB_PID[0], *redis_pids()]
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


def memory_phase(
    env: Env, wrk: Wrk, starts: int, seconds: float, port: int, side: str
) -> dict[str, Any]:
    """VmRSS of one sync worker before and after ``starts`` starts (or ``seconds``)."""
    table = PREP[0]["tables"][side]
    with gunicorn(
        env, ["--workers", "1", "--worker-class", "sync"], port, RESULTS / "gunicorn-memory.log"
    ) as server:
        worker = server["workers"][0]
        wrk.run(server["url"], side, "start", 30, limit=250)  # warm up: 500 starts
        gc0 = get_json(f"{server['url']}/__bench/counters/?gc=1")
        rows0 = table_count(env_db(), table)
        built0 = env.counters([worker])
        sts0 = sts_total(env.stub_stats())
        rss0 = rss_kb(worker)
        samples: list[tuple[int, float]] = [(0, rss0 / 1024)]
        stop_sampling = threading.Event()

        def sample() -> None:  # the RSS curve: a leak grows linearly, a cache levels off
            while not stop_sampling.wait(2.0):
                try:
                    done = sts_total(env.stub_stats()) - sts0
                    samples.append((done, rss_kb(worker) / 1024))
                except (OSError, RuntimeError):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.monotonic()
        result = wrk.run(server["url"], side, "start", seconds, limit=starts // wrk.threads)
        elapsed = time.monotonic() - t0
        stop_sampling.set()
        sampler.join(timeout=5)
        rss1 = rss_kb(worker)
        gc1 = get_json(f"{server['url']}/__bench/counters/?gc=1")
        built1 = env.counters([worker])
        rows1 = table_count(env_db(), table)
        alive = worker in children(server["proc"].pid)
    done = rows1 - rows0
    samples.append((done, rss1 / 1024))
    growth_mb = (rss1 - rss0) / 1024
    half = [s for s in samples if s[0] >= done / 2]
    second_half = (half[-1][1] - half[0][1]) if len(half) > 1 else 0.0
    return {
        "side": side,
        "worker_pid": worker,
        "worker_survived": alive,
        "starts": done,
        "target_starts": starts,
        "wrk_responses": result["requests"],
        "errors": result["errors"],
        "seconds": round(elapsed, 1),
        "rss_before_mb": round(rss0 / 1024, 2),
        "rss_after_mb": round(rss1 / 1024, 2),
        "rss_growth_mb": round(growth_mb, 2),
        "rss_growth_second_half_mb": round(second_half, 2),
        "rss_growth_per_20000_mb": round(growth_mb * 20000 / max(1, done), 2),
        "rss_curve": [(n, round(mb, 2)) for n, mb in samples],
        # Python objects alive after a full collection: growth here is a real leak; RSS
        # growth without it is allocator high-water (e.g. cyclic garbage between gen-2
        # collections) or memory outside Python's object heap.
        "gc_objects_before": gc0.get("gc_objects"),
        "gc_objects_after": gc1.get("gc_objects"),
        "gc_collections_during": [
            b - a for a, b in zip(gc0["gc_collections"], gc1["gc_collections"], strict=True)
        ],
        "built": {k: built1[k] - built0[k] for k in built0},
    }


STUB_PID: list[int] = [0]
PREP: list[dict[str, Any]] = [{}]


def env_db() -> str:
    return os.environ.get("BENCH_DB_NAME", "broadcast_bench")


# -- report -----------------------------------------------------------------------------


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


def aggregate_viewer(
    runs: list[dict[str, Any]], conns: int, low_conns: int, duration: float
) -> list[dict[str, Any]]:
    """Per mode: medians of the -c<conns> runs per side, and the package's -c<low> run."""
    slack = VIEWER_S3_SLACK_READS / max(1.0, round(duration))

    def summarise_viewer(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            **summarise(rs),
            "s3_gets_per_s": round(statistics.median(r["s3_gets_per_s"] for r in rs), 2),
            "s3_200_per_s": round(statistics.median(r["s3_200_per_s"] for r in rs), 2),
            "s3_304_per_s": round(statistics.median(r["s3_304_per_s"] for r in rs), 2),
            "s3_gets_per_s_runs": [r["s3_gets_per_s"] for r in rs],
            "body_bytes": rs[0]["body_bytes"],
        }

    rows = []
    for mode in MODES:
        sel = {
            (side, c): [
                r for r in runs if (r["mode"], r["side"], r["connections"]) == (mode, side, c)
            ]
            for side in ("baseline", "package")
            for c in (conns, low_conns)
        }
        if not sel[("baseline", conns)] or not sel[("package", conns)]:
            continue
        b, p = (
            summarise_viewer(sel[("baseline", conns)]),
            summarise_viewer(sel[("package", conns)]),
        )
        row: dict[str, Any] = {"mode": mode, "connections": conns, "baseline": b, "package": p}
        row["rps_ratio"] = round(p["rps"] / max(1e-9, b["rps"]), 3)
        row["p99_ratio"] = round(p["p99_ms"] / max(1e-9, b["p99_ms"]), 3)
        row["verdict_rps"] = "PASS" if row["rps_ratio"] >= BUDGET_VIEWER_RPS_RATIO else "FAIL"
        row["spread"] = spread([b, p])
        if sel[("package", low_conns)]:
            low = summarise_viewer(sel[("package", low_conns)])
            row["package_low"] = {**low, "connections": low_conns}
            limit = low["s3_gets_per_s"] * VIEWER_S3_GROWTH + slack
            row["s3_slack_per_s"] = round(slack, 2)
            row["s3_limit_per_s"] = round(limit, 2)
            row["verdict_s3"] = "PASS" if p["s3_gets_per_s"] <= limit else "FAIL"
        rows.append(row)
    return rows


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
    conns, low = viewer["connections"], viewer["low_connections"]
    lines = [
        "",
        f"Viewer path: GET playlist.m3u8 of one live stream (its playlist changes every"
        f" second), wrk -t{viewer['threads']} -c{conns} -d{viewer['duration']:g}s, Redis cache;",
        "baseline = a plain Django view returning the cached bytes (S3 on a miss, 1 s TTL):",
    ]
    head = (
        f"{'mode':8} {'baseline req/s':>14} {'package req/s':>13} {'ratio':>6}"
        f"  {'baseline p50/p99 ms':>19}  {'package p50/p99 ms':>18}"
        f"  {'CPU ms/req b/p':>14}  {'S3 GETs/s b/p':>13}  verdict"
    )
    lines += [head, "-" * len(head)]
    for row in viewer["table"]:
        b, p = row["baseline"], row["package"]
        lines.append(
            f"{row['mode']:8} {b['rps']:14.1f} {p['rps']:13.1f} {row['rps_ratio']:6.2f}"
            f"  {b['p50_ms']:8.2f} / {b['p99_ms']:7.2f}  {p['p50_ms']:7.2f} / {p['p99_ms']:7.2f}"
            f"  {b['worker_cpu_ms']:6.3f}/{p['worker_cpu_ms']:<7.3f}"
            f"  {b['s3_gets_per_s']:5.2f}/{p['s3_gets_per_s']:<6.2f}"
            f"  {row['verdict_rps']} (req/s >= {BUDGET_VIEWER_RPS_RATIO}x)"
        )
    lines.append("")
    lines.append(
        "Per run: req/s, p50/p99 ms, wrk errors, S3 GETs/s answered 200 + 304 (the stub's"
        " counters):"
    )
    for run in viewer["runs"]:
        lines.append(
            f"  {run['mode']:8} -c{run['connections']:<3} {run['side']:8} #{run['repeat']}"
            f" {run['rps']:9.1f} req/s  {run['p50_ms']:6.2f} / {run['p99_ms']:7.2f} ms"
            f"  err {sum(run['errors'].values())}"
            f"  S3 {run['s3_gets_per_s']:5.2f}/s"
            f" ({run['s3_200_per_s']:.2f} + {run['s3_304_per_s']:.2f})"
        )
    lines.append("S3 reads/s by the package's viewers, by number of connections:")
    for row in viewer["table"]:
        p, pl = row["package"], row.get("package_low")
        if pl is None:
            continue
        lines.append(
            f"  {row['mode']:8} -c{low}: {pl['s3_gets_per_s']:.2f}/s"
            f" (200 {pl['s3_200_per_s']:.2f}, 304 {pl['s3_304_per_s']:.2f}; {pl['rps']:.0f}"
            f" req/s)   -c{conns}:"
            f" {p['s3_gets_per_s']:.2f}/s (200 {p['s3_200_per_s']:.2f}, 304"
            f" {p['s3_304_per_s']:.2f}; {p['rps']:.0f} req/s)  {row['verdict_s3']}"
        )
    lines += noise_notes(
        viewer["table"], viewer["runs"], lambda row: f"{row['mode']} viewer", "the viewer runs"
    )
    if viewer["table"]:
        row = viewer["table"][0]
        lines.append(
            f"  playlist bytes per response ({row['mode']}): baseline"
            f" {row['baseline']['body_bytes']}, package {row['package']['body_bytes']}"
            " (presigned URLs)"
        )
    if viewer.get("paired"):
        lines.append(
            "Paired (baseline and package GETs alternating on the same connections; server"
            " thread CPU per request):"
        )
        for row in viewer["paired"]:
            lines.append(
                f"  {row['mode']:8} {row['requests']:7d} requests  baseline"
                f" {row['baseline']['cpu_ms']:.3f} ms  package {row['package']['cpu_ms']:.3f}"
                f" ms  baseline/package {row['cpu_ratio']:.2f}  errors {row['errors']}"
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
                "check": f"{row['mode']} viewer playlist req/s >= {BUDGET_VIEWER_RPS_RATIO}x"
                f" baseline (-c{row['connections']})",
                "value": f"{row['rps_ratio']:.2f}x ({p['rps']} vs {b['rps']}; p99"
                f" {p['p99_ms']} vs {b['p99_ms']} ms)",
            }
        )
        low = row.get("package_low")
        if low is not None:
            items.append(
                {
                    "verdict": row["verdict_s3"],
                    "check": f"{row['mode']} viewer S3 GETs/s do not grow with viewers"
                    f" (-c{row['connections']} <= {VIEWER_S3_GROWTH}x -c{low['connections']}"
                    f" + {row['s3_slack_per_s']:g}/s)",
                    "value": f"{p['s3_gets_per_s']:.2f}/s at -c{row['connections']},"
                    f" {low['s3_gets_per_s']:.2f}/s at -c{low['connections']}",
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
                f" extrapolation {scaled:+.2f} MB. Full check: run.py --skip"
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


def meta(args: argparse.Namespace, elapsed: float) -> dict[str, Any]:
    def version(module: str) -> str:
        out = subprocess.run(
            [PY, "-c", f"import {module}; print({module}.__version__)"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip() or "?"

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "broadcast_api"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    import psycopg

    with psycopg.connect(db_dsn("postgres"), autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "dirty": bool(dirty),
        "dirty_files": dirty.splitlines(),
        "cpus": NCPU,
        "python": sys.version.split()[0],
        "django": version("django"),
        "drf": version("rest_framework"),
        "boto3": version("boto3"),
        "gunicorn": version("gunicorn"),
        "postgres": f"PostgreSQL {row[0] if row else '?'}",
        "wrk_threads": args.threads,
        "wrk_connections": args.connections,
        "duration": args.duration,
        "repeats": args.repeats,
        "elapsed_s": round(elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration",
        type=float,
        default=float(os.environ.get("BENCH_DURATION", DEFAULT_DURATION)),
        help=f"seconds per wrk run (default {DEFAULT_DURATION:g}; BENCH_DURATION)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--modes", default="sync,gthread")
    parser.add_argument("--memory-starts", type=int, default=20_000)
    parser.add_argument(
        "--time-budget",
        type=float,
        default=float(os.environ.get("BENCH_TIME_BUDGET", "350")),
        help="seconds for the whole run; the memory run gets what is left "
        "and stops early (and says so) when it cannot finish",
    )
    parser.add_argument("--inprocess-n", type=int, default=300)
    parser.add_argument("--pool-size", type=int, default=0, help="stop ids per pool (auto)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 s runs, 1 repeat")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="pyinstrument in-process and py-spy per worker -> results/profile/",
    )
    parser.add_argument("--no-package", action="store_true", help="measure the baseline only")
    parser.add_argument(
        "--viewer-duration",
        type=float,
        default=None,
        help="seconds per viewer run (default: --duration, at most 4)",
    )
    parser.add_argument(
        "--viewer-connections", type=int, default=64, help="wrk -c of the viewer runs"
    )
    parser.add_argument(
        "--viewer-low-connections",
        type=int,
        default=8,
        help="wrk -c of the package's extra viewer run (S3 reads must not depend on it)",
    )
    parser.add_argument(
        "--viewer-paired",
        type=float,
        default=None,
        help="seconds of the paired viewer run per mode (default: --viewer-duration; 0 = none)",
    )
    parser.add_argument(
        "--skip", default="", help="comma list of: servers,viewer,memory,inprocess"
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.repeats, args.memory_starts, args.inprocess_n = 2.0, 1, 2000, 100
    if args.viewer_duration is None:
        args.viewer_duration = min(args.duration, 4.0)
    if args.viewer_paired is None:
        args.viewer_paired = args.viewer_duration
    skip = set(filter(None, args.skip.split(",")))
    modes = [m for m in args.modes.split(",") if m]
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    # A SIGTERM (timeout, CI) unwinds like Ctrl-C, so servers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t_start = time.monotonic()
    package = not args.no_package
    sides = ["baseline", "package"] if package else ["baseline"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob("*.log"):
        old.unlink()
    profile_dir = RESULTS / "profile" if args.profile else None
    # Stop ids: a generous bound on what the stop runs use (3 of 4 requests are fresh),
    # at up to 1,500 stops/s, warm-ups included.
    pool_size = args.pool_size or int(
        1500 * (args.duration * args.repeats + 8) * len(modes) * 0.75 + 5_000
    )

    counter_dir = tempfile.mkdtemp(prefix="bench-counters-")
    stub_port, app_port = free_port(), free_port()
    env = Env(stub_port, counter_dir, package)
    token = secrets.token_hex(20)
    ensure_database(env_db())
    report: dict[str, Any] = {"sides": sides, "runs": [], "paired": []}
    viewer: dict[str, Any] = {
        "duration": args.viewer_duration,
        "threads": args.threads,
        "connections": args.viewer_connections,
        "low_connections": args.viewer_low_connections,
        "runs": [],
        "paired": [],
    }
    try:
        with background(
            [PY, str(BENCH / "sts_stub.py"), "--port", str(stub_port)],
            env.vars,
            RESULTS / "sts-stub.log",
        ) as stub:
            STUB_PID[0] = stub.pid
            wait_http(f"{env.stub_url}/__stats")
            log(
                f"STS stub on {env.stub_url}; preparing {env_db()} ({pool_size} stop ids per pool)"
            )
            PREP[0] = env.manage(
                "bench_prepare", "--token", token, "--pool-size", str(pool_size), timeout=240
            )
            wrk = Wrk(env, token, PREP[0], args.threads, args.connections)
            if "inprocess" not in skip:
                log(f"in-process: Django test client, {args.inprocess_n} calls per endpoint")
                extra = ["--profile", str(profile_dir)] if profile_dir else []
                report["inprocess"] = env.manage(
                    "bench_inprocess",
                    "--token",
                    token,
                    "--n",
                    str(args.inprocess_n),
                    *extra,
                    timeout=240,
                )
            if "servers" not in skip:
                for mode in modes:
                    report["runs"] += server_phase(
                        env,
                        wrk,
                        mode,
                        sides,
                        args.duration,
                        args.repeats,
                        app_port,
                        profile_dir,
                        report["paired"],
                    )
            if "viewer" not in skip and package:
                viewer["stream_id"] = PREP[0]["viewer"]["stream_id"]
                for mode in modes:
                    viewer["runs"] += viewer_phase(
                        env,
                        wrk,
                        mode,
                        args.viewer_duration,
                        args.repeats,
                        app_port,
                        args.viewer_connections,
                        args.viewer_low_connections,
                        viewer["paired"],
                        args.viewer_paired,
                    )
                viewer["table"] = aggregate_viewer(
                    viewer["runs"],
                    args.viewer_connections,
                    args.viewer_low_connections,
                    args.viewer_duration,
                )
                report["viewer"] = viewer
            if "memory" not in skip:
                left = args.time_budget - (time.monotonic() - t_start) - 12
                seconds = max(20.0, left)
                log(
                    f"memory: 1 sync worker, {args.memory_starts} starts (at most {seconds:.0f} s)"
                )
                report["memory"] = memory_phase(
                    env, wrk, args.memory_starts, seconds, app_port, sides[-1]
                )
    except Exception as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(counter_dir, ignore_errors=True)

    report["table"] = aggregate(report["runs"], sides)
    report["budget"] = budget(report)
    report["meta"] = meta(args, time.monotonic() - t_start)
    text = render(report)
    print()
    print(text)
    # Only a complete default run replaces latest.*; partial runs write partial.*.
    name = "partial" if (skip or args.quick or args.no_package) else "latest"
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(
        f"# {name.title()} `make bench` results\n\n```\n" + text + "\n```\n"
    )
    log(f"wrote {RESULTS / (name + '.json')} and {RESULTS / (name + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

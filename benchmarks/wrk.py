"""The ``wrk`` driver: one run of one side and endpoint, or a paired run of both sides."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from typing import TYPE_CHECKING, Any

from benchmarks.config import HZ, LUA, URLS
from benchmarks.machine import NoiseMeter, proc_jiffies
from benchmarks.stub_counters import s3_reads, sts_total

if TYPE_CHECKING:
    from benchmarks.servers import Env


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
        # The viewer streams, by playlist length in seconds (bench_prepare).
        self.viewer_streams: dict[int, dict[str, Any]] = {
            int(seconds): stream
            for seconds, stream in ((prep.get("viewer") or {}).get("streams") or {}).items()
        }
        self.urls = dict(URLS)

    def playlist_path(self, side: str, seconds: int) -> str:
        """The path (and token) a viewer of the ``seconds``-long stream GETs."""
        stream = self.viewer_streams[seconds]
        return URLS[(side, "playlist")].format(id=stream["stream_id"], token=stream["token"])

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
        path: str | None = None,
    ) -> dict[str, Any]:
        """One wrk run of ``side``'s ``endpoint`` (at ``path``, if given)."""
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
        cmd = self.command(
            base_url + (path or self.urls[(side, endpoint)]), duration, conns, endpoint
        )
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
            # What wrk read per response, status line and headers included.
            "wire_bytes_per_request": round(data["bytes"] / max(1, data["requests"]), 1),
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
        self,
        base_url: str,
        endpoint: str,
        duration: float,
        conns: int | None = None,
        paths: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Baseline and package requests alternating on every connection, one run.

        Returns each side's server-side thread CPU per request, measured at the same
        moments: free of the machine's speed drift that separate runs see.
        """
        sides = ("baseline", "package")
        urls = paths or {side: self.urls[(side, endpoint)] for side in sides}
        env = {
            **os.environ,
            "BENCH_KIND": "get" if endpoint == "playlist" else endpoint,
            "BENCH_TOKEN": self.token,
            "BENCH_THREADS": str(self.threads),
            "BENCH_PATHS": ",".join(urls[side] for side in sides),
            "BENCH_POOL": ",".join(self.pools.get(side, "00000000") for side in sides),
            "BENCH_BASE": ",".join(str(self.next_index.get(side, 0)) for side in sides),
        }
        before = self.env.request_cpu()
        out = subprocess.run(
            self.command(base_url + "/", duration, conns, endpoint),
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
            path = urls[side].split("?", 1)[0]  # request_cpu: PATH_INFO
            count = after.get(path, [0, 0])[0] - before.get(path, [0, 0])[0]
            ns = after.get(path, [0, 0])[1] - before.get(path, [0, 0])[1]
            result[side] = {"requests": count, "cpu_ms": round(ns / 1e6 / max(1, count), 3)}
        package_ms = result["package"]["cpu_ms"]
        baseline_ms = result["baseline"]["cpu_ms"]
        result["cpu_ratio"] = round(baseline_ms / package_ms, 3) if package_ms else 0.0
        return result

    def command(
        self, url: str, duration: float, conns: int | None = None, endpoint: str = ""
    ) -> list[str]:
        # Viewers ask for gzip, as every player's HTTP stack does.
        headers = ["-H", "Accept-Encoding: gzip"] if endpoint == "playlist" else []
        return [
            "wrk",
            f"-t{self.threads}",
            f"-c{conns or self.conns}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "--timeout",
            "10s",
            *headers,
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

"""The processes a run needs: the stub and gunicorn, started in the background and
stopped again; the environment they share and the counters the workers write."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator
from benchmarks.config import PROJECT, PY, ROOT
from benchmarks.machine import children


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


class Env:
    def __init__(self, stub_port: int, counter_dir: str, package: bool) -> None:
        self.stub_url = f"http://127.0.0.1:{stub_port}"
        self.counter_dir = counter_dir
        self.stub_pid = 0  # the stub's pid, once started (its CPU is the bench's own)
        self.prep: dict[str, Any] = {}  # what ``bench_prepare`` printed: pools, tables, viewer
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

    def stub_reset(self) -> None:
        """The stub's EVENT broadcasts start again at their age (``GET /__reset``)."""
        get_json(f"{self.stub_url}/__reset")

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

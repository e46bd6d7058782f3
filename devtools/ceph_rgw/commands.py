"""Running the ceph command-line tools, one at a time or side by side."""

from __future__ import annotations

import subprocess
import time

from devtools.ceph_rgw.layout import RGWError


def run(cmd: list[str], *, timeout: float, what: str) -> str:
    try:
        result = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise RGWError(f"{what}: timed out after {timeout:.1f} s: {' '.join(cmd)}") from exc
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-2000:]
        raise RGWError(f"{what}: exit {result.returncode}: {' '.join(cmd)}\n{output}")
    return result.stdout


def run_concurrently(commands: dict[str, list[str]], *, timeout: float) -> None:
    """Run independent commands at once; raise for the first that fails."""
    processes = {
        what: subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for what, cmd in commands.items()
    }
    deadline = time.monotonic() + timeout
    failures: list[str] = []
    for what, process in processes.items():
        try:
            _, stderr = process.communicate(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            failures.append(f"{what}: timed out after {timeout:.1f} s")
            continue
        if process.returncode != 0:
            failures.append(f"{what}: exit {process.returncode}\n{stderr.strip()[-2000:]}")
    if failures:
        raise RGWError("\n".join(failures))

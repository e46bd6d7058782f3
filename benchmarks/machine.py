"""This machine, from /proc: CPU used by others during a run, children, resident memory."""

from __future__ import annotations

import resource
import time

from benchmarks.config import HZ


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

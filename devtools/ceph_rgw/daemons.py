"""The running daemons: found by pid file or by their ``-c <conf>``, waited for, stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

from devtools.ceph_rgw.layout import CONF_FILE, DAEMONS, RGW_NAME, RGWError, log


def read_pid(directory: Path, name: str) -> int | None:
    try:
        return int((directory / "run" / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None, executable: str) -> bool:
    """Whether ``pid`` is a live (not zombie) process running ``executable``."""
    if pid is None or pid <= 1:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[:1]
    if state in (["Z"], ["X"]):
        return False
    return bool(cmdline) and os.path.basename(cmdline[0].decode(errors="replace")) == executable


def _pids_using_conf(conf: Path, executable: str) -> list[int]:
    """Processes of ``executable`` started with ``-c <conf>``: ours, even without a pid file."""
    found: list[int] = []
    wanted = str(conf).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in argv and alive(int(entry.name), executable):
            found.append(int(entry.name))
    return found


def _terminate(pid: int, executable: str, *, timeout: float) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not alive(pid, executable):
            return
        if sig == signal.SIGKILL:
            log(f"{executable} (pid {pid}) ignored SIGTERM for {timeout:.0f} s; SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and alive(pid, executable):
            time.sleep(0.02)
    if alive(pid, executable):
        raise RGWError(f"{executable} (pid {pid}) survived SIGKILL")


def stop_daemons(directory: Path, *, timeout: float) -> None:
    """radosgw, then the OSD, then the monitor: each by its pid, never by name."""
    conf = directory / CONF_FILE
    for name, executable in DAEMONS:
        pids = {pid for pid in [read_pid(directory, name)] if pid and alive(pid, executable)}
        pids.update(_pids_using_conf(conf, executable))
        for pid in sorted(pids):
            _terminate(pid, executable, timeout=timeout)


def _log_tail(directory: Path, name: str, lines: int = 15) -> str:
    try:
        text = (directory / "log" / f"{name}.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_http_ready(url: str, deadline: float, directory: Path) -> None:
    """Until radosgw answers ``GET /`` with a bucket listing (its pools exist by then)."""
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our http URL
                if b"ListAllMyBucketsResult" in response.read():
                    return
                last = f"HTTP {response.status} without ListAllMyBucketsResult"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (OSError, TimeoutError) as exc:
            last = str(exc)
        if (
            not alive(read_pid(directory, RGW_NAME), "radosgw")
            and (directory / "run" / f"{RGW_NAME}.pid").exists()
        ):
            break
        time.sleep(0.05)
    tail = _log_tail(directory, RGW_NAME)
    raise RGWError(f"radosgw not ready at {url} ({last})\n{tail}")

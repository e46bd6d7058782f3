#!/usr/bin/env python3
"""Start and stop a throwaway one-node Ceph RADOS Gateway (S3 + STS) on 127.0.0.1.

The integration tests use it to prove that the credentials ``broadcast_api`` hands out
are really scoped: Ceph RGW implements STS AssumeRole and enforces session policies.

One monitor, one OSD on the in-memory object store, no manager, no cephx, and radosgw
with STS, all listening on loopback ports picked (and checked free) here. Everything
lives in one directory; ``stop`` ends the daemons (radosgw, then the OSD, then the
monitor) by the pids in their pid files and removes that directory.

Command line (diagnostics go to stderr; ``start`` prints one line of JSON to stdout)::

    python3 scripts/ceph_rgw.py start [--dir DIR] [--port PORT] [--min-session-duration S]
    python3 scripts/ceph_rgw.py stop --dir DIR

As a module (load it by path with importlib)::

    info = start(Path("/tmp/rgw-x"))  # endpoint_url, access_key, secret_key, role_arn...
    stop(Path("/tmp/rgw-x"))

The Debian packages ``radosgw ceph-mon ceph-osd ceph-common`` are installed with apt when
they are missing and the script runs as root. Standard library only; Python >= 3.11.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Final, TypedDict

__all__ = ["RGWError", "RGWInfo", "available", "start", "stop"]

PACKAGES: Final = ("radosgw", "ceph-mon", "ceph-osd", "ceph-common")
BINARIES: Final = ("radosgw", "radosgw-admin", "ceph-mon", "ceph-osd", "ceph", "monmaptool")

HOST: Final = "127.0.0.1"
REGION: Final = "us-east-1"
MON_ID: Final = "a"
OSD_ID: Final = 0
RGW_NAME: Final = "client.rgw.gw"
USER: Final = "broadcast-admin"
ROLE: Final = "broadcast-uploader"
ROLE_POLICY: Final = "allow-s3"

MARKER: Final = ".ceph_rgw"  # written at start; stop only removes directories that hold it
INFO_FILE: Final = "rgw.json"
CONF_FILE: Final = "ceph.conf"
SUN_PATH_MAX: Final = 107  # sockaddr_un.sun_path is 108 bytes including the final NUL
MESSENGER_PORTS: Final = 12  # ports the OSD may bind (public, cluster, two heartbeats...)

# name in the pid file / admin socket -> the executable expected in /proc/<pid>/cmdline
DAEMONS: Final = (
    (RGW_NAME, "radosgw"),
    (f"osd.{OSD_ID}", "ceph-osd"),
    (f"mon.{MON_ID}", "ceph-mon"),
)


class RGWError(RuntimeError):
    """The gateway could not be installed, started or stopped."""


class RGWInfo(TypedDict):
    """What ``start`` returns, prints and writes to ``DIR/rgw.json``."""

    endpoint_url: str
    access_key: str
    secret_key: str
    role_arn: str
    region: str
    dir: str


def _log(message: str) -> None:
    print(f"ceph_rgw: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- install


def _missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def available() -> tuple[bool, str]:
    """Whether the gateway can run here: binaries present, or installable (root + apt)."""
    if sys.platform != "linux":
        return False, f"Ceph RGW needs Linux (this is {sys.platform})"
    missing = _missing_binaries()
    if not missing:
        return True, "ceph binaries present"
    if not _is_root():
        return False, f"ceph binaries missing ({', '.join(missing)}) and not root to apt-get them"
    if shutil.which("apt-get") is None:
        return False, f"ceph binaries missing ({', '.join(missing)}) and no apt-get"
    return True, f"ceph binaries missing ({', '.join(missing)}); will apt-get install them"


def _apt(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Wait for a concurrent apt/dpkg instead of failing on its lock.
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=600", *args]
    return subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _install() -> None:
    ok, reason = available()
    if not ok:
        raise RGWError(reason)
    if not _missing_binaries():
        return
    _log(f"installing {' '.join(PACKAGES)} with apt-get")
    install = ("install", "-y", "--no-install-recommends", *PACKAGES)
    result = _apt(*install, timeout=900)
    if result.returncode != 0:  # most often: package lists never fetched, or stale
        update = _apt("update", timeout=600)
        if update.returncode != 0:
            raise RGWError(f"apt-get update failed:\n{update.stderr[-2000:]}")
        result = _apt(*install, timeout=900)
    if result.returncode != 0:
        raise RGWError(f"apt-get install failed:\n{result.stderr[-2000:]}")
    if missing := _missing_binaries():
        raise RGWError(f"still missing after apt-get install: {', '.join(missing)}")


# --------------------------------------------------------------------------- ports


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    try:
        low = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]
        return int(low)
    except (OSError, ValueError, IndexError):
        return 32768


def _free_block(count: int, exclude: set[int]) -> int:
    """First port of ``count`` consecutive free ports below the ephemeral range."""
    high = max(_ephemeral_low() - count, 12000)
    rng = random.SystemRandom()
    for _ in range(500):
        base = rng.randrange(10000, high)
        block = range(base, base + count)
        if exclude.isdisjoint(block) and all(_port_free(port) for port in block):
            return base
    raise RGWError(f"found no {count} consecutive free ports on {HOST}")


# --------------------------------------------------------------------------- helpers


def _classes_dir() -> Path:
    """The rados object classes (cls_rgw, cls_lock...) the OSD must load for radosgw."""
    candidates = [*Path("/usr/lib").glob("*/rados-classes"), Path("/usr/lib/rados-classes")]
    candidates += [Path("/usr/lib64/rados-classes"), Path("/usr/lib/rados/classes")]
    for path in candidates:
        if any(path.glob("libcls_rgw.so*")):
            return path
    raise RGWError("rados-classes directory with libcls_rgw not found (package ceph-base)")


def _run(cmd: list[str], *, timeout: float, what: str) -> str:
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


def _run_concurrently(commands: dict[str, list[str]], *, timeout: float) -> None:
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


def _log_tail(directory: Path, name: str, lines: int = 15) -> str:
    try:
        text = (directory / "log" / f"{name}.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _wait_http_ready(url: str, deadline: float, directory: Path) -> None:
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if b"ListAllMyBucketsResult" in response.read():
                    return
                last = f"HTTP {response.status} without ListAllMyBucketsResult"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (OSError, TimeoutError) as exc:
            last = str(exc)
        if (
            not _alive(_read_pid(directory, RGW_NAME), "radosgw")
            and (directory / "run" / f"{RGW_NAME}.pid").exists()
        ):
            break
        time.sleep(0.05)
    tail = _log_tail(directory, RGW_NAME)
    raise RGWError(f"radosgw not ready at {url} ({last})\n{tail}")


def _conf(
    directory: Path,
    *,
    fsid: str,
    mon_port: int,
    rgw_port: int,
    ms_low: int,
    sts_key: str,
    min_session_duration: int,
) -> str:
    d = directory
    return f"""\
[global]
fsid = {fsid}
mon host = [v2:{HOST}:{mon_port}]
public addr = {HOST}
cluster addr = {HOST}
ms bind msgr1 = false
ms bind ipv6 = false
ms bind port min = {ms_low}
ms bind port max = {ms_low + MESSENGER_PORTS - 1}
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
keyring = /dev/null
run dir = {d}/run
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.05
paxos min wait = 0.01
[mon]
mon data = {d}/mon.$id
admin socket = {d}/run/$name.asok
pid file = {d}/run/$name.pid
log file = {d}/log/$name.log
[osd]
osd data = {d}/osd.$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd class dir = {_classes_dir()}
admin socket = {d}/run/$name.asok
pid file = {d}/run/$name.pid
log file = {d}/log/$name.log
[{RGW_NAME}]
admin socket = {d}/run/$name.asok
pid file = {d}/run/$name.pid
log file = {d}/log/$name.log
rgw frontends = beast endpoint={HOST}:{rgw_port}
rgw data = {d}/rgw
rgw sts key = {sts_key}
rgw s3 auth use sts = true
rgw sts min session duration = {min_session_duration}
"""


def _policy(statement: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


def _random_key(length: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _check_socket_paths(directory: Path) -> None:
    longest = max(len(str(directory / "run" / f"{name}.asok").encode()) for name, _ in DAEMONS)
    if longest > SUN_PATH_MAX:
        raise RGWError(
            f"directory path too long for unix sockets ({longest} > {SUN_PATH_MAX} bytes): "
            f"{directory}; use a short one such as /tmp/rgw-XXXX"
        )


# --------------------------------------------------------------------------- processes


def _read_pid(directory: Path, name: str) -> int | None:
    try:
        return int((directory / "run" / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None, executable: str) -> bool:
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
        if wanted in argv and _alive(int(entry.name), executable):
            found.append(int(entry.name))
    return found


def _terminate(pid: int, executable: str, *, timeout: float) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not _alive(pid, executable):
            return
        if sig == signal.SIGKILL:
            _log(f"{executable} (pid {pid}) ignored SIGTERM for {timeout:.0f} s; SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(pid, executable):
            time.sleep(0.02)
    if _alive(pid, executable):
        raise RGWError(f"{executable} (pid {pid}) survived SIGKILL")


def _stop_daemons(directory: Path, *, timeout: float) -> None:
    conf = directory / CONF_FILE
    for name, executable in DAEMONS:
        pids = {pid for pid in [_read_pid(directory, name)] if pid and _alive(pid, executable)}
        pids.update(_pids_using_conf(conf, executable))
        for pid in sorted(pids):
            _terminate(pid, executable, timeout=timeout)


# --------------------------------------------------------------------------- start / stop


def start(
    directory: Path,
    *,
    min_session_duration: int = 900,
    port: int | None = None,
    timeout: float = 90.0,
) -> RGWInfo:
    """Start mon, OSD and radosgw in ``directory`` (absent or empty), set up user and role.

    Returns the admin user's keys, the role ARN and the endpoint; the same JSON is
    written to ``directory/rgw.json``. On failure everything started is stopped again and
    ``directory`` removed (kept, daemons stopped, when CEPH_RGW_KEEP_FAILED is set).
    """
    _install()
    directory = directory.absolute()
    _check_socket_paths(directory)
    if directory.exists() and any(directory.iterdir()):
        raise RGWError(f"{directory} exists and is not empty")
    if port is not None and not _port_free(port):
        raise RGWError(f"port {port} on {HOST} is in use")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    (directory / MARKER).write_text("created by scripts/ceph_rgw.py; removed by its stop\n")
    try:
        return _start(
            directory,
            min_session_duration=min_session_duration,
            port=port,
            deadline=time.monotonic() + timeout,
        )
    except BaseException:
        if os.environ.get("CEPH_RGW_KEEP_FAILED"):
            _log(f"start failed; keeping {directory} (CEPH_RGW_KEEP_FAILED is set)")
            with contextlib.suppress(Exception):
                _stop_daemons(directory, timeout=5.0)
        else:
            with contextlib.suppress(Exception):
                stop(directory, timeout=5.0)
        raise


def _start(
    directory: Path, *, min_session_duration: int, port: int | None, deadline: float
) -> RGWInfo:
    for sub in ("run", "log", "rgw", f"mon.{MON_ID}", f"osd.{OSD_ID}"):
        (directory / sub).mkdir()
    rgw_port = port if port is not None else _free_block(1, set())
    ms_low = _free_block(MESSENGER_PORTS + 1, {rgw_port})
    mon_port = ms_low + MESSENGER_PORTS  # the block's last port; the messengers get the rest
    fsid = str(uuid.uuid4())
    conf = directory / CONF_FILE
    conf.write_text(
        _conf(
            directory,
            fsid=fsid,
            mon_port=mon_port,
            rgw_port=rgw_port,
            ms_low=ms_low,
            sts_key=secrets.token_hex(8),
            min_session_duration=min_session_duration,
        )
    )
    c = ["-c", str(conf)]

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RGWError("timed out starting the gateway")
        return remaining

    monmap = directory / "monmap"
    _run(
        [
            "monmaptool",
            "--create",
            "--fsid",
            fsid,
            "--addv",
            MON_ID,
            f"[v2:{HOST}:{mon_port}]",
            "--enable-all-features",
            "--set-min-mon-release",
            "pacific",
            str(monmap),
        ],
        timeout=left(),
        what="monmaptool",
    )
    _run(
        ["ceph-mon", *c, "--mkfs", "-i", MON_ID, "--monmap", str(monmap)],
        timeout=left(),
        what="ceph-mon --mkfs",
    )
    _run(["ceph-mon", *c, "-i", MON_ID], timeout=left(), what="ceph-mon")

    # The CLI waits for the monitor to answer, so there is no separate readiness poll.
    osd_uuid = str(uuid.uuid4())
    connect = ["--connect-timeout", str(max(int(left()), 1))]
    _run(
        ["ceph", *c, *connect, "osd", "new", osd_uuid, str(OSD_ID)],
        timeout=left(),
        what="ceph osd new",
    )
    _run(
        ["ceph-osd", *c, "-i", str(OSD_ID), "--mkfs", "--osd-uuid", osd_uuid],
        timeout=left(),
        what="ceph-osd --mkfs",
    )
    _run(["ceph-osd", *c, "-i", str(OSD_ID)], timeout=left(), what="ceph-osd")

    # radosgw creates its pools once the OSD is up; its HTTP answer means all is ready.
    _run(["radosgw", *c, "-n", RGW_NAME], timeout=left(), what="radosgw")
    endpoint = f"http://{HOST}:{rgw_port}"
    _wait_http_ready(endpoint + "/", deadline, directory)

    access_key = _random_key(20, string.ascii_uppercase + string.digits)
    secret_key = _random_key(40, string.ascii_letters + string.digits)
    trust = _policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam:::user/{USER}"]},
            "Action": ["sts:AssumeRole"],
        }
    )
    # The role may do anything in S3; the session policy of each grant does the scoping.
    permissions = _policy({"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]})
    admin = ["radosgw-admin", *c]
    user = [*admin, "user", "create", "--uid", USER, "--display-name", USER, "--caps", "roles=*"]
    user += ["--access-key", access_key, "--secret-key", secret_key]
    role = [*admin, "role", "create", "--role-name", ROLE, "--path", "/"]
    role += ["--assume-role-policy-doc", trust]
    _run_concurrently(
        {"radosgw-admin user create": user, "radosgw-admin role create": role}, timeout=left()
    )
    policy = [*admin, "role-policy", "put", "--role-name", ROLE, "--policy-name", ROLE_POLICY]
    policy += ["--policy-doc", permissions]
    _run(policy, timeout=left(), what="radosgw-admin role-policy put")

    info: RGWInfo = {
        "endpoint_url": endpoint,
        "access_key": access_key,
        "secret_key": secret_key,
        "role_arn": f"arn:aws:iam:::role/{ROLE}",
        "region": REGION,
        "dir": str(directory),
    }
    info_path = directory / INFO_FILE
    info_path.touch(mode=0o600)
    info_path.write_text(json.dumps(info) + "\n")
    return info


def stop(directory: Path, *, timeout: float = 15.0) -> None:
    """Stop radosgw, then the OSD, then the monitor (each by pid), and remove ``directory``.

    Refuses to remove a directory that ``start`` did not create. A directory that is
    already gone is not an error.
    """
    directory = directory.absolute()
    if not directory.exists():
        return
    if not (directory / MARKER).is_file():
        raise RGWError(f"{directory} was not created by ceph_rgw.py start; not touching it")
    _stop_daemons(directory, timeout=timeout)
    shutil.rmtree(directory)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    start_cmd = commands.add_parser("start", help="start the gateway, print its JSON")
    start_cmd.add_argument("--dir", type=Path, help="cluster directory (default /tmp/rgw-XXXX)")
    start_cmd.add_argument("--port", type=int, help="radosgw port (default: a free one)")
    start_cmd.add_argument(
        "--min-session-duration",
        type=int,
        default=900,
        metavar="SECONDS",
        help="rgw sts min session duration (default 900; lower it to test expiry)",
    )
    start_cmd.add_argument("--timeout", type=float, default=90.0, help="seconds (default 90)")
    stop_cmd = commands.add_parser("stop", help="stop the gateway and remove its directory")
    stop_cmd.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "stop":
        try:
            stop(args.dir)
        except RGWError as exc:
            _log(f"error: {exc}")
            return 1
        return 0

    directory: Path = args.dir or Path(tempfile.mkdtemp(prefix="rgw-", dir="/tmp"))
    try:
        info = start(
            directory,
            min_session_duration=args.min_session_duration,
            port=args.port,
            timeout=args.timeout,
        )
    except RGWError as exc:
        if args.dir is None:  # our mkdtemp; start() already removed it if it got that far
            with contextlib.suppress(OSError):
                directory.rmdir()
        _log(f"error: {exc}")
        return 1
    print(json.dumps(info), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

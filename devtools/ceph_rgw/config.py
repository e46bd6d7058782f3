"""The cluster's ``ceph.conf``, its IAM policies and keys."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from devtools.ceph_rgw.layout import (
    DAEMONS,
    HOST,
    MESSENGER_PORTS,
    RGW_NAME,
    SUN_PATH_MAX,
    RGWError,
)


def classes_dir() -> Path:
    """The rados object classes (cls_rgw, cls_lock...) the OSD must load for radosgw."""
    candidates = [*Path("/usr/lib").glob("*/rados-classes"), Path("/usr/lib/rados-classes")]
    candidates += [Path("/usr/lib64/rados-classes"), Path("/usr/lib/rados/classes")]
    for path in candidates:
        if any(path.glob("libcls_rgw.so*")):
            return path
    raise RGWError("rados-classes directory with libcls_rgw not found (package ceph-base)")


def ceph_conf(
    directory: Path,
    *,
    fsid: str,
    mon_port: int,
    rgw_port: int,
    ms_low: int,
    sts_key: str,
    min_session_duration: int,
) -> str:
    """One mon, one memstore OSD, no cephx, radosgw with STS; everything in ``directory``."""
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
osd class dir = {classes_dir()}
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


def policy(statement: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


def random_key(length: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def check_socket_paths(directory: Path) -> None:
    """The daemons' admin sockets must fit in ``sockaddr_un``: refuse a long directory."""
    longest = max(len(str(directory / "run" / f"{name}.asok").encode()) for name, _ in DAEMONS)
    if longest > SUN_PATH_MAX:
        raise RGWError(
            f"directory path too long for unix sockets ({longest} > {SUN_PATH_MAX} bytes): "
            f"{directory}; use a short one such as /tmp/rgw-XXXX"
        )

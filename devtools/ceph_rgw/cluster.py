"""Start and stop the gateway: mon, OSD and radosgw in one directory, user and role set up."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import string
import time
import uuid
from typing import TYPE_CHECKING

from devtools.ceph_rgw.commands import run, run_concurrently
from devtools.ceph_rgw.config import (
    ceph_conf,
    check_socket_paths,
    policy,
    random_key,
)
from devtools.ceph_rgw.daemons import stop_daemons, wait_http_ready
from devtools.ceph_rgw.install import install
from devtools.ceph_rgw.layout import (
    CONF_FILE,
    HOST,
    INFO_FILE,
    MARKER,
    MESSENGER_PORTS,
    MON_ID,
    OSD_ID,
    REGION,
    RGW_NAME,
    ROLE,
    ROLE_POLICY,
    USER,
    RGWError,
    RGWInfo,
    log,
)
from devtools.ceph_rgw.ports import free_block, port_free

if TYPE_CHECKING:
    from pathlib import Path


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
    install()
    directory = directory.absolute()
    check_socket_paths(directory)
    if directory.exists() and any(directory.iterdir()):
        raise RGWError(f"{directory} exists and is not empty")
    if port is not None and not port_free(port):
        raise RGWError(f"port {port} on {HOST} is in use")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    (directory / MARKER).write_text("created by devtools.ceph_rgw start; removed by its stop\n")
    try:
        return _start(
            directory,
            min_session_duration=min_session_duration,
            port=port,
            deadline=time.monotonic() + timeout,
        )
    except BaseException:
        if os.environ.get("CEPH_RGW_KEEP_FAILED"):
            log(f"start failed; keeping {directory} (CEPH_RGW_KEEP_FAILED is set)")
            with contextlib.suppress(Exception):
                stop_daemons(directory, timeout=5.0)
        else:
            with contextlib.suppress(Exception):
                stop(directory, timeout=5.0)
        raise


def _start(
    directory: Path, *, min_session_duration: int, port: int | None, deadline: float
) -> RGWInfo:
    for sub in ("run", "log", "rgw", f"mon.{MON_ID}", f"osd.{OSD_ID}"):
        (directory / sub).mkdir()
    rgw_port = port if port is not None else free_block(1, set())
    ms_low = free_block(MESSENGER_PORTS + 1, {rgw_port})
    mon_port = ms_low + MESSENGER_PORTS  # the block's last port; the messengers get the rest
    fsid = str(uuid.uuid4())
    conf = directory / CONF_FILE
    conf.write_text(
        ceph_conf(
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
    run(
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
    run(
        ["ceph-mon", *c, "--mkfs", "-i", MON_ID, "--monmap", str(monmap)],
        timeout=left(),
        what="ceph-mon --mkfs",
    )
    run(["ceph-mon", *c, "-i", MON_ID], timeout=left(), what="ceph-mon")

    # The CLI waits for the monitor to answer, so there is no separate readiness poll.
    osd_uuid = str(uuid.uuid4())
    connect = ["--connect-timeout", str(max(int(left()), 1))]
    run(
        ["ceph", *c, *connect, "osd", "new", osd_uuid, str(OSD_ID)],
        timeout=left(),
        what="ceph osd new",
    )
    run(
        ["ceph-osd", *c, "-i", str(OSD_ID), "--mkfs", "--osd-uuid", osd_uuid],
        timeout=left(),
        what="ceph-osd --mkfs",
    )
    run(["ceph-osd", *c, "-i", str(OSD_ID)], timeout=left(), what="ceph-osd")

    # radosgw creates its pools once the OSD is up; its HTTP answer means all is ready.
    run(["radosgw", *c, "-n", RGW_NAME], timeout=left(), what="radosgw")
    endpoint = f"http://{HOST}:{rgw_port}"
    wait_http_ready(endpoint + "/", deadline, directory)

    access_key = random_key(20, string.ascii_uppercase + string.digits)
    secret_key = random_key(40, string.ascii_letters + string.digits)
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam:::user/{USER}"]},
            "Action": ["sts:AssumeRole"],
        }
    )
    # The role may do anything in S3; the session policy of each grant does the scoping.
    permissions = policy({"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]})
    admin = ["radosgw-admin", *c]
    user = [*admin, "user", "create", "--uid", USER, "--display-name", USER, "--caps", "roles=*"]
    user += ["--access-key", access_key, "--secret-key", secret_key]
    role = [*admin, "role", "create", "--role-name", ROLE, "--path", "/"]
    role += ["--assume-role-policy-doc", trust]
    run_concurrently(
        {"radosgw-admin user create": user, "radosgw-admin role create": role}, timeout=left()
    )
    role_policy = [*admin, "role-policy", "put", "--role-name", ROLE, "--policy-name", ROLE_POLICY]
    role_policy += ["--policy-doc", permissions]
    run(role_policy, timeout=left(), what="radosgw-admin role-policy put")

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
        raise RGWError(f"{directory} was not created by devtools.ceph_rgw start; not touching it")
    stop_daemons(directory, timeout=timeout)
    shutil.rmtree(directory)

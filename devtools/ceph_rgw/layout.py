"""What the one-node gateway is made of: names, files, loopback host, and its errors."""

from __future__ import annotations

import sys
from typing import Final, TypedDict

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


def log(message: str) -> None:
    print(f"ceph_rgw: {message}", file=sys.stderr, flush=True)

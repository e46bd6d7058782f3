"""A throwaway one-node Ceph RADOS Gateway (S3 + STS) on 127.0.0.1.

The integration tests use it to prove that the credentials ``broadcast_api`` hands out
are really scoped: Ceph RGW implements STS AssumeRole and enforces session policies.

One monitor, one OSD on the in-memory object store, no manager, no cephx, and radosgw
with STS, all listening on loopback ports picked (and checked free) here. Everything
lives in one directory; ``stop`` ends the daemons (radosgw, then the OSD, then the
monitor) by the pids in their pid files and removes that directory.

Command line (diagnostics go to stderr; ``start`` prints one line of JSON to stdout)::

    python -m devtools.ceph_rgw start [--dir DIR] [--port PORT] [--min-session-duration S]
    python -m devtools.ceph_rgw stop --dir DIR

As a library::

    info = start(Path("/tmp/rgw-x"))  # endpoint_url, access_key, secret_key, role_arn...
    stop(Path("/tmp/rgw-x"))

The Debian packages ``radosgw ceph-mon ceph-osd ceph-common`` are installed with apt when
they are missing and this runs as root. Standard library only.
"""

from __future__ import annotations

from devtools.ceph_rgw.cluster import start, stop
from devtools.ceph_rgw.install import available
from devtools.ceph_rgw.layout import RGWError, RGWInfo

__all__ = ["RGWError", "RGWInfo", "available", "start", "stop"]

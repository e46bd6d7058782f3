"""The Debian packages the gateway needs: present, or installed with apt-get as root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Final

from devtools.ceph_rgw.layout import RGWError, log

PACKAGES: Final = ("radosgw", "ceph-mon", "ceph-osd", "ceph-common")
BINARIES: Final = ("radosgw", "radosgw-admin", "ceph-mon", "ceph-osd", "ceph", "monmaptool")


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def available() -> tuple[bool, str]:
    """Whether the gateway can run here: binaries present, or installable (root + apt)."""
    if sys.platform != "linux":
        return False, f"Ceph RGW needs Linux (this is {sys.platform})"
    missing = missing_binaries()
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


def install() -> None:
    """Make sure the binaries are there, installing the packages if need be."""
    ok, reason = available()
    if not ok:
        raise RGWError(reason)
    if not missing_binaries():
        return
    log(f"installing {' '.join(PACKAGES)} with apt-get")
    command = ("install", "-y", "--no-install-recommends", *PACKAGES)
    result = _apt(*command, timeout=900)
    if result.returncode != 0:  # most often: package lists never fetched, or stale
        update = _apt("update", timeout=600)
        if update.returncode != 0:
            raise RGWError(f"apt-get update failed:\n{update.stderr[-2000:]}")
        result = _apt(*command, timeout=900)
    if result.returncode != 0:
        raise RGWError(f"apt-get install failed:\n{result.stderr[-2000:]}")
    if missing := missing_binaries():
        raise RGWError(f"still missing after apt-get install: {', '.join(missing)}")

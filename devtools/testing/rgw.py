"""One gateway for a test session, in a short /tmp directory; stopped afterwards."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from devtools import ceph_rgw
from devtools.ceph_rgw.clients import RGW
from devtools.testing.prerequisites import require_rgw
from devtools.testing.requirements import require_or_skip

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextlib.contextmanager
def running_rgw(*, min_session_duration: int = 900) -> Iterator[RGW]:
    """Start a gateway; skip (or fail, when ``rgw`` is required) if it cannot run here."""
    require_rgw()
    directory = Path(tempfile.mkdtemp(prefix="rgw-", dir="/tmp"))
    try:
        info = ceph_rgw.start(directory, min_session_duration=min_session_duration)
    except ceph_rgw.RGWError as exc:
        with contextlib.suppress(OSError):
            directory.rmdir()
        require_or_skip("rgw", f"Ceph RGW did not start: {exc}")
    try:
        yield RGW.from_info(info, directory)
    finally:
        ceph_rgw.stop(directory)

"""The shipped ``publisher.js`` is what its source builds, and the wheel carries it.

``broadcast_api/static/broadcast_api/publisher.js`` is committed (a host needs no npm),
so it can drift from ``js/publisher``. Here a copy of ``js/publisher`` (its source,
package.json and lockfile, not its node_modules) is installed with ``npm ci`` from the
lockfile and built with its own ``build`` script: the output must be the shipped file,
byte for byte. ``make publisher-js`` rebuilds it in place.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import zipfile
from typing import TYPE_CHECKING

import pytest

from devtools.testing.requirements import require_or_skip
from tests.wheels import ROOT, build_wheel

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(300)]

SOURCE = ROOT / "js" / "publisher"
STATIC_PATH = "broadcast_api/static/broadcast_api/publisher.js"
SHIPPED = ROOT / STATIC_PATH


def digest(data: bytes) -> str:
    return f"{hashlib.sha256(data).hexdigest()[:16]} ({len(data)} bytes)"


def build_output(package_json: Path) -> str:
    """Where the ``build`` script writes, relative to the package (its ``--outfile``)."""
    script = json.loads(package_json.read_text())["scripts"]["build"]
    flag = "--outfile="
    [outfile] = [arg.removeprefix(flag) for arg in shlex.split(script) if arg.startswith(flag)]
    return outfile


def npm(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        ["npm", *args, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"npm {' '.join(args)}:\n{result.stdout}{result.stderr}"


def test_the_shipped_publisher_is_what_the_source_builds(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        require_or_skip("packaging", "npm is not installed (apt-get install npm)")
    # The same depth below a root as in the checkout, so the build's relative --outfile
    # lands inside the copy.
    package = tmp_path / "js" / "publisher"
    shutil.copytree(SOURCE, package, ignore=shutil.ignore_patterns("node_modules"))
    built = (package / build_output(package / "package.json")).resolve()
    assert built == (tmp_path / STATIC_PATH).resolve()
    npm("ci", cwd=package)
    npm("run", "build", cwd=package)
    assert digest(built.read_bytes()) == digest(SHIPPED.read_bytes()), (
        f"{STATIC_PATH} is not what js/publisher builds: run `make publisher-js` and commit it"
    )


def test_the_wheel_carries_the_publisher(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(STATIC_PATH) == SHIPPED.read_bytes()
        assert not [name for name in archive.namelist() if "node_modules" in name]

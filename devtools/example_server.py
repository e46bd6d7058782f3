"""The example project (``example_project/``) served by ``runserver`` on a fresh SQLite DB."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from devtools.paths import EXAMPLE, REPO
from devtools.processes import spawn, stop_process, wait_http

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

DEFAULT_SETTINGS = "example_project.settings"

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"

_PREPARE_DB = """
import os, django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
user, _ = get_user_model().objects.get_or_create(username=os.environ["DEMO_USER"])
user.is_staff = user.is_superuser = True
user.set_password(os.environ["DEMO_PASSWORD"])
user.save()
"""


def python() -> str:
    """The interpreter running this tooling (the project's venv)."""
    return sys.executable


@dataclass
class ExampleServer:
    process: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    _log: IO[bytes] | None = field(default=None, repr=False)

    def wait_ready(self) -> None:
        wait_http(f"{self.base_url}/admin/login/", timeout=90, proc=self.process)

    def stop(self) -> None:
        stop_process(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None


def example_env(
    storage_env: Mapping[str, str], db_path: Path, *, settings_module: str = DEFAULT_SETTINGS
) -> dict[str, str]:
    """The environment of the example project: its settings read these variables.

    ``storage_env`` holds the ``BROADCAST_API_*`` settings of the S3/STS server (the
    emulator's :meth:`~devtools.emulator.Emulator.server_env`, or a Ceph gateway's);
    ``settings_module`` may name a module that imports the example's settings and
    changes a few (a test's), importable from the checkout's root."""
    env = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    env.update(storage_env)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": settings_module,
            "EXAMPLE_DB_PATH": str(db_path),
            "DJANGO_DEBUG": "1",
            "PYTHONUNBUFFERED": "1",
            # broadcast_api from this checkout, as manage.py does (the venv may not have it).
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        }
    )
    return env


def prepare_database(env: dict[str, str], *, user: str, password: str) -> None:
    """Migrate the SQLite DB and create the demo superuser (staff: it sees the admin).

    One interpreter for both (each Django start costs a second or more)."""
    result = subprocess.run(
        [python(), "-c", _PREPARE_DB],
        cwd=EXAMPLE,
        env={**env, "DEMO_USER": user, "DEMO_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"preparing the database failed:\n{result.stderr[-4000:]}")


def launch_example_server(env: dict[str, str], port: int, log_path: Path | None) -> ExampleServer:
    """Start ``runserver`` (threaded, no autoreload); :meth:`ExampleServer.wait_ready`."""
    log: IO[bytes] | None = log_path.open("wb") if log_path else None
    proc = spawn(
        [python(), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=EXAMPLE,
        stdout=log if log else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    return ExampleServer(proc, f"http://127.0.0.1:{port}", env, log)

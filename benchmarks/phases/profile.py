"""py-spy recordings of one sync worker per side and endpoint (``--profile``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.config import PY, log

if TYPE_CHECKING:
    from benchmarks.servers import Env
    from benchmarks.wrk import Wrk


def py_spy(env: Env, wrk: Wrk, server: dict[str, Any], mode: str, profile_dir: Path) -> None:
    exe = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    if not Path(exe).exists():
        log("py-spy not installed: skipping (pip install py-spy)")
        return
    profile_dir.mkdir(parents=True, exist_ok=True)
    for endpoint in ("start", "stop"):
        for side in ("baseline", "package"):
            worker = server["workers"][0]
            out = profile_dir / f"py-spy-{mode}-{side}-{endpoint}.txt"
            # On-CPU samples only (py-spy leaves out idle frames unless --idle).
            spy = subprocess.Popen(
                [
                    exe,
                    "record",
                    "--pid",
                    str(worker),
                    "--duration",
                    "6",
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            result = wrk.run(server["url"], side, endpoint, 7.0)
            spy.wait(timeout=30)
            (profile_dir / f"py-spy-{mode}-{side}-{endpoint}.requests").write_text(
                str(result["requests"] // len(server["workers"]))
            )
            log(f"py-spy {mode} {side} {endpoint}: {out}")

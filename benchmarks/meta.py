"""What the run ran on: commit, versions, machine, wrk settings."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from benchmarks.config import NCPU, PY, ROOT
from benchmarks.database import db_dsn

if TYPE_CHECKING:
    import argparse


def meta(args: argparse.Namespace, elapsed: float) -> dict[str, Any]:
    def version(module: str) -> str:
        out = subprocess.run(
            [PY, "-c", f"import {module}; print({module}.__version__)"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip() or "?"

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "broadcast_api"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    import psycopg

    with psycopg.connect(db_dsn("postgres"), autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "dirty": bool(dirty),
        "dirty_files": dirty.splitlines(),
        "cpus": NCPU,
        "python": sys.version.split()[0],
        "django": version("django"),
        "drf": version("rest_framework"),
        "boto3": version("boto3"),
        "gunicorn": version("gunicorn"),
        "postgres": f"PostgreSQL {row[0] if row else '?'}",
        "wrk_threads": args.threads,
        "wrk_connections": args.connections,
        "duration": args.duration,
        "repeats": args.repeats,
        "elapsed_s": round(elapsed, 1),
    }

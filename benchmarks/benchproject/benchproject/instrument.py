"""Count boto3/botocore Sessions and clients built in this process.

``install()`` wraps ``boto3.session.Session.__init__``, ``botocore.session.Session.__init__``
and ``botocore.session.Session.create_client`` (every boto3 client goes through it). The
wrappers run only when something is *built*, so a process that builds nothing per request
pays nothing per request. When ``BENCH_COUNTER_DIR`` is set, each change is also written to
``<dir>/<pid>.json``, so ``python -m benchmarks`` can sum the counts of every gunicorn worker
before and after a load run.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections import Counter
from typing import Any

COUNTS: Counter[str] = Counter()
_lock = threading.Lock()
_installed = False


def _record(name: str) -> None:
    with _lock:
        COUNTS[name] += 1
        directory = os.environ.get("BENCH_COUNTER_DIR")
        if directory:
            path = os.path.join(directory, f"{os.getpid()}.json")
            with open(path + ".tmp", "w") as fh:
                json.dump(dict(COUNTS), fh)
            os.replace(path + ".tmp", path)


def _wrap(cls: type, attr: str, name: str) -> None:
    original = getattr(cls, attr)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _record(name)
        return original(*args, **kwargs)

    setattr(cls, attr, wrapper)


def install() -> None:
    global _installed  # noqa: PLW0603
    if _installed:
        return
    import boto3.session
    import botocore.session

    _wrap(boto3.session.Session, "__init__", "boto3_sessions")
    _wrap(botocore.session.Session, "__init__", "botocore_sessions")
    _wrap(botocore.session.Session, "create_client", "clients")
    _installed = True


def snapshot() -> dict[str, int]:
    with _lock:
        return {k: COUNTS.get(k, 0) for k in ("boto3_sessions", "botocore_sessions", "clients")}

"""``moto_server`` with one fix: CORS preflights answered from the bucket's CORS rule.

moto 5 answers an ``OPTIONS`` preflight for a key that already exists with 403: it
applies the object-ACL check meant for anonymous reads to the (always unsigned)
preflight. S3 answers every preflight from the bucket's CORS configuration, whatever the
key. A browser publisher rewrites its playlist and poster under the same keys, so each
rewrite after the first would be refused. Here a preflight is handed to moto as the
bucket-level ``OPTIONS`` it answers correctly; every other request reaches moto as it
came.

    python -m devtools.emulator.moto_preflight -H 127.0.0.1 -p 5000
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


class PreflightByBucket:
    """WSGI middleware: ``OPTIONS /<bucket>/<key>`` becomes ``OPTIONS /<bucket>``."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            bucket = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
            environ["PATH_INFO"] = f"/{bucket}"
        return self.app(environ, start_response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = PreflightByBucket(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()

"""A stub S3 with a fixed latency: HLS playlists' HEAD, GET and PUT, enough for botocore.

The reaper's scale test and the bench's reaper section need S3 answering ten thousand
HEADs the way a real one does, in a fixed time each, and a count of how many were in
flight at once. moto answers too fast to show a serial reaper's cost, and keeps no such
count. This is a threaded HTTP/1.1 keep-alive server (path-style ``/<bucket>/<key>``)
that waits ``delay`` seconds before each answer.

Each ``.m3u8`` key's ``Last-Modified`` is what ``last_modified(key)`` returns (``None``:
404, never uploaded). The default, :func:`by_key`, reads it from the key: a key with an
``/idle/`` segment was written on 1999-12-31 (:data:`IDLE_SINCE`), one with ``/silent/``
does not exist, any other was written just now. GET returns a small live playlist; PUT
is stored and counted (closing a recording: ``#EXT-X-ENDLIST``). Other keys are 404.

In process: ``with S3Stub(delay=0.02) as stub: stub.endpoint_url``. In a process of its
own (:class:`S3StubProcess`, or ``python -m devtools.testing.s3_stub --port N --delay
0.02``), so that its CPU does not compete with the client's for one GIL: ``GET /__stats``
answers the counters as JSON, ``GET /__reset`` zeroes them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

PLAYLIST = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg0.ts\n"
# When an ``/idle/`` key was written: long before any test's or bench's clock.
IDLE_SINCE = datetime(1999, 12, 31, tzinfo=UTC)


def by_key(key: str) -> datetime | None:
    """The default rule: ``/idle/`` at :data:`IDLE_SINCE`, ``/silent/`` never, others
    now."""
    if "/silent/" in key:
        return None
    if "/idle/" in key:
        return IDLE_SINCE
    return datetime.now(UTC)


class S3Stub:
    """The server, its counters and its thread; a context manager."""

    def __init__(
        self,
        *,
        delay: float = 0.02,
        last_modified: Callable[[str], datetime | None] = by_key,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.delay = delay
        self.last_modified = last_modified
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()  # "HEAD 200", "GET 404", "PUT 200", ...
        self.in_flight = 0
        self.max_in_flight = 0
        self.written: dict[str, bytes] = {}  # PUT bodies by key
        handler = type("Handler", (_Handler,), {"stub": self})
        self.server = _Server((host, port), handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="s3-stub", daemon=True
        )

    @property
    def endpoint_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                **self.counts,
                "max_in_flight": self.max_in_flight,
                "delay_ms": self.delay * 1000,
            }

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.max_in_flight = self.in_flight
            self.written.clear()

    def start(self) -> S3Stub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def __enter__(self) -> S3Stub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # several reapers connecting at once: no SYN retries


class _Handler(BaseHTTPRequestHandler):
    stub: S3Stub
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms ACK wait

    def do_HEAD(self) -> None:
        self.answer("HEAD")

    def do_GET(self) -> None:
        if self.path.startswith("/__"):
            self.control()
            return
        self.answer("GET")

    def do_PUT(self) -> None:
        self.answer("PUT")

    def answer(self, method: str) -> None:
        stub = self.stub
        with stub.lock:
            stub.in_flight += 1
            stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
        try:
            body = self.read_body() if method == "PUT" else b""
            time.sleep(stub.delay)
            key = self.path.split("?", 1)[0].lstrip("/").partition("/")[2]
            status = self.respond(method, key, body)
        finally:
            with stub.lock:
                stub.in_flight -= 1
        with stub.lock:
            stub.counts[f"{method} {status}"] += 1

    def respond(self, method: str, key: str, body: bytes) -> int:
        stub = self.stub
        if method == "PUT":
            with stub.lock:
                stub.written[key] = body
            self.send(200, b"", {"ETag": etag(body)})
            return 200
        written = stub.last_modified(key) if key.endswith(".m3u8") else None
        if written is None:
            self.send(404, b"", {}, head=method == "HEAD")
            return 404
        with stub.lock:
            content = stub.written.get(key, PLAYLIST)
        headers = {
            "Content-Type": "application/vnd.apple.mpegurl",
            "ETag": etag(content),
            "Last-Modified": format_datetime(written.astimezone(UTC), usegmt=True),
        }
        self.send(200, content, headers, head=method == "HEAD")
        return 200

    def send(
        self, status: int, body: bytes, headers: dict[str, str], *, head: bool = False
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers (aws-chunked checksums)
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def control(self) -> None:
        if self.path.startswith("/__reset"):
            self.stub.reset()
        self.send(200, json.dumps(self.stub.stats()).encode(), {"Content-Type": "text/json"})

    def log_message(self, format: str, *args: Any) -> None:
        pass  # ten thousand requests a run: say nothing


def etag(body: bytes) -> str:
    return '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'


class S3StubProcess:
    """The stub in a process of its own (its CPU off the caller's GIL), the same face:
    ``endpoint_url``, ``stats()``, ``reset()``; a context manager."""

    def __init__(self, *, delay: float = 0.02) -> None:
        self.delay = delay
        self.endpoint_url = ""
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> S3StubProcess:
        command = [sys.executable, "-m", "devtools.testing.s3_stub", "--delay", str(self.delay)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()  # "S3 stub on http://127.0.0.1:N, ..."
        if not first.startswith("S3 stub on "):
            self.__exit__()
            raise RuntimeError(f"the S3 stub did not start: {first!r}")
        self.endpoint_url = first.split()[3].rstrip(",")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()

    def stats(self) -> dict[str, Any]:
        return self._get("/__stats")

    def reset(self) -> None:
        self._get("/__reset")

    def _get(self, path: str) -> dict[str, Any]:
        url = self.endpoint_url + path  # http://127.0.0.1:<port>, ours
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            stats: dict[str, Any] = json.loads(response.read())
            return stats


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="default: any free one")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds per answer")
    args = parser.parse_args(argv)
    stub = S3Stub(delay=args.delay, port=args.port)
    print(f"S3 stub on {stub.endpoint_url}, {args.delay * 1000:g} ms per answer", flush=True)
    stub.server.serve_forever()


if __name__ == "__main__":
    main()

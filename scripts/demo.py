"""Live demo: S3 emulator + example project + a publisher broadcasting, until Ctrl-C.

Run with the project's venv (``make demo`` does, after vendoring the player's hls.js)::

    .venv/bin/python scripts/demo.py [--port 8000] [--no-publisher] [--duration S]
    .venv/bin/python scripts/demo.py --emulator-only   # just the S3/STS emulator

It starts, all on 127.0.0.1, on free ports (Django on 8000 when free), without root:

1. ``moto_server`` (S3 + STS + IAM), prepared as an AWS account would be for
   broadcast_api: the bucket, private (moto answers an anonymous GET with 403, as a bucket
   with Block Public Access does: viewers get presigned URLs from the playlist endpoint);
   a CORS rule allowing GET from the player
   page's origin only (moto's blanket ``Access-Control-Allow-Origin: *`` is turned off
   with ``MOTO_DISABLE_GLOBAL_CORS``, so the browser is served by the bucket's rule, as
   by AWS); and the role ``arn:aws:iam::123456789012:role/broadcast-uploader`` that the
   server assumes to mint each stream's upload credentials. moto does not enforce the
   session policies (the Ceph RGW suite proves the scoping); it makes a quick demo;
2. the example project (``example_project/``) with a fresh SQLite DB under
   ``.run/demo/``, a superuser ``demo``/``demo``, served by ``runserver --noreload``;
3. the reference publisher (``broadcast-publish``) broadcasting a test pattern with a
   burnt-in clock, until Ctrl-C;

then prints what to open and how to start/stop a stream with curl. Ctrl-C (or SIGTERM)
stops the publisher first (it ends its stream), then the server, then the emulator.
Logs: ``.run/demo/*.log``. The player opens each stream's ``playback_url``: the
example project's ``/stream/<id>/playlist.m3u8``, whose presigned URLs take it to the
segments in the emulator.

The functions here are also what the end-to-end tests use (``tests/e2e_support.py``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example_project"
HLS_JS = EXAMPLE / "static" / "vendor" / "hls.min.js"
DEMO_USER = "demo"
DEMO_PASSWORD = "demo"


# ---------------------------------------------------------------- the S3 emulator
ACCOUNT_ID = "123456789012"  # moto's default account
ROLE_NAME = "broadcast-uploader"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"
DEFAULT_BUCKET = "broadcast-demo"
DEFAULT_REGION = "us-east-1"
# The credentials the *server* (the example project) uses against the emulator.
SERVER_ACCESS_KEY_ID = "demo-server-key"
SERVER_SECRET_ACCESS_KEY = "demo-server-secret"

_PR_SET_PDEATHSIG = 1


def free_port(preferred: int | None = None) -> int:
    """A TCP port free on 127.0.0.1: ``preferred`` if it is free, else any."""
    if preferred:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", preferred))
            except OSError:
                pass
            else:
                return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the child when its parent dies, so nothing is left behind.

    (Linux sends it when the spawning *thread* ends: spawn from the main thread.)"""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    stdout: IO[Any] | int | None = None,
    stderr: IO[Any] | int | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child in its own session (Ctrl-C in the terminal reaches only us, so we
    can stop the children in order) that dies with its parent."""
    return subprocess.Popen(
        list(argv),
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
    )


def stop_process(
    proc: subprocess.Popen[Any], *, sig: int = signal.SIGTERM, grace: float = 10.0
) -> None:
    """Signal one child we started (by its pid), wait, then kill it if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=5)


def wait_http(
    url: str, *, timeout: float = 30.0, proc: subprocess.Popen[Any] | None = None
) -> None:
    """Wait until ``url`` answers HTTP at all (any status)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s ({last})")


def moto_server_executable() -> str:
    """``moto_server`` beside the running interpreter (the venv's), else on PATH."""
    candidate = Path(sys.executable).with_name("moto_server")
    return str(candidate) if candidate.exists() else "moto_server"


def boto_client(service: str, endpoint_url: str, region: str = DEFAULT_REGION) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=SERVER_ACCESS_KEY_ID,
        aws_secret_access_key=SERVER_SECRET_ACCESS_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
    )


def prepare(endpoint_url: str, *, bucket: str, region: str, origins: Sequence[str]) -> None:
    """Create the bucket (with its CORS rule for the player's origins) and the role."""
    s3 = boto_client("s3", endpoint_url, region)
    create: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    if origins:
        s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": list(origins),
                        "AllowedMethods": ["GET", "HEAD", "PUT"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["Content-Length", "Content-Type", "ETag"],
                        "MaxAgeSeconds": 600,
                    }
                ]
            },
        )
    iam = boto_client("iam", endpoint_url, region)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                # The README's uploader policy: the default key prefix, nothing else.
                "Resource": f"arn:aws:s3:::{bucket}/streams/*",
            }
        ],
    }
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=ROLE_NAME, PolicyName="upload-streams", PolicyDocument=json.dumps(role_policy)
    )


@dataclass
class Emulator:
    """A running, prepared moto server."""

    process: subprocess.Popen[bytes]
    endpoint_url: str
    bucket: str
    region: str
    log_path: Path | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def server_env(self) -> dict[str, str]:
        """The ``BROADCAST_API_*`` settings pointing the example project at this emulator."""
        return {
            "BROADCAST_API_S3_BUCKET": self.bucket,
            "BROADCAST_API_S3_REGION": self.region,
            "BROADCAST_API_S3_ENDPOINT_URL": self.endpoint_url,
            "BROADCAST_API_STS_ENDPOINT_URL": self.endpoint_url,
            "BROADCAST_API_STS_ROLE_ARN": ROLE_ARN,
            "BROADCAST_API_AWS_ACCESS_KEY_ID": SERVER_ACCESS_KEY_ID,
            "BROADCAST_API_AWS_SECRET_ACCESS_KEY": SERVER_SECRET_ACCESS_KEY,
        }

    def object_url(self, key: str) -> str:
        return f"{self.endpoint_url}/{self.bucket}/{key.lstrip('/')}"

    def s3(self) -> Any:
        return boto_client("s3", self.endpoint_url, self.region)

    def prepare(self, origins: Sequence[str]) -> None:
        """Wait for the server, then create the bucket (private, with CORS) and the role."""
        wait_http(f"{self.endpoint_url}/moto-api/", timeout=60, proc=self.process)
        prepare(self.endpoint_url, bucket=self.bucket, region=self.region, origins=origins)

    def stop(self) -> None:
        stop_process(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None


def launch_emulator(
    *,
    bucket: str = DEFAULT_BUCKET,
    region: str = DEFAULT_REGION,
    port: int | None = None,
    log_path: Path | None = None,
) -> Emulator:
    """Start ``moto_server`` on 127.0.0.1; :meth:`Emulator.prepare` makes it usable."""
    port = port or free_port()
    env = dict(os.environ)
    env["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    # moto must not pick up any real credentials or config of the calling user.
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(name, None)
    log: IO[bytes] | None = log_path.open("wb") if log_path else None
    proc = spawn(
        [python(), str(REPO / "scripts" / "moto_preflight.py"), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=log if log else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    return Emulator(proc, f"http://127.0.0.1:{port}", bucket, region, log_path, log)


def start_emulator(
    *,
    bucket: str = DEFAULT_BUCKET,
    region: str = DEFAULT_REGION,
    origins: Sequence[str] = (),
    port: int | None = None,
    log_path: Path | None = None,
) -> Emulator:
    """Start ``moto_server`` on 127.0.0.1 and prepare bucket, CORS and role."""
    emulator = launch_emulator(bucket=bucket, region=region, port=port, log_path=log_path)
    try:
        emulator.prepare(origins)
    except BaseException:
        emulator.stop()
        raise
    return emulator


# ------------------------------------------------------------ the example project


def python() -> str:
    """The interpreter running this script (the project's venv)."""
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


def example_env(emulator: Emulator, db_path: Path) -> dict[str, str]:
    """The environment of the example project: its settings read these variables."""
    env = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    env.update(emulator.server_env())
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "EXAMPLE_DB_PATH": str(db_path),
            "DJANGO_DEBUG": "1",
            "PYTHONUNBUFFERED": "1",
            # broadcast_api from this checkout, as manage.py does (the venv may not have it).
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        }
    )
    return env


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


@dataclass
class Stack:
    """The emulator and the example project, running."""

    emulator: Emulator
    server: ExampleServer
    workdir: Path
    user: str = DEMO_USER
    password: str = DEMO_PASSWORD

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            self.emulator.stop()


def start_stack(
    workdir: Path,
    *,
    port: int | None = None,
    preferred_port: int | None = None,
    user: str = DEMO_USER,
    password: str = DEMO_PASSWORD,
) -> Stack:
    """Start moto, prepare it, migrate a fresh DB in ``workdir`` and serve the example.

    The steps overlap where they can (two cores go a long way): moto boots while the DB
    is migrated, and is prepared while Django boots."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(preferred_port)
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    emulator = launch_emulator(log_path=workdir / "moto.log")
    server: ExampleServer | None = None
    try:
        db_path = workdir / "db.sqlite3"
        db_path.unlink(missing_ok=True)
        env = example_env(emulator, db_path)
        # The example project subscribes to its own events (its /events/ page shows them).
        env["DEMO_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/webhooks/"
        env["DEMO_WEBHOOK_SECRET"] = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        prepare_database(env, user=user, password=password)
        server = launch_example_server(env, port, workdir / "django.log")
        emulator.prepare(origins)
        server.wait_ready()
    except BaseException:
        if server is not None:
            server.stop()
        emulator.stop()
        raise
    return Stack(emulator, server, workdir, user, password)


def publisher_command(
    stack: Stack, *, name: str, duration: float | None = None, extra: list[str] | None = None
) -> list[str]:
    argv = [
        python(),
        "-m",
        "broadcast_publish",
        "--api",
        stack.base_url,
        "--user",
        stack.user,
        "--name",
        name,
        "--s3-endpoint-url",
        stack.emulator.endpoint_url,
    ]
    if duration is not None:
        argv += ["--duration", str(duration)]
    return argv + list(extra or [])


@dataclass
class Publisher:
    """A publisher subprocess; its JSON events arrive on :attr:`events`."""

    process: subprocess.Popen[bytes]
    events: queue.Queue[dict[str, Any]]
    seen: list[dict[str, Any]]

    def wait_event(self, name: str, timeout: float) -> dict[str, Any]:
        for event in self.seen:
            if event.get("event") == name:
                return event
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"publisher sent no {name!r} event within {timeout:.0f}s")
            try:
                event = self.events.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self.process.poll() is not None and self.events.empty():
                    raise RuntimeError(
                        f"publisher exited ({self.process.returncode}) before {name!r}"
                    ) from None
                continue
            if event.get("event") == name:
                return event

    def stop(self, *, grace: float = 30.0) -> int:
        """SIGINT: the publisher finishes the playlist and stops its stream."""
        stop_process(self.process, sig=signal.SIGINT, grace=grace)
        return self.process.returncode


def start_publisher(
    stack: Stack,
    *,
    name: str,
    duration: float | None = None,
    extra: list[str] | None = None,
    log_path: Path | None = None,
) -> Publisher:
    # A client's environment: none of the server's settings, keys or webhook secret (the
    # publisher gets its upload credentials from the API, as any broadcaster does).
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("BROADCAST_API_", "DEMO_WEBHOOK_", "AWS_"))
    }
    env.update(PUBLISHER_PASSWORD=stack.password, PYTHONUNBUFFERED="1")
    log: IO[bytes] | None = log_path.open("ab") if log_path else None
    proc = spawn(
        publisher_command(stack, name=name, duration=duration, extra=extra),
        env=env,
        cwd=EXAMPLE,
        stdout=subprocess.PIPE,
        stderr=log if log else None,
    )
    if log is not None:
        log.close()  # the child holds its own descriptor
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    seen: list[dict[str, Any]] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            with contextlib.suppress(ValueError):
                event = json.loads(raw)
                if isinstance(event, dict):
                    seen.append(event)
                    events.put(event)

    threading.Thread(target=read, name="publisher-events", daemon=True).start()
    return Publisher(proc, events, seen)


def banner(stack: Stack, stream_id: str | None) -> str:
    base = stack.base_url
    lines = [
        "",
        "broadcast_api demo is running (Ctrl-C stops everything)",
        "",
    ]
    if stream_id:
        lines.append(f"  Watch the demo broadcast: {base}/watch/{stream_id}/")
    lines += [
        f"  All streams:              {base}/",
        f"  Webhooks it received:     {base}/events/",
        f"  Swagger UI:               {base}/schema/swagger/",
        f"  ReDoc:                    {base}/schema/redoc/",
        f"  Admin:                    {base}/admin/  (login {stack.user} / {stack.password})",
        f"  S3 emulator (moto):       {stack.emulator.endpoint_url}"
        f"  bucket {stack.emulator.bucket}",
        "",
        "  Start and stop a stream yourself:",
        f"    curl -u {stack.user}:{stack.password} -X POST "
        f"'{base}/stream/start/?name=some_name&type=hls'",
        f"    curl -u {stack.user}:{stack.password} -X POST '{base}/stream/stop/?id=<stream id>'",
        "  Broadcast to it with the reference publisher:",
        f"    BROADCAST_PUBLISH_PASSWORD={stack.password} {python()} -m broadcast_publish \\",
        f"        --api {base} --user {stack.user} --name 'my stream' --duration 60",
        "",
        f"  Logs: {stack.workdir}/",
        "",
    ]
    return "\n".join(lines)


def run_emulator_only(workdir: Path, player_port: int, stop: threading.Event) -> int:
    workdir.mkdir(parents=True)
    origins = [f"http://127.0.0.1:{player_port}", f"http://localhost:{player_port}"]
    emulator = start_emulator(origins=origins, log_path=workdir / "moto.log")
    try:
        print(f"# moto_server at {emulator.endpoint_url} (Ctrl-C stops it)")
        for key, value in emulator.server_env().items():
            print(f"export {key}={value}")
        sys.stdout.flush()
        while not stop.wait(0.5):
            if emulator.process.poll() is not None:
                return 1
    finally:
        emulator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the broadcast_api live demo locally.")
    parser.add_argument("--port", type=int, default=0, help="Django port (default: 8000 if free)")
    parser.add_argument("--no-publisher", action="store_true", help="start no demo broadcast")
    parser.add_argument("--name", default="demo test pattern", help="name of the demo broadcast")
    parser.add_argument(
        "--duration", type=float, default=None, help="end the demo broadcast after S seconds"
    )
    parser.add_argument("--workdir", type=Path, default=REPO / ".run" / "demo")
    parser.add_argument(
        "--emulator-only",
        action="store_true",
        help="run only the prepared S3/STS emulator and print the settings pointing at it",
    )
    args = parser.parse_args(argv)

    if not HLS_JS.exists():
        print(
            f"warning: {HLS_JS.relative_to(REPO)} is missing, the player page cannot play; "
            "run `make hls-assets` (npm ci + copy) first",
            file=sys.stderr,
        )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    workdir: Path = args.workdir
    if workdir.exists():
        shutil.rmtree(workdir)
    if args.emulator_only:
        return run_emulator_only(workdir, args.port or 8000, stop)
    t0 = time.monotonic()
    print("starting the S3 emulator and the example project ...", flush=True)
    stack = start_stack(workdir, port=args.port or None, preferred_port=8000)
    publisher: Publisher | None = None
    code = 0
    try:
        stream_id = None
        if not args.no_publisher:
            publisher = start_publisher(
                stack, name=args.name, duration=args.duration, log_path=workdir / "publisher.log"
            )
            started = publisher.wait_event("started", timeout=30)
            stream_id = str(started["stream"]["id"])
            # Print the player URL once there is something to play.
            publisher.wait_event("first_upload", timeout=30)
        print(banner(stack, stream_id), flush=True)
        print(f"(up in {time.monotonic() - t0:.1f}s)", flush=True)
        while not stop.wait(0.5):
            for label, proc in (
                ("moto_server", stack.emulator.process),
                ("example project", stack.server.process),
            ):
                if proc.poll() is not None:
                    print(f"{label} exited ({proc.returncode}); see {workdir}/", file=sys.stderr)
                    code = 1
                    stop.set()
            if publisher is not None and publisher.process.poll() is not None:
                print(
                    f"the demo broadcast ended (publisher exit {publisher.process.returncode}); "
                    "servers keep running until Ctrl-C",
                    flush=True,
                )
                publisher = None
    finally:
        print("stopping ...", flush=True)
        if publisher is not None:
            publisher.stop()
        stack.stop()
        print("stopped.", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

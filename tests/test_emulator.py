"""``python -m devtools.emulator``: the local S3/STS recipe of the docs, as a user runs it.

It is started as a subprocess, exactly as documented; a start-stream configured with
nothing but the settings it printed answers 201, and the credentials it hands out upload
into the emulator's bucket. Ctrl-C (SIGINT) and SIGTERM stop it, with exit status 0.
"""

from __future__ import annotations

import ast
import json
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import IO, Any

import boto3
import pytest
from botocore.config import Config

from devtools.emulator import moto_server_available
from devtools.paths import REPO
from devtools.processes import stop_process
from devtools.testing.requirements import require_or_skip

pytestmark = pytest.mark.timeout(120)


class Emulator:
    """The CLI as a subprocess, and the settings it printed."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devtools.emulator", *args],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self.lines.put(line)

    def output(self, timeout: float = 60) -> str:
        """The first line it printed (it prints once the bucket and role exist)."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            stop_process(self.process)
            stderr = self.process.stderr.read() if self.process.stderr else ""
            raise AssertionError(f"the emulator printed nothing: {stderr[-2000:]}") from None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def require_moto() -> None:
    if not moto_server_available():
        require_or_skip("moto", "moto_server (moto[server]) is not installed")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    require_moto()
    running = Emulator("--format", "json")
    try:
        yield running
    finally:
        stop_process(running.process)


def test_a_start_with_the_printed_settings_uploads_into_the_emulator(
    emulator: Emulator, settings: Any, client_for: Any, user: Any
) -> None:
    printed = json.loads(emulator.output())
    assert printed["BROADCAST_API_S3_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert printed["BROADCAST_API_STS_ROLE_ARN"].startswith("arn:aws:iam::")
    for name, value in printed.items():
        setattr(settings, name, value)

    response = client_for(user).post("/stream/start/?name=from+the+recipe&type=hls")

    assert response.status_code == 201, response.content
    s3_grant = response.json()["endpoint"]["S3"]
    assert s3_grant["s3_bucket_name"] == printed["BROADCAST_API_S3_BUCKET"]
    assert s3_grant["s3_bucket_region"] == printed["BROADCAST_API_S3_REGION"]
    broadcaster = boto3.client(
        "s3",
        endpoint_url=printed["BROADCAST_API_S3_ENDPOINT_URL"],
        region_name=s3_grant["s3_bucket_region"],
        aws_access_key_id=s3_grant["aws_access_key_id"],
        aws_secret_access_key=s3_grant["aws_secret_access_key"],
        aws_session_token=s3_grant["aws_session_token"],
        config=Config(s3={"addressing_style": "path"}),
    )
    key = f"{s3_grant['s3_bucket_path'].strip('/')}/index.m3u8"
    broadcaster.put_object(Bucket=s3_grant["s3_bucket_name"], Key=key, Body=b"#EXTM3U\n")
    stored = broadcaster.get_object(Bucket=s3_grant["s3_bucket_name"], Key=key)
    assert stored["Body"].read() == b"#EXTM3U\n"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_it_and_its_moto_server(emulator: Emulator, sig: signal.Signals) -> None:
    endpoint = json.loads(emulator.output())["BROADCAST_API_S3_ENDPOINT_URL"]
    assert answers(f"{endpoint}/moto-api/")

    emulator.process.send_signal(sig)

    assert emulator.process.wait(timeout=20) == 0
    assert not answers(f"{endpoint}/moto-api/")


def test_the_default_output_is_settings_lines_to_paste() -> None:
    require_moto()
    running = Emulator()
    try:
        header = running.output()
        lines = [running.lines.get(timeout=5) for _ in range(7)]
    finally:
        stop_process(running.process, sig=signal.SIGINT)
    assert header.startswith("# moto_server at http://127.0.0.1:")
    names = [line.split(" = ", 1)[0] for line in lines]
    assert names == [
        "BROADCAST_API_S3_BUCKET",
        "BROADCAST_API_S3_REGION",
        "BROADCAST_API_S3_ENDPOINT_URL",
        "BROADCAST_API_STS_ENDPOINT_URL",
        "BROADCAST_API_STS_ROLE_ARN",
        "BROADCAST_API_AWS_ACCESS_KEY_ID",
        "BROADCAST_API_AWS_SECRET_ACCESS_KEY",
    ]
    # Each value is a Python literal: the lines paste into settings.py as they are.
    values = dict(
        zip(names, (ast.literal_eval(line.split(" = ", 1)[1]) for line in lines), strict=True)
    )
    assert values["BROADCAST_API_S3_BUCKET"] == "broadcast-demo"
    assert values["BROADCAST_API_S3_ENDPOINT_URL"] == header.split()[3]
    assert running.process.returncode == 0

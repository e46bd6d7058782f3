"""A newcomer's first hour: ``django-admin startproject``, then only what the docs say.

The package comes from a wheel built from this checkout (installed into a directory of
its own, which is first on the host's ``PYTHONPATH``). The host project's settings and
URLs are the code blocks of the docs' installation page (``docs/installation.md``), and
its ``manage.py`` commands are the ones that page lists. Then,
on a real server (``runserver``) against moto's S3/STS over HTTP:

- ``check``, ``check --deploy`` (W004 while the server has no identity), ``spectacular``
  with no ``DEFAULT_SCHEMA_CLASS``, the admin with the page's superuser;
- authentication as the docs' table says (401s with the token class first);
- a client generated from the served ``/schema/`` by openapi-python-client, used
  unedited, drives start, list, retrieve and stop.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from broadcast_api.playback.playlists import NOT_READY_SECONDS
from tests.live_support import ROOT
from tests.servers import (
    ROLE_ARN,
    MotoServer,
    broadcaster_s3,
    free_port,
    require_or_skip,
    wait_for_port,
)
from tests.wheels import build_wheel

pytestmark = [pytest.mark.live, pytest.mark.timeout(300)]

INSTALLATION_PAGE = ROOT / "docs" / "installation.md"
PROJECT = "hostsite"
SUPERUSER, PASSWORD = "admin", "admin-password"
GENERATOR_CONFIG = {"content_type_overrides": {"application/vnd.apple.mpegurl": "text/plain"}}


def code_blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


@dataclass
class Host:
    directory: Path
    env: dict[str, str]
    wheel_site: Path

    def manage(
        self, *args: str, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.directory,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"manage.py {args}: {result.stdout}{result.stderr}"
        return result

    @property
    def settings_file(self) -> Path:
        return self.directory / PROJECT / "settings.py"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, moto_server: MotoServer) -> Host:
    base = tmp_path_factory.mktemp("host")
    wheel = build_wheel(base / "dist")
    site = base / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    directory = base / PROJECT
    directory.mkdir()
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", PROJECT, str(directory)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "BROADCAST_TEST", "PYTEST", "COV_"))
    }
    env["PYTHONPATH"] = str(site)  # the wheel, not this checkout
    return Host(directory=directory, env=env, wheel_site=site)


def apply_installation_page(host: Host, moto: MotoServer) -> list[str]:
    """Settings and URLs exactly as the docs' installation page writes them."""
    section = INSTALLATION_PAGE.read_text()
    blocks = code_blocks(section, "python")
    settings_blocks = [b for b in blocks if b.startswith("# settings.py: add at the end")]
    [urls] = [b for b in blocks if b.startswith("# urls.py: the whole file")]
    [s3_compatible] = [b for b in blocks if b.startswith("# settings.py: an S3-compatible")]
    assert len(settings_blocks) == 1
    with host.settings_file.open("a") as settings:
        settings.write("\n" + settings_blocks[0])
    (host.directory / PROJECT / "urls.py").write_text(urls)
    commands = [
        line.removeprefix("$ ").split("#")[0].strip()
        for block in code_blocks(section, "console")
        for line in block.splitlines()
        if line.startswith("$ python manage.py")
    ]
    return [s3_compatible.replace("http://127.0.0.1:5000", moto.endpoint_url), *commands]


@pytest.fixture(scope="module")
def configured(host: Host, moto_server: MotoServer) -> Host:
    s3_compatible, *commands = apply_installation_page(host, moto_server)
    assert commands[:2] == ["python manage.py migrate", "python manage.py check"]
    for command in commands:
        args = shlex.split(command)[2:]
        if args[0] == "createsuperuser":
            host.manage(
                "createsuperuser",
                "--noinput",
                "--username",
                SUPERUSER,
                "--email",
                "admin@example.com",
                DJANGO_SUPERUSER_PASSWORD=PASSWORD,
            )
        elif args[0] == "drf_create_token":
            host.manage("drf_create_token", SUPERUSER)
        else:
            host.manage(*args)
    # Before the server has an identity: check --deploy says what is missing.
    endpoint_only = "\n".join(line for line in s3_compatible.splitlines() if "_AWS_" not in line)
    with host.settings_file.open("a") as settings:
        settings.write("\n" + endpoint_only + "\n")
    deploy = host.manage("check", "--deploy", check=False)
    assert "broadcast_api.W004" in deploy.stdout + deploy.stderr
    # The page's block as a whole, with moto's keys in its placeholders.
    with host.settings_file.open("a") as settings:
        settings.write(
            s3_compatible.replace('"server-key"', repr(moto_server.access_key)).replace(
                '"server-secret"', repr(moto_server.secret_key)
            )
            + f"\nBROADCAST_API_S3_BUCKET = {'broadcast-test'!r}\n"
            + f"BROADCAST_API_S3_REGION = {moto_server.region!r}\n"
            + f"BROADCAST_API_STS_ROLE_ARN = {ROLE_ARN!r}\n"
        )
    deploy = host.manage("check", "--deploy", check=False)
    assert "broadcast_api.W004" not in deploy.stdout + deploy.stderr
    # The bucket probe reached moto with that identity and found the bucket.
    assert "broadcast_api.E021" not in deploy.stdout + deploy.stderr
    assert "broadcast_api.W008" not in deploy.stdout + deploy.stderr
    return host


@pytest.fixture(scope="module")
def server(configured: Host) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=configured.directory,
        env=configured.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=30, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def token(configured: Host) -> str:
    out = configured.manage("drf_create_token", SUPERUSER).stdout
    match = re.search(r"\b([0-9a-f]{40})\b", out)
    assert match, out
    return match.group(1)


def test_the_package_comes_from_the_wheel(configured: Host) -> None:
    out = configured.manage("shell", "-c", "import broadcast_api; print(broadcast_api.__file__)")
    assert out.stdout.strip().splitlines()[-1].startswith(str(configured.wheel_site))
    assert (configured.wheel_site / "broadcast_api" / "py.typed").exists()
    assert (configured.wheel_site / "broadcast_api" / "migrations" / "0001_initial.py").exists()


def test_schema_without_a_default_schema_class(configured: Host) -> None:
    settings_text = configured.settings_file.read_text()
    assert "DEFAULT_SCHEMA_CLASS" not in settings_text
    configured.manage("spectacular", "--validate", "--fail-on-warn", "--file", "schema.yaml")
    assert "operationId: stream_start" in (configured.directory / "schema.yaml").read_text()


def test_authentication_answers_as_the_readme_table_says(server: str, token: str) -> None:
    start = f"{server}/stream/start/"
    anonymous = requests.post(start, json={"type": "hls"}, timeout=10)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    assert anonymous.headers["WWW-Authenticate"] == "Token"
    wrong = requests.post(
        start, json={"type": "hls"}, headers={"Authorization": "Token " + "0" * 40}, timeout=10
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "authentication_failed")
    ok = requests.post(
        f"{start}?type=hls&name=seed-style",
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["endpoint"]["S3"]["s3_bucket_path"].startswith("streams/")


def test_admin_and_swagger_ui_are_served(server: str) -> None:
    session = requests.Session()
    login = session.get(f"{server}/admin/login/", timeout=10)
    csrf = session.cookies["csrftoken"]
    response = session.post(
        f"{server}/admin/login/?next=/admin/broadcast_api/stream/",
        data={"username": SUPERUSER, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
        headers={"Referer": login.url},
        timeout=10,
    )
    assert response.status_code == 200
    assert "Select stream to view" in response.text  # read-only: "view", not "change"
    swagger = session.get(f"{server}/schema/swagger/", timeout=10)
    assert swagger.status_code == 200
    assert "swagger-ui" in swagger.text


PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg0.ts\n"


def generate_client(server: str, into: Path) -> Any:
    """openapi-python-client on the served schema; the package is imported as generated."""
    executable = Path(sys.executable).with_name("openapi-python-client")
    if not executable.exists() and shutil.which("openapi-python-client") is None:
        require_or_skip("openapi-python-client", "it is not installed")
    output = into / "broadcasts_client"
    # The README's one line of generator configuration: read the HLS playlist as text.
    config = into / "openapi-python-client.json"
    config.write_text(json.dumps(GENERATOR_CONFIG))
    result = subprocess.run(
        [
            str(executable if executable.exists() else "openapi-python-client"),
            "generate",
            "--url",
            f"{server}/schema/",
            "--meta",
            "none",
            "--output-path",
            str(output),
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # Its post-generation step runs ruff, which lives beside this interpreter.
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(into))
    try:
        return importlib.import_module("broadcasts_client")
    finally:
        sys.path.remove(str(into))


def test_a_generated_client_drives_start_list_retrieve_stop(
    server: str, token: str, tmp_path: Path
) -> None:
    client_package = generate_client(server, tmp_path)
    models = importlib.import_module("broadcasts_client.models")
    api = {
        name: importlib.import_module(f"broadcasts_client.api.streams.{name}")
        for name in (
            "stream_start",
            "stream_list",
            "stream_retrieve",
            "stream_playlist",
            "stream_stop",
        )
    }
    client = client_package.AuthenticatedClient(base_url=server, token=token, prefix="Token")

    started = api["stream_start"].sync_detailed(
        client=client,
        body=models.StartStreamRequest(type_=models.TypeEnum.HLS, name="generated"),
    )
    assert started.status_code == 201, started.content
    assert isinstance(started.parsed, models.StartStreamResponse)
    stream_id = started.parsed.stream.id
    assert started.parsed.stream.name == "generated"
    assert started.parsed.endpoint.s3.s3_bucket_path == f"streams/{stream_id}"
    assert started.parsed.endpoint.s3.aws_expiration == 3600.0

    listing = api["stream_list"].sync(client=client, status=models.StreamListStatus.LIVE)
    assert stream_id in [item.id for item in listing.results]

    detail = api["stream_retrieve"].sync(stream_id, client=client)
    assert (detail.id, detail.status) == (stream_id, models.StatusEnum.LIVE)

    # Upload as the broadcaster would, then watch through the generated client.
    s3 = started.parsed.endpoint.s3
    broadcaster = broadcaster_s3(started.parsed.to_dict())  # the generated model's JSON
    not_ready = api["stream_playlist"].sync_detailed(stream_id, client=client)
    assert not_ready.status_code == 404
    assert not_ready.parsed.code == "playlist_not_ready"
    for name, body in (("seg0.ts", b"\x47" * 188), ("index.m3u8", PLAYLIST)):
        broadcaster.put_object(
            Bucket=s3.s3_bucket_name, Key=f"{s3.s3_bucket_path}/{name}", Body=body
        )
    time.sleep(NOT_READY_SECONDS + 0.1)  # "not there yet" is shared for a second
    playlist = api["stream_playlist"].sync_detailed(stream_id, client=client)
    assert playlist.status_code == 200, playlist.content
    assert playlist.parsed.startswith("#EXTM3U")
    [segment_url] = [line for line in playlist.parsed.splitlines() if "seg0.ts" in line]
    assert requests.get(segment_url, timeout=10).content == b"\x47" * 188

    stopped = api["stream_stop"].sync_detailed(
        client=client, body=models.StopStreamRequest(id=stream_id)
    )
    assert stopped.status_code == 200, stopped.content
    assert stopped.parsed.stream.id == stream_id
    assert stopped.parsed.stream.stop_date

    assert api["stream_retrieve"].sync(stream_id, client=client).status == models.StatusEnum.ENDED
    missing = api["stream_stop"].sync_detailed(
        client=client, body=models.StopStreamRequest(id=uuid.uuid4())
    )
    assert missing.status_code == 404
    assert missing.parsed.code == "not_found"

"""The docs' examples run as written: ``StreamRouter``, a custom authentication class
described by an ``OpenApiAuthenticationExtension``, the webhook secret one-liner, and
the browser publisher's bucket CORS rule is the one its Ceph RGW test puts on a bucket.

The code blocks are read from ``docs/customising.md`` and ``docs/authentication.md``
(by the file name in their first line) and written as a ``yourapp`` package, so an
example that stops working fails here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from django.core import checks
from django.core.management import call_command
from django.urls import include, path, reverse
from rest_framework.authtoken.models import Token
from rest_framework.routers import SimpleRouter
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from broadcast_api.views import StreamViewSet
from devtools.stack import gateway_cors_rule
from tests.live_support import ROOT

DOCS = ROOT / "docs"


def docs_block(page: str, first_line: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.DOTALL)
    [block] = [b for b in blocks if b.startswith(first_line)]
    return str(block)


@pytest.fixture(scope="module")
def yourapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``yourapp`` with the docs' ``urls.py`` and ``authentication.py``, importable."""
    base = tmp_path_factory.mktemp("docs_examples")
    package = base / "yourapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "urls.py").write_text(docs_block("customising.md", "# yourapp/urls.py"))
    (package / "authentication.py").write_text(
        docs_block("authentication.md", "# yourapp/authentication.py")
    )
    sys.path.insert(0, str(base))
    try:
        yield package
    finally:
        sys.path.remove(str(base))
        for name in [n for n in sys.modules if n == "yourapp" or n.startswith("yourapp.")]:
            del sys.modules[name]


def root_urlconf(name: str, urlpatterns: list[Any]) -> str:
    module = ModuleType(name)
    module.urlpatterns = urlpatterns  # type: ignore[attr-defined]
    sys.modules[name] = module
    return name


def test_stream_router_gives_the_playlist_its_file_url(yourapp: Path, settings: Any) -> None:
    """The root URLconf as the docs write it: ``path("", include("yourapp.urls"))``."""
    settings.ROOT_URLCONF = root_urlconf("docs_router_root", [path("", include("yourapp.urls"))])
    stream_id = uuid.uuid4()
    playlist = reverse("broadcast_api:stream-playlist", kwargs={"id": stream_id})
    assert playlist == f"/stream/{stream_id}/playlist.m3u8"
    assert reverse("broadcast_api:stream-start") == "/stream/start/"


def test_drfs_simple_router_would_add_a_slash(settings: Any) -> None:
    """Why the docs name StreamRouter: the control the test above is measured against."""
    router = SimpleRouter()
    router.register("stream", StreamViewSet, basename="stream")
    settings.ROOT_URLCONF = root_urlconf(
        "docs_simple_root", [path("", include((router.urls, "broadcast_api")))]
    )
    playlist = reverse("broadcast_api:stream-playlist", kwargs={"id": uuid.uuid4()})
    assert playlist.endswith("playlist.m3u8/")


@pytest.fixture
def api_key_urls(yourapp: Path, settings: Any) -> str:
    """The docs' ApiKeyAuthentication on the stream endpoints, with StreamRouter."""
    # yourapp is written by the fixture, from the docs' blocks: importable only now.
    from yourapp.authentication import (  # type: ignore[import-not-found]  # noqa: PLC0415
        ApiKeyAuthentication,
    )
    from yourapp.urls import StreamRouter  # type: ignore[import-not-found]  # noqa: PLC0415

    class ApiKeyStreamViewSet(StreamViewSet):
        authentication_classes = [ApiKeyAuthentication]

    router = StreamRouter()
    router.register("stream", ApiKeyStreamViewSet, basename="stream")
    name = root_urlconf("docs_api_key_root", [path("", include((router.urls, "broadcast_api")))])
    settings.ROOT_URLCONF = name
    return name


@pytest.mark.django_db
def test_the_api_key_class_lets_in_whom_it_should(api_key_urls: str, user: Any) -> None:
    key = Token.objects.create(user=user).key
    assert APIClient(HTTP_X_API_KEY=key).get("/stream/").status_code == 200
    wrong = APIClient(HTTP_X_API_KEY="0" * 40).get("/stream/")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "authentication_failed")
    anonymous = APIClient().get("/stream/")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    assert anonymous.headers["WWW-Authenticate"] == "X-Api-Key"


def test_the_extension_puts_the_class_in_the_schema(api_key_urls: str, tmp_path: Path) -> None:
    """``spectacular --validate --fail-on-warn`` passes and names the scheme."""
    target = tmp_path / "schema.yaml"
    stderr = StringIO()
    call_command(
        "spectacular",
        "--urlconf",
        api_key_urls,
        "--file",
        str(target),
        "--validate",
        "--fail-on-warn",
        stdout=StringIO(),
        stderr=stderr,
    )
    assert "could not resolve authenticator" not in stderr.getvalue(), stderr.getvalue()
    schema = yaml.safe_load(target.read_text())
    assert schema["components"]["securitySchemes"]["apiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }
    start = schema["paths"]["/stream/start/"]["post"]
    assert {"apiKeyAuth": []} in start["security"]


@pytest.mark.django_db
def test_the_webhook_secret_one_liner_runs_without_a_project(settings: Any) -> None:
    """docs/webhooks.md's ``python -c`` line, run with no Django settings at all."""
    text = (DOCS / "webhooks.md").read_text()
    [line] = [x for x in text.splitlines() if x.startswith("$ python -c") and "whsec_" in x]
    argv = shlex.split(line.removeprefix("$ "))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, *argv[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd="/",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    assert secret.startswith("whsec_")
    Webhook(secret)  # standardwebhooks accepts it
    hook = {"url": "https://hooks.example.com/broadcasts", "secret": secret}
    settings.BROADCAST_API_WEBHOOKS = [hook]  # and so does check E018
    assert [m.id for m in checks.run_checks() if m.id == "broadcast_api.E018"] == []
    settings.BROADCAST_API_WEBHOOKS = [{**hook, "secret": secret.removeprefix("whsec_")}]
    assert "broadcast_api.E018" in [m.id for m in checks.run_checks()]


def test_the_browser_pages_cors_rule_is_the_one_the_rgw_test_uses() -> None:
    """docs/broadcasting/browser.md's JSON is what tests/test_browser_publisher_rgw.py
    puts on its bucket (through :func:`devtools.stack.gateway_cors_rule`), origins aside."""
    text = (DOCS / "broadcasting" / "browser.md").read_text()
    [block] = [b for b in re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL) if "PUT" in b]
    [rule] = json.loads(block)["CORSRules"]
    assert rule == gateway_cors_rule(rule["AllowedOrigins"])
    assert rule["AllowedOrigins"] == ["https://studio.example.com"]

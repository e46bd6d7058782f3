"""System checks: every id in ``broadcast_api.checks``, triggered by one setting."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.checks import CheckMessage, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from broadcast_api import deferred
from broadcast_api.checks import check_settings
from broadcast_api.credentials import AssumeRoleProvider
from broadcast_api.webhooks.checks import check_webhooks

ROLE_ARN = "arn:aws:iam::123456789012:role/broadcast-uploader"
FLAT_SETTINGS = ("S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_REGION")


# On a line without a Tasks framework (Django 5.2 without the backport) every default
# configuration gets W007; the tests below pin it, the others look past it.
LINE_WARNINGS = {"broadcast_api.W007"} if deferred.FRAMEWORK is None else set()


def checked() -> list[CheckMessage]:
    """What the core's and the webhooks' setting checks say (not other apps')."""
    found = [*check_settings(None), *check_webhooks(None)]
    return [message for message in found if message.id not in LINE_WARNINGS]


def ids() -> list[str]:
    return [message.id for message in checked() if message.id is not None]


def test_the_test_settings_are_clean() -> None:
    assert checked() == []


def set_task_settings(settings: Any) -> None:
    settings.TASKS = {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
        "workers": {
            "BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "broadcasts"],
        },
    }
    settings.BROADCAST_API_TASK_BACKEND = "workers"
    settings.BROADCAST_API_TASK_QUEUE = "broadcasts"


def test_a_clean_configuration_with_every_setting_changed(settings: Any) -> None:
    if deferred.FRAMEWORK is not None:  # (without one, TASKS is E017: tested above)
        set_task_settings(settings)
    settings.BROADCAST_API_IDLE_TIMEOUT = 30
    settings.BROADCAST_API_RECONNECT_WINDOW = 90
    settings.BROADCAST_API_DISCONNECT_TIMEOUT = 20
    settings.BROADCAST_API_MAX_DURATION = 4 * 3600
    settings.BROADCAST_API_REAPER_CONCURRENCY = 64
    settings.BROADCAST_API_MAX_LIVE_STREAMS_PER_USER = 1
    settings.BROADCAST_API_FINALIZE_RECORDINGS = False
    settings.BROADCAST_API_RECORDING_RETENTION = timedelta(days=30)
    settings.BROADCAST_API_ON_OWNER_DELETE = "delete"
    settings.BROADCAST_API_WEBHOOKS = [
        {"url": "https://hooks.example.com/a", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La"},
        {
            "url": "https://hooks.example.com/b",
            "secret": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La", "whsec_AAAA"],
            "events": ["stream.stopped"],
        },
    ]
    settings.BROADCAST_API_WEBHOOK_TIMEOUT = 1
    settings.BROADCAST_API_WEBHOOK_RETRY_DELAY = 0.5
    settings.BROADCAST_API_WEBHOOK_MAX_ATTEMPTS = 3
    settings.BROADCAST_API_PLAYLIST_NAME = "live/main.m3u8"
    settings.BROADCAST_API_PLAYBACK_BASE_URL = "https://cdn.example.com/"
    settings.BROADCAST_API_PLAYBACK_TOKEN_TTL = 60
    settings.BROADCAST_API_PLAYBACK_URL_TTL = 7 * 24 * 3600
    settings.BROADCAST_API_S3_ENDPOINT_URL = "http://127.0.0.1:5000"
    settings.BROADCAST_API_STS_ENDPOINT_URL = "https://sts.example.com"
    settings.BROADCAST_API_KEY_PREFIX = "/tenant-1/streams/"
    settings.BROADCAST_API_CREDENTIALS_TTL = 43200
    settings.BROADCAST_API_STS_CONNECT_TIMEOUT = 1
    settings.BROADCAST_API_PAGE_SIZE = 1
    assert checked() == []


@pytest.mark.django_db  # the model checks ask the database about JSON support
def test_the_checks_are_registered(settings: Any) -> None:
    settings.BROADCAST_API_S3_BUCKET = ""
    registered = [message.id for message in run_checks()]
    assert "broadcast_api.E001" in registered


ERRORS = [
    # E001: the bucket
    ("S3_BUCKET", "", "broadcast_api.E001"),
    ("S3_BUCKET", "Broadcast_Test", "broadcast_api.E001"),
    ("S3_BUCKET", "ab", "broadcast_api.E001"),
    ("S3_BUCKET", "a" * 64, "broadcast_api.E001"),
    ("S3_BUCKET", "bucket/*", "broadcast_api.E001"),
    ("S3_BUCKET", "my..bucket", "broadcast_api.E001"),
    ("S3_BUCKET", None, "broadcast_api.E001"),
    # E002: the region
    ("S3_REGION", "", "broadcast_api.E002"),
    ("S3_REGION", "US-EAST-1", "broadcast_api.E002"),
    ("S3_REGION", "us-east-1 ", "broadcast_api.E002"),
    ("S3_REGION", None, "broadcast_api.E002"),
    # E003: endpoint URLs
    ("S3_ENDPOINT_URL", "127.0.0.1:5000", "broadcast_api.E003"),
    ("S3_ENDPOINT_URL", "ftp://example.com", "broadcast_api.E003"),
    ("STS_ENDPOINT_URL", "http://", "broadcast_api.E003"),
    # E004: the role ARN (the default provider is AssumeRole)
    ("STS_ROLE_ARN", "", "broadcast_api.E004"),
    ("STS_ROLE_ARN", "arn:aws:iam::123456789012:user/broadcast", "broadcast_api.E004"),
    ("STS_ROLE_ARN", "arn:aws:s3:::broadcast-test", "broadcast_api.E004"),
    ("STS_ROLE_ARN", "arn:aws:iam::123456789012:role/*", "broadcast_api.E004"),
    # E005: the credentials' lifetime
    ("CREDENTIALS_TTL", 899, "broadcast_api.E005"),
    ("CREDENTIALS_TTL", 43201, "broadcast_api.E005"),
    ("CREDENTIALS_TTL", "3600", "broadcast_api.E005"),
    ("CREDENTIALS_TTL", 3600.0, "broadcast_api.E005"),
    ("CREDENTIALS_TTL", True, "broadcast_api.E005"),
    # E006: the key prefix
    ("KEY_PREFIX", "../other", "broadcast_api.E006"),
    ("KEY_PREFIX", "streams/*", "broadcast_api.E006"),
    ("KEY_PREFIX", "streams/?", "broadcast_api.E006"),
    ("KEY_PREFIX", "${aws:username}", "broadcast_api.E006"),
    ("KEY_PREFIX", "a//b", "broadcast_api.E006"),
    ("KEY_PREFIX", "with space", "broadcast_api.E006"),
    ("KEY_PREFIX", "x" * 513, "broadcast_api.E006"),
    ("KEY_PREFIX", None, "broadcast_api.E006"),
    # E007: the provider class
    ("CREDENTIAL_PROVIDER", "broadcast_api.credentials.NoSuchProvider", "broadcast_api.E007"),
    ("CREDENTIAL_PROVIDER", "no_such_module.Provider", "broadcast_api.E007"),
    ("CREDENTIAL_PROVIDER", "AssumeRoleProvider", "broadcast_api.E007"),
    ("CREDENTIAL_PROVIDER", "broadcast_api.conf.Settings", "broadcast_api.E007"),
    ("CREDENTIAL_PROVIDER", "broadcast_api.conf.conf", "broadcast_api.E007"),
    # E009: STS timeouts and attempts
    ("STS_CONNECT_TIMEOUT", 0, "broadcast_api.E009"),
    ("STS_READ_TIMEOUT", -1.0, "broadcast_api.E009"),
    ("STS_READ_TIMEOUT", "5", "broadcast_api.E009"),
    ("STS_CONNECT_TIMEOUT", True, "broadcast_api.E009"),
    ("STS_MAX_ATTEMPTS", 0, "broadcast_api.E009"),
    ("STS_MAX_ATTEMPTS", 1.5, "broadcast_api.E009"),
    ("STS_MAX_ATTEMPTS", True, "broadcast_api.E009"),
    # E010: the page size
    ("PAGE_SIZE", 0, "broadcast_api.E010"),
    ("PAGE_SIZE", "50", "broadcast_api.E010"),
    ("PAGE_SIZE", False, "broadcast_api.E010"),
    # E012: the playlist name
    ("PLAYLIST_NAME", "index.ts", "broadcast_api.E012"),
    ("PLAYLIST_NAME", "../index.m3u8", "broadcast_api.E012"),
    ("PLAYLIST_NAME", "/index.m3u8", "broadcast_api.E012"),
    ("PLAYLIST_NAME", "*.m3u8", "broadcast_api.E012"),
    ("PLAYLIST_NAME", None, "broadcast_api.E012"),
    # E013: the public playback base URL
    ("PLAYBACK_BASE_URL", "cdn.example.com", "broadcast_api.E013"),
    ("PLAYBACK_BASE_URL", "ftp://cdn.example.com", "broadcast_api.E013"),
    # E014: playback lifetimes
    ("PLAYBACK_TOKEN_TTL", 0, "broadcast_api.E014"),
    ("PLAYBACK_TOKEN_TTL", "3600", "broadcast_api.E014"),
    ("PLAYBACK_URL_TTL", 7 * 24 * 3600 + 1, "broadcast_api.E014"),
    ("PLAYBACK_URL_TTL", -1, "broadcast_api.E014"),
    ("LIVE_WINDOW", 0, "broadcast_api.E024"),
    ("LIVE_WINDOW", "2 minutes", "broadcast_api.E024"),
    ("LIVE_WINDOW", True, "broadcast_api.E024"),
    ("VIEWER_WINDOW", 0, "broadcast_api.E025"),
    ("VIEWER_WINDOW", 2.5, "broadcast_api.E025"),
    # E015: the playlist cache
    ("PLAYLIST_CACHE", "no-such-cache", "broadcast_api.E015"),
    # E016: a broadcast's life
    ("IDLE_TIMEOUT", 0, "broadcast_api.E016"),
    ("IDLE_TIMEOUT", None, "broadcast_api.E016"),
    ("MAX_DURATION", -5, "broadcast_api.E016"),
    ("MAX_DURATION", "3600", "broadcast_api.E016"),
    ("MAX_LIVE_STREAMS_PER_USER", 0, "broadcast_api.E016"),
    ("REAPER_CONCURRENCY", 0, "broadcast_api.E016"),
    ("REAPER_CONCURRENCY", "16", "broadcast_api.E016"),
    ("REAPER_CONCURRENCY", True, "broadcast_api.E016"),
    ("REAPER_CONCURRENCY", 257, "broadcast_api.E016"),
    ("FINALIZE_RECORDINGS", "yes", "broadcast_api.E016"),
    # E028: the reconnect window and the disconnect timeout below it
    ("RECONNECT_WINDOW", 0, "broadcast_api.E028"),
    ("RECONNECT_WINDOW", "2 minutes", "broadcast_api.E028"),
    ("DISCONNECT_TIMEOUT", 0, "broadcast_api.E028"),
    ("DISCONNECT_TIMEOUT", 120, "broadcast_api.E028"),  # not below the window (120)
    # E026: retention; E027: what a deleted user's streams become
    ("RECORDING_RETENTION", 0, "broadcast_api.E026"),
    ("RECORDING_RETENTION", -3600, "broadcast_api.E026"),
    ("RECORDING_RETENTION", "30 days", "broadcast_api.E026"),
    ("RECORDING_RETENTION", 86400.5, "broadcast_api.E026"),
    ("RECORDING_RETENTION", True, "broadcast_api.E026"),
    ("RECORDING_RETENTION", timedelta(0), "broadcast_api.E026"),
    ("ON_OWNER_DELETE", "erase", "broadcast_api.E027"),
    ("ON_OWNER_DELETE", None, "broadcast_api.E027"),
    # E018: webhooks
    ("WEBHOOKS", {"url": "https://x.example"}, "broadcast_api.E018"),
    ("WEBHOOKS", [{"secret": "whsec_AAAA"}], "broadcast_api.E018"),
    ("WEBHOOKS", [{"url": "ftp://x.example", "secret": "whsec_AAAA"}], "broadcast_api.E018"),
    ("WEBHOOKS", [{"url": "https://x.example"}], "broadcast_api.E018"),
    ("WEBHOOKS", [{"url": "https://x.example", "secret": "plain"}], "broadcast_api.E018"),
    ("WEBHOOKS", [{"url": "https://x.example", "secret": "whsec_***"}], "broadcast_api.E018"),
    ("WEBHOOKS", [{"url": "https://x.example", "secret": 42}], "broadcast_api.E018"),
    ("WEBHOOKS", [{"url": "https://x.example", "secret": []}], "broadcast_api.E018"),
    (
        "WEBHOOKS",
        [{"url": "https://x.example", "secret": "whsec_AAAA", "events": ["stream.paused"]}],
        "broadcast_api.E018",
    ),
    (
        "WEBHOOKS",
        [{"url": "https://x.example", "secret": "whsec_AAAA", "method": "PUT"}],
        "broadcast_api.E018",
    ),
    ("WEBHOOK_ALLOW_PRIVATE_URLS", "yes", "broadcast_api.E018"),
    ("WEBHOOK_TIMEOUT", 0, "broadcast_api.E018"),
    ("WEBHOOK_RETRY_DELAY", "5", "broadcast_api.E018"),
    ("WEBHOOK_MAX_ATTEMPTS", 0, "broadcast_api.E018"),
    # E017: the tasks backend and queue
    ("TASK_BACKEND", "workers", "broadcast_api.E017"),
    ("TASK_QUEUE", "broadcasts", "broadcast_api.E017"),
]


@pytest.mark.parametrize(("name", "value", "expected"), ERRORS)
def test_each_invalid_setting_is_an_error_with_its_id(
    settings: Any, name: str, value: Any, expected: str
) -> None:
    setattr(settings, f"BROADCAST_API_{name}", value)
    messages = checked()
    assert [message.id for message in messages] == [expected]
    (message,) = messages
    assert message.is_serious()
    assert message.hint


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("S3_BUCKET", "broadcast-test\n", "broadcast_api.E001"),
        ("S3_REGION", "us-east-1\n", "broadcast_api.E002"),
        ("STS_ROLE_ARN", ROLE_ARN + "\n", "broadcast_api.E004"),
        ("KEY_PREFIX", "streams\n", "broadcast_api.E006"),
    ],
)
def test_a_trailing_newline_is_rejected(
    settings: Any, name: str, value: str, expected: str
) -> None:
    # ``re.match`` with ``$`` accepts one trailing "\n"; none of these values is valid.
    setattr(settings, f"BROADCAST_API_{name}", value)
    assert ids() == [expected]


@pytest.mark.parametrize("value", [None, 42])
def test_a_provider_that_is_not_a_dotted_path_is_e007(settings: Any, value: Any) -> None:
    settings.BROADCAST_API_CREDENTIAL_PROVIDER = value
    assert ids() == ["broadcast_api.E007"]


def test_a_provider_class_instead_of_its_path_is_e007(settings: Any) -> None:

    settings.BROADCAST_API_CREDENTIAL_PROVIDER = AssumeRoleProvider
    assert ids() == ["broadcast_api.E007"]


def test_the_federation_token_provider_needs_no_role_arn(settings: Any) -> None:
    settings.BROADCAST_API_CREDENTIAL_PROVIDER = (
        "broadcast_api.credentials.FederationTokenProvider"
    )
    settings.BROADCAST_API_STS_ROLE_ARN = ""
    assert ids() == []


@pytest.mark.parametrize(
    "arn",
    [
        ROLE_ARN,
        "arn:aws-cn:iam::123456789012:role/uploader",
        "arn:aws-us-gov:iam::123456789012:role/path/to/uploader",
        "arn:aws:iam:::role/uploader",  # Ceph RGW: no account
    ],
)
def test_role_arns_in_every_partition_pass(settings: Any, arn: str) -> None:
    settings.BROADCAST_API_STS_ROLE_ARN = arn
    assert ids() == []


@pytest.mark.parametrize(
    ("present", "absent"),
    [
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
    ],
)
def test_only_one_server_key_is_e008(settings: Any, present: str, absent: str) -> None:
    setattr(settings, f"BROADCAST_API_{present}", "value")
    delattr(settings, f"BROADCAST_API_{absent}")
    assert ids() == ["broadcast_api.E008"]


def test_neither_server_key_uses_the_boto3_chain(settings: Any) -> None:
    del settings.BROADCAST_API_AWS_ACCESS_KEY_ID
    del settings.BROADCAST_API_AWS_SECRET_ACCESS_KEY
    assert ids() == []


def test_several_errors_are_reported_together(settings: Any) -> None:
    settings.BROADCAST_API_S3_BUCKET = ""
    settings.BROADCAST_API_CREDENTIALS_TTL = 1
    settings.BROADCAST_API_PAGE_SIZE = 0
    assert sorted(ids()) == [
        "broadcast_api.E001",
        "broadcast_api.E005",
        "broadcast_api.E010",
    ]


# -- the legacy BROADCAST_SETTINGS dict ----------------------------------------------


def test_legacy_settings_are_w001(settings: Any) -> None:
    for name in FLAT_SETTINGS:
        delattr(settings, f"BROADCAST_API_{name}")
    settings.BROADCAST_SETTINGS = {
        "S3": {
            "BUCKET": "legacy-bucket",
            "AWS_ACCESS_KEY_ID": "AKIDLEGACY",
            "AWS_SECRET_ACCESS_KEY": "legacy-secret",
        }
    }
    messages = checked()
    assert [message.id for message in messages] == ["broadcast_api.W001"]
    (message,) = messages
    assert not message.is_serious()
    assert message.hint is not None
    assert "S3.BUCKET -> BROADCAST_API_S3_BUCKET" in message.hint
    assert "legacy-secret" not in message.hint


def test_legacy_stream_model_is_e011(settings: Any) -> None:
    settings.BROADCAST_SETTINGS = {"STREAM_MODEL": "myapp.MyStream"}
    messages = checked()
    assert [message.id for message in messages] == [
        "broadcast_api.W001",
        "broadcast_api.E011",
    ]
    assert messages[1].hint is not None
    assert "BROADCAST_API_STREAM_MODEL = 'myapp.MyStream'" in messages[1].hint


def test_unknown_legacy_keys_are_w002(settings: Any) -> None:
    settings.BROADCAST_SETTINGS = {"S3": {"BUCKET": "legacy-bucket", "ACL": "public"}, "X": 1}
    messages = checked()
    assert [message.id for message in messages] == [
        "broadcast_api.W001",
        "broadcast_api.W002",
    ]
    assert "['ACL', 'X']" in messages[1].msg


def test_use_tz_false_is_w003(settings: Any) -> None:
    settings.USE_TZ = False
    assert ids() == ["broadcast_api.W003"]


# -- manage.py check -----------------------------------------------------------------


def test_manage_py_check_fails_on_an_error(settings: Any) -> None:
    settings.BROADCAST_API_CREDENTIALS_TTL = 60
    with pytest.raises(SystemCheckError, match=r"broadcast_api\.E005"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_manage_py_check_passes_with_the_test_settings(settings: Any) -> None:
    settings.SILENCED_SYSTEM_CHECKS = sorted(LINE_WARNINGS)
    stdout = StringIO()
    call_command("check", stdout=stdout, stderr=StringIO())
    assert "no issues" in stdout.getvalue()


def test_manage_py_check_reports_but_does_not_fail_on_a_warning(settings: Any) -> None:
    settings.USE_TZ = False
    stderr = StringIO()
    call_command("check", stdout=StringIO(), stderr=stderr)
    assert "broadcast_api.W003" in stderr.getvalue()
    with pytest.raises(SystemCheckError, match=r"broadcast_api\.W003"):
        call_command("check", "--fail-level", "WARNING", stdout=StringIO(), stderr=StringIO())


def deploy_check_output() -> str:
    out = StringIO()
    call_command("check", "--deploy", "--tag", "security", stdout=out, stderr=out)
    return out.getvalue()


def test_deploy_check_warns_of_a_server_without_credentials(settings: Any) -> None:
    """W004 (``check --deploy`` only): an endpoint URL, no keys, nothing in boto3's chain."""
    settings.BROADCAST_API_STS_ENDPOINT_URL = "http://127.0.0.1:7480"
    settings.BROADCAST_API_AWS_ACCESS_KEY_ID = None
    settings.BROADCAST_API_AWS_SECRET_ACCESS_KEY = None
    assert "broadcast_api.W004" in deploy_check_output()
    plain = StringIO()
    call_command("check", stdout=plain, stderr=plain)
    assert "W004" not in plain.getvalue()


@pytest.mark.parametrize("identity", ["settings", "environment", "no endpoint"])
def test_deploy_check_is_quiet_when_there_is_an_identity(
    settings: Any, monkeypatch: pytest.MonkeyPatch, identity: str
) -> None:
    settings.BROADCAST_API_STS_ENDPOINT_URL = "http://127.0.0.1:7480"
    if identity != "settings":
        settings.BROADCAST_API_AWS_ACCESS_KEY_ID = None
        settings.BROADCAST_API_AWS_SECRET_ACCESS_KEY = None
    if identity == "environment":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-env-secret")
    if identity == "no endpoint":  # AWS itself: a role is found at run time
        settings.BROADCAST_API_STS_ENDPOINT_URL = None
    assert "W004" not in deploy_check_output()


def test_scoped_throttling_without_a_start_rate_is_w005(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
        "DEFAULT_THROTTLE_RATES": {"other": "1/s"},
    }
    assert ids() == ["broadcast_api.W005"]
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["broadcast_start"] = "10/hour"
    assert ids() == []


@pytest.fixture
def no_tasks_framework(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on Django 5.2 without the django-tasks backport (CI's 5.2 line runs that way)."""
    monkeypatch.setattr(deferred, "FRAMEWORK", None)
    monkeypatch.setattr(deferred, "_tasks", None)


def test_without_a_tasks_framework_work_in_process_is_a_warning_w007(
    no_tasks_framework: None, settings: Any
) -> None:
    """Django 5.2 with the README's installation alone: not an error (migrate and
    runserver work), a warning recommending workers while there is work for them."""
    (message,) = check_settings(None)
    assert message.id == "broadcast_api.W007"
    assert not message.is_serious()
    assert message.hint is not None
    assert "django-tasks-db" in message.hint
    settings.BROADCAST_API_FINALIZE_RECORDINGS = False
    assert check_settings(None) == []  # no recordings, no webhooks: nothing to run
    settings.BROADCAST_API_WEBHOOKS = [{"url": "https://hooks.example.com/a", "secret": "x"}]
    assert "broadcast_api.W007" in [message.id for message in check_settings(None)]


@pytest.mark.parametrize(
    ("name", "value"),
    [("TASKS", {"default": {"BACKEND": "x.Y"}}), ("BROADCAST_API_TASK_BACKEND", "workers")],
)
def test_without_a_tasks_framework_a_tasks_setting_is_e017(
    no_tasks_framework: None, settings: Any, name: str, value: Any
) -> None:
    setattr(settings, name, value)
    assert [message.id for message in check_settings(None)] == ["broadcast_api.E017"]


def test_w007_is_there_exactly_when_no_framework_is(settings: Any) -> None:
    """Whichever line runs this: the real import decides, and the checks follow it."""
    found = [message.id for message in check_settings(None)]
    assert found == (["broadcast_api.W007"] if deferred.FRAMEWORK is None else [])


def test_private_webhook_addresses_are_w006_at_deploy(settings: Any) -> None:
    settings.BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert "broadcast_api.W006" in deploy_check_output()
    settings.BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS = False
    assert "W006" not in deploy_check_output()


@pytest.mark.parametrize(
    ("backend", "warned"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", True),
        ("django.core.cache.backends.dummy.DummyCache", True),
        ("django.core.cache.backends.db.DatabaseCache", True),
        ("django.core.cache.backends.redis.RedisCache", False),
    ],
)
def test_an_unshared_playlist_cache_is_w010_at_deploy(
    settings: Any, backend: str, warned: bool
) -> None:
    """W010 (``check --deploy`` only): playlists and viewer counts need a shared cache."""
    settings.CACHES = {**settings.CACHES, "playlists": {"BACKEND": backend, "LOCATION": "x"}}
    settings.BROADCAST_API_PLAYLIST_CACHE = "playlists"
    out = StringIO()
    call_command("check", "--deploy", "--tag", "caches", stdout=out, stderr=out)
    assert ("broadcast_api.W010" in out.getvalue()) is warned
    assert "broadcast_api.W010" not in run_checks_without_deploy()


def run_checks_without_deploy() -> str:
    out = StringIO()
    call_command("check", "--tag", "caches", stdout=out, stderr=out)
    return out.getvalue()


def test_a_reconnect_window_over_30_minutes_is_w013(settings: Any) -> None:
    settings.BROADCAST_API_RECONNECT_WINDOW = 1800
    assert ids() == []  # Mux's maximum is fine
    settings.BROADCAST_API_RECONNECT_WINDOW = 1801
    messages = checked()
    assert [message.id for message in messages] == ["broadcast_api.W013"]
    assert not messages[0].is_serious()


@pytest.mark.parametrize("retention", [None, 1, 30 * 86400, timedelta(days=30)])
def test_a_retention_in_seconds_or_as_a_timedelta_is_valid(settings: Any, retention: Any) -> None:
    settings.BROADCAST_API_RECORDING_RETENTION = retention
    assert "broadcast_api.E026" not in {message.id for message in check_settings(None)}

"""``conf``: defaults, types, no caching, and the legacy ``BROADCAST_SETTINGS`` dict."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from broadcast_api.conf import (
    DEFAULT_PROVIDER,
    DEFAULT_STREAM_MODEL,
    LEGACY_S3_KEYS,
    Settings,
    conf,
)

DEFAULTS: dict[str, tuple[Any, type | None]] = {
    # name: (default, type of the default; None for a None default)
    "S3_BUCKET": ("", str),
    "S3_REGION": ("us-east-1", str),
    "S3_ENDPOINT_URL": (None, None),
    "STS_ENDPOINT_URL": (None, None),
    "STS_ROLE_ARN": ("", str),
    "CREDENTIALS_TTL": (3600, int),
    "KEY_PREFIX": ("streams", str),
    "CREDENTIAL_PROVIDER": ("broadcast_api.credentials.AssumeRoleProvider", str),
    "STREAM_MODEL": ("broadcast_api.Stream", str),
    "AWS_ACCESS_KEY_ID": (None, None),
    "AWS_SECRET_ACCESS_KEY": (None, None),
    "STS_CONNECT_TIMEOUT": (2.0, float),
    "STS_READ_TIMEOUT": (5.0, float),
    "STS_MAX_ATTEMPTS": (3, int),
    "PAGE_SIZE": (50, int),
    "PLAYLIST_NAME": ("index.m3u8", str),
    "PLAYBACK_BASE_URL": (None, None),
    "PLAYBACK_TOKEN_TTL": (3600, int),
    "PLAYBACK_URL_TTL": (3600, int),
    "PLAYLIST_CACHE": ("default", str),
    "PLAYLIST_URL_NAME": (None, None),
    "LIVE_WINDOW": (120, int),
    "VIEWER_WINDOW": (30, int),
    "CLOUDFRONT_DOMAIN": ("", str),
    "CLOUDFRONT_KEY_PAIR_ID": ("", str),
    "CLOUDFRONT_PRIVATE_KEY": ("", str),
    "CLOUDFRONT_PRIVATE_KEY_FILE": ("", str),
    "MEDIA_SIGNER": ("broadcast_api.playback.signers.S3PresignedUrlSigner", str),
    "STORAGE": ("broadcast_api.storage.S3Storage", str),
    "MAX_LIVE_STREAMS_PER_USER": (None, None),
    "IDLE_TIMEOUT": (120, int),
    "RECONNECT_WINDOW": (120, int),
    "DISCONNECT_TIMEOUT": (30, int),
    "MAX_DURATION": (None, None),
    "REAPER_CONCURRENCY": (16, int),
    "FINALIZE_RECORDINGS": (True, bool),
    "RECORDING_RETENTION": (None, None),
    "ON_OWNER_DELETE": ("keep", str),
    "TASK_BACKEND": ("default", str),
    "TASK_QUEUE": ("default", str),
    "WEBHOOKS": ([], list),
    "WEBHOOK_ALLOW_PRIVATE_URLS": (False, bool),
    "WEBHOOK_TIMEOUT": (5.0, float),
    "WEBHOOK_MAX_ATTEMPTS": (8, int),
    "WEBHOOK_RETRY_DELAY": (5.0, float),
}


def public_properties() -> set[str]:
    return {
        name
        for name, value in vars(Settings).items()
        if isinstance(value, property) and not name.startswith("_")
    }


def test_every_property_has_a_default_under_test() -> None:
    assert public_properties() == set(DEFAULTS) | {"LEGACY_SETTINGS"}


@pytest.fixture
def bare_settings(settings: Any) -> Any:
    """Settings with no BROADCAST_API_* value and no legacy dict."""
    for name in DEFAULTS:
        delattr(settings, f"BROADCAST_API_{name}")
    del settings.BROADCAST_SETTINGS
    return settings


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_default(bare_settings: Any, name: str) -> None:
    default, kind = DEFAULTS[name]
    value = getattr(conf, name)
    assert value == default
    if kind is None:
        assert value is None
    else:
        assert type(value) is kind


def test_default_constants_are_the_defaults(bare_settings: Any) -> None:
    assert conf.CREDENTIAL_PROVIDER == DEFAULT_PROVIDER
    assert conf.STREAM_MODEL == DEFAULT_STREAM_MODEL
    assert conf.LEGACY_SETTINGS is None


def test_values_from_the_test_settings() -> None:
    assert conf.S3_BUCKET == "broadcast-test"
    assert conf.S3_REGION == "us-west-1"
    assert conf.STS_ROLE_ARN == "arn:aws:iam::123456789012:role/broadcast-uploader"
    assert conf.AWS_ACCESS_KEY_ID == "testing"
    assert conf.AWS_SECRET_ACCESS_KEY == "testing-server-secret"
    assert conf.STS_CONNECT_TIMEOUT == 1.0
    assert conf.STS_READ_TIMEOUT == 2.0
    assert conf.STS_MAX_ATTEMPTS == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("S3_BUCKET", "other-bucket"),
        ("S3_REGION", "eu-west-3"),
        ("S3_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ("STS_ENDPOINT_URL", "http://127.0.0.1:9001"),
        ("STS_ROLE_ARN", "arn:aws:iam::210987654321:role/other"),
        ("CREDENTIALS_TTL", 900),
        ("KEY_PREFIX", "tenant/streams"),
        ("CREDENTIAL_PROVIDER", "broadcast_api.credentials.FederationTokenProvider"),
        ("STREAM_MODEL", "otherapp.OtherStream"),
        ("AWS_ACCESS_KEY_ID", "AKIDOTHER"),
        ("AWS_SECRET_ACCESS_KEY", "other-secret"),
        ("STS_CONNECT_TIMEOUT", 0.5),
        ("STS_READ_TIMEOUT", 10.0),
        ("STS_MAX_ATTEMPTS", 5),
        ("PAGE_SIZE", 7),
    ],
)
def test_override_settings_takes_effect_immediately(name: str, value: Any) -> None:
    before = getattr(conf, name)
    assert before != value
    with override_settings(**{f"BROADCAST_API_{name}": value}):
        assert getattr(conf, name) == value
    assert getattr(conf, name) == before


def test_the_settings_fixture_takes_effect_immediately(settings: Any) -> None:
    assert conf.PAGE_SIZE == 50
    settings.BROADCAST_API_PAGE_SIZE = 3
    assert conf.PAGE_SIZE == 3
    settings.BROADCAST_API_PAGE_SIZE = 4
    assert conf.PAGE_SIZE == 4


def test_a_new_settings_object_is_not_needed() -> None:
    # The module-level ``conf`` is the one everybody imports: it must not cache.
    first = conf.S3_BUCKET
    with override_settings(BROADCAST_API_S3_BUCKET="changed-bucket"):
        assert conf.S3_BUCKET == "changed-bucket"
        assert Settings().S3_BUCKET == "changed-bucket"
    assert conf.S3_BUCKET == first


@pytest.mark.parametrize("name", ["S3_ENDPOINT_URL", "STS_ENDPOINT_URL"])
def test_an_empty_endpoint_means_aws(settings: Any, name: str) -> None:
    setattr(settings, f"BROADCAST_API_{name}", "")
    assert getattr(conf, name) is None


@pytest.mark.parametrize("name", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
def test_an_empty_server_key_means_the_boto3_chain(settings: Any, name: str) -> None:
    setattr(settings, f"BROADCAST_API_{name}", "")
    assert getattr(conf, name) is None


def test_a_none_role_arn_is_empty(settings: Any) -> None:
    settings.BROADCAST_API_STS_ROLE_ARN = None
    assert conf.STS_ROLE_ARN == ""


# -- the legacy BROADCAST_SETTINGS dict ----------------------------------------------

LEGACY = {
    "S3": {
        "BUCKET": "legacy-bucket",
        "AWS_ACCESS_KEY_ID": "AKIDLEGACY",
        "AWS_SECRET_ACCESS_KEY": "legacy-secret",
        "REGION": "eu-west-3",
    }
}


def test_the_legacy_keys_map_onto_the_flat_names() -> None:
    assert LEGACY_S3_KEYS == {
        "BUCKET": "S3_BUCKET",
        "AWS_ACCESS_KEY_ID": "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY",
        "REGION": "S3_REGION",
    }


def test_legacy_settings_alone_are_honoured(bare_settings: Any) -> None:
    bare_settings.BROADCAST_SETTINGS = LEGACY
    assert conf.S3_BUCKET == "legacy-bucket"
    assert conf.AWS_ACCESS_KEY_ID == "AKIDLEGACY"
    assert conf.AWS_SECRET_ACCESS_KEY == "legacy-secret"
    assert conf.S3_REGION == "eu-west-3"
    assert conf.LEGACY_SETTINGS == LEGACY
    # Settings the legacy dict never held keep their defaults.
    assert conf.KEY_PREFIX == "streams"
    assert conf.CREDENTIALS_TTL == 3600


def test_flat_names_win_over_legacy_settings(settings: Any) -> None:
    settings.BROADCAST_SETTINGS = LEGACY
    assert conf.S3_BUCKET == "broadcast-test"
    assert conf.AWS_ACCESS_KEY_ID == "testing"
    assert conf.AWS_SECRET_ACCESS_KEY == "testing-server-secret"
    assert conf.S3_REGION == "us-west-1"


def test_flat_and_legacy_names_mix(bare_settings: Any) -> None:
    bare_settings.BROADCAST_SETTINGS = LEGACY
    bare_settings.BROADCAST_API_S3_BUCKET = "flat-bucket"
    assert conf.S3_BUCKET == "flat-bucket"
    assert conf.AWS_ACCESS_KEY_ID == "AKIDLEGACY"


def test_an_empty_legacy_value_falls_back_to_the_default(bare_settings: Any) -> None:
    bare_settings.BROADCAST_SETTINGS = {"S3": {"BUCKET": "", "AWS_ACCESS_KEY_ID": None}}
    assert conf.S3_BUCKET == ""
    assert conf.AWS_ACCESS_KEY_ID is None


@pytest.mark.parametrize("legacy", [["S3"], "S3", {"S3": "legacy-bucket"}, {"S3": None}])
def test_malformed_legacy_settings_are_ignored(bare_settings: Any, legacy: Any) -> None:
    bare_settings.BROADCAST_SETTINGS = legacy
    assert conf.S3_BUCKET == ""
    assert conf.S3_REGION == "us-east-1"


def test_legacy_settings_are_read_on_every_access(bare_settings: Any) -> None:
    bare_settings.BROADCAST_SETTINGS = {"S3": {"BUCKET": "first-bucket"}}
    assert conf.S3_BUCKET == "first-bucket"
    bare_settings.BROADCAST_SETTINGS = {"S3": {"BUCKET": "second-bucket"}}
    assert conf.S3_BUCKET == "second-bucket"


def test_the_reconnect_window_is_the_idle_timeout_unless_set(bare_settings: Any) -> None:
    bare_settings.BROADCAST_API_IDLE_TIMEOUT = 300
    assert conf.RECONNECT_WINDOW == 300  # the older name, alone
    bare_settings.BROADCAST_API_RECONNECT_WINDOW = 60
    assert conf.RECONNECT_WINDOW == 60  # the newer name wins when both are set
    assert conf.IDLE_TIMEOUT == 300


def test_the_disconnect_timeout_defaults_below_a_short_window(bare_settings: Any) -> None:
    bare_settings.BROADCAST_API_RECONNECT_WINDOW = 40
    assert conf.DISCONNECT_TIMEOUT == 20  # half the window when that is under 30
    bare_settings.BROADCAST_API_DISCONNECT_TIMEOUT = 10
    assert conf.DISCONNECT_TIMEOUT == 10

"""System checks: every setting is validated at ``manage.py check`` with a stable id.

Errors (E) stop ``runserver`` and ``migrate``; warnings (W) do not.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from django.conf import global_settings, settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from broadcast_api import deferred
from broadcast_api.conf import (
    LEGACY_S3_KEYS,
    MAX_CREDENTIALS_TTL,
    MAX_PRESIGNED_URL_TTL,
    MAX_REAPER_CONCURRENCY,
    MIN_CREDENTIALS_TTL,
    conf,
)
from broadcast_api.credentials import AssumeRoleProvider, CredentialProvider
from broadcast_api.exceptions import StorageUnavailable
from broadcast_api.policies import is_valid_bucket, is_valid_key_prefix, is_valid_region
from broadcast_api.storage import ObjectNotFound, S3Storage, get_storage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.apps import AppConfig

# Mux allows a reconnect_window of at most 30 minutes; longer keeps vanished streams live.
MAX_RECONNECT_WINDOW = 1800
ROLE_ARN_RE = re.compile(r"arn:aws(-[a-z-]+)?:iam::\d{0,12}:role/[\w+=,.@/-]{1,512}")


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


@register(Tags.compatibility)
def check_settings(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    messages += _check_storage()
    messages += _check_storage_class()
    messages += _check_credentials()
    messages += _check_playback()
    messages += _check_lifecycle()
    messages += _check_tasks()
    messages += _check_legacy()
    if not settings.USE_TZ:
        messages.append(
            Warning(
                "USE_TZ is False: stream times are recorded in local time, not UTC.",
                hint="Set USE_TZ = True; the API's times are documented as UTC.",
                id="broadcast_api.W003",
            )
        )
    return messages


@register(Tags.security, deploy=True)
def check_server_identity(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """``check --deploy``: an S3-compatible server, and no identity to call its STS with.

    On AWS an instance or task role supplies one at run time (and probing for it here
    would wait on the metadata service), so only a configured endpoint URL is checked.
    """
    if not (conf.STS_ENDPOINT_URL or conf.S3_ENDPOINT_URL):
        return []
    if conf.AWS_ACCESS_KEY_ID and conf.AWS_SECRET_ACCESS_KEY:
        return []
    if boto3.session.Session().get_credentials() is not None:
        return []
    return [
        Warning(
            "An S3 or STS endpoint URL is set and boto3 finds no credentials for the "
            "server (neither both BROADCAST_API_AWS_* keys nor its own chain): unless the "
            "process gets some at run time, starts answer 503 (reason sts_no_credentials).",
            hint="Set BROADCAST_API_AWS_ACCESS_KEY_ID and BROADCAST_API_AWS_SECRET_ACCESS_KEY, "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment.",
            id="broadcast_api.W004",
        )
    ]


# Cache backends whose data one server process keeps to itself, or whose incr is not
# atomic: a playlist cache there refreshes per process and counts viewers low.
UNSHARED_CACHE_BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache": "kept per process",
    "django.core.cache.backends.dummy.DummyCache": "keeps nothing",
    "django.core.cache.backends.filebased.FileBasedCache": "not atomic on incr",
    "django.core.cache.backends.db.DatabaseCache": "not atomic on incr",
}


@register(Tags.caches, deploy=True)
def check_playlist_cache(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """``check --deploy``: the playlist cache (playlists and viewer counts) is shared."""
    backend = settings.CACHES.get(conf.PLAYLIST_CACHE, {}).get("BACKEND", "")
    why = UNSHARED_CACHE_BACKENDS.get(backend)
    if why is None:
        return []
    return [
        Warning(
            f"BROADCAST_API_PLAYLIST_CACHE {conf.PLAYLIST_CACHE!r} is a "
            f"{backend.rsplit('.', 1)[-1]} ({why}): with several server processes, each "
            "refreshes playlists from S3 on its own and viewer counts come out low.",
            hint="Point it at a cache all processes share with atomic increments: "
            "django.core.cache.backends.redis.RedisCache or a Memcached backend.",
            id="broadcast_api.W010",
        )
    ]


# The key a deploy check reads: under the prefix, where the server may read and list.
BUCKET_PROBE_NAME = "broadcast-api-check"


@register(Tags.compatibility, deploy=True)
def check_bucket(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: the bucket exists. Starts never touch S3 (they only mint
    credentials), so without this a missing bucket shows only when uploads fail.

    One GET of a key that need not exist, under the prefix, with the server's identity:
    ``NoSuchKey`` means the bucket is there, ``NoSuchBucket`` that it is not.
    """
    bucket = conf.S3_BUCKET
    if not isinstance(bucket, str) or not is_valid_bucket(bucket):
        return []  # E001 says so
    key = f"{conf.KEY_PREFIX}/{BUCKET_PROBE_NAME}" if conf.KEY_PREFIX else BUCKET_PROBE_NAME
    try:
        get_storage().read(bucket, key)
    except ObjectNotFound:
        return []
    except StorageUnavailable as exc:
        if exc.reason == "s3_no_such_bucket":
            return [
                Error(
                    f"The bucket {bucket!r} does not exist: broadcasters' uploads would fail.",
                    hint="Create it (python -m devtools.emulator creates one for local "
                    "work), or correct BROADCAST_API_S3_BUCKET and "
                    "BROADCAST_API_S3_ENDPOINT_URL.",
                    id="broadcast_api.E021",
                )
            ]
        return [
            Warning(
                f"Could not tell whether the bucket {bucket!r} exists ({exc.reason}).",
                hint="The server's identity needs s3:GetObject under the key prefix and "
                "s3:ListBucket on it, and the endpoint must be reachable from here.",
                id="broadcast_api.W008",
            )
        ]
    return []  # the probe key exists: so does the bucket


def _check_storage() -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    bucket = conf.S3_BUCKET
    if not bucket:
        messages.append(
            Error(
                "BROADCAST_API_S3_BUCKET is not set.",
                hint="Name the S3 bucket streams upload into.",
                id="broadcast_api.E001",
            )
        )
    elif not isinstance(bucket, str) or not is_valid_bucket(bucket):
        messages.append(
            Error(
                f"BROADCAST_API_S3_BUCKET {bucket!r} is not a valid S3 bucket name.",
                hint="3 to 63 lowercase letters, digits, dots and hyphens.",
                id="broadcast_api.E001",
            )
        )
    if not isinstance(conf.S3_REGION, str) or not is_valid_region(conf.S3_REGION):
        messages.append(
            Error(
                f"BROADCAST_API_S3_REGION {conf.S3_REGION!r} is not a region name.",
                hint='Use an AWS region name such as "us-east-1".',
                id="broadcast_api.E002",
            )
        )
    for name in ("S3_ENDPOINT_URL", "STS_ENDPOINT_URL"):
        value = getattr(conf, name)
        if value is not None and not is_url(value):
            messages.append(
                Error(
                    f"BROADCAST_API_{name} {value!r} is not an http(s) URL.",
                    hint="Use None for AWS, or the server's URL, e.g. http://127.0.0.1:5000.",
                    id="broadcast_api.E003",
                )
            )
    prefix = conf.KEY_PREFIX
    if not isinstance(prefix, str) or not is_valid_key_prefix(prefix.strip("/")):
        messages.append(
            Error(
                f"BROADCAST_API_KEY_PREFIX {prefix!r} is not a safe key prefix.",
                hint="Slash-separated segments of letters, digits, '.', '_' and '-'; "
                "no wildcards, no '..'.",
                id="broadcast_api.E006",
            )
        )
    return messages


def _check_credentials() -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    ttl = conf.CREDENTIALS_TTL
    if (
        not isinstance(ttl, int)
        or isinstance(ttl, bool)
        or not MIN_CREDENTIALS_TTL <= ttl <= MAX_CREDENTIALS_TTL
    ):
        messages.append(
            Error(
                f"BROADCAST_API_CREDENTIALS_TTL {ttl!r} is not a whole number of seconds "
                f"from {MIN_CREDENTIALS_TTL} to {MAX_CREDENTIALS_TTL}.",
                hint="STS accepts 900 to 43200 seconds (AssumeRole is further capped by "
                "the role's MaxSessionDuration, 3600 by default).",
                id="broadcast_api.E005",
            )
        )
    provider_class: Any = None
    try:
        if not isinstance(conf.CREDENTIAL_PROVIDER, str):
            raise ImportError("not a dotted path")
        provider_class = import_string(conf.CREDENTIAL_PROVIDER)
    except ImportError:
        messages.append(
            Error(
                f"BROADCAST_API_CREDENTIAL_PROVIDER {conf.CREDENTIAL_PROVIDER!r} "
                "cannot be imported.",
                hint="Use a dotted path to a CredentialProvider subclass.",
                id="broadcast_api.E007",
            )
        )
    if provider_class is not None and not (
        isinstance(provider_class, type) and issubclass(provider_class, CredentialProvider)
    ):
        messages.append(
            Error(
                f"BROADCAST_API_CREDENTIAL_PROVIDER {conf.CREDENTIAL_PROVIDER!r} "
                "is not a CredentialProvider subclass.",
                hint="Subclass broadcast_api.credentials.CredentialProvider.",
                id="broadcast_api.E007",
            )
        )
    elif isinstance(provider_class, type) and issubclass(provider_class, AssumeRoleProvider):
        arn = conf.STS_ROLE_ARN
        if not arn or not ROLE_ARN_RE.fullmatch(arn):
            messages.append(
                Error(
                    f"BROADCAST_API_STS_ROLE_ARN {arn!r} is not an IAM role ARN.",
                    hint="The AssumeRole provider needs the ARN of the role that uploads, "
                    "e.g. arn:aws:iam::123456789012:role/broadcast-uploader.",
                    id="broadcast_api.E004",
                )
            )
    if bool(conf.AWS_ACCESS_KEY_ID) != bool(conf.AWS_SECRET_ACCESS_KEY):
        messages.append(
            Error(
                "Only one of BROADCAST_API_AWS_ACCESS_KEY_ID and "
                "BROADCAST_API_AWS_SECRET_ACCESS_KEY is set.",
                hint="Set both, or neither to use boto3's credential chain.",
                id="broadcast_api.E008",
            )
        )
    for name in ("STS_CONNECT_TIMEOUT", "STS_READ_TIMEOUT"):
        value = getattr(conf, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            messages.append(
                Error(
                    f"BROADCAST_API_{name} {value!r} is not a positive number of seconds.",
                    hint="Keep STS and S3 timeouts short (seconds) so workers are not pinned.",
                    id="broadcast_api.E009",
                )
            )
    messages += positive_int("STS_MAX_ATTEMPTS", "1 disables retries; the default is 3.", "E009")
    messages += positive_int("PAGE_SIZE", "The default is 50.", "E010")
    return messages


def _check_storage_class() -> list[CheckMessage]:
    path = conf.STORAGE
    try:
        storage = import_string(path) if isinstance(path, str) else None
    except ImportError:
        storage = None
    if isinstance(storage, type) and issubclass(storage, S3Storage):
        return []
    return [
        Error(
            f"BROADCAST_API_STORAGE {path!r} is not an importable S3Storage subclass.",
            hint="A dotted path to a subclass of broadcast_api.storage.S3Storage (the "
            "default is broadcast_api.storage.S3Storage).",
            id="broadcast_api.E020",
        )
    ]


def _check_playback() -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    name = conf.PLAYLIST_NAME
    if (
        not isinstance(name, str)
        or not name.endswith(".m3u8")
        or not is_valid_key_prefix(name)
        or name.startswith("/")
    ):
        messages.append(
            Error(
                f"BROADCAST_API_PLAYLIST_NAME {name!r} is not a playlist file name.",
                hint='A key under the stream\'s prefix ending in ".m3u8", e.g. "index.m3u8".',
                id="broadcast_api.E012",
            )
        )
    base = conf.PLAYBACK_BASE_URL
    if base is not None and not is_url(base):
        messages.append(
            Error(
                f"BROADCAST_API_PLAYBACK_BASE_URL {base!r} is not an http(s) URL.",
                hint="None serves private playlists from this server; a URL (a CDN in front "
                "of the bucket) makes playback_url public.",
                id="broadcast_api.E013",
            )
        )
    messages += positive_int(
        "PLAYBACK_TOKEN_TTL", "Seconds a playback_url's token stays valid.", "E014"
    )
    messages += positive_int(
        "PLAYBACK_URL_TTL",
        f"Seconds a presigned media URL stays valid, at most {MAX_PRESIGNED_URL_TTL}.",
        "E014",
        maximum=MAX_PRESIGNED_URL_TTL,
    )
    if conf.LIVE_WINDOW is not None:
        messages += positive_int(
            "LIVE_WINDOW",
            "Seconds of newest segments a live playlist is served with (default 120), or "
            "None to serve every segment.",
            "E024",
        )
    if conf.VIEWER_WINDOW is not None:
        messages += positive_int(
            "VIEWER_WINDOW",
            "Seconds a viewer counts for after its last poll, at least the players' poll "
            "interval (default 30), or None to count no viewers.",
            "E025",
        )
    if conf.PLAYLIST_CACHE not in settings.CACHES:
        messages.append(
            Error(
                f"BROADCAST_API_PLAYLIST_CACHE {conf.PLAYLIST_CACHE!r} is not in CACHES.",
                hint="Name a cache alias; with several servers, a shared one (Redis).",
                id="broadcast_api.E015",
            )
        )
    return messages


def _check_deletion() -> list[CheckMessage]:
    """Retention (E026) and what a deleted user's streams become (E027)."""
    messages: list[CheckMessage] = []
    retention = conf.RECORDING_RETENTION
    if isinstance(retention, timedelta):
        valid = retention > timedelta(0)
    else:
        valid = isinstance(retention, int) and not isinstance(retention, bool) and retention > 0
    if retention is not None and not valid:
        messages.append(
            Error(
                f"BROADCAST_API_RECORDING_RETENTION {retention!r} is not a positive duration.",
                hint="A datetime.timedelta (e.g. timedelta(days=30)) or seconds as an int; "
                "None keeps recordings forever.",
                id="broadcast_api.E026",
            )
        )
    if conf.ON_OWNER_DELETE not in ("keep", "delete"):
        messages.append(
            Error(
                f"BROADCAST_API_ON_OWNER_DELETE {conf.ON_OWNER_DELETE!r} is not "
                '"keep" or "delete".',
                hint='"keep" leaves a deleted user\'s streams ownerless; "delete" deletes '
                "them and their recordings (erasure).",
                id="broadcast_api.E027",
            )
        )
    return messages


def _check_lifecycle() -> list[CheckMessage]:
    messages = positive_int(
        "IDLE_TIMEOUT", "Seconds without a playlist upload before a stream is idle.", "E016"
    )
    messages += _check_reconnect_window()
    messages += positive_int(
        "REAPER_CONCURRENCY",
        "How many S3 requests broadcast_reap has in flight at once (default 16; 1 asks "
        f"one stream after another; at most {MAX_REAPER_CONCURRENCY}, one thread each).",
        "E016",
        maximum=MAX_REAPER_CONCURRENCY,
    )
    for name in ("MAX_DURATION", "MAX_LIVE_STREAMS_PER_USER"):
        if getattr(conf, name) is not None:
            messages += positive_int(name, "None (no limit) or a positive integer.", "E016")
    if not isinstance(conf.FINALIZE_RECORDINGS, bool):
        messages.append(
            Error(
                f"BROADCAST_API_FINALIZE_RECORDINGS {conf.FINALIZE_RECORDINGS!r} is not a bool.",
                hint="True closes recordings with #EXT-X-ENDLIST after a stream ends.",
                id="broadcast_api.E016",
            )
        )
    messages += _check_deletion()
    drf = getattr(settings, "REST_FRAMEWORK", None) or {}
    throttles = drf.get("DEFAULT_THROTTLE_CLASSES") or []
    rates = drf.get("DEFAULT_THROTTLE_RATES") or {}
    if any(str(path).endswith("ScopedRateThrottle") for path in throttles) and (
        "broadcast_start" not in rates
    ):
        messages.append(
            Warning(
                "ScopedRateThrottle is on, but DEFAULT_THROTTLE_RATES has no "
                '"broadcast_start" rate: every start would fail.',
                hint='Add e.g. "broadcast_start": "10/hour" to DEFAULT_THROTTLE_RATES.',
                id="broadcast_api.W005",
            )
        )
    return messages


def _check_tasks() -> list[CheckMessage]:
    """Recordings and webhooks run as Django tasks: the framework and the backend."""
    configured = getattr(settings, "TASKS", None)
    if deferred.FRAMEWORK is None:  # (Django 6's own default TASKS is not the host's)
        if (
            configured != getattr(global_settings, "TASKS", None)
            or conf.TASK_BACKEND != "default"
            or conf.TASK_QUEUE != "default"
        ):
            return [
                Error(
                    "TASKS (or BROADCAST_API_TASK_BACKEND, BROADCAST_API_TASK_QUEUE) is set, "
                    "but no Tasks framework is installed to honour it.",
                    hint='On Django 5.2, `pip install django-tasks` and add "django_tasks" '
                    "to INSTALLED_APPS (Django 6 has it built in); or remove the setting.",
                    id="broadcast_api.E017",
                )
            ]
        if conf.WEBHOOKS or conf.FINALIZE_RECORDINGS is True:
            return [
                Warning(
                    "No Tasks framework is installed: webhook deliveries and closing "
                    "recordings run in the web process, right after the commit that "
                    "causes them (as Django's immediate backend would).",
                    hint="For workers that retry on their own schedule, on Django 5.2 "
                    '`pip install django-tasks django-tasks-db`, add "django_tasks" and '
                    '"django_tasks_db" to INSTALLED_APPS and configure TASKS; or upgrade '
                    "to Django 6.",
                    id="broadcast_api.W007",
                )
            ]
        return []
    # Unset, TASKS means one "default" immediate backend (Django 6 and the backport).
    configured = configured or {"default": {}}
    if conf.TASK_BACKEND not in configured:
        return [
            Error(
                f"BROADCAST_API_TASK_BACKEND {conf.TASK_BACKEND!r} is not in TASKS.",
                hint='Name one of your TASKS aliases (the default is "default").',
                id="broadcast_api.E017",
            )
        ]
    # A backend accepts its QUEUES (["default"] unless set; [] accepts any).
    queues = configured[conf.TASK_BACKEND].get("QUEUES", ["default"])
    if queues and conf.TASK_QUEUE not in queues:
        return [
            Error(
                f"BROADCAST_API_TASK_QUEUE {conf.TASK_QUEUE!r} is not one of the backend's "
                f"QUEUES {list(queues)}.",
                hint="Add it to the backend's QUEUES (an empty list accepts any queue).",
                id="broadcast_api.E017",
            )
        ]
    return []


def _check_reconnect_window() -> list[CheckMessage]:
    """RECONNECT_WINDOW (IDLE_TIMEOUT's newer name) and the disconnect threshold below it."""
    hint = (
        "Seconds a quiet broadcaster may take to resume before its stream ends (idle); "
        "Mux's reconnect_window defaults to 60 and allows at most 1800."
    )
    explicit = getattr(settings, "BROADCAST_API_RECONNECT_WINDOW", None) is not None
    # Unset, it is IDLE_TIMEOUT, which E016 checks.
    messages = positive_int("RECONNECT_WINDOW", hint, "E028") if explicit else []
    messages += positive_int(
        "DISCONNECT_TIMEOUT",
        "Seconds without a playlist upload before a stream is marked disconnected.",
        "E028",
    )
    window = conf.RECONNECT_WINDOW
    if messages or isinstance(window, bool) or not isinstance(window, int) or window < 1:
        return messages
    # Unset, it is derived below the window.
    explicit_disconnect = getattr(settings, "BROADCAST_API_DISCONNECT_TIMEOUT", None) is not None
    if explicit_disconnect and conf.DISCONNECT_TIMEOUT >= window:
        messages.append(
            Error(
                f"BROADCAST_API_DISCONNECT_TIMEOUT ({conf.DISCONNECT_TIMEOUT}) is not below "
                f"the reconnect window ({conf.RECONNECT_WINDOW}): no stream would ever be "
                "marked disconnected before it ends.",
                hint="A few segment durations, e.g. 30, below BROADCAST_API_RECONNECT_WINDOW.",
                id="broadcast_api.E028",
            )
        )
    if conf.RECONNECT_WINDOW > MAX_RECONNECT_WINDOW:
        messages.append(
            Warning(
                f"BROADCAST_API_RECONNECT_WINDOW ({conf.RECONNECT_WINDOW}) is over "
                f"{MAX_RECONNECT_WINDOW} seconds: a vanished broadcaster's stream stays "
                "live, and listed as live, that long.",
                hint="Mux allows at most 30 minutes (an encoder machine's reboot).",
                id="broadcast_api.W013",
            )
        )
    return messages


def positive_int(
    name: str, hint: str, check_id: str, *, maximum: int | None = None
) -> list[CheckMessage]:
    value = getattr(conf, name)
    if (
        not isinstance(value, bool)
        and isinstance(value, int)
        and value >= 1
        and (maximum is None or value <= maximum)
    ):
        return []
    wanted = "a positive integer" if maximum is None else f"an integer from 1 to {maximum}"
    return [
        Error(
            f"BROADCAST_API_{name} {value!r} is not {wanted}.",
            hint=hint,
            id=f"broadcast_api.{check_id}",
        )
    ]


def _check_legacy() -> list[CheckMessage]:
    legacy = conf.LEGACY_SETTINGS
    if legacy is None:
        return []
    messages: list[CheckMessage] = [
        Warning(
            "BROADCAST_SETTINGS is deprecated.",
            hint="Use the flat BROADCAST_API_* settings (see the README); "
            + ", ".join(f"S3.{k} -> BROADCAST_API_{v}" for k, v in LEGACY_S3_KEYS.items())
            + ".",
            id="broadcast_api.W001",
        )
    ]
    if "STREAM_MODEL" in legacy:
        messages.append(
            Error(
                "BROADCAST_SETTINGS['STREAM_MODEL'] cannot be honoured.",
                hint="A swappable model needs a top-level setting: set "
                f"BROADCAST_API_STREAM_MODEL = {legacy['STREAM_MODEL']!r} and subclass "
                "broadcast_api.models.AbstractStream.",
                id="broadcast_api.E011",
            )
        )
    s3 = legacy.get("S3", {})
    unknown = sorted(set(s3) - set(LEGACY_S3_KEYS)) if isinstance(s3, dict) else []
    unknown += sorted(set(legacy) - {"S3", "STREAM_MODEL"})
    if unknown:
        messages.append(
            Warning(
                f"BROADCAST_SETTINGS keys {unknown} are ignored.",
                hint="See the README for the BROADCAST_API_* settings.",
                id="broadcast_api.W002",
            )
        )
    return messages

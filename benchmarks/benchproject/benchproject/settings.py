"""Settings of the benchmark project: PostgreSQL, Redis cache, no middleware, DEBUG off.

Everything comes from the environment that ``python -m benchmarks`` sets. The baseline and
broadcast_api's views run in the same process, behind the same (empty) middleware stack
and the same authentication: DRF's stock ``TokenAuthentication`` (one indexed SELECT of
``authtoken_token`` joined to ``auth_user``), which the baseline repeats by hand.

The playlist cache is Django's built-in Redis backend, under its own alias (the README's
multi-server setup of ``BROADCAST_API_PLAYLIST_CACHE``): the viewer runs share one
playlist cache between gunicorn's worker processes, the baseline's playlist view and
broadcast_api's alike. The default cache stays local memory, as the README shows it.
S3 and STS are both ``benchmarks/sts_stub.py``.

Recordings are not closed after stop here (``BROADCAST_API_FINALIZE_RECORDINGS =
False``): with no task workers, Django's immediate backend would do that S3 work inside
each stop, which the baseline's stop does not do (and which production hands to
workers). The start/stop comparison stays about the same job.
"""

from __future__ import annotations

import os

from benchproject import instrument

instrument.install()  # count boto3 Sessions and clients built in this process

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "benchproject.urls"
WSGI_APPLICATION = "benchproject.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# BENCH_PACKAGE=0 measures the baseline alone (before broadcast_api exists, or to compare).
PACKAGE = os.environ.get("BENCH_PACKAGE", "1") == "1"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework.authtoken",
    *(["broadcast_api"] if PACKAGE else []),
    "baseline",
]
MIDDLEWARE: list[str] = []
TEMPLATES: list[dict[str, object]] = []

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB_NAME", "broadcast_bench"),
        "USER": os.environ.get("BENCH_DB_USER", "postgres"),
        "PASSWORD": os.environ.get("BENCH_DB_PASSWORD", ""),
        "HOST": os.environ.get("BENCH_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("BENCH_DB_PORT", "5432"),
        # A persistent connection per worker thread, as any production deployment has.
        "CONN_MAX_AGE": 600,
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

# Shared by every worker process (a local-memory cache would be one per process). A db
# and key prefix of the bench's own: bench_prepare deletes this prefix's keys.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "playlists": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # A database of the bench's own: bench_prepare flushes it before the runs.
        "LOCATION": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
    },
}
BROADCAST_API_PLAYLIST_CACHE = "playlists"
BROADCAST_API_FINALIZE_RECORDINGS = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}

# broadcast_api, against the local STS stub (benchmarks/sts_stub.py).
STS_STUB_URL = os.environ.get("BENCH_STS_URL", "http://127.0.0.1:8599")
BROADCAST_API_S3_BUCKET = "bench-bucket"
BROADCAST_API_S3_REGION = "us-east-1"
BROADCAST_API_STS_ENDPOINT_URL = STS_STUB_URL
BROADCAST_API_S3_ENDPOINT_URL = STS_STUB_URL  # the stub answers S3 GETs (path-style) too
BROADCAST_API_STS_ROLE_ARN = "arn:aws:iam::123456789012:role/bench-uploader"
BROADCAST_API_AWS_ACCESS_KEY_ID = "AKIABENCHBENCHBENCH0"
BROADCAST_API_AWS_SECRET_ACCESS_KEY = "benchmark-secret-not-secret"

"""Settings for the test suite.

``BROADCAST_TEST_DB=postgres`` runs on PostgreSQL at 127.0.0.1:5432 (``make test`` runs
both); the default is SQLite. The S3/STS endpoints are filled in by the moto fixture.
"""

from __future__ import annotations

import os
import tempfile

SECRET_KEY = "tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "America/Chicago"  # not UTC, so the API's UTC formatting is tested

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "broadcast_api",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if os.environ.get("BROADCAST_TEST_DB", "sqlite") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "broadcast_api"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": os.environ.get("PGTESTDATABASE", "test_broadcast_api")},
        }
    }
else:
    # A file, as a deployed SQLite database is, so that threads racing in the tests share
    # one database through real file locks (an in-memory one would lock whole tables).
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": "broadcast_api.sqlite3",
            "TEST": {
                "NAME": os.path.join(
                    tempfile.gettempdir(), f"broadcast_api_test_{os.getpid()}.sqlite3"
                )
            },
            "OPTIONS": {"timeout": 20, "init_command": "PRAGMA synchronous=OFF"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "broadcast_api",
    "DESCRIPTION": "Start and stop live HLS broadcasts; upload straight to S3.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

if os.environ.get("BROADCAST_TEST_SWAPPED_MODEL"):
    BROADCAST_API_STREAM_MODEL = "testapp.CustomStream"

BROADCAST_API_S3_BUCKET = "broadcast-test"
BROADCAST_API_S3_REGION = "us-west-1"
BROADCAST_API_STS_ROLE_ARN = "arn:aws:iam::123456789012:role/broadcast-uploader"
BROADCAST_API_AWS_ACCESS_KEY_ID = "testing"
BROADCAST_API_AWS_SECRET_ACCESS_KEY = "testing-server-secret"
# Fail fast in tests when a fake STS endpoint is unreachable.
BROADCAST_API_STS_CONNECT_TIMEOUT = 1.0
BROADCAST_API_STS_READ_TIMEOUT = 2.0
BROADCAST_API_STS_MAX_ATTEMPTS = 1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"broadcast_api": {"handlers": ["null"], "level": "INFO", "propagate": True}},
}

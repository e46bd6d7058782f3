"""Settings of the live project: the test settings, on a PostgreSQL database of the run.

The test sets ``BROADCAST_LIVE_DB_NAME`` (a database it created and drops afterwards),
``BROADCAST_LIVE_STS_URL`` (a moto server) and ``BROADCAST_LIVE_SIGNAL_LOG``; the
webhook suite also ``BROADCAST_LIVE_TASKS=db`` (``django-tasks-db``: ``db_worker``
processes run the tasks) and ``BROADCAST_LIVE_WEBHOOKS`` (JSON for
``BROADCAST_API_WEBHOOKS``, with its timings).
"""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "tests.live_project.apps.LiveProjectConfig"]
MIDDLEWARE = [*MIDDLEWARE, "tests.live_project.middleware.worker_pid"]
ROOT_URLCONF = "tests.live_project.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BROADCAST_LIVE_DB_NAME", "broadcast_api_live"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
    }
}

if os.environ.get("BROADCAST_LIVE_TASKS") == "db":
    INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

if os.environ.get("BROADCAST_LIVE_WEBHOOKS"):
    _webhooks = json.loads(os.environ["BROADCAST_LIVE_WEBHOOKS"])
    BROADCAST_API_WEBHOOKS = _webhooks["endpoints"]
    BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receivers listen on loopback
    BROADCAST_API_WEBHOOK_TIMEOUT = float(_webhooks["timeout"])
    BROADCAST_API_WEBHOOK_RETRY_DELAY = float(_webhooks["retry_delay"])
    BROADCAST_API_WEBHOOK_MAX_ATTEMPTS = int(_webhooks["max_attempts"])
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"stderr": {"class": "logging.StreamHandler"}},
        "loggers": {
            name: {"handlers": ["stderr"], "level": "INFO"}
            for name in ("broadcast_api.delivery", "django_tasks_db", "django.tasks")
        },
    }

BROADCAST_API_STS_ENDPOINT_URL = os.environ.get("BROADCAST_LIVE_STS_URL")
BROADCAST_API_S3_ENDPOINT_URL = os.environ.get("BROADCAST_LIVE_STS_URL")
# 16 request threads share one moto server: allow it time, but still bounded.
BROADCAST_API_STS_READ_TIMEOUT = 10.0

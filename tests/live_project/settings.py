"""Settings of the live project: the test settings, on a PostgreSQL database of the run.

The test sets ``BROADCAST_LIVE_DB_NAME`` (a database it created and drops afterwards),
``BROADCAST_LIVE_STS_URL`` (a moto server) and ``BROADCAST_LIVE_SIGNAL_LOG``.
"""

from __future__ import annotations

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

BROADCAST_API_STS_ENDPOINT_URL = os.environ.get("BROADCAST_LIVE_STS_URL")
BROADCAST_API_S3_ENDPOINT_URL = os.environ.get("BROADCAST_LIVE_STS_URL")
# 16 request threads share one moto server: allow it time, but still bounded.
BROADCAST_API_STS_READ_TIMEOUT = 10.0

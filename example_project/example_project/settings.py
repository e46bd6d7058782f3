"""Settings of the example host project.

Everything the demo needs comes from the environment, so the same project runs against
the local S3/STS emulator (``make demo``) or a real AWS account.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "broadcast_api",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DB_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
LOGIN_URL = "/admin/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "broadcast_api example",
    "DESCRIPTION": "Start and stop live HLS broadcasts; upload straight to S3.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# broadcast_api: the local emulator (moto_server) by default; see README for AWS.
BROADCAST_API_S3_BUCKET = os.environ.get("BROADCAST_API_S3_BUCKET", "broadcast-demo")
BROADCAST_API_S3_REGION = os.environ.get("BROADCAST_API_S3_REGION", "us-east-1")
BROADCAST_API_S3_ENDPOINT_URL = os.environ.get("BROADCAST_API_S3_ENDPOINT_URL") or None
BROADCAST_API_STS_ENDPOINT_URL = os.environ.get("BROADCAST_API_STS_ENDPOINT_URL") or None
BROADCAST_API_STS_ROLE_ARN = os.environ.get(
    "BROADCAST_API_STS_ROLE_ARN", "arn:aws:iam::123456789012:role/broadcast-uploader"
)
BROADCAST_API_AWS_ACCESS_KEY_ID = os.environ.get("BROADCAST_API_AWS_ACCESS_KEY_ID") or None
BROADCAST_API_AWS_SECRET_ACCESS_KEY = os.environ.get("BROADCAST_API_AWS_SECRET_ACCESS_KEY") or None

# Webhooks: devtools.demo points them at this project's own receiver (/webhooks/),
# which listens on loopback: hence ALLOW_PRIVATE_URLS, for this demo only.
if os.environ.get("DEMO_WEBHOOK_URL"):
    BROADCAST_API_WEBHOOKS = [
        {"url": os.environ["DEMO_WEBHOOK_URL"], "secret": os.environ["DEMO_WEBHOOK_SECRET"]}
    ]
    BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS = True

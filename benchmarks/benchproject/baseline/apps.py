from __future__ import annotations

from django.apps import AppConfig


class BaselineConfig(AppConfig):
    name = "baseline"
    default_auto_field = "django.db.models.BigAutoField"

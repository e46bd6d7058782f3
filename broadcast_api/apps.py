"""App configuration: registers the system checks and the credentials log filter."""

from __future__ import annotations

from django.apps import AppConfig


class BroadcastAPIConfig(AppConfig):
    name = "broadcast_api"
    verbose_name = "Broadcast API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from broadcast_api import (
            checks,  # noqa: F401  (registers the checks)
            redaction,
        )

        redaction.install()

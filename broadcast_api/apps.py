"""App configuration: system checks, the credentials log filter, client invalidation."""

from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import setting_changed


class BroadcastAPIConfig(AppConfig):
    name = "broadcast_api"
    verbose_name = "Broadcast API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from broadcast_api import (
            checks,  # noqa: F401  (registers the checks)
            clients,
            playback,
            redaction,
        )

        redaction.install()
        setting_changed.connect(clients.on_setting_changed, dispatch_uid="broadcast_api.clients")
        setting_changed.connect(playback.on_setting_changed, dispatch_uid="broadcast_api.playback")

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
        from django.db.models.signals import post_delete, post_save

        from broadcast_api.events import forget_stored_endpoints
        from broadcast_api.webhook_models import WebhookEndpoint

        for signal in (post_save, post_delete):
            signal.connect(
                forget_stored_endpoints,
                sender=WebhookEndpoint,
                dispatch_uid=f"broadcast_api.events.{signal}",
            )

"""App configuration: where the core and the features are wired together.

The core (streams) knows nothing of playback's cache, lifecycle or webhooks; each
feature subscribes to what the core announces (``broadcast_api.hooks``) in its
``receivers.connect()``, called here once the app registry is ready.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import setting_changed

from broadcast_api import (
    checks,  # noqa: F401  (registers the core's checks)
    clients,
    redaction,
    viewing,
)


class BroadcastAPIConfig(AppConfig):
    name = "broadcast_api"
    verbose_name = "Broadcast API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The features' receivers import their models: only once the registry is ready.
        from broadcast_api.webhooks import receivers as webhooks

        redaction.install()
        setting_changed.connect(clients.on_setting_changed, dispatch_uid="broadcast_api.clients")
        setting_changed.connect(viewing.on_setting_changed, dispatch_uid="broadcast_api.playback")
        webhooks.connect()

"""App configuration: where the core and the features are wired together.

The core (streams) imports neither lifecycle nor webhooks; each feature subscribes to
what the core announces (``broadcast_api.hooks``) in its ``receivers.connect()``,
called here once the app registry is ready.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import setting_changed

from broadcast_api import (
    checks,  # noqa: F401  (registers the core's checks)
    clients,
    hooks,
    redaction,
    signals,
    viewing,
)


class BroadcastAPIConfig(AppConfig):
    name = "broadcast_api"
    verbose_name = "Broadcast API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # They import models, which this module may not (Django imports it first).
        from broadcast_api.lifecycle import receivers as lifecycle  # noqa: PLC0415
        from broadcast_api.playback import receivers as playback  # noqa: PLC0415
        from broadcast_api.webhooks import receivers as webhooks  # noqa: PLC0415

        redaction.install()
        setting_changed.connect(clients.on_setting_changed, dispatch_uid="broadcast_api.clients")
        setting_changed.connect(viewing.on_setting_changed, dispatch_uid="broadcast_api.playback")
        hooks.after_commit(signals.send_for)  # first: a host's receivers hear of it first
        webhooks.connect()
        lifecycle.connect()
        playback.connect()

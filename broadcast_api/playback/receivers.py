"""How playback joins in, called from ``BroadcastAPIConfig.ready()`` (:func:`connect`):
its checks, signed URLs forgotten when the signer's settings change, and the poster
looked for after a stop (``posters``)."""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed

from broadcast_api.playback import (
    checks,  # noqa: F401  (registers the playback checks)
    posters,
)
from broadcast_api.playback.playlists import presigned_urls

__all__ = ["connect", "on_setting_changed"]

SIGNING_SETTINGS = frozenset(
    {"BROADCAST_API_MEDIA_SIGNER", "BROADCAST_API_PLAYBACK_URL_TTL", "BROADCAST_API_STORAGE"}
)


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in SIGNING_SETTINGS:
        presigned_urls.clear()


def connect() -> None:
    setting_changed.connect(on_setting_changed, dispatch_uid="broadcast_api.playback.signers")
    posters.connect()

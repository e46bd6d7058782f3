"""How playback joins in, called from ``BroadcastAPIConfig.ready()`` (:func:`connect`):
its checks, signed URLs forgotten when the signer's settings change, a deleted stream's
cached playlists forgotten once its deletion commits (however it was deleted), and the
poster looked for after a stop (``posters``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed

from broadcast_api import hooks
from broadcast_api.playback import (
    checks,  # noqa: F401  (registers the playback checks)
    posters,
)
from broadcast_api.playback.playlists import PlaylistCache, presigned_urls

if TYPE_CHECKING:
    from broadcast_api.hooks import Change

__all__ = ["connect", "forget_deleted", "on_setting_changed"]

SIGNING_SETTINGS = frozenset(
    {"BROADCAST_API_MEDIA_SIGNER", "BROADCAST_API_PLAYBACK_URL_TTL", "BROADCAST_API_STORAGE"}
)


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in SIGNING_SETTINGS:
        presigned_urls.clear()


def forget_deleted(change: Change) -> None:
    """A deleted stream's playlists leave the shared cache (its media are gone)."""
    PlaylistCache().forget_stream(change.stream.pk)


def connect() -> None:
    setting_changed.connect(on_setting_changed, dispatch_uid="broadcast_api.playback.signers")
    hooks.after_commit(forget_deleted, names=[hooks.STREAM_DELETED])
    posters.connect()

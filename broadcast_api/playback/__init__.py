"""Playback: a stream's HLS playlist, served to those who may watch it.

``playlists`` (the rewrite and the shared cache), ``views`` (the ``playlist.m3u8``
action ``StreamViewSet`` includes). Where a stream is watched and who may watch it
(tokens, ``playback_url``) is the core's ``broadcast_api.viewing``, since every stream's
representation carries its ``playback_url``.

``broadcast_api.playback`` was a module before it was this package; its names are
still found here, imported on first use (so importing a submodule imports nothing else).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# name -> the module that now holds it
_MOVED = {
    "Audience": "broadcast_api.viewing",
    "PLAYLIST_URL_NAME": "broadcast_api.viewing",
    "TOKEN_SALT": "broadcast_api.viewing",
    "on_setting_changed": "broadcast_api.viewing",
    "playback_token": "broadcast_api.viewing",
    "playback_url": "broadcast_api.viewing",
    "playlist_path": "broadcast_api.viewing",
    "token_stream_id": "broadcast_api.viewing",
    "playlist_key": "broadcast_api.hls",
}

__all__ = [
    "PLAYLIST_URL_NAME",
    "TOKEN_SALT",
    "Audience",
    "on_setting_changed",
    "playback_token",
    "playback_url",
    "playlist_key",
    "playlist_path",
    "token_stream_id",
]


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Moved to ``broadcast_api.playback.playlists``; this path keeps working."""

from __future__ import annotations

from broadcast_api.playback.playlists import (
    CACHE_KEY_PREFIX,
    LOCK_SECONDS,
    MEDIA_TYPE,
    NOT_READY_SECONDS,
    CachedPlaylist,
    PlaylistCache,
    PresignedUrls,
    Rewritten,
    cache_key,
    freshness,
    nested_playlist_url,
    presigned_urls,
    resolve_key,
    rewrite,
    servable,
    url_lifetime,
)

__all__ = [
    "CACHE_KEY_PREFIX",
    "LOCK_SECONDS",
    "MEDIA_TYPE",
    "NOT_READY_SECONDS",
    "CachedPlaylist",
    "PlaylistCache",
    "PresignedUrls",
    "Rewritten",
    "cache_key",
    "freshness",
    "nested_playlist_url",
    "presigned_urls",
    "resolve_key",
    "rewrite",
    "servable",
    "url_lifetime",
]

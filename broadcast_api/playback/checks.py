"""Playback's system checks: ``BROADCAST_API_MEDIA_SIGNER`` (``broadcast_api.E019``),
then what the configured signer says of its own settings (``MediaSigner.check_settings``).

Registered when ``playback.receivers`` is imported, in the app's ``ready()``. (The
playback settings the core reads, E012 to E015, are checked by ``broadcast_api.checks``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.checks import CheckMessage, Error, Tags, register
from django.utils.module_loading import import_string

from broadcast_api.conf import conf
from broadcast_api.signers import MediaSigner

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.apps import AppConfig

__all__ = ["check_media_signer"]


@register(Tags.compatibility)
def check_media_signer(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    path = conf.MEDIA_SIGNER
    try:
        signer = import_string(path) if isinstance(path, str) else None
    except ImportError:
        signer = None
    if isinstance(signer, type) and issubclass(signer, MediaSigner):
        return signer.check_settings()  # its own settings (CloudFront: E022, E023)
    return [
        Error(
            f"BROADCAST_API_MEDIA_SIGNER {path!r} is not an importable MediaSigner subclass.",
            hint="A dotted path to a subclass of broadcast_api.playback.signers.MediaSigner "
            "(the default signs with S3: broadcast_api.playback.signers.S3PresignedUrlSigner).",
            id="broadcast_api.E019",
        )
    ]

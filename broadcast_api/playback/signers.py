"""The media signers' documented path (``BROADCAST_API_MEDIA_SIGNER``'s default names
``broadcast_api.playback.signers.S3PresignedUrlSigner``): they live in
``broadcast_api.signers``, since a stream's representation signs its poster too."""

from __future__ import annotations

from broadcast_api.signers import MediaSigner, S3PresignedUrlSigner, get_media_signer

__all__ = ["MediaSigner", "S3PresignedUrlSigner", "get_media_signer"]

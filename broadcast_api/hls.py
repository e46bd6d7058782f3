"""Where a stream's HLS lives in its bucket, shared by whoever reads or writes it.

Playback serves the playlist, lifecycle closes it; both find it here, so neither
imports the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from broadcast_api.conf import conf

if TYPE_CHECKING:
    from broadcast_api.models import AbstractStream

MEDIA_TYPE = "application/vnd.apple.mpegurl"
ENDLIST = "#EXT-X-ENDLIST"


def playlist_key(stream: AbstractStream, rendition: str = "") -> str:
    """The S3 key of the stream's playlist (``rendition``: a nested one, relative to the
    stream's prefix): ``<prefix>/<BROADCAST_API_PLAYLIST_NAME>`` by default."""
    return f"{stream.s3_prefix}/{rendition or conf.PLAYLIST_NAME}"

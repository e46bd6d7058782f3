"""Where a stream's HLS and poster live in its bucket, shared by whoever reads or writes
them.

Playback serves the playlist, lifecycle closes it; both find it here, so neither
imports the other. The poster's name is the broadcast protocol's (every publisher
writes it), not a setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from broadcast_api.conf import conf

if TYPE_CHECKING:
    from broadcast_api.models import AbstractStream

MEDIA_TYPE = "application/vnd.apple.mpegurl"
ENDLIST = "#EXT-X-ENDLIST"
POSTER_NAME = "poster.jpg"


def playlist_key(stream: AbstractStream, rendition: str = "") -> str:
    """The S3 key of the stream's playlist (``rendition``: a nested one, relative to the
    stream's prefix): ``<prefix>/<BROADCAST_API_PLAYLIST_NAME>`` by default."""
    return f"{stream.s3_prefix}/{rendition or conf.PLAYLIST_NAME}"


def poster_key(stream: AbstractStream) -> str:
    """The S3 key of the stream's poster, a JPEG its broadcaster rewrites every few
    seconds: ``<prefix>/poster.jpg``."""
    return f"{stream.s3_prefix}/{POSTER_NAME}"

"""Where a stream's HLS and poster live in its bucket, shared by whoever reads or writes
them.

Playback serves the playlist, lifecycle closes it; both find it here, so neither
imports the other. The poster's name is the broadcast protocol's (every publisher
writes it), not a setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from broadcast_api.conf import conf
from broadcast_api.policies import POSTER_NAME, session_prefix

if TYPE_CHECKING:
    from broadcast_api.models import AbstractStream

MEDIA_TYPE = "application/vnd.apple.mpegurl"
ENDLIST = "#EXT-X-ENDLIST"
# POSTER_NAME ("poster.jpg") is the policies' own: a resumed session's credentials may
# write that one key beside their folder.

# Tags that belong to the media segment after them (RFC 8216 4.3.2), so a cut keeps them
# with their segment; every other tag before the first segment is the playlist's header.
SEGMENT_TAGS = (
    "#EXTINF",
    "#EXT-X-BYTERANGE",
    "#EXT-X-DISCONTINUITY",  # also matches -SEQUENCE: told apart below
    "#EXT-X-KEY",
    "#EXT-X-MAP",
    "#EXT-X-PROGRAM-DATE-TIME",
    "#EXT-X-DATERANGE",
    "#EXT-X-GAP",
    "#EXT-X-BITRATE",
    "#EXT-X-CUE",
    "#EXT-OATCLS",
)


def is_segment_tag(line: str) -> bool:
    """A tag of the media segment after it (a DISCONTINUITY-SEQUENCE is the header's)."""
    return line.startswith(SEGMENT_TAGS) and not line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE")


def playlist_key(stream: AbstractStream, rendition: str = "") -> str:
    """The S3 key of the stream's playlist (``rendition``: a nested one, relative to the
    stream's prefix): ``<prefix>/<BROADCAST_API_PLAYLIST_NAME>`` by default."""
    return f"{stream.s3_prefix}/{rendition or conf.PLAYLIST_NAME}"


def session_playlist_key(stream: AbstractStream, session: int, rendition: str = "") -> str:
    """The key publishing session ``session`` writes that playlist to: the same name as
    :func:`playlist_key`, under the session's folder (``<prefix>/session-<n>``, the prefix
    itself for session 1)."""
    return f"{session_prefix(stream.s3_prefix, session)}/{rendition or conf.PLAYLIST_NAME}"


def poster_key(stream: AbstractStream) -> str:
    """The S3 key of the stream's poster, a JPEG its broadcaster rewrites every few
    seconds: ``<prefix>/poster.jpg``."""
    return f"{stream.s3_prefix}/{POSTER_NAME}"

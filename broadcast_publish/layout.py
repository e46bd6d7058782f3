"""Where a broadcast's files go under the stream's prefix: the upload layout.

Every client of the protocol (this CLI, the browser publisher, a mobile app) writes the
same names, relative to ``<s3_bucket_path>/``:

- ``index.m3u8``: the playlist the stream's ``playback_url`` opens. With one rendition
  it is the media playlist itself (an EVENT playlist), with its segments beside it;
  with several it is the master playlist, and each rendition has ``<name>/index.m3u8``
  with its segments in ``<name>/``.
- ``poster.jpg``: the latest poster image, overwritten every few seconds.

A resumed broadcast (``--resume``: a new publishing session) writes the same names under
the session's folder, the answer's ``s3_bucket_path`` (``<prefix>/session-<n>``), and
the poster still at the stream's own prefix (``s3_stream_path``).

Segments are never overwritten: each name is uploaded once, before any playlist that
lists it.
"""

from __future__ import annotations

PLAYLIST_NAME = "index.m3u8"
POSTER_NAME = "poster.jpg"
SEGMENT_PATTERN = "seg_%06d.ts"


def rendition_playlist(rendition: str) -> str:
    """The media playlist of one rendition, relative to the prefix."""
    return f"{rendition}/{PLAYLIST_NAME}"

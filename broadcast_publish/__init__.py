"""``broadcast-publish``: the reference publisher of django-broadcast-api.

A client, not part of the server: it imports neither Django nor ``broadcast_api``, and
talks to a broadcast_api server only through its HTTP API. Install it with the
``publisher`` extra (``pip install "django-broadcast-api[publisher]"``), then::

    broadcast-publish --api https://example.com/api --token "$TOKEN" --name "my stream"

What it does, in order:

1. ``POST /stream/start/``: temporary AWS credentials that may upload under one S3
   prefix and nothing else;
2. runs ffmpeg (from ``PATH``, or the static binary of the ``imageio-ffmpeg`` wheel) on a
   generated test pattern, on ``--input FILE`` (looped), or on what an encoder such as
   OBS sends to ``--listen rtmp://…`` / ``srt://…``, producing HLS with 1 s segments and
   ``EXT-X-PROGRAM-DATE-TIME`` in a private temp dir: one rendition, or with
   ``--renditions`` a master playlist and one playlist per rendition; and a poster JPEG;
3. uploads each finished segment, then the playlist that lists it, under
   ``s3://<s3_bucket_name>/<s3_bucket_path>/`` (see :mod:`broadcast_publish.layout`),
   retrying with backoff and refreshing the credentials before they expire;
4. on ``--duration`` elapsed, SIGINT or SIGTERM (or ffmpeg ending): lets ffmpeg finish
   the last segment, uploads the final playlists with ``#EXT-X-ENDLIST`` and calls
   ``POST /stream/stop/``.

stdout carries one JSON object per line for each lifecycle event (the docs' broadcasting
page lists them); the human log goes to stderr.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"

"""Reference publisher: broadcasts live HLS through broadcast_api, straight to S3.

This is *reference client code*, the desktop counterpart of what a mobile broadcasting app
does. It lives with the example project and is not part of the ``django-broadcast-api``
wheel: the server library never touches video. Run it from ``example_project/``::

    python -m publisher --api http://127.0.0.1:8000 --user demo --password demo \\
        --name "my first stream" --duration 60

What it does, in order:

1. logs in to the API with HTTP Basic and calls ``POST /stream/start/``, which answers
   temporary AWS credentials that may upload under one S3 prefix and nothing else;
2. runs ffmpeg (the static binary of the ``imageio-ffmpeg`` wheel, so no root or system
   package is needed) on a generated test pattern with a burnt-in UTC clock, or on
   ``--input FILE`` (looped), producing HLS with 1 s segments and
   ``EXT-X-PROGRAM-DATE-TIME`` in a private temp dir;
3. watches that dir and uploads each finished segment, then the playlist that lists it, to
   ``s3://<s3_bucket_name>/<s3_bucket_path>/<file>`` with the minted credentials (the
   playlist in S3 therefore never names a segment that is not there yet), retrying
   failed uploads with exponential backoff;
4. on ``--duration`` elapsed, SIGINT or SIGTERM (or ffmpeg dying): lets ffmpeg finish the
   last segment, uploads the final playlist with ``#EXT-X-ENDLIST`` (so the recording
   plays on demand) and calls ``POST /stream/stop/``.

stdout carries one JSON object per line for each lifecycle event (``started``,
``first_upload``, ``stopped``) for scripts; the human log goes to stderr.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"

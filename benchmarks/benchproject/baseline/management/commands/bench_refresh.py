"""In-process CPU of one playlist refresh, per viewer stream: the package's and the
baseline's.

For each stream (``--streams``, ids made by ``bench_prepare``, one per playlist length),
interleaved ``--n`` times: the package's refresh (``PlaylistCache.refreshed`` after its
entry is deleted from the cache, so an unconditional S3 GET of the stub's playlist and a
full rewrite of its live window, the gzip, the ``cache.set``), then the baseline's
(``baseline.views._rewritten``: the same GET and window, its own signing). Each is
timed with ``time.thread_time_ns()`` (this thread's CPU: the Python work, not the waits
for the stub, Redis or PostgreSQL). Both reuse the media URLs they signed before, as a
server does between refreshes; in a live run one new segment a second is signed on top
(a presign costs ~0.1 ms). Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--streams", required=True, help="comma list of stream ids")
        parser.add_argument("--n", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        from baseline import views
        from broadcast_api.models import get_stream_model
        from broadcast_api.playback.playlists import (
            PlaylistCache,
            cache_key,
            nested_playlist_url,
        )

        playlists = PlaylistCache()
        result: dict[str, Any] = {"n": options["n"], "streams": {}}
        for raw in options["streams"].split(","):
            stream_id = uuid.UUID(raw)
            stream = get_stream_model()._default_manager.get(pk=stream_id)
            path = f"/stream/{stream_id}/playlist.m3u8"
            samples: dict[str, list[float]] = {"package": [], "baseline": []}
            entry = None
            baseline: tuple[bytes, bytes] = (b"", b"")
            for i in range(options["n"] + 1):  # the first of each is a warm-up
                playlists.cache.delete(cache_key(stream_id, ""))
                started = time.thread_time_ns()
                entry = playlists.refreshed(
                    stream, playlist_url=nested_playlist_url(path, stream_id)
                )
                package_ns = time.thread_time_ns() - started
                started = time.thread_time_ns()
                baseline = views._rewritten(stream_id)
                baseline_ns = time.thread_time_ns() - started
                if i:
                    samples["package"].append(package_ns / 1e6)
                    samples["baseline"].append(baseline_ns / 1e6)
            assert entry is not None
            assert entry.body is not None
            stored = views.S3.get_object(
                Bucket=stream.s3_bucket, Key=f"{stream.s3_prefix}/{views.PLAYLIST_NAME}"
            )["Body"].read()
            result["streams"][raw] = {
                "stored_bytes": len(stored),
                "stored_segments": stored.count(b"#EXTINF:"),
                "served_segments": entry.body.count(b"#EXTINF:"),
                "package": {
                    "cpu_ms_p50": round(statistics.median(samples["package"]), 3),
                    "cpu_ms_min": round(min(samples["package"]), 3),
                    "body_bytes": len(entry.body),
                    "gzip_bytes": len(entry.gzipped or b""),
                },
                "baseline": {
                    "cpu_ms_p50": round(statistics.median(samples["baseline"]), 3),
                    "cpu_ms_min": round(min(samples["baseline"]), 3),
                    "body_bytes": len(baseline[0]),
                    "gzip_bytes": len(baseline[1]),
                },
            }
        self.stdout.write(json.dumps(result))

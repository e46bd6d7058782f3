"""The reaper at scale (issue 18): one ``reap()`` over many live streams, and what the
database side of ending a thousand of them costs.

S3 is ``devtools.testing.s3_stub`` (``--endpoint``, started by the phase in a process of
its own), answering every request after a fixed delay, a key with ``/idle/`` last written
on 1999-12-31, any other just now. The streams are bulk-created under
``streams/reap-bench/{live,idle}/<id>`` (one in ``--idle-share`` idle), started
:data:`AGE` ago, and the reaper runs with ``now`` just past their idle timeout, so the
bench's other live streams (pools, viewers: all younger) are no candidates and each run
sees its own streams only (checked: one HEAD each). They are deleted afterwards.

A deployment's setup: a webhook endpoint (each stop writes its outbox event, delivery
row and enqueues the delivery) and recordings closed by workers (the stop enqueues
``finalize_recording``; Django's dummy backend records it, nothing runs it here).

- ``runs``: wall time of one ``reap()``, serial (``BROADCAST_API_REAPER_CONCURRENCY`` 1,
  the behaviour before issue 18, over ``--serial-streams``) and at each ``--widths``
  over ``--streams``; HEADs answered and most in flight, as the stub counted them. Then
  once more at the first width with ``--watched`` percent of the live streams watched:
  their uploads recorded just now in the playlist cache (Redis), as a refresh does, so
  the reaper asks S3 about the others only.
- ``stops``: ``--stops`` ``stop_stream`` calls in a row (the reaper's database side,
  each with its after-commit work), with the close enqueued for workers, and with
  Django's immediate backend (the close runs inline: a GET and a PUT of the playlist;
  no webhook endpoint then, or its deliveries would run inline too).

Prints one JSON line.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandParser
from django.test.utils import override_settings
from django.utils import timezone

if TYPE_CHECKING:
    from datetime import datetime

# How long the bench's streams have been live: older than any other stream of the run
# (bench_prepare made those), and what a stop's peak-viewer read spans.
AGE = timedelta(minutes=30)
PREFIX = "streams/reap-bench"
WEBHOOK = {
    "url": "https://hooks.example.com/reaper-bench",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La",
}


def stub(endpoint: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(endpoint + path, timeout=10) as response:
        stats: dict[str, Any] = json.loads(response.read())
        return stats


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--endpoint", required=True, help="the S3 stub's URL")
        parser.add_argument("--streams", type=int, default=10_000)
        parser.add_argument("--serial-streams", type=int, default=1_000)
        parser.add_argument("--widths", default="16", help="comma list of concurrencies")
        parser.add_argument("--idle-share", type=int, default=10, help="one in N is idle")
        parser.add_argument("--stops", type=int, default=1_000)
        parser.add_argument(
            "--watched",
            type=int,
            default=50,
            help="percent of the live streams watched in one more run at the first width"
            " (0: no such run)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from broadcast_api.deferred import FRAMEWORK
        from broadcast_api.models import get_stream_model

        endpoint = options["endpoint"]
        backend = f"{FRAMEWORK or 'django.tasks'}.backends"
        deployment = override_settings(
            BROADCAST_API_S3_ENDPOINT_URL=endpoint,
            BROADCAST_API_AWS_ACCESS_KEY_ID="stub-key-id",
            BROADCAST_API_AWS_SECRET_ACCESS_KEY="stub-secret",
            BROADCAST_API_FINALIZE_RECORDINGS=True,
            BROADCAST_API_WEBHOOKS=[WEBHOOK],
            TASKS={"default": {"BACKEND": f"{backend}.dummy.DummyBackend"}},
        )
        model = get_stream_model()
        result: dict[str, Any] = {
            "delay_ms": None,
            "idle_share": options["idle_share"],
            "framework": FRAMEWORK,
            "runs": [],
            "stops": [],
        }
        widths = [int(width) for width in options["widths"].split(",") if width]
        plan = [(1, options["serial_streams"], 0)] + [
            (width, options["streams"], 0) for width in widths
        ]
        if options["watched"] and widths:
            plan.append((widths[0], options["streams"], options["watched"]))
        with deployment:
            self.clean(model)
            for width, count, watched in plan:
                if count <= 0:
                    continue
                with override_settings(BROADCAST_API_REAPER_CONCURRENCY=width):
                    result["runs"].append(
                        self.run(model, endpoint, width, count, watched, options)
                    )
            for inline in (False, True):
                if options["stops"] <= 0:
                    break
                # Inline: Django's immediate backend, and no webhook endpoint (its
                # deliveries would run inline too, to a host that is not ours).
                inline_settings = {
                    "TASKS": {"default": {"BACKEND": f"{backend}.immediate.ImmediateBackend"}},
                    "BROADCAST_API_WEBHOOKS": [],
                }
                with override_settings(**(inline_settings if inline else {})):
                    result["stops"].append(self.stops(model, endpoint, options["stops"], inline))
        result["delay_ms"] = result["runs"][0]["delay_ms"] if result["runs"] else None
        self.stdout.write(json.dumps(result))

    def make(self, model: Any, count: int, idle_share: int) -> tuple[int, datetime]:
        """The streams, and the ``now`` at which a reaper sees them and no others."""
        from broadcast_api.conf import conf

        started = timezone.now() - AGE
        streams, idle = [], 0
        for index in range(count):
            stream_id = uuid.uuid4()
            state = "idle" if index % idle_share == 0 else "live"
            idle += state == "idle"
            streams.append(
                model(
                    id=stream_id,
                    start_date=started,
                    s3_bucket="bench-bucket",
                    s3_prefix=f"{PREFIX}/{state}/{stream_id}",
                    s3_region="us-east-1",
                )
            )
        model._default_manager.bulk_create(streams, batch_size=1000)
        return idle, started + timedelta(seconds=conf.IDLE_TIMEOUT + 1)

    def clean(self, model: Any) -> None:
        from broadcast_api.webhooks.models import WebhookEvent

        ours = model._default_manager.filter(s3_prefix__startswith=PREFIX + "/")
        WebhookEvent._default_manager.filter(
            stream_id__in=ours.values_list("pk", flat=True)
        ).delete()
        ours.delete()

    def run(
        self,
        model: Any,
        endpoint: str,
        width: int,
        count: int,
        watched: int,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        from broadcast_api import uploads
        from broadcast_api.lifecycle.reaper import reap

        idle, now = self.make(model, count, options["idle_share"])
        if watched:  # as the playlist endpoint records it when it refreshes: just now
            live = model._default_manager.filter(s3_prefix__startswith=f"{PREFIX}/live/")
            ids = list(live.values_list("pk", flat=True))
            for stream_id in ids[: len(ids) * watched // 100]:
                uploads.record(stream_id, timezone.now())
        stub(endpoint, "/__reset")
        started = time.perf_counter()
        report = reap(now=now)
        wall = time.perf_counter() - started
        stats = stub(endpoint, "/__stats")
        self.clean(model)
        asked = report.checked + report.seen_uploading
        if len(report.ended) != idle or report.errors or asked != count:
            raise RuntimeError(
                f"reap checked {asked} of {count} streams, ended"
                f" {len(report.ended)} of {idle} idle ones, {len(report.errors)} errors"
            )
        return {
            "width": width,
            "streams": count,
            "watched_percent": watched,
            "seen_uploading": report.seen_uploading,
            "ended": len(report.ended),
            "wall_s": round(wall, 3),
            "streams_per_s": round(count / wall, 1),
            "wall_10k_s": round(wall * 10_000 / count, 1),
            "extrapolated": count != 10_000,
            "heads": stats.get("HEAD 200", 0),
            "max_in_flight": stats["max_in_flight"],
            "delay_ms": stats.get("delay_ms"),
        }

    def stops(self, model: Any, endpoint: str, count: int, inline: bool) -> dict[str, Any]:
        from broadcast_api.models import StopReason
        from broadcast_api.services import stop_stream

        self.make(model, count, 1)  # every one idle: each will be stopped
        streams = list(
            model._default_manager.select_related("owner").filter(
                s3_prefix__startswith=PREFIX + "/"
            )
        )
        stub(endpoint, "/__reset")
        started = time.perf_counter()
        stopped = sum(stop_stream(s, reason=StopReason.IDLE).stopped for s in streams)
        wall = time.perf_counter() - started
        stats = stub(endpoint, "/__stats")
        self.clean(model)
        return {
            "close": "inline" if inline else "workers",
            "stops": stopped,
            "wall_s": round(wall, 3),
            "ms_per_stop": round(wall * 1000 / max(1, stopped), 2),
            "s3_requests": sum(v for k, v in stats.items() if k.split()[0] in ("GET", "PUT")),
        }

"""Prepare the benchmark database: migrate, the bench user and token, stop-id pools.

Both stream tables are emptied, then each gets ``--pool-size`` live streams owned by the
bench user, with predictable ids ``<pool>-0000-4000-8000-<index as 12 hex digits>`` so
wrk's Lua script can name them without reading a file. The rows are copied from one
template row made through the ORM, so fields a stream model adds get their defaults.

For the viewer runs: one more live stream per playlist length (``--viewer-lengths``,
seconds: 60 and 7,200 by default), made through the package's model, with the prefix
``streams/live-<seconds>s/<id>`` in ``bench-bucket``, where the stub serves an EVENT
playlist that many one-second segments long, and a playback token for each valid for
``VIEWER_TOKEN_TTL`` seconds; the bench's keys in the cache (Redis) are deleted, so
every run starts from an empty playlist cache.
Prints one JSON line.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, models
from django.test.utils import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from baseline.models import BaselineStream

# Pool prefixes (8 hex digits): one for the baseline, one for the package.
POOLS = {"baseline": "ba5e0000", "package": "5a0c0000"}
VIEWER_TOKEN_TTL = 4 * 3600  # longer than any run


def stream_id(pool: str, index: int) -> str:
    return f"{POOLS[pool]}-0000-4000-8000-{index:012x}"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pool-size", type=int, default=200_000)
        parser.add_argument("--token", required=True, help="40-character token key")
        parser.add_argument(
            "--viewer-lengths", default="60,7200", help="seconds of playlist per viewer stream"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username="bench", defaults={"is_active": True, "is_staff": False}
        )
        Token.objects.filter(user=user).delete()
        Token.objects.create(user=user, key=options["token"])

        targets: list[tuple[str, type[models.Model]]] = [("baseline", BaselineStream)]
        if getattr(settings, "PACKAGE", True):
            from broadcast_api.models import get_stream_model

            targets.append(("package", get_stream_model()))
        size = options["pool_size"]
        for pool, model in targets:
            self.seed(model, pool, size, user)
        lengths = [int(x) for x in options["viewer_lengths"].split(",") if x]
        viewer = (
            {
                "token_ttl": VIEWER_TOKEN_TTL,
                "streams": {str(n): self.viewer_stream(user, n) for n in lengths},
            }
            if len(targets) > 1
            else {}
        )
        with connection.cursor() as cursor:
            for _, model in targets:
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        self.clear_cache()
        self.stdout.write(
            json.dumps(
                {
                    "user_id": user.pk,
                    "pool_size": size,
                    "pools": {pool: POOLS[pool] for pool, _ in targets},
                    "tables": {pool: model._meta.db_table for pool, model in targets},
                    "viewer": viewer,
                }
            )
        )

    @staticmethod
    def viewer_stream(user: Any, seconds: int) -> dict[str, Any]:
        """A live stream whose playlist is ``seconds`` long, and a playback token for it."""
        from broadcast_api.models import get_stream_model
        from broadcast_api.playback import playback_token

        stream_id = uuid.uuid4()
        stream = get_stream_model()._default_manager.create(
            id=stream_id,
            name=f"viewer-bench-{seconds}s",
            type="hls",
            owner=user,
            status="live",
            start_date=timezone.now(),
            s3_bucket="bench-bucket",
            s3_prefix=f"streams/live-{seconds}s/{stream_id}",
            s3_region="us-east-1",
        )
        with override_settings(BROADCAST_API_PLAYBACK_TOKEN_TTL=VIEWER_TOKEN_TTL):
            token = playback_token(stream.pk)
        return {"stream_id": str(stream.pk), "token": token, "seconds": seconds}

    @staticmethod
    def clear_cache() -> None:
        """Empty the playlist cache: its Redis database is the bench's own (db 9 unless
        ``BENCH_REDIS_URL`` says otherwise), so a flush touches nothing else."""
        caches["playlists"].clear()

    def seed(self, model: type[models.Model], pool: str, size: int, user: Any) -> None:
        table = model._meta.db_table
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {qn(table)} CASCADE")
        template = model(
            name="seed",
            type="hls",
            owner=user,
            status="live",
            start_date=timezone.now(),
            s3_bucket="bench-bucket",
            s3_prefix="streams/seed",
            s3_region="us-east-1",
        )
        template.save(force_insert=True)
        columns, exprs = [], []
        for field in model._meta.concrete_fields:
            if field.primary_key:
                continue
            columns.append(qn(str(field.column)))
            if field.unique and isinstance(field, models.CharField):
                exprs.append(f"t.{qn(str(field.column))} || '-' || g::text")
            else:
                exprs.append(f"t.{qn(str(field.column))}")
        pk = qn(str(model._meta.pk.column))
        id_expr = f"('{POOLS[pool]}-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid"
        sql = (
            f"INSERT INTO {qn(table)} ({pk}, {', '.join(columns)}) "
            f"SELECT {id_expr}, {', '.join(exprs)} FROM {qn(table)} t "
            f"CROSS JOIN generate_series(0, %s) g WHERE t.{pk} = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [size - 1, template.pk])
            cursor.execute(f"DELETE FROM {qn(table)} WHERE {pk} = %s", [template.pk])

"""``manage.py broadcast_reap``: end vanished broadcasts; retry unfinished recordings.

Run it every minute or so (cron, a Kubernetes CronJob, your scheduler); two at once are
safe. ``--dry-run`` lists what it would end and changes nothing. The exit status is 0,
or 1 when S3 could not be asked about some stream (those are left live and retried).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError

from broadcast_api.lifecycle.reaper import reap

if TYPE_CHECKING:
    from django.core.management.base import CommandParser

    from broadcast_api.models import AbstractStream


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be ended; change nothing"
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        verb = "would end" if dry_run else "ended"

        def describe(stream: AbstractStream, reason: str) -> str:
            owner = getattr(stream.owner, "get_username", lambda: None)() or "-"
            started = stream.start_date.strftime("%Y-%m-%d %H:%M:%S")
            return f"{verb} {stream.pk} ({reason}; owner {owner}; started {started} UTC)"

        report = reap(dry_run=dry_run)
        for stream, reason in report.ended:
            self.stdout.write(describe(stream, reason))
        for stream in report.finalized:
            self.stdout.write(f"finalized the recording of {stream.pk}")
        for stream, reason in report.errors:
            self.stderr.write(f"could not check {stream.pk}: {reason}; left live")
        if report.gave_up:
            self.stderr.write(
                "S3 failed too often in a row: the other live streams were not checked"
            )
        self.stdout.write(
            f"{len(report.ended)} stream{'s' if len(report.ended) != 1 else ''} {verb}"
            + (f", {len(report.finalized)} recording(s) finalized" if report.finalized else "")
            + "."
        )
        if report.errors:
            raise CommandError(
                f"{len(report.errors)} stream(s) could not be checked", returncode=1
            )

"""``manage.py broadcast_reap``: end vanished broadcasts; retry unfinished recordings;
finish interrupted deletions; delete streams past ``BROADCAST_API_RECORDING_RETENTION``.

Run it every minute or so (cron, a Kubernetes CronJob, your scheduler); two at once are
safe. ``--dry-run`` lists what it would end and delete, and changes nothing. The exit
status is 0, or 1 when S3 could not be asked about some stream (those are left live and
retried) or a deletion failed (left marked and retried).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError

from broadcast_api.lifecycle.reaper import reap

if TYPE_CHECKING:
    from django.core.management.base import CommandParser

    from broadcast_api.lifecycle.reaper import ReapReport
    from broadcast_api.models import AbstractStream


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="list what would be ended or deleted; change nothing",
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        verb = "would end" if dry_run else "ended"
        finished = "to finish" if dry_run else "finished"
        expired = "would expire" if dry_run else "expired (retention)"

        def describe(stream: AbstractStream, reason: str) -> str:
            started = stream.start_date.strftime("%Y-%m-%d %H:%M:%S")
            owner = describe_owner(stream)
            return f"{verb} {stream.pk} ({reason}; {owner}; started {started} UTC)"

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
        self.write_deletions(report, dry_run=dry_run)
        self.stdout.write(
            f"{len(report.ended)} stream{'s' if len(report.ended) != 1 else ''} {verb}"
            + (f", {len(report.finalized)} recording(s) finalized" if report.finalized else "")
            + (f", {len(report.deleted)} deletion(s) {finished}" if report.deleted else "")
            + (f", {len(report.expired)} {expired}" if report.expired else "")
            + "."
        )
        if report.errors or report.deletion_errors:
            raise CommandError(
                f"{len(report.errors)} stream(s) could not be checked, "
                f"{len(report.deletion_errors)} could not be deleted",
                returncode=1,
            )

    def write_deletions(self, report: ReapReport, *, dry_run: bool) -> None:
        """The deletions finished and the streams expired (retention), one line each."""
        finish = "would finish deleting" if dry_run else "finished deleting"
        for stream in report.deleted:
            self.stdout.write(f"{finish} {stream.pk} ({describe_owner(stream)})")
        expire = "would delete" if dry_run else "deleted"
        for stream in report.expired:
            ended = stream.stop_date.strftime("%Y-%m-%d %H:%M:%S") if stream.stop_date else "-"
            self.stdout.write(
                f"{expire} {stream.pk} (retention; {describe_owner(stream)}; ended {ended} UTC)"
            )
        for stream, reason in report.deletion_errors:
            self.stderr.write(f"could not delete {stream.pk}: {reason}; left marked")


def describe_owner(stream: AbstractStream) -> str:
    return "owner " + (getattr(stream.owner, "get_username", lambda: None)() or "-")

"""``manage.py broadcast_webhooks_resend``: enqueue webhook deliveries again.

By default, the pending ones that are due and held by no worker (a retry whose task was
lost, a worker that died mid-delivery); with ``--failed``, also those that gave up, each
with a fresh set of tries. Deliveries keep their ``webhook-id``, so receivers that drop
duplicates see each event once. ``broadcast_reap`` does the first part every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand

from broadcast_api.webhooks.delivery import due_deliveries
from broadcast_api.webhooks.tasks import enqueue_deliveries

if TYPE_CHECKING:
    from django.core.management.base import CommandParser


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--failed", action="store_true", help="also resend deliveries that failed"
        )

    def handle(self, *args: Any, failed: bool = False, **options: Any) -> None:
        count = enqueue_deliveries(due_deliveries(include_failed=failed))
        self.stdout.write(f"{count} webhook deliver{'ies' if count != 1 else 'y'} enqueued.")

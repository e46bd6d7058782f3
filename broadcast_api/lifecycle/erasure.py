"""Erasure: a deleted user's streams deleted too (``BROADCAST_API_ON_OWNER_DELETE``).

With ``"delete"``, the user's ``pre_delete`` marks their streams for deletion inside the
transaction that deletes the user (so a rolled-back user deletion marks nothing), and
once it commits a task (``tasks.delete_streams``, on the package's task backend, so the
request that deleted the user does not wait for S3) takes their streams through
``deletion.delete_stream`` (objects, then rows, then ``stream.deleted``). A deletion
that fails then, a task never run or a process that dies before it leaves marked rows
that ``reap()`` finishes. With ``"keep"`` (the default)
the streams stay, ownerless (``owner`` set NULL).
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import pre_delete

from broadcast_api.conf import conf
from broadcast_api.lifecycle.deletion import mark_for_deletion
from broadcast_api.lifecycle.tasks import enqueue_deletion
from broadcast_api.models import get_stream_model

__all__ = ["DELETE", "KEEP", "connect", "on_owner_delete"]

KEEP = "keep"
DELETE = "delete"


def on_owner_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    """The user's ``pre_delete``: mark their streams, delete them after the commit."""
    if conf.ON_OWNER_DELETE != DELETE or instance.pk is None:
        return
    streams = get_stream_model()._default_manager.filter(owner_id=instance.pk)
    ids = list(streams.values_list("pk", flat=True))
    if ids:
        mark_for_deletion(streams)
        transaction.on_commit(functools.partial(enqueue_deletion, ids))


def connect() -> None:
    pre_delete.connect(
        on_owner_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="broadcast_api.erasure"
    )

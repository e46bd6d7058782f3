"""The baseline's table: the same columns as ``broadcast_api.Stream``.

Only the primary key and Django's default index on the owner foreign key; the package's
extra indexes (for listing and idle sweeps) are a cost of its features, so the baseline
does not carry them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class BaselineStream(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, blank=True, default="")
    type = models.CharField(max_length=16, default="hls")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(max_length=16, default="live")
    start_date = models.DateTimeField()
    stop_date = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=16, blank=True, default="")
    s3_bucket = models.CharField(max_length=63)
    s3_prefix = models.CharField(max_length=1024)
    s3_region = models.CharField(max_length=32)

    def __str__(self) -> str:
        return str(self.id)

"""A host app's own stream model, used to prove the swappable model works."""

from __future__ import annotations

from django.db import models

from broadcast_api.models import AbstractStream


class CustomStream(AbstractStream):
    channel = models.CharField(max_length=100, blank=True, default="")

    class Meta(AbstractStream.Meta):
        pass

"""Streams: ``AbstractStream`` to extend, ``Stream`` (swappable), ``get_stream_model()``.

To use your own model, subclass ``AbstractStream`` in your app and set
``BROADCAST_API_STREAM_MODEL = "yourapp.YourStream"`` before the first migration.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from broadcast_api.conf import conf

if TYPE_CHECKING:
    from django.db.models import Model


class StreamType(models.TextChoices):
    HLS = "hls", "HLS"


class StreamStatus(models.TextChoices):
    LIVE = "live", _("live")
    ENDED = "ended", _("ended")


class StopReason(models.TextChoices):
    CLIENT = "client", _("stopped by the broadcaster")
    ADMIN = "admin", _("stopped by an administrator")
    IDLE = "idle", _("broadcaster went idle")
    MAX_DURATION = "max_duration", _("ran past the maximum duration")


class AbstractStream(models.Model):
    """One broadcast: who started it, when, and where its segments are uploaded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=255, blank=True, default="")
    type = models.CharField(
        _("type"), max_length=16, choices=StreamType.choices, default=StreamType.HLS
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="%(app_label)s_%(class)s_set",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=StreamStatus.choices, default=StreamStatus.LIVE
    )
    start_date = models.DateTimeField(_("started at"), default=timezone.now)
    stop_date = models.DateTimeField(_("stopped at"), null=True, blank=True)
    stop_reason = models.CharField(
        _("stop reason"), max_length=16, choices=StopReason.choices, blank=True, default=""
    )
    s3_bucket = models.CharField(_("S3 bucket"), max_length=63)
    s3_prefix = models.CharField(_("S3 key prefix"), max_length=1024)
    s3_region = models.CharField(_("S3 region"), max_length=32)
    is_public = models.BooleanField(
        _("public"),
        default=False,
        help_text=_("Anyone may watch it; otherwise the owner, staff and token holders."),
    )
    title = models.CharField(_("title"), max_length=255, blank=True, default="")
    description = models.TextField(_("description"), max_length=5000, blank=True, default="")
    # Idempotent start: the client's Idempotency-Key, and what the request asked for.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=255, blank=True, default="", editable=False
    )
    request_fingerprint = models.CharField(
        _("request fingerprint"), max_length=64, blank=True, default="", editable=False
    )
    # When the recording's playlist was closed with #EXT-X-ENDLIST (or found closed).
    finalized_at = models.DateTimeField(_("recording finalized at"), null=True, blank=True)
    # The most concurrent viewers while live (``broadcast_api.viewers``), set at the stop.
    peak_viewer_count = models.PositiveIntegerField(
        _("peak viewers"), null=True, blank=True, editable=False
    )
    # Publishing sessions: 1 at the start; each resume within
    # ``BROADCAST_API_RECONNECT_WINDOW`` adds one, and that session uploads beside the
    # earlier ones (never over them).
    publish_session = models.PositiveIntegerField(
        _("publishing session"), default=1, editable=False
    )
    # When the reaper found the broadcaster quiet (``stream.disconnected``); cleared by
    # a resume (``stream.reconnected``).
    disconnected_at = models.DateTimeField(
        _("disconnected since"), null=True, blank=True, editable=False
    )
    # When the server first saw the broadcaster's poster image under the prefix.
    poster_uploaded_at = models.DateTimeField(
        _("poster first seen at"), null=True, blank=True, editable=False
    )
    # A deletion under way: the row answers 404 to everyone but staff until its objects
    # and then the row are gone (the reaper finishes one that was interrupted).
    deleted_at = models.DateTimeField(
        _("deletion started at"), null=True, blank=True, editable=False
    )

    class Meta:
        abstract = True
        ordering = ["-start_date"]
        verbose_name = _("stream")
        verbose_name_plural = _("streams")
        indexes = [
            # The caller's streams, optionally by status, newest first.
            models.Index(
                fields=["owner", "status", "-start_date"], name="%(app_label)s_%(class)s_owner"
            ),
            # What is live (operations, idle sweeps), oldest first.
            models.Index(fields=["status", "start_date"], name="%(app_label)s_%(class)s_status"),
        ]
        constraints = [
            # One stream per user and Idempotency-Key: concurrent retries create one.
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="%(app_label)s_%(class)s_idempotency",
            ),
        ]

    def __str__(self) -> str:
        return self.name or str(self.id)

    @property
    def is_live(self) -> bool:
        return self.status == StreamStatus.LIVE


class Stream(AbstractStream):
    """The default stream model; replace it with ``BROADCAST_API_STREAM_MODEL``."""

    class Meta(AbstractStream.Meta):
        swappable = "BROADCAST_API_STREAM_MODEL"


def get_stream_model() -> type[AbstractStream]:
    """The active stream model class, as ``get_user_model()`` is for users."""
    try:
        model: type[Model] = apps.get_model(conf.STREAM_MODEL, require_ready=False)
    except (ValueError, LookupError) as exc:
        raise ImproperlyConfigured(
            f"BROADCAST_API_STREAM_MODEL refers to {conf.STREAM_MODEL!r}, "
            "which is not an installed model"
        ) from exc
    if not issubclass(model, AbstractStream):
        raise ImproperlyConfigured("BROADCAST_API_STREAM_MODEL must subclass AbstractStream")
    return model


# The features' models live in their packages, under this app's label: Django loads an
# app's models from its ``models`` module, so importing them here registers them.
from broadcast_api.webhooks.models import (  # noqa: E402
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "AbstractStream",
    "StopReason",
    "Stream",
    "StreamStatus",
    "StreamType",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "get_stream_model",
]

"""Webhooks' records: endpoints (besides ``BROADCAST_API_WEBHOOKS``), the outbox, attempts.

A :class:`WebhookEvent` is written in the same transaction as the state change it
announces, with one :class:`WebhookDelivery` per subscribed endpoint; tasks deliver them
after commit and log each try as a :class:`WebhookAttempt`. Nothing here holds a minted
credential; an endpoint's signing secret is only ever read to sign.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from broadcast_api.webhooks.secrets import new_webhook_secret

__all__ = [
    "DeliveryStatus",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "new_webhook_secret",
]


class WebhookEndpoint(models.Model):
    """A receiver of the package's events, managed in the admin."""

    url = models.URLField(_("URL"), max_length=2048)
    secret = models.CharField(
        _("signing secret"),
        max_length=255,
        default=new_webhook_secret,
        help_text=_("whsec_…: the receiver verifies each webhook-signature with it."),
    )
    previous_secret = models.CharField(
        _("previous signing secret"),
        max_length=255,
        blank=True,
        default="",
        help_text=_("While set, webhooks are signed with both (secret rotation)."),
    )
    events = models.JSONField(
        _("events"),
        default=list,
        blank=True,
        help_text=_('Event types to send, e.g. ["stream.started"]; empty: all of them.'),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    description = models.CharField(_("description"), max_length=255, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.events or event_type in self.events)


class WebhookEvent(models.Model):
    """One event, as its receivers get it: ``body`` is the exact JSON that is signed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # An event type of ``webhooks.events``: a plain name, no choices (a new type needs
    # no migration).
    type = models.CharField(_("type"), max_length=32)
    body = models.TextField(_("body"))
    stream_id = models.UUIDField(_("stream id"), db_index=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.stream_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SUCCEEDED = "succeeded", _("delivered")
    FAILED = "failed", _("failed")


class WebhookDelivery(models.Model):
    """One event for one endpoint, until delivered or given up."""

    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    # None: an endpoint of BROADCAST_API_WEBHOOKS (found again by its URL to sign).
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    url = models.URLField(_("URL"), max_length=2048)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # A worker holds the delivery until then; a worker that dies lets it go by itself.
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=100, blank=True, default="")
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="broadcast_api_delivery_due")
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.url}"


class WebhookAttempt(models.Model):
    """One try of a delivery: what came back (never the secret, never the body)."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("delivery"),
    )
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error}"

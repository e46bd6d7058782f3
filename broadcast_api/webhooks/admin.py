"""Admin of webhooks: endpoints (a secret shown once, rotation) and deliveries (resend).

Registered by ``broadcast_api.admin``, which Django's admin autodiscovery imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from broadcast_api.permissions import holds_change_permission
from broadcast_api.webhooks.delivery import RefusedURL, reopen, resolve
from broadcast_api.webhooks.events import event_types
from broadcast_api.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from broadcast_api.webhooks.secrets import new_webhook_secret
from broadcast_api.webhooks.tasks import enqueue_deliveries

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet
    from django.http import HttpRequest


def event_choices() -> list[tuple[str, str]]:
    return [(event, event) for event in event_types()]


def masked(secret: str) -> str:
    return f"{secret[:6]}…{secret[-4:]}" if secret else "—"


class WebhookEndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(max_length=2048, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=event_choices,  # called per form: types registered later show up
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "enabled", "description"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            resolve(url)
        except RefusedURL as exc:
            raise forms.ValidationError(
                _("%(reason)s (BROADCAST_API_WEBHOOK_ALLOW_PRIVATE_URLS allows it)."),
                params={"reason": str(exc)},
            ) from None
        return url


class WebhookEndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Endpoints are edited here; a signing secret is shown once, when it is made."""

    form = WebhookEndpointForm
    list_display = ["url", "enabled", "event_types", "signing_secret", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "description"]
    readonly_fields = ["signing_secret", "created_at"]
    actions = ["rotate_secret", "end_rotation"]

    @admin.display(description=_("events"))
    def event_types(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events) or str(_("all"))

    @admin.display(description=_("signing secret"))
    def signing_secret(self, endpoint: WebhookEndpoint) -> str:
        rotating = _(" (and the previous one, while rotating)") if endpoint.previous_secret else ""
        return f"{masked(endpoint.secret)}{rotating}"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret_once(request, obj)

    @admin.action(description=_("Rotate the signing secret (both sign until rotation ends)"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for endpoint in queryset:
            endpoint.previous_secret, endpoint.secret = endpoint.secret, new_webhook_secret()
            endpoint.save(update_fields=["secret", "previous_secret"])
            self._show_secret_once(request, endpoint)

    @admin.action(description=_("End the rotation (sign with the new secret only)"))
    def end_rotation(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = queryset.exclude(previous_secret="").update(previous_secret="")
        self.message_user(request, _("%d rotation(s) ended.") % count, messages.SUCCESS)

    def _show_secret_once(self, request: HttpRequest, endpoint: WebhookEndpoint) -> None:
        self.message_user(
            request,
            _(
                "Signing secret of %(url)s: %(secret)s. It is shown only now: give it to the "
                "receiver."
            )
            % {"url": endpoint.url, "secret": endpoint.secret},
            messages.WARNING,
        )


class WebhookAttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WebhookAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "error"]
    readonly_fields = ["number", "started_at", "duration_ms", "status_code", "error"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class WebhookDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """What was sent where, each try, and a resend action; nothing else changes here."""

    list_display = [
        "event_type",
        "stream",
        "url",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event__type"]
    search_fields = ["url", "=event__id", "=event__stream_id"]
    list_select_related = ["event"]
    fields = (
        "event_id",
        "event_type",
        "stream",
        "url",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
        "body",
    )
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["resend"]

    @admin.display(description=_("event"), ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.display(description=_("stream"))
    def stream(self, delivery: WebhookDelivery) -> str:
        return str(delivery.event.stream_id)

    @admin.display(description=_("webhook-id"))
    def event_id(self, delivery: WebhookDelivery) -> str:
        return str(delivery.event_id)

    @admin.display(description=_("body"))
    def body(self, delivery: WebhookDelivery) -> str:
        return delivery.event.body

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return holds_change_permission(self, request)

    @admin.action(
        description=_("Resend (a fresh set of tries, the same webhook-id)"), permissions=["resend"]
    )
    def resend(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = enqueue_deliveries(reopen(queryset))
        self.message_user(request, _("%d delivery(ies) enqueued.") % count, messages.SUCCESS)


admin.site.register(WebhookEndpoint, WebhookEndpointAdmin)
admin.site.register(WebhookDelivery, WebhookDeliveryAdmin)

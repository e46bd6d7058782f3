"""Who may act: a stream is the owner's (staff may act on any); admin actions take the
model's change permission."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_permission_codename
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin
    from django.http import HttpRequest
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsOwnerOrStaff(BasePermission):
    """Allow the stream's owner and staff users.

    The ViewSet's queryset already hides other users' streams (they get 404, not 403,
    so existence does not leak); this check guards subclasses that widen the queryset.
    """

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        user = request.user
        if getattr(user, "is_staff", False):
            return True
        return obj.owner_id is not None and obj.owner_id == getattr(user, "pk", None)


def holds_change_permission(model_admin: ModelAdmin[Any], request: HttpRequest) -> bool:
    """The model's change permission, which the read-only admins' actions require
    (their ``has_change_permission`` is always False: nothing is edited by hand)."""
    codename = get_permission_codename("change", model_admin.opts)
    return request.user.has_perm(f"{model_admin.opts.app_label}.{codename}")

"""Object permission: a stream is the owner's, and staff may act on any."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
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

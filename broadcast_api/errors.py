"""One error shape for every failure the API answers.

``{"code": "...", "detail": "..."}``, plus ``fields`` for validation errors and
``reason`` for 503s. The ViewSet installs :func:`exception_handler` through DRF's
``get_exception_handler`` hook, so the host's own ``EXCEPTION_HANDLER`` is untouched.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from broadcast_api.exceptions import BroadcastError, DatabaseUnavailable

if TYPE_CHECKING:
    from rest_framework.response import Response

logger = logging.getLogger("broadcast_api.errors")

RETRY_AFTER_SECONDS = 5


class BroadcastAPIError(exceptions.APIException):
    """A :class:`~broadcast_api.exceptions.BroadcastError`, answered with its status."""

    def __init__(self, detail: str, *, code: str, status_code: int) -> None:
        super().__init__(detail, code=code)
        self.status_code = status_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DatabaseError):
        logger.error("database error: %s", type(exc).__name__)
        exc = DatabaseUnavailable("The database is unavailable.", reason="db_error")
    reason = None
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, BroadcastError):
        reason = exc.reason
        exc = BroadcastAPIError(exc.message, code=exc.code, status_code=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:  # not an API error: let Django answer it
        return None
    assert isinstance(exc, exceptions.APIException)  # DRF answers nothing else
    response.data = error_body(exc, reason)
    if response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def error_body(exc: exceptions.APIException, reason: str | None = None) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        return {
            "code": "invalid",
            "detail": "The request has invalid parameters.",
            "fields": field_errors(exc.get_full_details()),
        }
    body = {"code": str(exc.get_codes()), "detail": str(exc.detail)}
    if reason:
        body["reason"] = reason
    return body


def field_errors(details: Any) -> dict[str, list[dict[str, str]]]:
    """Flatten DRF's full details into ``{field: [{code, message}, ...]}``."""
    if isinstance(details, list):
        details = {"non_field_errors": details}
    result: dict[str, list[dict[str, str]]] = {}
    for name, errors in details.items():
        items = errors if isinstance(errors, list) else [errors]
        result[name] = [
            {"code": str(item["code"]), "message": str(item["message"])}
            for item in items
            if isinstance(item, dict) and "code" in item
        ]
    return result

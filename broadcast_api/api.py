"""The seed package's function API, for hosts that write their own views.

    from broadcast_api.api import start_hls_stream, prepare_start_hls_stream_response

    def your_start_stream_view(request):
        start_result = start_hls_stream(request=request)   # {'stream': ..., 'storage': ...}
        return JsonResponse({"success": True,
                             "response": prepare_start_hls_stream_response(start_result)})

Invalid parameters raise ``rest_framework.exceptions.ValidationError``; a failing
dependency raises ``broadcast_api.exceptions.StorageUnavailable`` or
``DatabaseUnavailable``. The stream belongs to ``request.user`` when authenticated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import DatabaseError
from django.http import Http404

from broadcast_api.exceptions import DatabaseUnavailable
from broadcast_api.models import StreamType
from broadcast_api.serializers import (
    StartStreamResponseSerializer,
    StartStreamSerializer,
    StopStreamResponseSerializer,
    StopStreamSerializer,
)
from broadcast_api.services import start_stream, stop_stream, streams_for

if TYPE_CHECKING:
    from django.http import HttpRequest


def _params(request: HttpRequest, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = request.GET.dict()
    params.update(request.POST.dict())
    params.update({key: value for key, value in overrides.items() if value is not None})
    return params


def _owner(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def start_hls_stream(request: HttpRequest, name: str | None = None) -> dict[str, Any]:
    """Start an HLS stream for ``request.user``: ``{'stream': ..., 'storage': StorageGrant}``."""
    serializer = StartStreamSerializer(data=_params(request, name=name, type=StreamType.HLS))
    serializer.is_valid(raise_exception=True)
    result = start_stream(owner=_owner(request), **serializer.validated_data)
    return {"stream": result.stream, "storage": result.storage}


def prepare_start_hls_stream_response(start_result: dict[str, Any]) -> dict[str, Any]:
    """The seed's start JSON (``stream`` and ``endpoint.S3``) as a dict."""
    return dict(StartStreamResponseSerializer(start_result).data)


def stop_hls_stream(request: HttpRequest, stream_id: str | None = None) -> dict[str, Any]:
    """Stop one of ``request.user``'s streams (staff: anyone's): ``{'stream': Stream}``.

    Raises ``Http404`` for an unknown stream or one that is not the caller's.
    """
    serializer = StopStreamSerializer(data=_params(request, id=stream_id))
    serializer.is_valid(raise_exception=True)
    streams = streams_for(_owner(request))
    try:
        stream = streams.get(pk=serializer.validated_data["id"])
    except streams.model.DoesNotExist:
        raise Http404("No such stream.") from None
    except DatabaseError:
        raise DatabaseUnavailable("The stream could not be read.", reason="db_error") from None
    return {"stream": stop_stream(stream).stream}


def prepare_stop_hls_stream_response(stop_result: dict[str, Any]) -> dict[str, Any]:
    """The seed's stop JSON (``stream`` with ``stop_date``) as a dict."""
    return dict(StopStreamResponseSerializer(stop_result).data)

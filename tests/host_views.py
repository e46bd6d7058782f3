"""A host project's own views, written exactly as the seed README's Usage section shows."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from broadcast_api.api import (
    prepare_start_hls_stream_response,
    prepare_stop_hls_stream_response,
    start_hls_stream,
    stop_hls_stream,
)


@csrf_exempt
@require_POST
def your_start_stream_view(request: HttpRequest) -> JsonResponse:
    # Do request validation, etc.
    start_result = start_hls_stream(request=request)
    serialized_response = prepare_start_hls_stream_response(start_result)
    return JsonResponse({"success": True, "response": serialized_response})


@csrf_exempt
@require_POST
def your_stop_stream_view(request: HttpRequest) -> JsonResponse:
    stop_result = stop_hls_stream(request=request)
    return JsonResponse(
        {"success": True, "response": prepare_stop_hls_stream_response(stop_result)}
    )

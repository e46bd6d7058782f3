"""OpenAPI descriptions of the stream endpoints (drf-spectacular)."""

from __future__ import annotations

from typing import TypeVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from broadcast_api.serializers import (
    ErrorSerializer,
    StartStreamResponseSerializer,
    StartStreamSerializer,
    StopStreamResponseSerializer,
    StopStreamSerializer,
    StreamSerializer,
)

T = TypeVar("T")

EXAMPLE_ID = "b8c2401d-b2f8-47cd-90bd-53b608d47f3f"
EXAMPLE_STREAM = {"id": EXAMPLE_ID, "name": "some_name", "start_date": "2015-10-22 15:27:40"}

UNAUTHENTICATED = OpenApiResponse(
    ErrorSerializer,
    description="Not authenticated (`not_authenticated`) or not allowed (`permission_denied`).",
)


def invalid(field: str, code: str, message: str) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description="Invalid parameters (`invalid`), with per-field errors.",
        examples=[
            OpenApiExample(
                f"Invalid {field}",
                value={
                    "code": "invalid",
                    "detail": "The request has invalid parameters.",
                    "fields": {field: [{"code": code, "message": message}]},
                },
            )
        ],
    )


NOT_FOUND = OpenApiResponse(
    ErrorSerializer,
    description="No such stream, or not yours (`not_found`).",
    examples=[OpenApiExample("Not found", value={"code": "not_found", "detail": "Not found."})],
)
UNAVAILABLE = OpenApiResponse(
    ErrorSerializer,
    description=(
        "A dependency failed: `storage_unavailable` (STS) or `database_unavailable`. "
        "Nothing was recorded; retry after the `Retry-After` seconds."
    ),
    examples=[
        OpenApiExample(
            "STS timed out",
            value={
                "code": "storage_unavailable",
                "detail": "Upload credentials are unavailable.",
                "reason": "sts_timeout",
            },
        )
    ],
)

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[503],
    description="Seconds to wait before retrying.",
)

_start = extend_schema(
    operation_id="stream_start",
    summary="Start a stream",
    description=(
        "Creates a live stream and returns temporary AWS credentials that can upload "
        "(PutObject and multipart upload) under `s3_bucket_path/` in `s3_bucket_name`, "
        "and nothing else, for `aws_expiration` seconds. Parameters may come in the "
        "query string (as the seed's clients send them), a form body or a JSON body."
    ),
    request={
        "application/x-www-form-urlencoded": StartStreamSerializer,
        "application/json": StartStreamSerializer,
    },
    responses={
        201: OpenApiResponse(
            StartStreamResponseSerializer,
            description="Started.",
            examples=[
                OpenApiExample(
                    "Started",
                    value={
                        "stream": EXAMPLE_STREAM,
                        "endpoint": {
                            "S3": {
                                "aws_access_key_id": "ASIAEXAMPLE",
                                "aws_secret_access_key": "wJalrXUtnFEMIEXAMPLEKEY",
                                "aws_session_token": "FwoGZXIvYXdzEXAMPLE",
                                "aws_expiration": 3600.0,
                                "s3_bucket_name": "bucket",
                                "s3_bucket_path": f"streams/{EXAMPLE_ID}",
                                "s3_bucket_region": "us-west-1",
                                "aws_expiration_date": "2015-10-22 16:27:40",
                                "s3_endpoint_url": None,
                            }
                        },
                    },
                )
            ],
        ),
        400: invalid("type", "invalid_choice", '"rtmp" is not a valid choice.'),
        401: UNAUTHENTICATED,
        403: UNAUTHENTICATED,
        503: UNAVAILABLE,
    },
    parameters=[RETRY_AFTER],
    tags=["streams"],
)

_stop = extend_schema(
    operation_id="stream_stop",
    summary="Stop a stream",
    description=(
        "Ends a live stream. Stopping an ended stream returns it unchanged; concurrent "
        "stops end it exactly once. Already-issued credentials stay valid until they "
        "expire (STS credentials cannot be revoked one by one)."
    ),
    request={
        "application/x-www-form-urlencoded": StopStreamSerializer,
        "application/json": StopStreamSerializer,
    },
    responses={
        200: OpenApiResponse(
            StopStreamResponseSerializer,
            description="Stopped (or already stopped).",
            examples=[
                OpenApiExample(
                    "Stopped",
                    value={"stream": {**EXAMPLE_STREAM, "stop_date": "2015-10-22 16:27:40"}},
                )
            ],
        ),
        400: invalid("id", "invalid", "Must be a valid UUID."),
        401: UNAUTHENTICATED,
        403: UNAUTHENTICATED,
        404: NOT_FOUND,
        503: UNAVAILABLE,
    },
    parameters=[RETRY_AFTER],
    tags=["streams"],
)

_list = extend_schema(
    operation_id="stream_list",
    summary="List your streams",
    description="The caller's streams, newest first, paginated. Never carries credentials.",
    parameters=[
        OpenApiParameter(
            "status", OpenApiTypes.STR, enum=["live", "ended"], description="Only this status."
        )
    ],
    responses={
        200: StreamSerializer(many=True),
        400: invalid("status", "invalid_choice", '"paused" is not a valid choice.'),
        401: UNAUTHENTICATED,
        403: UNAUTHENTICATED,
        404: OpenApiResponse(ErrorSerializer, description="No such page (`not_found`)."),
    },
    tags=["streams"],
)

_retrieve = extend_schema(
    operation_id="stream_retrieve",
    summary="Get one stream",
    description="One of the caller's streams (staff: any). Never carries credentials.",
    parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
    responses={200: StreamSerializer, 401: UNAUTHENTICATED, 403: UNAUTHENTICATED, 404: NOT_FOUND},
    tags=["streams"],
)


def stream_viewset_schema(viewset: type[T]) -> type[T]:
    decorated: type[T] = extend_schema_view(
        start=_start, stop=_stop, list=_list, retrieve=_retrieve
    )(viewset)
    return decorated

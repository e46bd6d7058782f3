"""The start and stop responses, rendered directly.

These two responses sit on the path between "Go live" and video flowing, and building
DRF serializers for them costs about half a millisecond per request (each instance
deep-copies its fields). The serializers in ``serializers.py`` describe the same JSON
for the OpenAPI schema; the tests assert that both produce identical output.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from broadcast_api.models import AbstractStream
    from broadcast_api.services import StartResult, StopResult

SEED_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def seed_time(value: datetime | None) -> str | None:
    """UTC ``YYYY-MM-DD HH:MM:SS``, as the seed wrote times."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(SEED_DATETIME_FORMAT)


def started_stream(stream: AbstractStream) -> dict[str, Any]:
    return {"id": str(stream.id), "name": stream.name, "start_date": seed_time(stream.start_date)}


def start_response(result: StartResult | dict[str, Any]) -> dict[str, Any]:
    """``{"stream": ..., "endpoint": {"S3": ...}}``; accepts the function API's dict too."""
    if isinstance(result, dict):
        stream, grant = result["stream"], result["storage"]
    else:
        stream, grant = result.stream, result.storage
    return {
        "stream": started_stream(stream),
        "endpoint": {
            "S3": {
                "aws_access_key_id": grant.access_key_id,
                "aws_secret_access_key": grant.secret_access_key,
                "aws_session_token": grant.session_token,
                "aws_expiration": float(grant.duration_seconds),
                "s3_bucket_name": grant.bucket,
                "s3_bucket_path": grant.prefix,
                "s3_bucket_region": grant.region,
                "aws_expiration_date": seed_time(grant.expiration),
                "s3_endpoint_url": grant.endpoint_url,
            }
        },
    }


def stop_response(result: StopResult | dict[str, Any]) -> dict[str, Any]:
    """``{"stream": {..., "stop_date": ...}}``; accepts the function API's dict too."""
    stream = result["stream"] if isinstance(result, dict) else result.stream
    return {"stream": {**started_stream(stream), "stop_date": seed_time(stream.stop_date)}}

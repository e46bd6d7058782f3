"""The OpenAPI description of ``StreamViewSet`` (drf-spectacular).

``StreamViewSet.schema`` is a :class:`StreamSchema`, so the schema is right whatever the
host's ``DEFAULT_SCHEMA_CLASS`` says. Request and success bodies come from the view's
per-action serializer attributes (``get_serializer_class()`` and
``get_response_serializer_class()``), so a subclass that swaps a serializer sees the
change in its schema as well as in its responses. Everything else an operation shows
(its id, summary, errors, examples, links) is one :class:`Operation` in
:data:`OPERATIONS`.

Request bodies are described as JSON only: the seed's query-string and form parameters
keep working (see the README), but a schema listing one body under two media types trips
client generators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from broadcast_api.serializers import ErrorSerializer, StreamListQuerySerializer

if TYPE_CHECKING:
    from drf_spectacular.plumbing import ComponentRegistry

EXAMPLE_ID = "b8c2401d-b2f8-47cd-90bd-53b608d47f3f"
EXAMPLE_STREAM = {
    "id": EXAMPLE_ID,
    "name": "some_name",
    "start_date": "2015-10-22 15:27:40",
    "playback_url": f"https://api.example.com/stream/{EXAMPLE_ID}/playlist.m3u8?token=...",
    "thumbnail_url": None,
}
EXAMPLE_S3 = {
    "aws_access_key_id": "ASIAEXAMPLE",
    "aws_secret_access_key": "wJalrXUtnFEMIEXAMPLEKEY",
    "aws_session_token": "FwoGZXIvYXdzEXAMPLE",
    "aws_expiration": 3600.0,
    "s3_bucket_name": "bucket",
    "s3_bucket_path": f"streams/{EXAMPLE_ID}",
    "s3_bucket_region": "us-west-1",
    "aws_expiration_date": "2015-10-22 16:27:40",
    "s3_endpoint_url": None,
    "publish_session": 1,
    "s3_stream_path": f"streams/{EXAMPLE_ID}",
}


def error(description: str, *examples: tuple[str, dict[str, Any]]) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(name, value=value) for name, value in examples],
    )


def invalid(field_name: str, code: str, message: str) -> OpenApiResponse:
    body = {
        "code": "invalid",
        "detail": "The request has invalid parameters.",
        "fields": {field_name: [{"code": code, "message": message}]},
    }
    return error(
        "Invalid parameters (`invalid`), with per-field errors.", (f"Invalid {field_name}", body)
    )


UNAUTHENTICATED = error(
    "No credentials (`not_authenticated`) or wrong ones (`authentication_failed`). "
    "401 when the first authentication class sends a challenge (Basic, Token), "
    "else 403."
)
FORBIDDEN = error(
    "As 401 when the first authentication class sends no challenge (Session); "
    "`permission_denied` for a request the permissions refuse (e.g. no CSRF token)."
)
NOT_FOUND = error(
    "No such stream, or not yours (`not_found`).",
    ("Not found", {"code": "not_found", "detail": "Not found."}),
)
UNAVAILABLE = error(
    "A dependency failed: `storage_unavailable` (STS) or `database_unavailable`. "
    "Nothing was recorded; retry after the `Retry-After` seconds.",
    (
        "STS timed out",
        {
            "code": "storage_unavailable",
            "detail": "Upload credentials are unavailable.",
            "reason": "sts_timeout",
        },
    ),
)
AUTH_ERRORS = {401: UNAUTHENTICATED, 403: FORBIDDEN}

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[503],
    description="Seconds to wait before retrying.",
)
STREAM_ID_IN_PATH = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@dataclass(frozen=True)
class Operation:
    """How one action appears in the schema, beside its serializers."""

    operation_id: str
    summary: str
    description: str
    status: int = 200
    success: str = "OK."
    errors: dict[int, OpenApiResponse] = field(default_factory=dict)
    # OpenApiParameters, or serializers whose fields are query parameters.
    parameters: list[Any] = field(default_factory=list)
    examples: list[OpenApiExample] = field(default_factory=list)
    # OpenAPI links from the success response to other operations (by operationId).
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A success body that is not the response serializer's JSON: a string of this type.
    media_type: str | None = None
    # Open to anonymous callers as well (its own rules decide who may use it).
    anonymous: bool = False
    # False: the operation takes no request body.
    request_body: bool = True


def links_from_stream_id() -> dict[str, dict[str, Any]]:
    """Links from a response's ``stream.id`` to the operations that take a stream."""
    return {
        "StopStream": {
            "operationId": "stream_stop",
            "requestBody": {"id": "$response.body#/stream/id"},
            "description": "Stop the stream this response describes.",
        },
        "RetrieveStream": {
            "operationId": "stream_retrieve",
            "parameters": {"id": "$response.body#/stream/id"},
            "description": "Read the stream this response describes.",
        },
    }


OPERATIONS: dict[str, Operation] = {
    "start": Operation(
        operation_id="stream_start",
        summary="Start a stream",
        description=(
            "Creates a live stream and returns temporary AWS credentials that can upload "
            "(PutObject and multipart upload) under `s3_bucket_path/` in `s3_bucket_name`, "
            "and nothing else, for `aws_expiration` seconds. The parameters may also come "
            "in the query string (as the seed's clients send them) or a form body. With an "
            "`Idempotency-Key`, a retry within 24 hours returns the same stream (with fresh "
            "credentials and `Idempotent-Replayed: true`) instead of starting another."
        ),
        status=201,
        success="Started (or, for a retried `Idempotency-Key`, the stream it started).",
        errors={
            400: invalid("type", "invalid_choice", '"rtmp" is not a valid choice.'),
            **AUTH_ERRORS,
            409: error(
                "The caller already has as many live streams as allowed (`live_stream_limit`).",
                (
                    "Limit",
                    {
                        "code": "live_stream_limit",
                        "detail": "You already have 1 live stream; stop one first.",
                    },
                ),
            ),
            422: error(
                "This `Idempotency-Key` was used for a start with other parameters "
                "(`idempotency_key_reused`)."
            ),
            429: error("Too many starts (`throttled`; the `broadcast_start` throttle scope)."),
            503: UNAVAILABLE,
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="A unique value per start (a UUID): a retry with the same key "
                "returns the stream the first request started.",
            ),
            RETRY_AFTER,
            OpenApiParameter(
                "Idempotent-Replayed",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[201],
                description="`true` when this answers a retried `Idempotency-Key`.",
            ),
        ],
        examples=[
            OpenApiExample(
                "Started",
                value={"stream": EXAMPLE_STREAM, "endpoint": {"S3": EXAMPLE_S3}},
                response_only=True,
                status_codes=["201"],
            )
        ],
        links=links_from_stream_id(),
    ),
    "stop": Operation(
        operation_id="stream_stop",
        summary="Stop a stream",
        description=(
            "Ends a live stream. Stopping an ended stream returns it unchanged; concurrent "
            "stops end it exactly once. Already-issued credentials stay valid until they "
            "expire (STS credentials cannot be revoked one by one). `id` may also come in "
            "the query string or a form body."
        ),
        success="Stopped (or already stopped).",
        errors={
            400: invalid("id", "invalid", "Must be a valid UUID."),
            **AUTH_ERRORS,
            404: NOT_FOUND,
            503: UNAVAILABLE,
        },
        parameters=[RETRY_AFTER],
        examples=[
            OpenApiExample(
                "Stopped",
                value={
                    "stream": {
                        **EXAMPLE_STREAM,
                        "stop_date": "2015-10-22 16:27:40",
                        "thumbnail_url": f"https://bucket.s3.us-west-1.amazonaws.com/streams/"
                        f"{EXAMPLE_ID}/poster.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&...",
                        "viewer_count": 3,
                        "peak_viewer_count": 41,
                    }
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
        links={"RetrieveStream": links_from_stream_id()["RetrieveStream"]},
    ),
    "list": Operation(
        operation_id="stream_list",
        summary="List your streams",
        description="The caller's streams, newest first, paginated. Never carries credentials.",
        success="One page of the caller's streams.",
        errors={
            400: invalid("status", "invalid_choice", '"paused" is not a valid choice.'),
            **AUTH_ERRORS,
            404: error("No such page (`not_found`)."),
        },
        parameters=[StreamListQuerySerializer],
    ),
    "credentials": Operation(
        operation_id="stream_credentials",
        summary="Refresh a live stream's upload credentials",
        description=(
            "New temporary credentials for the same prefix, in start's shape, for the owner "
            "of a live stream. Call it ahead of `aws_expiration_date` (say when a third of "
            "`aws_expiration` is left) to broadcast for longer than one credentials' "
            "lifetime; the old credentials stay valid until they expire."
        ),
        success="New credentials.",
        errors={
            **AUTH_ERRORS,
            404: NOT_FOUND,
            409: error(
                "The stream has ended (`stream_ended`): start a new one.",
                (
                    "Ended",
                    {"code": "stream_ended", "detail": "The stream has ended; start a new one."},
                ),
            ),
            503: UNAVAILABLE,
        },
        parameters=[STREAM_ID_IN_PATH, RETRY_AFTER],
        request_body=False,
        links={"StopStream": links_from_stream_id()["StopStream"]},
    ),
    "resume": Operation(
        operation_id="stream_resume",
        summary="Resume a live stream in a new publishing session",
        description=(
            "For the owner of a live stream whose broadcaster crashed or lost its "
            "connection: the next publishing session (`publish_session`, one more than the "
            "last), with credentials in start's shape that upload only under "
            "`s3_bucket_path/` (`<s3_stream_path>/session-<n>`) and to "
            "`<s3_stream_path>/poster.jpg`, so nothing uploaded before is overwritten. "
            "Upload the same layout there; viewers and the recording see one stream, with "
            "`#EXT-X-DISCONTINUITY` where the session begins. Resume within "
            "`BROADCAST_API_RECONNECT_WINDOW` seconds of the last playlist upload: after "
            "that the stream ends (`idle`). Refreshing credentials then covers this session."
        ),
        success="The new session's credentials.",
        errors={
            **AUTH_ERRORS,
            404: NOT_FOUND,
            409: error(
                "The stream has ended (`stream_ended`): start a new one.",
                (
                    "Ended",
                    {"code": "stream_ended", "detail": "The stream has ended; start a new one."},
                ),
            ),
            503: error(
                "STS failed (`storage_unavailable`) or the database did "
                "(`database_unavailable`); no session was begun. Retry after `Retry-After`."
            ),
        },
        parameters=[STREAM_ID_IN_PATH, RETRY_AFTER],
        request_body=False,
        examples=[
            OpenApiExample(
                "Resumed",
                value={
                    "stream": EXAMPLE_STREAM,
                    "endpoint": {
                        "S3": {
                            **EXAMPLE_S3,
                            "s3_bucket_path": f"streams/{EXAMPLE_ID}/session-2",
                            "publish_session": 2,
                        }
                    },
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
        links={"StopStream": links_from_stream_id()["StopStream"]},
    ),
    "poster": Operation(
        operation_id="stream_poster",
        summary="Announce a stream's poster",
        description=(
            "The broadcaster calls it, with no body, after its first successful upload of "
            "`<s3_bucket_path>/poster.jpg`, live or ended. The server checks (one HEAD with "
            "its own identity) and from then on the stream's representations carry a "
            "signed `thumbnail_url`. Owner only; idempotent (a repeat makes no S3 request). "
            "A broadcaster that never announces still gets its poster recorded after the "
            "stop, when the server looks once."
        ),
        success="The stream, with its `thumbnail_url`.",
        errors={
            **AUTH_ERRORS,
            404: NOT_FOUND,
            409: error(
                "There is no poster under the stream's prefix (`poster_not_uploaded`): "
                "upload it first.",
                (
                    "No poster",
                    {
                        "code": "poster_not_uploaded",
                        "detail": "No poster has been uploaded under the stream's prefix yet.",
                    },
                ),
            ),
            503: error(
                "S3 failed (`storage_unavailable`, with a `reason`) or the database did "
                "(`database_unavailable`); nothing was recorded: retry.",
            ),
        },
        parameters=[STREAM_ID_IN_PATH, RETRY_AFTER],
        request_body=False,
    ),
    "partial_update": Operation(
        operation_id="stream_update",
        summary="Edit a stream",
        description="The owner changes `title`, `description` or `is_public` (any of them).",
        success="The stream, changed.",
        errors={
            400: invalid(
                "title", "max_length", "Ensure this field has no more than 255 characters."
            ),
            **AUTH_ERRORS,
            404: NOT_FOUND,
        },
        parameters=[STREAM_ID_IN_PATH],
    ),
    "playlist": Operation(
        operation_id="stream_playlist",
        summary="Watch a stream: its HLS playlist",
        description=(
            "The stream's current HLS playlist, read from the bucket, with every media URI "
            "replaced by a short-lived presigned S3 URL (nested playlists point back here "
            "with `rendition`). Open to the owner and staff, to anyone when the stream is "
            "public, and to anyone with a valid `token` (the one in `playback_url`); others "
            "get 404. Cached for about half a target duration (a recording longer)."
        ),
        success="The playlist (`application/vnd.apple.mpegurl`).",
        errors={
            401: UNAUTHENTICATED,
            404: error(
                "No such stream, not yours to watch (`not_found`), or no playlist uploaded "
                "yet (`playlist_not_ready`).",
                (
                    "Not ready",
                    {
                        "code": "playlist_not_ready",
                        "detail": "The broadcaster has not uploaded a playlist yet.",
                    },
                ),
            ),
            503: error(
                "S3 failed and no cached copy is usable (`storage_unavailable`; `reason`: "
                "`s3_timeout`, `s3_unreachable`, `s3_access_denied`, `s3_no_credentials`, "
                "`s3_no_such_bucket`, `s3_error`)."
            ),
        },
        parameters=[
            STREAM_ID_IN_PATH,
            OpenApiParameter(
                "token",
                OpenApiTypes.STR,
                description="A playback token (from `playback_url`): watch without logging in.",
            ),
            OpenApiParameter(
                "rendition",
                OpenApiTypes.STR,
                description="A nested playlist's key under the stream's prefix (the URIs of "
                "a master playlist point here with it).",
            ),
            OpenApiParameter(
                "window",
                OpenApiTypes.STR,
                enum=["all"],
                description="`all`: every segment of a live playlist (for seeking back to "
                "the start), not only the newest `BROADCAST_API_LIVE_WINDOW` seconds.",
            ),
            RETRY_AFTER,
        ],
        media_type="application/vnd.apple.mpegurl",
        anonymous=True,
    ),
    "destroy": Operation(
        operation_id="stream_delete",
        summary="Delete a stream and its recording",
        description=(
            "For the owner (and staff): stops the stream if it is live, deletes every "
            "object under its `s3_bucket_path/` with the server's identity, then the "
            "stream itself, and sends `stream.deleted`. When S3 fails part way (503), the "
            "stream is left marked as being deleted: it answers 404 to its owner from then "
            "on, and `broadcast_reap` finishes the deletion."
        ),
        status=204,
        success="Deleted: its objects and the stream are gone.",
        errors={
            **AUTH_ERRORS,
            404: NOT_FOUND,
            503: error(
                "S3 or the database failed (`storage_unavailable`, `database_unavailable`); "
                "the deletion is recorded and `broadcast_reap` finishes it.",
                (
                    "S3 failed",
                    {
                        "code": "storage_unavailable",
                        "detail": "Storage is unavailable.",
                        "reason": "s3_error",
                    },
                ),
            ),
        },
        parameters=[STREAM_ID_IN_PATH, RETRY_AFTER],
        request_body=False,
    ),
    "retrieve": Operation(
        operation_id="stream_retrieve",
        summary="Get one stream",
        description="One of the caller's streams (staff: any). Never carries credentials.",
        success="The stream.",
        errors={**AUTH_ERRORS, 404: NOT_FOUND},
        parameters=[STREAM_ID_IN_PATH],
    ),
}


class StreamSchema(AutoSchema):
    """drf-spectacular's ``AutoSchema`` with the stream operations' descriptions.

    ``operations`` maps an action name to its :class:`Operation`; actions it does not
    name get drf-spectacular's defaults.
    """

    operations: dict[str, Operation] = OPERATIONS

    @property
    def operation(self) -> Operation | None:
        return self.operations.get(getattr(self.view, "action", None) or "")

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        result = super().get_operation(path, path_regex, path_prefix, method, registry)
        operation = self.operation
        if result is not None and operation is not None and operation.links:
            result["responses"][str(operation.status)]["links"] = operation.links
        return result

    def get_operation_id(self) -> str:
        operation = self.operation
        return operation.operation_id if operation else super().get_operation_id()

    def get_summary(self) -> str | None:
        operation = self.operation
        return operation.summary if operation else super().get_summary()

    def get_description(self) -> str:  # type: ignore[override]  # spectacular changed it
        operation = self.operation
        return operation.description if operation else super().get_description()

    def get_tags(self) -> list[str]:
        return ["streams"] if self.operation else super().get_tags()

    def get_override_parameters(self) -> list[Any]:
        operation = self.operation
        extra = operation.parameters if operation else []
        return [*super().get_override_parameters(), *extra]

    def get_examples(self) -> list[OpenApiExample]:
        operation = self.operation
        extra = operation.examples if operation else []
        return [*super().get_examples(), *extra]

    def get_request_serializer(self) -> Any:
        operation = self.operation
        if operation is not None and not operation.request_body:
            return None
        serializer = super().get_request_serializer()
        if serializer is None or operation is None:
            return serializer
        return {"application/json": serializer}

    def get_response_serializers(self) -> Any:
        operation = self.operation
        if operation is None:
            return super().get_response_serializers()
        if operation.media_type is not None:
            body = {
                (operation.status, operation.media_type): OpenApiResponse(
                    OpenApiTypes.STR, description=operation.success
                )
            }
            return {
                **body,
                **{(code, "application/json"): error for code, error in operation.errors.items()},
            }
        view: Any = self.view
        schema = None if operation.status == 204 else view.get_response_serializer_class()
        success = OpenApiResponse(schema, description=operation.success)
        return {operation.status: success, **operation.errors}

    def get_auth(self) -> list[dict[str, Any]]:
        auth: list[dict[str, Any]] = super().get_auth()
        operation = self.operation
        if operation is not None and operation.anonymous and {} not in auth:
            auth.append({})
        return auth

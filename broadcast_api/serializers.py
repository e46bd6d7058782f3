"""Request and response serializers: the JSON clients see, and what the schema shows.

The start/stop shapes are the seed package's contract and must not change; new keys may
be added beside them. Times are UTC, formatted ``YYYY-MM-DD HH:MM:SS``.

``StreamViewSet`` picks these per action through class attributes
(``start_serializer_class``, ``start_response_serializer_class``, ...); a host changes a
response by pointing one of them at a subclass.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, cast

from django.urls import NoReverseMatch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.serializers import ListSerializer

from broadcast_api import viewers
from broadcast_api.credentials import StorageGrant
from broadcast_api.models import StreamStatus, StreamType
from broadcast_api.viewing import playback_url, thumbnail_url

SEED_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$",
        "example": "2015-10-22 15:27:40",
        "description": "UTC, YYYY-MM-DD HH:MM:SS",
    }
)
class SeedDateTimeField(serializers.DateTimeField):
    """A UTC time as the seed wrote it, whatever the host's TIME_ZONE."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", SEED_DATETIME_FORMAT)
        kwargs.setdefault("default_timezone", UTC)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)


@extend_schema_field(
    {
        "type": "string",
        "nullable": True,
        "description": "Where a player opens the stream's HLS playlist: this server's "
        "`/stream/{id}/playlist.m3u8` (with a `token` for a private stream) or, with "
        "BROADCAST_API_PLAYBACK_BASE_URL, a public CDN URL.",
    }
)
class PlaybackUrlField(serializers.Field):  # type: ignore[type-arg]
    """The stream's ``playback_url`` (see ``broadcast_api.playback``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        request = self.context.get("request")
        view = self.context.get("view")
        url = None
        if request is not None and view is not None and hasattr(view, "basename"):
            try:  # the playlist URL of the ViewSet answering (a host may mount its own)
                url = view.reverse_action("playlist", kwargs={"id": value.pk}, request=request)
            except NoReverseMatch:
                url = None
        return playback_url(value, request=request, url=url)


@extend_schema_field(
    {
        "type": "string",
        "nullable": True,
        "description": "The stream's poster, a JPEG its broadcaster rewrites every few "
        "seconds (the recording's poster once it ends); null until the server has seen "
        "one. Signed as media are (S3 presigned, or CloudFront), or under "
        "BROADCAST_API_PLAYBACK_BASE_URL; it expires with them.",
    }
)
class ThumbnailUrlField(serializers.Field):  # type: ignore[type-arg]
    """The stream's ``thumbnail_url`` (``broadcast_api.viewing.thumbnail_url``): signed
    without a network call or a query, from the row's ``poster_uploaded_at``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        return thumbnail_url(value, request=self.context.get("request"))


@extend_schema_field(
    {
        "type": "integer",
        "minimum": 0,
        "description": "Concurrent viewers now: those who polled the playlist in the last "
        "one to two BROADCAST_API_VIEWER_WINDOW seconds.",
    }
)
class ViewerCountField(serializers.Field):  # type: ignore[type-arg]
    """The stream's ``viewer_count`` (``broadcast_api.viewers``): one cache read for a
    whole list page, which the first field of the page makes for every stream in it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> int:
        counts: dict[Any, int] | None = self.context.get("viewer_counts")
        if counts is None or value.pk not in counts:
            root = self.root
            streams = root.instance if isinstance(root, ListSerializer) else None
            if not isinstance(streams, list | tuple) or value not in streams:
                streams = [value]
            counts = viewers.counter.counts(stream.pk for stream in streams)
            # The context is the whole tree's: the page's other fields find the counts.
            cast("dict[str, Any]", self.context)["viewer_counts"] = counts
        return counts[value.pk]


# -- requests -----------------------------------------------------------------------


class StartStreamSerializer(serializers.Serializer[Any]):
    """Parameters of start (JSON body; the query string and form bodies work too)."""

    type = serializers.ChoiceField(
        choices=StreamType.choices, help_text="Stream type; `hls` is the only one."
    )
    name = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text="A name for the stream, at most 255 characters.",
    )
    is_public = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Anyone may watch it; otherwise the owner, staff and token holders.",
    )
    title = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", help_text="At most 255."
    )
    description = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text="At most 5,000 characters.",
    )


class StreamUpdateSerializer(serializers.Serializer[Any]):
    """What the owner may change after start (``PATCH /stream/{id}/``)."""

    title = serializers.CharField(max_length=255, required=False, allow_blank=True)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    is_public = serializers.BooleanField(required=False)

    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        for name, value in validated_data.items():
            setattr(instance, name, value)
        if validated_data:
            instance.save(update_fields=list(validated_data))
        return instance


class StopStreamSerializer(serializers.Serializer[Any]):
    """Parameters of stop (JSON body; the query string and form bodies work too)."""

    id = serializers.UUIDField(help_text="The `stream.id` that start returned.")


class StreamListQuerySerializer(serializers.Serializer[Any]):
    """The list's filters (query parameters); the schema lists them from here too."""

    status = serializers.ChoiceField(
        choices=StreamStatus.choices, required=False, help_text="Only this status."
    )
    is_public = serializers.BooleanField(
        required=False, help_text="Only public (`true`) or only private (`false`) streams."
    )


# -- responses ----------------------------------------------------------------------


class StartedStreamSerializer(serializers.Serializer[Any]):
    """The stream in start's response: the seed's ``id``, ``name``, ``start_date``."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    start_date = SeedDateTimeField()
    # Added beside the seed's keys:
    playback_url = PlaybackUrlField()
    thumbnail_url = ThumbnailUrlField()


class StoppedStreamSerializer(StartedStreamSerializer):
    """The stream in stop's response: start's keys and ``stop_date``."""

    stop_date = SeedDateTimeField(allow_null=True)
    viewer_count = ViewerCountField()
    peak_viewer_count = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The most concurrent viewers while live; null until the stream ends.",
    )


class S3EndpointSerializer(serializers.Serializer[StorageGrant]):
    """Temporary credentials that can upload under ``s3_bucket_path/`` and nothing else."""

    aws_access_key_id = serializers.CharField(source="access_key_id", read_only=True)
    aws_secret_access_key = serializers.CharField(source="secret_access_key", read_only=True)
    aws_session_token = serializers.CharField(source="session_token", read_only=True)
    aws_expiration = serializers.FloatField(
        source="duration_seconds", read_only=True, help_text="Lifetime in seconds."
    )
    s3_bucket_name = serializers.CharField(source="bucket", read_only=True)
    s3_bucket_path = serializers.CharField(
        source="prefix", read_only=True, help_text="Upload keys as `<s3_bucket_path>/<file>`."
    )
    s3_bucket_region = serializers.CharField(source="region", read_only=True)
    # Added beside the seed's keys:
    aws_expiration_date = SeedDateTimeField(source="expiration")
    s3_endpoint_url = serializers.CharField(
        source="endpoint_url",
        read_only=True,
        allow_null=True,
        help_text="S3-compatible endpoint; null means AWS.",
    )
    publish_session = serializers.IntegerField(
        source="session",
        read_only=True,
        help_text="The publishing session these credentials are for: 1 from start, one "
        "more for each resume.",
    )
    s3_stream_path = serializers.CharField(
        source="stream_path",
        read_only=True,
        help_text="The stream's own prefix, where `poster.jpg` goes; equal to "
        "`s3_bucket_path` in session 1, its parent in a resumed session.",
    )


class EndpointSerializer(serializers.Serializer[StorageGrant]):
    """Where and how to upload; ``S3`` is the only kind so far (the seed's shape)."""

    S3 = S3EndpointSerializer(source="*", read_only=True)


class StartStreamResponseSerializer(serializers.Serializer[Any]):
    """The seed's start response, rendered from a ``StartResult`` (or the function
    API's ``{"stream": ..., "storage": ...}`` dict)."""

    stream = StartedStreamSerializer(read_only=True)
    endpoint = EndpointSerializer(source="storage", read_only=True)


class StopStreamResponseSerializer(serializers.Serializer[Any]):
    """The seed's stop response, rendered from a ``StopResult`` (or ``{"stream": ...}``)."""

    stream = StoppedStreamSerializer(read_only=True)


class StreamSerializer(serializers.Serializer[Any]):
    """A stream in lists and detail: where it is, never how to write to it."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=StreamStatus.choices, read_only=True)
    start_date = SeedDateTimeField()
    stop_date = SeedDateTimeField(allow_null=True)
    stop_reason = serializers.CharField(read_only=True)
    s3_bucket_name = serializers.CharField(source="s3_bucket", read_only=True)
    s3_bucket_path = serializers.CharField(source="s3_prefix", read_only=True)
    s3_bucket_region = serializers.CharField(source="s3_region", read_only=True)
    is_public = serializers.BooleanField(read_only=True)
    title = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    playback_url = PlaybackUrlField()
    thumbnail_url = ThumbnailUrlField()
    viewer_count = ViewerCountField()
    peak_viewer_count = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The most concurrent viewers while live; null until the stream ends.",
    )
    publish_session = serializers.IntegerField(
        read_only=True, help_text="Publishing sessions so far: 1, plus one per resume."
    )
    disconnected_at = SeedDateTimeField(
        allow_null=True,
        help_text="UTC, YYYY-MM-DD HH:MM:SS: since when the broadcaster is quiet (the "
        "reaper noticed); null while it uploads, and after a resume.",
    )
    deleted_at = SeedDateTimeField(
        allow_null=True,
        help_text="When its deletion started (staff see a stream whose deletion is not "
        "finished); null for every other stream.",
    )


# -- errors -------------------------------------------------------------------------


class FieldErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error the API answers: a stable ``code`` and a human ``detail``."""

    # Built in get_fields because ``fields`` is also the name of a Serializer attribute.
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            "code": serializers.CharField(help_text="Machine-readable error code."),
            "detail": serializers.CharField(help_text="Human-readable message."),
            "fields": serializers.DictField(
                child=FieldErrorSerializer(many=True),
                required=False,
                help_text="Per-field errors, keyed by parameter (code `invalid` only).",
            ),
            "reason": serializers.CharField(
                required=False,
                help_text="Which dependency failed and how (503 only), e.g. `sts_timeout`.",
            ),
        }

"""The baseline: what a competent DRF developer would hand-write for the same contract.

Function views with ``@api_view``, the project's authentication (DRF's
``TokenAuthentication``) and ``IsAuthenticated``, serializers in and out, the ORM:

start: validate ``type``/``name`` with a serializer, one ``AssumeRole`` with the same
compact upload-only session policy on a module-level shared STS client (same botocore
``Config`` as the package), one INSERT, the seed's JSON through response serializers.

stop: validate ``id`` with a serializer, read the caller's stream (404 otherwise), and
when it is live one conditional ``UPDATE ... WHERE id AND status = 'live'``; the seed's
JSON through a response serializer.

playlist: what a competent developer would hand-write for "return the cached playlist",
the floor broadcast_api's viewer path is measured against. A plain Django view (no DRF,
no token, no rewrite): the bytes from the cache; on a miss, one S3 GET on a module-level
client (the same endpoint, path-style) and ``cache.set`` for one second.

``counters`` exposes the boto3 Session/client counts of the worker that answers it.
"""

from __future__ import annotations

import gc
import json
import os
import uuid
from datetime import UTC
from typing import TYPE_CHECKING, Any, cast

import boto3
from benchproject import instrument
from botocore.config import Config
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from baseline.models import BaselineStream

if TYPE_CHECKING:
    from rest_framework.request import Request

FMT = "%Y-%m-%d %H:%M:%S"
DURATION = 3600
KEY_PREFIX = "streams"
ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
S3_ENDPOINT_URL = getattr(settings, "BROADCAST_API_S3_ENDPOINT_URL", None)
PLAYLIST_NAME = "index.m3u8"
# Django's RedisCache truncates timeouts to whole seconds (int(0.5) == 0 deletes the key),
# so half a second is not expressible: one second, Redis's EX granularity.
PLAYLIST_CACHE_SECONDS = 1

STS: Any = boto3.session.Session().client(
    "sts",
    region_name=getattr(settings, "BROADCAST_API_S3_REGION", "us-east-1"),
    endpoint_url=getattr(settings, "BROADCAST_API_STS_ENDPOINT_URL", None),
    aws_access_key_id=getattr(settings, "BROADCAST_API_AWS_ACCESS_KEY_ID", None),
    aws_secret_access_key=getattr(settings, "BROADCAST_API_AWS_SECRET_ACCESS_KEY", None),
    config=Config(
        connect_timeout=2.0,
        read_timeout=5.0,
        retries={"mode": "standard", "total_max_attempts": 3},
    ),
)

S3: Any = boto3.session.Session().client(
    "s3",
    region_name=getattr(settings, "BROADCAST_API_S3_REGION", "us-east-1"),
    endpoint_url=S3_ENDPOINT_URL,
    aws_access_key_id=getattr(settings, "BROADCAST_API_AWS_ACCESS_KEY_ID", None),
    aws_secret_access_key=getattr(settings, "BROADCAST_API_AWS_SECRET_ACCESS_KEY", None),
    config=Config(
        connect_timeout=2.0,
        read_timeout=5.0,
        retries={"mode": "standard", "total_max_attempts": 3},
        signature_version="s3v4",
        s3={"addressing_style": "path"},
    ),
)


class StartIn(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=["hls"])
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class StopIn(serializers.Serializer[Any]):
    id = serializers.UUIDField()


class StreamOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    start_date = serializers.DateTimeField(format=FMT, default_timezone=UTC)


class StoppedStreamOut(StreamOut):
    stop_date = serializers.DateTimeField(format=FMT, default_timezone=UTC, allow_null=True)


class S3Out(serializers.Serializer[Any]):
    aws_access_key_id = serializers.CharField(source="AccessKeyId")
    aws_secret_access_key = serializers.CharField(source="SecretAccessKey")
    aws_session_token = serializers.CharField(source="SessionToken")
    aws_expiration = serializers.FloatField(source="duration")
    s3_bucket_name = serializers.CharField(source="bucket")
    s3_bucket_path = serializers.CharField(source="prefix")
    s3_bucket_region = serializers.CharField(source="region")
    aws_expiration_date = serializers.DateTimeField(
        source="Expiration", format=FMT, default_timezone=UTC
    )
    s3_endpoint_url = serializers.CharField(source="endpoint_url", allow_null=True)


class EndpointOut(serializers.Serializer[Any]):
    S3 = S3Out(source="*")


class StartOut(serializers.Serializer[Any]):
    stream = StreamOut()
    endpoint = EndpointOut()


class StopOut(serializers.Serializer[Any]):
    stream = StoppedStreamOut()


def _policy(bucket: str, prefix: str) -> str:
    statement = {
        "Sid": "UploadStreamSegments",
        "Effect": "Allow",
        "Action": ACTIONS,
        "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"],
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


def _params(request: Request) -> dict[str, Any]:
    """The seed's clients send the query string; newer ones a form or JSON body."""
    body = request.data
    return {
        **request.query_params.dict(),
        **(body.dict() if isinstance(body, QueryDict) else cast("dict[str, Any]", body)),
    }


@api_view(["POST"])
def start(request: Request) -> Response:
    params = StartIn(data=_params(request))
    params.is_valid(raise_exception=True)
    stream_id = uuid.uuid4()
    bucket = settings.BROADCAST_API_S3_BUCKET
    region = settings.BROADCAST_API_S3_REGION
    prefix = f"{KEY_PREFIX}/{stream_id}"
    credentials = STS.assume_role(
        RoleArn=settings.BROADCAST_API_STS_ROLE_ARN,
        RoleSessionName=f"stream-{stream_id}",
        Policy=_policy(bucket, prefix),
        DurationSeconds=DURATION,
    )["Credentials"]
    stream = BaselineStream._default_manager.create(
        id=stream_id,
        name=params.validated_data["name"],
        type="hls",
        owner=request.user,
        s3_bucket=bucket,
        s3_prefix=prefix,
        s3_region=region,
        start_date=timezone.now(),
    )
    endpoint = {
        **credentials,
        "duration": DURATION,
        "bucket": bucket,
        "prefix": prefix,
        "region": region,
        "endpoint_url": S3_ENDPOINT_URL,
    }
    body = StartOut({"stream": stream, "endpoint": endpoint}).data
    return Response(body, status=status.HTTP_201_CREATED)


@api_view(["POST"])
def stop(request: Request) -> Response:
    params = StopIn(data=_params(request))
    params.is_valid(raise_exception=True)
    stream = get_object_or_404(BaselineStream, pk=params.validated_data["id"], owner=request.user)
    if stream.status == "live":
        now = timezone.now()
        stopped = BaselineStream._default_manager.filter(pk=stream.pk, status="live").update(
            status="ended", stop_date=now, stop_reason="client"
        )
        if stopped:
            stream.status, stream.stop_date, stream.stop_reason = "ended", now, "client"
        else:  # another request stopped it first
            stream.refresh_from_db()
    return Response(StopOut({"stream": stream}).data)


def playlist(request: HttpRequest, stream_id: uuid.UUID) -> HttpResponse:
    """The stream's playlist as stored, shared through the cache for a second."""
    key = f"baseline:playlist:{stream_id}"
    cache = caches["playlists"]  # the same backend as the package's playlists
    body = cache.get(key)
    if body is None:
        stored = S3.get_object(
            Bucket=settings.BROADCAST_API_S3_BUCKET,
            Key=f"{KEY_PREFIX}/{stream_id}/{PLAYLIST_NAME}",
        )
        body = stored["Body"].read()
        cache.set(key, body, PLAYLIST_CACHE_SECONDS)
    return HttpResponse(body, content_type="application/vnd.apple.mpegurl")


def counters(request: HttpRequest) -> JsonResponse:
    """This worker's boto3 counts; with ?gc=1 also its gc-tracked objects (slow)."""
    body: dict[str, Any] = {"pid": os.getpid(), **instrument.snapshot()}
    if request.GET.get("gc"):
        gc.collect()
        body["gc_objects"] = len(gc.get_objects())
        body["gc_collections"] = [gen["collections"] for gen in gc.get_stats()]
    return JsonResponse(body)

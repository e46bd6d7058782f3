"""The baseline: what a competent DRF developer would hand-write for the same contract.

Function views with ``@api_view``, the project's authentication (DRF's
``TokenAuthentication``) and ``IsAuthenticated``, serializers in and out, the ORM:

start: validate ``type``/``name`` with a serializer, one ``AssumeRole`` with the same
compact upload-only session policy on a module-level shared STS client (same botocore
``Config`` as the package), one INSERT, the seed's JSON through response serializers.

stop: validate ``id`` with a serializer, read the caller's stream (404 otherwise), and
when it is live one conditional ``UPDATE ... WHERE id AND status = 'live'``; the seed's
JSON through a response serializer.

playlist: the cached-bytes baseline, what a competent developer would hand-write for
"serve the rewritten playlist I cached", the floor broadcast_api's viewer path is
measured against. A plain Django view (no DRF): the same playback-token check
(``broadcast_api.viewing.token_stream_id``, 404 when it does not name this stream),
then ``cache.get`` of ``(body, gzipped body)`` and the gzip one when ``Accept-Encoding``
names gzip. On a miss (one second, Redis's granularity; no single-flight, so every
thread that misses refreshes): the stream's row (one SELECT, for its prefix), one S3
GET on a module-level client (the same endpoint, path-style), the package's own
``rewrite`` with the same live window (so both sides serve the same bytes), media URLs
presigned on that client and memoised per key while more than half their life is left,
``gzip.compress`` once, ``cache.set``.

``counters`` exposes the boto3 Session/client counts of the worker that answers it.
"""

from __future__ import annotations

import gc
import gzip
import json
import os
import threading
import time
import uuid
from datetime import UTC
from typing import TYPE_CHECKING, Any, cast

import boto3
from benchproject import instrument
from botocore.config import Config
from django.conf import settings
from django.core.cache import caches
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
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
MPEGURL = "application/vnd.apple.mpegurl"
URL_SECONDS = getattr(settings, "BROADCAST_API_PLAYBACK_URL_TTL", 3600)

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
    """The stream's rewritten playlist as cached, gzip-encoded if the client accepts it."""
    from broadcast_api.viewing import token_stream_id

    if token_stream_id(request.GET.get("token")) != stream_id:
        raise Http404
    key = f"baseline:playlist:{stream_id}"
    cache = caches["playlists"]  # the same backend as the package's playlists
    cached = cache.get(key)
    if cached is None:
        cached = _rewritten(stream_id)
        cache.set(key, cached, PLAYLIST_CACHE_SECONDS)
    body, gzipped = cached
    use_gzip = "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "")
    response = HttpResponse(gzipped if use_gzip else body, content_type=MPEGURL)
    if use_gzip:
        response["Content-Encoding"] = "gzip"
    response["Vary"] = "Accept-Encoding"
    return response


def _rewritten(stream_id: uuid.UUID) -> tuple[bytes, bytes]:
    """A refresh: the stored playlist, its live window rewritten with presigned URLs."""
    from broadcast_api.models import get_stream_model
    from broadcast_api.playback.playlists import rewrite

    stream = get_object_or_404(
        get_stream_model()._default_manager.only("s3_bucket", "s3_prefix"), pk=stream_id
    )
    key = f"{stream.s3_prefix}/{PLAYLIST_NAME}"
    stored = S3.get_object(Bucket=stream.s3_bucket, Key=key)
    text = stored["Body"].read().decode()
    body = rewrite(
        text,
        playlist_key=key,
        prefix=stream.s3_prefix,
        media_url=lambda media_key: _presigned(stream.s3_bucket, media_key),
        playlist_url=lambda rendition: rendition,  # media playlists only here
        live_window=getattr(settings, "BROADCAST_API_LIVE_WINDOW", 120),
    ).body
    return body, gzip.compress(body, compresslevel=6, mtime=0)


_urls: dict[tuple[str, str], tuple[str, float]] = {}
_urls_lock = threading.Lock()


def _presigned(bucket: str, key: str) -> str:
    """A presigned GET of ``key``, reused while more than half its lifetime is left."""
    now = time.time()
    found = _urls.get((bucket, key))
    if found is None or found[1] - now < URL_SECONDS / 2:
        url = S3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=URL_SECONDS
        )
        found = (url, now + URL_SECONDS)
        with _urls_lock:
            if len(_urls) > 50_000:
                _urls.clear()
            _urls[(bucket, key)] = found
    return found[0]


def counters(request: HttpRequest) -> JsonResponse:
    """This worker's boto3 counts; with ?gc=1 also its gc-tracked objects (slow)."""
    body: dict[str, Any] = {"pid": os.getpid(), **instrument.snapshot()}
    if request.GET.get("gc"):
        gc.collect()
        body["gc_objects"] = len(gc.get_objects())
        body["gc_collections"] = [gen["collections"] for gen in gc.get_stats()]
    return JsonResponse(body)

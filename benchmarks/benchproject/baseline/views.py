"""The baseline: hand-written Django views doing only the unavoidable work.

start: authenticate (the same one-query token lookup DRF's ``TokenAuthentication`` does),
validate ``type``/``name`` by hand, one ``AssumeRole`` with the same compact upload-only
session policy on a module-level shared STS client (same botocore ``Config`` as the
package), one INSERT, and JSON of the same shape as ``POST /stream/start/``.

stop: authenticate, then one conditional ``UPDATE ... WHERE id = %s AND owner_id = %s AND
status = 'live' RETURNING ...``; only when it matches nothing (already ended, or not the
caller's) a SELECT tells the idempotent answer from a 404.

``drf_start`` / ``drf_stop`` do exactly the same work inside minimal DRF ``APIView``s (same
authentication through DRF's ``TokenAuthentication``): a reference for what DRF's request
machinery alone costs. The in-process section measures them; the wrk runs do not.

``counters`` exposes the boto3 Session/client counts of the worker that answers it.
"""

from __future__ import annotations

import gc
import json
import os
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from benchproject import instrument

if TYPE_CHECKING:
    from rest_framework.request import Request
from botocore.config import Config
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from baseline.models import BaselineStream

FMT = "%Y-%m-%d %H:%M:%S"
DURATION = 3600
KEY_PREFIX = "streams"
ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]

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
SETTINGS: dict[str, str] = {
    name: getattr(settings, f"BROADCAST_API_{name}")
    for name in ("S3_BUCKET", "S3_REGION", "STS_ROLE_ARN")
}

TABLE = BaselineStream._meta.db_table
STOP_SQL = (
    f"UPDATE {TABLE} SET status = 'ended', stop_date = %s, stop_reason = 'client' "
    "WHERE id = %s AND owner_id = %s AND status = 'live' RETURNING name, start_date, stop_date"
)
STOP_SQL_STAFF = (
    f"UPDATE {TABLE} SET status = 'ended', stop_date = %s, stop_reason = 'client' "
    "WHERE id = %s AND status = 'live' RETURNING name, start_date, stop_date"
)
ENDED_SQL = f"SELECT name, start_date, stop_date FROM {TABLE} WHERE id = %s AND owner_id = %s"
ENDED_SQL_STAFF = f"SELECT name, start_date, stop_date FROM {TABLE} WHERE id = %s"


def _user(request: HttpRequest) -> Any:
    """What DRF's TokenAuthentication does: one indexed SELECT with the user joined."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0] != "Token":
        return None
    try:
        token = Token.objects.select_related("user").get(key=parts[1])
    except Token.DoesNotExist:
        return None
    return token.user if token.user.is_active else None


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def do_start(user: Any, params: Any) -> tuple[int, dict[str, Any]]:
    """Validate, one AssumeRole, one INSERT; the response body of POST /stream/start/."""
    if params.get("type") != "hls":
        return 400, {"code": "invalid", "detail": "type must be hls."}
    name = params.get("name") or ""
    if len(name) > 255:
        return 400, {"code": "invalid", "detail": "name is too long."}

    stream_id = uuid.uuid4()
    bucket = SETTINGS["S3_BUCKET"]
    region = SETTINGS["S3_REGION"]
    prefix = f"{KEY_PREFIX}/{stream_id}"
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "UploadStreamSegments",
                    "Effect": "Allow",
                    "Action": ACTIONS,
                    "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"],
                }
            ],
        },
        separators=(",", ":"),
    )
    creds = STS.assume_role(
        RoleArn=SETTINGS["STS_ROLE_ARN"],
        RoleSessionName=f"stream-{stream_id}",
        Policy=policy,
        DurationSeconds=DURATION,
    )["Credentials"]

    now = datetime.now(UTC)
    BaselineStream._default_manager.create(
        id=stream_id,
        name=name,
        type="hls",
        owner=user,
        status="live",
        start_date=now,
        s3_bucket=bucket,
        s3_prefix=prefix,
        s3_region=region,
    )
    return 201, {
        "stream": {"id": str(stream_id), "name": name, "start_date": now.strftime(FMT)},
        "endpoint": {
            "S3": {
                "aws_access_key_id": creds["AccessKeyId"],
                "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"],
                "aws_expiration": float(DURATION),
                "s3_bucket_name": bucket,
                "s3_bucket_path": prefix,
                "s3_bucket_region": region,
                "aws_expiration_date": creds["Expiration"].astimezone(UTC).strftime(FMT),
                "s3_endpoint_url": None,
            }
        },
    }


def do_stop(user: Any, params: Any) -> tuple[int, dict[str, Any]]:
    """One conditional UPDATE ... RETURNING; a SELECT only when it matched nothing."""
    try:
        stream_id = uuid.UUID(str(params.get("id") or ""))
    except ValueError:
        return 400, {"code": "invalid", "detail": "id must be a UUID."}
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        if user.is_staff:
            cursor.execute(STOP_SQL_STAFF, [now, stream_id])
        else:
            cursor.execute(STOP_SQL, [now, stream_id, user.pk])
        row = cursor.fetchone()
        if row is None:  # already ended (idempotent), or not the caller's (404)
            if user.is_staff:
                cursor.execute(ENDED_SQL_STAFF, [stream_id])
            else:
                cursor.execute(ENDED_SQL, [stream_id, user.pk])
            row = cursor.fetchone()
            if row is None:
                return 404, {"code": "not_found", "detail": "Not found."}
    name, start_date, stop_date = row
    return 200, {
        "stream": {
            "id": str(stream_id),
            "name": name,
            "start_date": start_date.astimezone(UTC).strftime(FMT),
            "stop_date": stop_date.astimezone(UTC).strftime(FMT) if stop_date else None,
        }
    }


class _Params:
    """Body values, then the query string (the seed's clients send either)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def get(self, name: str) -> str | None:
        value = self.request.POST.get(name)
        return self.request.GET.get(name) if value is None else value


def _view(work: Any) -> Any:
    @csrf_exempt
    def view(request: HttpRequest) -> JsonResponse:
        if request.method != "POST":
            return _error(405, "method_not_allowed", "POST only.")
        user = _user(request)
        if user is None:
            return _error(
                401, "not_authenticated", "Authentication credentials were not provided."
            )
        status, body = work(user, _Params(request))
        return JsonResponse(body, status=status)

    return view


start = _view(do_start)
stop = _view(do_stop)


def counters(request: HttpRequest) -> JsonResponse:
    """This worker's boto3 counts; with ?gc=1 also its gc-tracked objects (slow)."""
    body: dict[str, Any] = {"pid": os.getpid(), **instrument.snapshot()}
    if request.GET.get("gc"):
        gc.collect()
        body["gc_objects"] = len(gc.get_objects())
        body["gc_collections"] = [gen["collections"] for gen in gc.get_stats()]
    return JsonResponse(body)


class _DRFView(APIView):
    work: Any = None

    def post(self, request: Request) -> Response:
        params = request.data if request.data else request.query_params
        status, body = type(self).work(request.user, params)
        return Response(body, status=status)


class DRFStart(_DRFView):
    work = staticmethod(do_start)


class DRFStop(_DRFView):
    work = staticmethod(do_stop)


drf_start = DRFStart.as_view()
drf_stop = DRFStop.as_view()

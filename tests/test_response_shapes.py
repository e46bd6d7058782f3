"""The response serializers render exactly the seed's JSON, for any stream and grant.

The expected values are the seed contract written out by hand (UTC, ``YYYY-MM-DD
HH:MM:SS``, ``aws_expiration`` a float of seconds), independent of the serializers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from broadcast_api.api import prepare_start_hls_stream_response, prepare_stop_hls_stream_response
from broadcast_api.credentials import StorageGrant
from broadcast_api.models import get_stream_model
from broadcast_api.serializers import StartStreamResponseSerializer, StopStreamResponseSerializer
from broadcast_api.services import StartResult, StopResult
from tests.seed_format import seed_time

aware_times = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]),
)


@given(
    name=st.text(max_size=255),
    start=aware_times,
    expiration=aware_times,
    duration=st.integers(900, 43200),
    endpoint=st.none() | st.just("http://127.0.0.1:9000"),
)
def test_start_response(
    name: str, start: datetime, expiration: datetime, duration: int, endpoint: str | None
) -> None:
    stream = get_stream_model()(id=uuid.uuid4(), name=name, start_date=start)
    grant = StorageGrant(
        access_key_id="ASIAKEY",
        secret_access_key="secret",
        session_token="token",
        expiration=expiration,
        duration_seconds=duration,
        bucket="bucket",
        prefix=f"streams/{stream.id}",
        region="eu-west-3",
        endpoint_url=endpoint,
    )
    expected: dict[str, Any] = {
        "stream": {
            "id": str(stream.id),
            "name": name,
            "start_date": seed_time(start),
            # New beside the seed's keys; a path without a request to build a URL from.
            "playback_url": f"/stream/{stream.id}/playlist.m3u8",
            "thumbnail_url": None,  # until the server has seen a poster
        },
        "endpoint": {
            "S3": {
                "aws_access_key_id": "ASIAKEY",
                "aws_secret_access_key": "secret",
                "aws_session_token": "token",
                "aws_expiration": float(duration),
                "s3_bucket_name": "bucket",
                "s3_bucket_path": f"streams/{stream.id}",
                "s3_bucket_region": "eu-west-3",
                "aws_expiration_date": seed_time(expiration),
                "s3_endpoint_url": endpoint,
                "publish_session": 1,
                "s3_stream_path": f"streams/{stream.id}",
            }
        },
    }
    rendered = StartStreamResponseSerializer(StartResult(stream=stream, storage=grant)).data
    assert rendered == expected
    assert isinstance(rendered["endpoint"]["S3"]["aws_expiration"], float)
    # The seed's function API renders the same from its dict.
    assert prepare_start_hls_stream_response({"stream": stream, "storage": grant}) == expected


@given(name=st.text(max_size=255), start=aware_times, stop=st.none() | aware_times)
def test_stop_response(name: str, start: datetime, stop: datetime | None) -> None:
    stream = get_stream_model()(id=uuid.uuid4(), name=name, start_date=start, stop_date=stop)
    expected = {
        "stream": {
            "id": str(stream.id),
            "name": name,
            "start_date": seed_time(start),
            "stop_date": seed_time(stop),
            "playback_url": f"/stream/{stream.id}/playlist.m3u8",
            "thumbnail_url": None,
            "viewer_count": 0,
            "peak_viewer_count": None,
        }
    }
    assert StopStreamResponseSerializer(StopResult(stream=stream, stopped=True)).data == expected
    assert prepare_stop_hls_stream_response({"stream": stream}) == expected

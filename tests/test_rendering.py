"""The hot-path renderers produce exactly what the documented serializers produce."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from broadcast_api.credentials import StorageGrant
from broadcast_api.models import Stream
from broadcast_api.rendering import start_response, stop_response
from broadcast_api.serializers import StartStreamResponseSerializer, StopStreamResponseSerializer
from broadcast_api.services import StartResult, StopResult

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
def test_start_response_matches_its_serializer(
    name: str, start: datetime, expiration: datetime, duration: int, endpoint: str | None
) -> None:
    stream = Stream(id=uuid.uuid4(), name=name, start_date=start)
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
    result = StartResult(stream=stream, storage=grant)
    expected = StartStreamResponseSerializer(result).data
    assert start_response(result) == expected
    assert start_response({"stream": stream, "storage": grant}) == expected


@given(name=st.text(max_size=255), start=aware_times, stop=st.none() | aware_times)
def test_stop_response_matches_its_serializer(
    name: str, start: datetime, stop: datetime | None
) -> None:
    stream = Stream(id=uuid.uuid4(), name=name, start_date=start, stop_date=stop)
    result = StopResult(stream=stream, stopped=True)
    expected = StopStreamResponseSerializer(result).data
    assert stop_response(result) == expected
    assert stop_response({"stream": stream}) == expected

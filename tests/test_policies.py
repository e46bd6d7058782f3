"""The session policy: one stream's prefix, upload actions only, under the size limit.

Property tests (Hypothesis) for: no stream name, id, prefix setting or bucket can widen
the resource beyond one stream's prefix; the policy stays under the 2,048-character
session policy limit; ARNs are right for the aws, aws-cn and aws-us-gov partitions.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from broadcast_api.credentials import get_credential_provider
from broadcast_api.models import get_stream_model
from broadcast_api.policies import (
    MAX_PREFIX_LENGTH,
    SESSION_POLICY_LIMIT,
    UploadScope,
    is_valid_bucket,
    is_valid_key_prefix,
    is_valid_region,
    partition_for_region,
    session_prefix,
)
from broadcast_api.services import upload_scope

# What the policy may allow, written out here rather than imported.
UPLOAD_ACTIONS = {"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}
STREAM_ID = uuid.UUID("b8c2401d-b2f8-47cd-90bd-53b608d47f3f")

# -- an independent oracle: what the settings may hold ---------------------------------

SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
SAFE_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def oracle_bucket(bucket: str) -> bool:
    return SAFE_BUCKET.fullmatch(bucket) is not None and ".." not in bucket


def oracle_prefix(key_prefix: str) -> str | None:
    """The normalized prefix if ``key_prefix`` is acceptable, else None."""
    prefix = key_prefix.strip("/")
    if prefix == "":
        return prefix
    if len(prefix) > MAX_PREFIX_LENGTH:
        return None
    for segment in prefix.split("/"):
        if SAFE_SEGMENT.fullmatch(segment) is None or segment in {".", ".."}:
            return None
    return prefix


def oracle_partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# -- strategies ---------------------------------------------------------------------

SAFE = string.ascii_letters + string.digits + "_.-"
HOSTILE = "*?${}/\\.%:#[] \t\r\n\x00é"
segments = st.one_of(
    st.text(alphabet=SAFE, min_size=1, max_size=12),
    st.sampled_from(["", ".", "..", "...", "*", "?", "${aws:username}", "a\n", " a", "%2e%2e"]),
)
prefix_like = st.lists(segments, max_size=6).map("/".join)
key_prefixes = st.one_of(
    st.text(),
    st.text(alphabet=SAFE + HOSTILE),
    prefix_like,
    prefix_like.map(lambda prefix: f"/{prefix}/"),
    st.text(alphabet="ab/", min_size=500, max_size=530),
)
bucket_like = st.text(alphabet=string.ascii_lowercase + string.digits + ".-", max_size=70)
buckets = st.one_of(
    st.text(max_size=70),
    bucket_like,
    bucket_like.map(lambda bucket: bucket + "\n"),
    st.from_regex(SAFE_BUCKET, fullmatch=True),
    st.sampled_from(["broadcast-test", "a" * 63, "my.bucket.name", "bucket/*", "b*"]),
)
KNOWN_REGIONS = ["us-east-1", "us-west-1", "eu-west-3", "cn-north-1", "cn-northwest-1"]
KNOWN_REGIONS += ["us-gov-west-1", "us-gov-east-1", "ap-southeast-2", "me-central-1"]
regions = st.one_of(st.sampled_from(KNOWN_REGIONS), st.text(max_size=20))


def scope_or_none(
    stream_id: uuid.UUID, bucket: str, key_prefix: str, region: str
) -> UploadScope | None:
    try:
        return UploadScope.for_stream(
            stream_id, bucket=bucket, key_prefix=key_prefix, region=region
        )
    except ValueError:
        return None


# -- the resource -------------------------------------------------------------------


@settings(max_examples=400)
@given(stream_id=st.uuids(), bucket=buckets, key_prefix=key_prefixes, region=regions)
@example(stream_id=STREAM_ID, bucket="broadcast-test", key_prefix="streams", region="us-east-1")
@example(stream_id=STREAM_ID, bucket="broadcast-test", key_prefix="/", region="cn-north-1")
@example(stream_id=STREAM_ID, bucket="broadcast-test", key_prefix="../*", region="us-east-1")
@example(stream_id=STREAM_ID, bucket="broadcast-test\n", key_prefix="streams", region="us-east-1")
@example(stream_id=STREAM_ID, bucket="broadcast-test", key_prefix="streams\n", region="us-east-1")
def test_the_resource_is_exactly_one_streams_prefix(
    stream_id: uuid.UUID, bucket: str, key_prefix: str, region: str
) -> None:
    scope = scope_or_none(stream_id, bucket, key_prefix, region)
    prefix = oracle_prefix(key_prefix)
    if scope is None:
        # Rejecting is safe; rejecting a valid configuration is a bug too.
        assert prefix is None or not oracle_bucket(bucket)
        return
    assert oracle_bucket(bucket), f"invalid bucket accepted: {bucket!r}"
    assert prefix is not None, f"invalid key prefix accepted: {key_prefix!r}"
    key = f"{prefix}/{stream_id}" if prefix else str(stream_id)
    arn = scope.resource_arn
    assert arn == f"arn:{oracle_partition(region)}:s3:::{bucket}/{key}/*"
    assert scope.prefix == key
    assert scope.bucket == bucket
    head = arn.removesuffix("/*")
    for wildcard in ("*", "?", "${"):
        assert wildcard not in head
    assert ".." not in key.split("/")
    assert "." not in key.split("/")
    assert not any(char.isspace() or not char.isprintable() for char in arn)


@given(stream_id=st.uuids(), key_prefix=key_prefixes)
def test_every_stream_gets_a_prefix_of_its_own(stream_id: uuid.UUID, key_prefix: str) -> None:
    scope = scope_or_none(stream_id, "broadcast-test", key_prefix, "us-east-1")
    other = scope_or_none(uuid.uuid4(), "broadcast-test", key_prefix, "us-east-1")
    if scope is None or other is None:
        return
    # Neither prefix contains the other: "<prefix>/<id>/" cannot match another stream.
    assert not (other.prefix + "/").startswith(scope.prefix + "/")
    assert scope.prefix.endswith(f"/{stream_id}") or scope.prefix == str(stream_id)


def test_stream_id_must_be_a_uuid() -> None:
    with pytest.raises(TypeError):
        UploadScope.for_stream(
            "*",  # type: ignore[arg-type]
            bucket="broadcast-test",
            key_prefix="streams",
            region="us-east-1",
        )


# -- the policy document ------------------------------------------------------------


def assert_upload_only(policy_json: str, resource_arn: str) -> None:
    assert policy_json == json.dumps(json.loads(policy_json), separators=(",", ":"))
    policy = json.loads(policy_json)
    assert set(policy) == {"Version", "Statement"}
    assert policy["Version"] == "2012-10-17"
    (statement,) = policy["Statement"]
    assert set(statement) == {"Sid", "Effect", "Action", "Resource"}
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == sorted(UPLOAD_ACTIONS)
    assert not any("*" in action or "?" in action for action in statement["Action"])
    assert statement["Resource"] == [resource_arn]


@given(stream_id=st.uuids(), bucket=buckets, key_prefix=key_prefixes, region=regions)
def test_the_policy_allows_uploading_under_the_resource_and_nothing_else(
    stream_id: uuid.UUID, bucket: str, key_prefix: str, region: str
) -> None:
    scope = scope_or_none(stream_id, bucket, key_prefix, region)
    if scope is None:
        return
    policy_json = scope.policy_json()
    assert_upload_only(policy_json, scope.resource_arn)
    assert len(policy_json) < SESSION_POLICY_LIMIT


def test_the_policy_json_has_no_spaces_outside_strings() -> None:
    scope = UploadScope.for_stream(
        STREAM_ID, bucket="broadcast-test", key_prefix="streams", region="us-east-1"
    )
    outside_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', scope.policy_json())
    assert outside_strings == outside_strings.replace(" ", "").replace("\n", "")
    assert '","' in scope.policy_json()


@pytest.mark.parametrize("region", ["us-east-1", "cn-northwest-1", "us-gov-west-1"])
def test_the_longest_valid_policy_is_under_the_limit(region: str) -> None:
    segment = "x" * 63
    key_prefix = "/".join([segment] * 8)
    key_prefix = key_prefix + "/" + "y" * (MAX_PREFIX_LENGTH - len(key_prefix) - 1)
    assert len(key_prefix) == MAX_PREFIX_LENGTH
    bucket = "b" * 63
    scope = UploadScope.for_stream(STREAM_ID, bucket=bucket, key_prefix=key_prefix, region=region)
    policy_json = scope.policy_json()
    assert_upload_only(policy_json, scope.resource_arn)
    assert len(policy_json) < SESSION_POLICY_LIMIT == 2048
    # One character more is not a valid prefix, so nothing longer can reach a policy.
    with pytest.raises(ValueError, match="invalid key prefix"):
        UploadScope.for_stream(
            STREAM_ID, bucket=bucket, key_prefix=key_prefix + "y", region=region
        )
    with pytest.raises(ValueError, match="invalid bucket"):
        UploadScope.for_stream(STREAM_ID, bucket=bucket + "b", key_prefix="s", region=region)


# -- partitions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("us-west-1", "aws"),
        ("eu-west-3", "aws"),
        ("ap-southeast-2", "aws"),
        ("sa-east-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-gov-east-1", "aws-us-gov"),
    ],
)
def test_partition_and_arn_for_region(region: str, partition: str) -> None:
    assert partition_for_region(region) == partition
    scope = UploadScope.for_stream(
        STREAM_ID, bucket="broadcast-test", key_prefix="streams", region=region
    )
    assert scope.partition == partition
    assert scope.resource_arn == f"arn:{partition}:s3:::broadcast-test/streams/{STREAM_ID}/*"


def botocore_regions() -> Iterator[tuple[str, str]]:
    session = botocore.session.get_session()
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        for region in session.get_available_regions("s3", partition_name=partition):
            yield region, partition


def test_partitions_agree_with_botocore_for_every_s3_region() -> None:
    regions = list(botocore_regions())
    assert {partition for _, partition in regions} == {"aws", "aws-cn", "aws-us-gov"}
    wrong = [
        (region, partition, partition_for_region(region))
        for region, partition in regions
        if partition_for_region(region) != partition
    ]
    assert wrong == []


# -- validators, by example ---------------------------------------------------------


@pytest.mark.parametrize(
    "prefix", ["", "streams", "a/b/c", "tenant-1/live_streams", "v1.0/x", "...", "x" * 512]
)
def test_valid_key_prefixes(prefix: str) -> None:
    assert is_valid_key_prefix(prefix)


@pytest.mark.parametrize(
    "prefix",
    [
        "/streams",  # callers strip slashes first; an empty first segment is invalid
        "streams/",
        "a//b",
        ".",
        "..",
        "a/../b",
        "a/./b",
        "*",
        "streams/*",
        "stream?",
        "${aws:username}",
        "a b",
        "a\tb",
        "é",
        "a\\b",
        "streams\n",
        "a\n/b",
        "x" * 513,
    ],
)
def test_invalid_key_prefixes(prefix: str) -> None:
    assert not is_valid_key_prefix(prefix)


@pytest.mark.parametrize(
    "bucket", ["abc", "broadcast-test", "my.bucket.name", "a" * 63, "0bucket9", "a-b.c-d"]
)
def test_valid_buckets(bucket: str) -> None:
    assert is_valid_bucket(bucket)


@pytest.mark.parametrize(
    "bucket",
    [
        "",
        "ab",
        "a" * 64,
        "Bucket",
        "bucket_name",
        "-bucket",
        "bucket-",
        ".bucket",
        "bucket.",
        "my..bucket",
        "bucket/*",
        "b*",
        "b?c",
        "bucket name",
        "broadcast-test\n",
        "\nbroadcast-test",
    ],
)
def test_invalid_buckets(bucket: str) -> None:
    assert not is_valid_bucket(bucket)


@pytest.mark.parametrize(
    "region",
    ["us-east-1", "eu-west-3", "cn-north-1", "cn-northwest-1", "us-gov-west-1", "ap-southeast-2"],
)
def test_valid_regions(region: str) -> None:
    assert is_valid_region(region)


@pytest.mark.parametrize(
    "region", ["", "us-east", "US-EAST-1", "us_east_1", "us-east-1a", "useast1", "us-east-1\n"]
)
def test_invalid_regions(region: str) -> None:
    assert not is_valid_region(region)


# -- client input never reaches a policy ---------------------------------------------


@pytest.fixture
def sent_policies(sts: Any) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every AssumeRole call the shared STS client makes."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        calls.append(dict(params))

    client = get_credential_provider().get_client()
    client.meta.events.register("provide-client-params.sts.AssumeRole", record)
    try:
        yield calls
    finally:
        client.meta.events.unregister("provide-client-params.sts.AssumeRole", record)


HOSTILE_NAMES = [
    "../../*",
    "*",
    "?",
    "${aws:username}",
    "streams/../other-stream/*",
    "/",
    '"},{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
    "arn:aws:s3:::other-bucket/*",
    "x" * 255,
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_stream_name_never_reaches_the_policy(
    sent_policies: list[dict[str, Any]], client_for: Any, user: Any, name: str
) -> None:
    response = client_for(user).post(
        "/stream/start/", {"type": "hls", "name": name}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    stream_id = body["stream"]["id"]
    assert body["stream"]["name"] == name
    stream = get_stream_model()._default_manager.get(pk=stream_id)
    assert stream.s3_prefix == f"streams/{stream_id}"
    assert stream.s3_bucket == "broadcast-test"
    assert body["endpoint"]["S3"]["s3_bucket_path"] == f"streams/{stream_id}"
    (call,) = sent_policies
    assert call["RoleSessionName"] == f"stream-{stream_id}"
    # Every key and value of the policy is checked: there is no room left for the name.
    assert_upload_only(call["Policy"], f"arn:aws:s3:::broadcast-test/streams/{stream_id}/*")


@pytest.mark.django_db
def test_a_hostile_name_in_the_query_string_never_reaches_the_policy(
    sent_policies: list[dict[str, Any]], client_for: Any, user: Any
) -> None:
    response = client_for(user).post("/stream/start/?type=hls&name=../../*")
    assert response.status_code == 201, response.content
    stream_id = response.json()["stream"]["id"]
    assert get_stream_model()._default_manager.get(pk=stream_id).s3_prefix == (
        f"streams/{stream_id}"
    )
    (call,) = sent_policies
    assert "../" not in call["Policy"]


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.text(max_size=255).filter(lambda name: "\x00" not in name))
def test_no_stream_name_reaches_the_policy(
    sent_policies: list[dict[str, Any]], client_for: Any, user: Any, name: str
) -> None:
    sent_policies.clear()
    response = client_for(user).post(
        "/stream/start/", {"type": "hls", "name": name}, format="json"
    )
    assert response.status_code == 201, response.content
    stream_id = response.json()["stream"]["id"]
    assert get_stream_model()._default_manager.get(pk=stream_id).s3_prefix == (
        f"streams/{stream_id}"
    )
    (call,) = sent_policies
    assert_upload_only(call["Policy"], f"arn:aws:s3:::broadcast-test/streams/{stream_id}/*")


def test_upload_scope_uses_the_settings_only(settings: Any) -> None:
    settings.BROADCAST_API_KEY_PREFIX = "/tenant-1/streams/"
    settings.BROADCAST_API_S3_BUCKET = "other-bucket"
    settings.BROADCAST_API_S3_REGION = "cn-north-1"
    scope = upload_scope(STREAM_ID)
    assert scope.prefix == f"tenant-1/streams/{STREAM_ID}"
    assert scope.resource_arn == f"arn:aws-cn:s3:::other-bucket/tenant-1/streams/{STREAM_ID}/*"
    assert scope.region == "cn-north-1"


def test_upload_scope_refuses_an_unsafe_prefix_setting(settings: Any) -> None:
    settings.BROADCAST_API_KEY_PREFIX = "streams/*"
    with pytest.raises(ValueError, match="invalid key prefix"):
        upload_scope(STREAM_ID)


def test_a_later_session_may_upload_its_folder_and_the_poster_only() -> None:
    stream_id = uuid.UUID("b8c2401d-b2f8-47cd-90bd-53b608d47f3f")
    first = UploadScope.for_stream(stream_id, bucket="bkt", key_prefix="s", region="us-east-1")
    assert first.upload_prefix == f"s/{stream_id}"
    assert first.policy()["Statement"][0]["Resource"] == [f"arn:aws:s3:::bkt/s/{stream_id}/*"]
    third = dataclasses.replace(first, session=3)
    assert third.upload_prefix == f"s/{stream_id}/session-3"
    (statement,) = third.policy()["Statement"]
    assert statement["Resource"] == [
        f"arn:aws:s3:::bkt/s/{stream_id}/session-3/*",
        f"arn:aws:s3:::bkt/s/{stream_id}/poster.jpg",
    ]
    assert len(third.policy_json()) < SESSION_POLICY_LIMIT


@pytest.mark.parametrize("session", [0, -1, True, "2"])
def test_a_session_number_is_a_positive_int(session: Any) -> None:
    with pytest.raises(ValueError, match="publishing session"):
        session_prefix("s/x", session)

"""The OpenAPI schema: generated without warnings, valid, and equal to tests/schema.yaml.

The golden file is the API's reviewed contract. When the schema changes on purpose,
regenerate it and review the diff::

    BROADCAST_API_UPDATE_SCHEMA=1 .venv/bin/pytest tests/test_schema.py
    git diff tests/schema.yaml
"""

from __future__ import annotations

import copy
import difflib
import os
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.urls import include, path
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker
from openapi_spec_validator import OpenAPIV30SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from broadcast_api.serializers import StreamListQuerySerializer

# The package mounted the way its README tells a host to: this module is the URLconf
# the schema is generated from (tests/urls.py also mounts a host's subclass).
urlpatterns = [path("", include("broadcast_api.urls"))]

GOLDEN = Path(__file__).with_name("schema.yaml")
UPDATE_ENV = "BROADCAST_API_UPDATE_SCHEMA"
OPERATIONS = {
    ("/stream/start/", "post"): "stream_start",
    ("/stream/stop/", "post"): "stream_stop",
    ("/stream/", "get"): "stream_list",
    ("/stream/{id}/", "get"): "stream_retrieve",
    ("/stream/{id}/playlist.m3u8", "get"): "stream_playlist",
    ("/stream/{id}/credentials/", "post"): "stream_credentials",
    ("/stream/{id}/resume/", "post"): "stream_resume",
    ("/stream/{id}/", "patch"): "stream_update",
    ("/stream/{id}/", "delete"): "stream_delete",
    ("/stream/{id}/poster/", "post"): "stream_poster",
}


def generate(tmp_path: Path) -> str:
    """``manage.py spectacular --validate --fail-on-warn`` (raises on any warning)."""
    target = tmp_path / "schema.yaml"
    stderr = StringIO()
    call_command(
        "spectacular",
        "--urlconf",
        __name__,
        "--file",
        str(target),
        "--validate",
        "--fail-on-warn",
        stdout=StringIO(),
        stderr=stderr,
    )
    assert "Warning" not in stderr.getvalue(), stderr.getvalue()
    return target.read_text()


@pytest.fixture(scope="module")
def schema_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    return generate(tmp_path_factory.mktemp("schema"))


@pytest.fixture(scope="module")
def schema(schema_text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(schema_text)
    return loaded


def test_schema_matches_the_golden_file(schema_text: str) -> None:
    if os.environ.get(UPDATE_ENV) == "1":
        GOLDEN.write_text(schema_text)
    expected = GOLDEN.read_text() if GOLDEN.exists() else ""
    if schema_text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                schema_text.splitlines(keepends=True),
                fromfile="tests/schema.yaml (committed)",
                tofile="generated",
            )
        )
        pytest.fail(
            "The OpenAPI schema differs from tests/schema.yaml. If the change is intended, "
            f"regenerate it with {UPDATE_ENV}=1 .venv/bin/pytest tests/test_schema.py "
            "and review the diff.\n\n" + diff,
            pytrace=False,
        )


def test_golden_file_is_a_valid_openapi_30_document() -> None:
    golden = yaml.safe_load(GOLDEN.read_text())
    validate(golden, cls=OpenAPIV30SpecValidator)
    assert golden["openapi"].startswith("3.0.")


def test_generated_schema_is_valid(schema: dict[str, Any]) -> None:
    validate(schema, cls=OpenAPIV30SpecValidator)


def test_an_invalid_document_is_rejected_by_the_validator(schema: dict[str, Any]) -> None:
    # The validator is not a no-op: a response without a description is invalid.
    broken = copy.deepcopy(schema)
    del broken["paths"]["/stream/"]["get"]["responses"]["200"]["description"]
    with pytest.raises(OpenAPIValidationError):
        validate(broken, cls=OpenAPIV30SpecValidator)


def test_operation_ids(schema: dict[str, Any]) -> None:
    found = {
        (route, method): operation["operationId"]
        for route, item in schema["paths"].items()
        for method, operation in item.items()
    }
    assert found == OPERATIONS


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_named_components(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    # drf-spectacular's names: COMPONENT_SPLIT_REQUEST adds "Request" to request
    # components, so StartStreamRequestSerializer becomes StartStreamRequest.
    assert set(components) == {
        "StartStreamRequest",
        "StartStreamResponse",
        "StartedStream",
        "Endpoint",
        "S3Endpoint",
        "StopStreamRequest",
        "StopStreamResponse",
        "PatchedStreamUpdateRequest",
        "StoppedStream",
        "Stream",
        "PaginatedStreamList",
        "StatusEnum",
        "TypeEnum",
        "Error",
        "FieldError",
    }
    assert set(components["StartStreamRequest"]["properties"]) == {
        "type",
        "name",
        "is_public",
        "title",
        "description",
    }
    assert set(components["PatchedStreamUpdateRequest"]["properties"]) == {
        "title",
        "description",
        "is_public",
    }
    assert components["StartStreamRequest"]["required"] == ["type"]
    assert components["StopStreamRequest"]["required"] == ["id"]
    assert set(components["StartStreamResponse"]["required"]) == {"stream", "endpoint"}
    assert components["Endpoint"]["properties"]["S3"]["allOf"] == [ref("S3Endpoint")]
    assert {
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_expiration",
        "s3_bucket_name",
        "s3_bucket_path",
        "s3_bucket_region",
    } <= set(components["S3Endpoint"]["required"])
    assert components["S3Endpoint"]["properties"]["aws_expiration"]["type"] == "number"
    assert set(components["StoppedStream"]["required"]) == {
        "id",
        "name",
        "start_date",
        "stop_date",
        "playback_url",
        "thumbnail_url",
        "viewer_count",
        "peak_viewer_count",
    }
    assert components["Stream"]["properties"]["viewer_count"]["type"] == "integer"
    assert components["Stream"]["properties"]["peak_viewer_count"]["nullable"] is True
    assert components["Stream"]["properties"]["thumbnail_url"]["nullable"] is True
    assert components["StartedStream"]["properties"]["thumbnail_url"]["nullable"] is True
    assert set(components["Error"]["required"]) == {"code", "detail"}
    assert set(components["Error"]["properties"]) == {"code", "detail", "fields", "reason"}
    assert not any(name.startswith("aws_") for name in components["Stream"]["properties"])


def content(operation: dict[str, Any], status: str) -> dict[str, Any]:
    body: dict[str, Any] = operation["responses"][status]["content"]["application/json"]
    return body


ERROR_STATUSES = {
    "stream_start": {"400", "401", "403", "409", "422", "429", "503"},
    "stream_stop": {"400", "401", "403", "404", "503"},
    "stream_list": {"400", "401", "403", "404"},
    "stream_retrieve": {"401", "403", "404"},
    "stream_playlist": {"401", "404", "503"},
    "stream_credentials": {"401", "403", "404", "409", "503"},
    "stream_resume": {"401", "403", "404", "409", "503"},
    "stream_update": {"400", "401", "403", "404"},
    "stream_delete": {"401", "403", "404", "503"},
    "stream_poster": {"401", "403", "404", "409", "503"},
}


def operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation_id: schema["paths"][route][method]
        for (route, method), operation_id in OPERATIONS.items()
    }


def test_operations_use_the_named_components(schema: dict[str, Any]) -> None:
    ops = operations(schema)
    for operation_id, request in (
        ("stream_start", "StartStreamRequest"),
        ("stream_stop", "StopStreamRequest"),
    ):
        # JSON only: one body under two media types trips client generators. The
        # seed's query-string and form parameters still work (tests/test_api_contract.py).
        assert ops[operation_id]["requestBody"]["content"] == {
            "application/json": {"schema": ref(request)},
        }
        assert ops[operation_id]["requestBody"]["required"] is True
    assert content(ops["stream_start"], "201")["schema"] == ref("StartStreamResponse")
    assert content(ops["stream_stop"], "200")["schema"] == ref("StopStreamResponse")
    assert content(ops["stream_list"], "200")["schema"] == ref("PaginatedStreamList")
    assert content(ops["stream_retrieve"], "200")["schema"] == ref("Stream")
    assert "content" not in ops["stream_delete"]["responses"]["204"]  # no body
    playlist = ops["stream_playlist"]["responses"]["200"]["content"]
    assert playlist == {"application/vnd.apple.mpegurl": {"schema": {"type": "string"}}}
    for operation_id, operation in ops.items():
        errors = {code for code in operation["responses"] if not code.startswith("2")}
        assert errors == ERROR_STATUSES[operation_id], operation_id
        for code in errors:
            assert content(operation, code)["schema"] == ref("Error"), (operation_id, code)


def test_every_operation_but_the_playlist_requires_authentication(
    schema: dict[str, Any],
) -> None:
    for operation_id, operation in operations(schema).items():
        assert operation["security"], operation_id
        anonymous = {} in operation["security"]
        # Players open the playlist with a token, or a public stream's with nothing.
        assert anonymous == (operation_id == "stream_playlist"), operation_id


def test_examples_are_present(schema: dict[str, Any]) -> None:
    ops = operations(schema)
    assert set(content(ops["stream_start"], "201")["examples"]) == {"Started"}
    assert set(content(ops["stream_stop"], "200")["examples"]) == {"Stopped"}
    assert set(content(ops["stream_start"], "503")["examples"]) == {"STSTimedOut"}
    assert set(content(ops["stream_stop"], "404")["examples"]) == {"NotFound"}
    assert set(content(ops["stream_retrieve"], "404")["examples"]) == {"NotFound"}
    invalid_examples = {"stream_start": "Type", "stream_stop": "Id", "stream_list": "Status"}
    for operation_id, field in invalid_examples.items():
        examples = content(ops[operation_id], "400")["examples"]
        assert set(examples) == {f"Invalid{field}"}
        invalid_fields = examples[f"Invalid{field}"]["value"]["fields"]
        assert set(invalid_fields) == {field.lower()}
    started = content(ops["stream_start"], "201")["examples"]["Started"]["value"]
    assert set(started) == {"stream", "endpoint"}
    assert set(started["stream"]) == {"id", "name", "start_date", "playback_url", "thumbnail_url"}


def iter_examples(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """(label, response schema, example value) for every response example."""
    found = []
    for route, item in schema["paths"].items():
        for method, operation in item.items():
            for code, response in operation["responses"].items():
                for media_type, body in response.get("content", {}).items():
                    for name, example in body.get("examples", {}).items():
                        label = f"{method.upper()} {route} {code} {media_type} {name}"
                        found.append((label, body["schema"], example["value"]))
    return found


def test_every_example_conforms_to_its_schema(schema: dict[str, Any]) -> None:
    """Formats included: an example is what a client sees, and it must match the schema."""
    examples = iter_examples(schema)
    assert len(examples) >= 7
    problems = []
    for label, response_schema, value in examples:
        validator = OAS30ReadValidator(
            {**response_schema, "components": schema["components"]},
            format_checker=oas30_format_checker,
        )
        problems += [
            f"{label}: {'/'.join(map(str, error.path))}: {error.message}"
            for error in validator.iter_errors(value)
        ]
    assert problems == [], "\n".join(problems)


def test_the_example_check_catches_a_wrong_example(schema: dict[str, Any]) -> None:
    validator = OAS30ReadValidator(
        {**ref("StopStreamResponse"), "components": schema["components"]},
        format_checker=oas30_format_checker,
    )
    assert not validator.is_valid({"stream": {"id": "not-a-uuid"}})


def test_request_components_accept_the_seed_requests(schema: dict[str, Any]) -> None:
    components = {"components": schema["components"]}
    start = OAS30WriteValidator(
        {**ref("StartStreamRequest"), **components}, format_checker=oas30_format_checker
    )
    stop = OAS30WriteValidator(
        {**ref("StopStreamRequest"), **components}, format_checker=oas30_format_checker
    )
    assert start.is_valid({"type": "hls", "name": "some_name"})
    assert start.is_valid({"type": "hls"})
    assert not start.is_valid({"type": "rtmp"})
    assert not start.is_valid({"name": "x" * 256, "type": "hls"})
    assert stop.is_valid({"id": "b8c2401d-b2f8-47cd-90bd-53b608d47f3f"})
    assert not stop.is_valid({"id": "b8c2401d"})
    assert not stop.is_valid({})


def test_times_are_documented_in_the_seed_format(schema: dict[str, Any]) -> None:
    """The seed's times are ``YYYY-MM-DD HH:MM:SS`` (UTC), which is not RFC 3339 date-time."""
    components = schema["components"]["schemas"]
    fields = [
        ("StartedStream", "start_date"),
        ("StoppedStream", "start_date"),
        ("StoppedStream", "stop_date"),
        ("Stream", "start_date"),
        ("Stream", "stop_date"),
        ("S3Endpoint", "aws_expiration_date"),
    ]
    wrong = [
        f"{component}.{field}"
        for component, field in fields
        if components[component]["properties"][field].get("format") == "date-time"
    ]
    assert wrong == [], f"documented as RFC 3339 date-time: {wrong}"


def test_start_links_its_stream_id_to_stop_and_retrieve(schema: dict[str, Any]) -> None:
    """OpenAPI links let stateful testers and generators follow start to stop."""
    ops = operations(schema)
    links = ops["stream_start"]["responses"]["201"]["links"]
    assert links["StopStream"]["operationId"] == "stream_stop"
    assert links["StopStream"]["requestBody"] == {"id": "$response.body#/stream/id"}
    assert links["RetrieveStream"]["operationId"] == "stream_retrieve"
    assert links["RetrieveStream"]["parameters"] == {"id": "$response.body#/stream/id"}
    stop_links = ops["stream_stop"]["responses"]["200"]["links"]
    assert set(stop_links) == {"RetrieveStream"}
    # Every link names an operation of this schema, and a parameter it has.
    for operation in ops.values():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target = ops[link["operationId"]]
                names = {parameter["name"] for parameter in target.get("parameters", [])}
                assert set(link.get("parameters", {})) <= names


def test_the_list_documents_every_filter_the_view_accepts(schema: dict[str, Any]) -> None:
    """The list's query parameters come from the serializer that validates them."""

    documented = {
        parameter["name"]
        for parameter in schema["paths"]["/stream/"]["get"]["parameters"]
        if parameter["in"] == "query"
    }
    assert set(StreamListQuerySerializer().fields) <= documented
    assert {"page", "page_size"} <= documented

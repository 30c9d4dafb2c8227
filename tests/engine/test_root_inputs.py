"""Whole-body inputs (`root: true`): an array, a string or a free-form object is the request body."""

from __future__ import annotations

from typing import Any

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory, ResponseStatus
from plughub.engine.catalog import parse_definition
from plughub.exceptions import CatalogError
from tests.upstream import Reply, Upstream


def _definition(base_url: str, action: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "bulk",
        "display_name": "Bulk",
        "base_url": base_url,
        "auth": [{"mode": "NO_AUTH"}],
        "actions": {"BULK_IMPORT": {"display_name": "Import", "method": "POST", "path": "/import", **action}},
    }


def _connect(definition: dict[str, Any]) -> ConnectionTool:
    integration = IntegrationFactory.create(definition)
    tool = ModelFactory.get(integration.connect(AuthenticationSchema.NO_AUTH).data["id"])
    assert isinstance(tool, ConnectionTool)
    return tool


@pytest.mark.usefixtures("any_backend")
@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "array", "items": {"type": "object"}}, [{"email": "a@b.c"}, {"email": "d@e.f"}]),
        ({"type": "array"}, []),
        ({"type": "string"}, "plain text"),
        ({"type": "object"}, {"any": {"nested": True}}),
    ],
)
def test_the_root_inputs_value_is_the_whole_body(upstream: Upstream, schema: dict[str, Any], value: Any) -> None:
    upstream.route("POST", "/import", Reply(200, {"imported": True}))
    inputs = {
        "records": {**schema, "in": "body", "root": True, "required": True},
        "dry_run": {"type": "boolean", "in": "query"},
        "tag": {"type": "string", "in": "header", "alias": "X-Tag"},
    }
    tool = _connect(_definition(upstream.url, {"inputs": inputs}))
    response = tool.run("BULK_IMPORT", {"records": value, "dry_run": True, "tag": "t1"})
    assert response.status is ResponseStatus.SUCCESS, response.error_message
    seen = upstream.seen[-1]
    assert seen.json() == value
    assert seen.header("Content-Type") == "application/json"
    assert seen.query == [("dry_run", "true")] and seen.header("X-Tag") == "t1"


@pytest.mark.usefixtures("any_backend")
def test_a_root_input_is_validated_like_any_other(upstream: Upstream) -> None:
    inputs = {"records": {"type": "array", "items": {"type": "string"}, "root": True, "required": True}}
    tool = _connect(_definition(upstream.url, {"inputs": inputs}))
    with pytest.raises(ValueError, match="records"):
        tool.run("BULK_IMPORT", {"records": [1, 2]})
    with pytest.raises(ValueError, match="records"):
        tool.run("BULK_IMPORT", {})
    assert upstream.seen == []


@pytest.mark.usefixtures("any_backend")
def test_a_form_root_object_is_sent_as_its_fields(upstream: Upstream) -> None:
    upstream.route("POST", "/import", Reply(200, {}))
    inputs = {"fields": {"type": "object", "root": True}}
    tool = _connect(_definition(upstream.url, {"inputs": inputs, "body_encoding": "form"}))
    tool.run("BULK_IMPORT", {"fields": {"name": "Ann", "tags": ["a", "b"]}})
    assert upstream.seen[-1].body == b"name=Ann&tags=a&tags=b"


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        (
            {"inputs": {"a": {"type": "array", "root": True}, "b": {"type": "array", "root": True}}},
            "actions.BULK_IMPORT.inputs: a, b are all root inputs; a request has one body",
        ),
        (
            {"inputs": {"a": {"type": "array", "root": True}, "note": {"type": "string"}}},
            "actions.BULK_IMPORT.inputs.a.root: the input is the whole body, so note cannot go in the body too",
        ),
        (
            {"inputs": {"a": {"type": "array", "root": True, "in": "query"}}},
            "actions.BULK_IMPORT.inputs.a.root: a root input is the request body; write in: body",
        ),
        (
            {"method": "GET", "inputs": {"a": {"type": "array", "root": True}}},
            "actions.BULK_IMPORT.inputs.a.root: a root input is the request body",
        ),
        (
            {"body_root": "data", "inputs": {"a": {"type": "array", "root": True}}},
            "body_root wraps body inputs in an object; a root input is the whole body",
        ),
        (
            {"body_encoding": "form", "inputs": {"a": {"type": "array", "root": True}}},
            "a form body is a set of fields; declare the input type: object",
        ),
        (
            {"body_encoding": "multipart", "inputs": {"a": {"type": "object", "root": True}}},
            "a multipart body is made of named parts",
        ),
    ],
)
def test_a_root_input_that_cannot_be_the_body_is_a_load_error(action: dict[str, Any], problem: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_definition(_definition("https://bulk.example", action), source="bulk.yaml")
    assert problem in caught.value.message

"""Operations -> actions: codes, descriptions, inputs, bodies, skips; checked on the wire too."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from plughub.engine.http.render import build_request
from tests.openapi.docs import loaded, oas3, only_action, op, run


def body(schema: dict[str, Any], media: str = "application/json", *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {media: {"schema": schema}}}


def request(result: Any, inputs: dict[str, Any], code: str | None = None) -> Any:
    spec = loaded(result)
    code = code or next(iter(spec.actions))
    return build_request(spec, spec.actions[code], inputs, {})


def test_codes_from_operation_ids_and_from_method_and_path() -> None:
    paths = {
        "/pets": {"get": op(operationId="listPets"), "post": op(operationId="pets.create-HTTPItem")},
        "/pets/{petId}/photos": {"put": op(parameters=[{"name": "petId", "in": "path", "required": True}])},
        "/other": {"get": op(operationId="listPets"), "patch": op(operationId="PET_SHOP_Patch")},
    }
    result = run(oas3(paths))
    assert list(result.definition["actions"]) == [
        "PET_SHOP_LIST_PETS",
        "PET_SHOP_PETS_CREATE_HTTP_ITEM",
        "PET_SHOP_PUT_PETS_PET_ID_PHOTOS",
        "PET_SHOP_LIST_PETS_2",
        "PET_SHOP_PATCH",
    ]
    assert any("GET /other: action code made unique as PET_SHOP_LIST_PETS_2" in w for w in result.warnings)


def test_display_name_and_description() -> None:
    long = "Lists pets. " + "More detail. " * 100
    paths = {
        "/pets": {"get": op(operationId="listPets", summary="List pets", description=long, deprecated=True)},
        "/toys": {"get": op(operationId="listToys")},
    }
    actions = run(oas3(paths)).definition["actions"]
    pets = actions["PET_SHOP_LIST_PETS"]
    assert pets["display_name"] == "List pets"
    assert pets["description"].startswith("List pets\n\nLists pets. More detail.")
    assert len(pets["description"]) <= 1024 + len("\n\nDeprecated.")
    assert pets["description"].endswith("More detail.\n\nDeprecated.")  # cut at a sentence boundary
    assert actions["PET_SHOP_LIST_TOYS"]["display_name"] == "PET_SHOP_LIST_TOYS"


def test_parameters_become_inputs_with_in_required_and_alias() -> None:
    params = [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "page[size]", "in": "query", "schema": {"type": "integer", "maximum": 100}},
        {"name": "X-Request-Id", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "from", "in": "query", "description": "Start date", "schema": {"type": "string"}},
        {"name": "from", "in": "header", "schema": {"type": "string"}},
        {"name": "fields", "in": "query", "explode": False, "schema": {"type": "array", "items": {"type": "string"}}},
        {
            "name": "filter",
            "in": "query",
            "style": "deepObject",
            "schema": {"type": "object", "properties": {"kind": {"type": "string"}}},
        },
    ]
    result = run(oas3({"/pets/{id}": {"get": op(operationId="getPet", parameters=params)}}))
    action = only_action(result)
    assert action["path"] == "/pets/${inputs.id}"
    inputs = action["inputs"]
    assert inputs["id"] == {"type": "integer", "in": "path", "required": True}
    assert inputs["page_size"] == {"type": "integer", "maximum": 100, "in": "query", "alias": "page[size]"}
    assert inputs["x_request_id"] == {"type": "string", "in": "header", "required": True, "alias": "X-Request-Id"}
    # A query parameter refuses an empty string unless the document sets allowEmptyValue.
    assert inputs["from"] == {"type": "string", "description": "Start date", "in": "query", "minLength": 1}
    assert inputs["from_header"] == {"type": "string", "in": "header", "alias": "from"}
    assert inputs["fields"]["explode"] is False
    sent = request(
        result,
        {
            "id": 7,
            "page_size": 10,
            "x_request_id": "r-1",
            "from": "2024",
            "from_header": "h",
            "fields": ["a", "b"],
            "filter": {"kind": "cat"},
        },
    )
    assert sent.url.path == "/v1/pets/7"
    assert parse_qsl(sent.url.query.decode()) == [
        ("page[size]", "10"),
        ("from", "2024"),
        ("fields", "a,b"),
        ("filter[kind]", "cat"),
    ]
    assert sent.headers["X-Request-Id"] == "r-1"
    assert sent.headers["from"] == "h"


def test_operation_parameters_override_path_level_ones() -> None:
    item = {
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "string"}}],
        "get": op(operationId="list", parameters=[{"name": "limit", "in": "query", "schema": {"type": "integer"}}]),
    }
    assert only_action(run(oas3({"/pets": item})))["inputs"]["limit"]["type"] == "integer"


def test_a_path_variable_without_a_parameter_is_added_and_an_unused_path_parameter_dropped() -> None:
    params = [{"name": "ghost", "in": "path", "required": True, "schema": {"type": "string"}}]
    result = run(oas3({"/owners/{owner-id}/pets": {"get": op(operationId="list", parameters=params)}}))
    action = only_action(result)
    assert action["path"] == "/owners/${inputs.owner_id}/pets"
    assert action["inputs"] == {"owner_id": {"type": "string", "in": "path", "required": True}}
    assert len(result.warnings) == 2


def test_cookie_parameters_cannot_be_sent() -> None:
    optional = [{"name": "session", "in": "cookie", "schema": {"type": "string"}}]
    required = [{"name": "session", "in": "cookie", "required": True, "schema": {"type": "string"}}]
    paths = {
        "/a": {"get": op(operationId="a", parameters=optional)},
        "/b": {"get": op(operationId="b", parameters=required)},
    }
    result = run(oas3(paths))
    assert list(result.definition["actions"]) == ["PET_SHOP_A"]
    assert "inputs" not in result.definition["actions"]["PET_SHOP_A"]
    assert any(w.startswith("GET /a: cookie parameter 'session' cannot be sent") for w in result.warnings)
    assert result.skipped == [
        "GET /b: required cookie parameter 'session' cannot be sent (inputs go in the path, query, header or body)"
    ]


def test_a_json_parameter_is_a_string_of_json() -> None:
    params = [{"name": "where", "in": "query", "content": {"application/json": {"schema": {"type": "object"}}}}]
    inputs = only_action(run(oas3({"/pets": {"get": op(operationId="find", parameters=params)}})))["inputs"]
    assert inputs["where"] == {"type": "string", "contentMediaType": "application/json", "minLength": 1, "in": "query"}


def test_json_body_properties_become_body_inputs() -> None:
    schema = {
        "type": "object",
        "required": ["name", "camelCase"],
        "properties": {
            "name": {"type": "string"},
            "camelCase": {"type": "boolean"},
            "owner-id": {"type": "integer"},
            "id": {"type": "integer", "readOnly": True},
        },
    }
    params = [{"name": "name", "in": "query", "schema": {"type": "string"}}]
    result = run(oas3({"/pets": {"post": op(operationId="add", parameters=params, requestBody=body(schema))}}))
    inputs = only_action(result)["inputs"]
    assert inputs["name_body"] == {"type": "string", "in": "body", "required": True, "alias": "name"}
    assert inputs["camelCase"] == {"type": "boolean", "in": "body", "required": True}
    assert inputs["owner_id"] == {"type": "integer", "in": "body", "alias": "owner-id"}
    assert "id" not in inputs
    sent = request(result, {"name": "q", "name_body": "Rex", "camelCase": True, "owner_id": 3})
    assert json.loads(sent.content) == {"name": "Rex", "camelCase": True, "owner-id": 3}
    assert sent.url.params["name"] == "q"


@pytest.mark.parametrize(
    ("media", "encoding"),
    [("application/x-www-form-urlencoded", "form"), ("multipart/form-data", "multipart")],
)
def test_form_and_multipart_bodies(media: str, encoding: str) -> None:
    schema = {"type": "object", "properties": {"to": {"type": "string"}, "meta": {"type": "object"}}}
    result = run(oas3({"/messages": {"post": op(operationId="send", requestBody=body(schema, media))}}))
    action = only_action(result)
    assert action["body_encoding"] == encoding
    sent = request(result, {"to": "+1555", "meta": {"a": "b"}})
    assert sent.headers["Content-Type"].startswith(media)


def test_json_is_preferred_over_form() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string"}}}
    content = {
        "application/x-www-form-urlencoded": {"schema": schema},
        "application/json; charset=utf-8": {"schema": schema},
    }
    action = only_action(run(oas3({"/x": {"post": op(operationId="x", requestBody={"content": content})}})))
    assert "body_encoding" not in action


def test_all_of_bodies_merge_and_one_of_objects_merge_with_common_required() -> None:
    cat = {
        "type": "object",
        "required": ["kind", "lives"],
        "properties": {"kind": {"type": "string"}, "lives": {"type": "integer"}},
    }
    dog = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"type": "string"}, "bark": {"type": "boolean"}},
    }
    base = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    schema = {
        "allOf": [
            {"$ref": "#/components/schemas/Base"},
            {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]},
        ]
    }
    doc = oas3(
        {"/pets": {"post": op(operationId="add", requestBody=body(schema))}},
        components={"schemas": {"Base": base, "Cat": cat, "Dog": dog}},
    )
    result = run(doc)
    inputs = only_action(result)["inputs"]
    assert list(inputs) == ["name", "kind", "lives", "bark"]
    assert [n for n, i in inputs.items() if i.get("required")] == ["name", "kind"]
    assert any("oneOf alternatives of the request body are merged" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "array", "items": {"type": "string"}}, ["bug", "ui"]),
        ({"type": "string"}, "free text"),
        (
            {"oneOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "string"}]},
            {"a": "x"},
        ),
        ({"type": "object", "additionalProperties": {"type": "string"}}, {"any": "key"}),
    ],
)
def test_bodies_that_are_not_objects_of_properties_become_one_root_input(schema: dict[str, Any], value: Any) -> None:
    # Before root inputs, each of these was skipped ("a JSON array, not an object", "no properties", ...).
    result = run(oas3({"/pets/{id}": {"put": op(operationId="put", requestBody=body(schema))}}))
    assert result.skipped == []
    action = only_action(result)
    body_input = action["inputs"]["body"]
    assert body_input["root"] is True and body_input["in"] == "body" and body_input["required"] is True
    assert body_input["description"] == "The whole request body."
    assert "headers" not in action  # plain application/json: the request builder's own Content-Type
    sent = request(result, {"id": "7", "body": value})
    assert sent.url == "https://api.example.com/v1/pets/7"
    assert json.loads(sent.content) == value
    assert sent.headers["Content-Type"] == "application/json"


def test_a_json_patch_body_names_its_media_type() -> None:
    # Kubernetes' PATCH operations: a free-form body sent as merge-patch+json (and JSON Patch arrays).
    patch = {"type": "object", "description": "Patch is provided to give a concrete name and type to the patch."}
    paths = {
        "/api/v1/namespaces/{namespace}/pods/{name}": {
            "patch": op(
                operationId="patchNamespacedPod",
                requestBody={
                    "required": True,
                    "content": {
                        "application/merge-patch+json": {"schema": patch},
                        "application/json-patch+json": {"schema": patch},
                        "application/apply-patch+yaml": {"schema": patch},
                    },
                },
                parameters=[
                    {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
            )
        }
    }
    result = run(oas3(paths))
    action = only_action(result)
    assert action["headers"] == {"Content-Type": "application/merge-patch+json"}
    assert action["inputs"]["body"]["description"] == patch["description"]
    sent = request(result, {"namespace": "default", "name": "web", "body": {"metadata": {"labels": {"a": "b"}}}})
    assert sent.headers["Content-Type"] == "application/merge-patch+json"
    assert json.loads(sent.content) == {"metadata": {"labels": {"a": "b"}}}


def test_a_form_body_that_is_not_an_object_still_skips() -> None:
    result = run(
        oas3(
            {
                "/tags": {
                    "post": op(
                        operationId="tag",
                        requestBody=body(
                            {"type": "array", "items": {"type": "string"}}, "application/x-www-form-urlencoded"
                        ),
                    )
                }
            }
        )
    )
    assert result.definition["actions"] == {}
    assert result.skipped[0].startswith("POST /tags: the request body is a JSON array, not an object")
    assert "a form body is sent as named fields" in result.skipped[0]


def test_unsupported_media_types_and_methods_skip() -> None:
    paths = {
        "/upload": {
            "post": op(
                operationId="upload",
                requestBody=body({"type": "string", "format": "binary"}, "application/octet-stream", required=False),
            )
        },
        "/cors": {"options": op(operationId="cors"), "trace": op(operationId="trace")},
    }
    result = run(oas3(paths))
    assert result.definition["actions"] == {}
    assert result.skipped == [
        "POST /upload: request body media type application/octet-stream is not supported"
        " (only JSON, form and multipart)",
        "OPTIONS /cors: method OPTIONS is not supported by the definition format",
        "TRACE /cors: method TRACE is not supported by the definition format",
    ]


def test_optional_body_of_a_get_is_dropped_and_empty_bodies_are_ignored() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    empty = {"type": "object", "properties": {}, "additionalProperties": False}
    paths = {
        "/search": {"get": op(operationId="search", requestBody=body(schema, required=False))},
        "/ping": {
            "get": op(operationId="ping", requestBody=body(empty, "application/x-www-form-urlencoded", required=False))
        },
    }
    result = run(oas3(paths))
    assert len(result.definition["actions"]) == 2
    assert result.warnings == ["GET /search: a GET request with a body cannot be sent; the optional body is left out"]


def test_query_parameter_styles_that_cannot_be_sent() -> None:
    params = [
        {
            "name": "ids",
            "in": "query",
            "style": "pipeDelimited",
            "explode": False,
            "schema": {"type": "array", "items": {"type": "string"}},
        },
        {"name": "box", "in": "query", "schema": {"type": "object", "properties": {"w": {"type": "integer"}}}},
        {"name": "tags", "in": "header", "schema": {"type": "array", "items": {"type": "string"}}},
    ]
    result = run(oas3({"/pets": {"get": op(operationId="list", parameters=params)}}))
    assert "inputs" not in only_action(result)
    assert len(result.warnings) == 3
    required = [{**params[1], "required": True}]
    result = run(oas3({"/pets": {"get": op(operationId="list", parameters=required)}}))
    assert result.skipped == [
        "GET /pets: required query parameter 'box' is an object serialized with style form"
        " (only deepObject is supported)"
    ]


def test_a_stray_dollar_before_a_path_variable_is_ignored() -> None:
    params = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    action = only_action(run(oas3({"/boards/${id}/labels": {"get": op(operationId="labels", parameters=params)}})))
    assert action["path"] == "/boards/${inputs.id}/labels"


def test_read_only_properties_are_not_inputs_at_any_depth() -> None:
    item = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": {"type": "string", "readOnly": True},
            "name": {"type": "string"},
            "files": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["path"],
                    "properties": {"path": {"type": "string", "readOnly": True}, "content": {"type": "string"}},
                },
            },
        },
    }
    result = run(oas3({"/items": {"post": op(operationId="add", requestBody=body(item))}}))
    inputs = only_action(result)["inputs"]
    assert list(inputs) == ["name", "files"]
    assert inputs["name"]["required"] is True
    assert inputs["files"]["items"] == {"type": "object", "properties": {"content": {"type": "string"}}}

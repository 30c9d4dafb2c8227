"""Swagger 2.0 documents import the way OpenAPI 3 ones do."""

from __future__ import annotations

from typing import Any

from tests.openapi.docs import only_action, op, run, swagger2

PET = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "x-nullable": True}, "tag": {"type": "string"}},
}


def test_a_body_parameter_is_a_json_body_and_refs_resolve_in_definitions() -> None:
    params = [
        {"name": "id", "in": "path", "required": True, "type": "integer", "format": "int64"},
        {"name": "pet", "in": "body", "required": True, "schema": {"$ref": "#/definitions/Pet"}},
    ]
    responses = {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}}
    doc = swagger2(
        {"/pets/{id}": {"put": {"operationId": "updatePet", "parameters": params, "responses": responses}}},
        definitions={"Pet": PET},
    )
    action = only_action(run(doc))
    assert action["inputs"] == {
        "id": {"type": "integer", "format": "int64", "in": "path", "required": True},
        "name": {"type": "string", "in": "body", "required": True},
        "tag": {"type": "string", "in": "body"},
    }
    assert "body_encoding" not in action
    assert action["output"]["properties"]["name"] == {"type": "string"}


def test_form_data_is_a_form_body_or_multipart_with_files() -> None:
    form = [
        {"name": "channel", "in": "formData", "required": True, "type": "string"},
        {"name": "count", "in": "formData", "type": "integer", "minimum": 1, "exclusiveMinimum": True},
    ]
    upload = [*form, {"name": "file", "in": "formData", "type": "file"}]
    paths = {
        "/chat.post": {
            "post": op(
                operationId="chat.post",
                parameters=form,
                consumes=["application/x-www-form-urlencoded", "application/json"],
            )
        },
        "/files.upload": {
            "post": op(
                operationId="files.upload",
                parameters=upload,
                consumes=["multipart/form-data", "application/x-www-form-urlencoded"],
            )
        },
    }
    actions = run(swagger2(paths)).definition["actions"]
    chat, files = actions["PET_SHOP_CHAT_POST"], actions["PET_SHOP_FILES_UPLOAD"]
    assert chat["body_encoding"] == "form"
    assert chat["inputs"]["channel"] == {"type": "string", "minLength": 1, "in": "body", "required": True}
    assert chat["inputs"]["count"] == {"type": "integer", "exclusiveMinimum": 1, "in": "body"}
    assert files["body_encoding"] == "multipart"
    assert files["inputs"]["file"] == {"type": "string", "format": "binary", "in": "body"}


def test_collection_formats() -> None:
    params: list[dict[str, Any]] = [
        {"name": "csv", "in": "query", "type": "array", "items": {"type": "string"}},
        {"name": "multi", "in": "query", "type": "array", "collectionFormat": "multi", "items": {"type": "string"}},
        {"name": "pipes", "in": "query", "type": "array", "collectionFormat": "pipes", "items": {"type": "string"}},
    ]
    result = run(swagger2({"/pets": {"get": op(operationId="list", parameters=params)}}))
    inputs = only_action(result)["inputs"]
    assert inputs["csv"]["explode"] is False
    assert "explode" not in inputs["multi"]
    assert "pipes" not in inputs
    assert any("'pipes' uses style pipeDelimited" in w for w in result.warnings)


def test_the_output_needs_a_json_produces() -> None:
    responses = {"200": {"description": "ok", "schema": {"type": "string"}}}
    paths = {
        "/xml": {"get": {"operationId": "xml", "produces": ["application/xml"], "responses": responses}},
        "/json": {"get": {"operationId": "json", "responses": responses}},
    }
    actions = run(swagger2(paths, produces=["application/json"])).definition["actions"]
    assert "output" not in actions["PET_SHOP_XML"]
    assert actions["PET_SHOP_JSON"]["output"] == {"type": "string"}

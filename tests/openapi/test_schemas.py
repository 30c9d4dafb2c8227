"""Schema conversion: $ref inlining, recursion, OpenAPI 3.0 keywords, what the loader accepts."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from plughub.engine.catalog.loader import JSON_SCHEMA_KEYWORDS
from plughub.engine.openapi.refs import Resolver
from plughub.engine.openapi.schema import SchemaConverter
from plughub.exceptions import CatalogError
from tests.openapi.docs import oas3, only_action, op, run


def convert(schema: Any, components: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    root = {"components": {"schemas": components or {}}}
    notes: list[str] = []
    result = SchemaConverter(Resolver(root), **kwargs).convert(schema, "#/test", notes)
    Draft202012Validator.check_schema(result)
    return result


def walk(value: Any) -> list[Any]:
    found = [value]
    if isinstance(value, dict):
        for item in value.values():
            found += walk(item)
    elif isinstance(value, list):
        for item in value:
            found += walk(item)
    return found


def test_local_refs_are_inlined() -> None:
    pet = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    result = convert({"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}, {"Pet": pet})
    assert result == {"type": "array", "items": pet}


def test_a_ref_to_a_ref_is_followed() -> None:
    result = convert(
        {"$ref": "#/components/schemas/A"}, {"A": {"$ref": "#/components/schemas/B"}, "B": {"type": "integer"}}
    )
    assert result == {"type": "integer"}


def test_recursive_schema_is_cut_at_the_second_visit() -> None:
    node = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    }
    result = convert({"$ref": "#/components/schemas/Node"}, {"Node": node})
    assert result["properties"]["children"]["items"] == {"type": "object", "description": "(recursive: Node)"}
    assert not any(isinstance(v, dict) and "$ref" in v for v in walk(result))


def test_mutual_recursion_and_self_alias_never_loop() -> None:
    components = {
        "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
        "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
        "Loop": {"$ref": "#/components/schemas/Loop"},
    }
    result = convert({"$ref": "#/components/schemas/A"}, components)
    assert result["properties"]["b"]["properties"]["a"]["description"] == "(recursive: A)"
    assert convert({"$ref": "#/components/schemas/Loop"}, components) == {"description": "(recursive: Loop)"}


def test_deep_nesting_is_truncated_with_a_permissive_stand_in() -> None:
    components = {
        f"L{i}": {"type": "object", "properties": {"next": {"$ref": f"#/components/schemas/L{i + 1}"}}}
        for i in range(10)
    }
    components["L10"] = {"type": "string"}
    result = convert({"$ref": "#/components/schemas/L0"}, components, max_depth=3)
    deepest = result["properties"]["next"]["properties"]["next"]["properties"]["next"]
    assert deepest == {"type": "object", "description": "(nested too deep: L3)"}


def test_a_large_expansion_is_made_shallower() -> None:
    wide = {"type": "object", "properties": {f"p{i}": {"$ref": "#/components/schemas/Leaf"} for i in range(50)}}
    components = {"Wide": wide, "Leaf": {"type": "object", "properties": {"x": {"type": "string"}}}}
    schema = {"type": "object", "properties": {f"w{i}": {"$ref": "#/components/schemas/Wide"} for i in range(50)}}
    result = convert(schema, components, max_nodes=200)
    assert len(walk(result)) < 2000
    assert result["properties"]["w0"]["description"].startswith("(nested too deep")


def test_nullable_becomes_a_type_list() -> None:
    assert convert({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert convert({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    result = convert({"$ref": "#/components/schemas/Pet", "nullable": True}, {"Pet": {"type": "object"}})
    assert result == {"anyOf": [{"type": "object"}, {"type": "null"}]}


def test_openapi_only_keywords_are_converted_or_dropped() -> None:
    schema = {
        "type": "object",
        "example": {"name": "Rex", "tag": None},
        "discriminator": {"propertyName": "kind"},
        "xml": {"name": "pet"},
        "externalDocs": {"url": "https://example.com"},
        "x-internal": True,
        "readOnly": True,
        "properties": {
            "x-kind": {"type": "string", "x-nullable": True},
            "size": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        },
    }
    result = convert(schema)
    assert result == {
        "type": "object",
        "examples": [{"name": "Rex"}],
        "readOnly": True,
        "properties": {"x-kind": {"type": "string"}, "size": {"type": "number", "exclusiveMinimum": 0}},
    }


def test_invalid_values_are_dropped() -> None:
    schema = {
        "type": ["string", "date"],
        "pattern": "^(?<year>[0-9]{4})$",  # ECMA named group: not a Python regex
        "maxLength": -1,
        "minLength": "3",
        "required": True,
        "default": datetime.date(2024, 1, 2),
    }
    assert convert(schema) == {"type": ["string"], "default": "2024-01-02"}


def test_integer_formats_become_bounds() -> None:
    assert convert({"type": "integer", "format": "int32"}) == {
        "type": "integer",
        "format": "int32",
        "minimum": -(2**31),
        "maximum": 2**31 - 1,
    }
    assert convert({"type": "integer", "format": "int32", "minimum": 1}) == {
        "type": "integer",
        "format": "int32",
        "minimum": 1,
        "maximum": 2**31 - 1,
    }
    assert convert({"type": "integer", "format": "int64"}) == {"type": "integer", "format": "int64"}


def test_openapi_31_schemas_pass_through() -> None:
    schema = {
        "type": ["string", "null"],
        "const": "a",
        "examples": ["a"],
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:x",
        "$defs": {"unused": {"type": "string"}},
        "prefixItems": [{"type": "string"}],
        "unevaluatedProperties": False,
    }
    assert convert(schema) == {
        "type": ["string", "null"],
        "const": "a",
        "examples": ["a"],
        "prefixItems": [{"type": "string"}],
        "unevaluatedProperties": False,
    }


def test_null_members_of_example_values_are_left_out() -> None:
    # The definition loader refuses mapping keys without a value anywhere in an input.
    schema = {"type": "array", "example": [[{"label": None, "purpose": "public"}]], "default": {"a": None}}
    assert convert(schema) == {"type": "array", "examples": [[[{"purpose": "public"}]]], "default": {}}


def test_empty_schema_lists_are_dropped() -> None:
    schema = {"allOf": [], "anyOf": [], "items": [], "dependentRequired": {"a": ["b", "b"]}}
    assert convert(schema) == {"dependentRequired": {"a": ["b"]}}


def test_a_broken_ref_names_its_pointer() -> None:
    with pytest.raises(
        CatalogError,
        match=r"#/components/schemas/Pet/properties/owner: \$ref #/components/schemas/Nope does not resolve",
    ):
        convert(
            {"$ref": "#/components/schemas/Pet"},
            {"Pet": {"properties": {"owner": {"$ref": "#/components/schemas/Nope"}}}},
        )


def test_an_external_ref_is_approximated() -> None:
    assert convert({"$ref": "other.yaml#/Pet"}) == {"description": "(external reference: other.yaml#/Pet)"}


def test_input_schemas_keep_only_loader_keywords_and_nested_required_moves_into_all_of() -> None:
    body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["owner"],
                    "properties": {
                        "owner": {
                            "type": "object",
                            "required": ["id"],
                            "unevaluatedProperties": False,
                            "properties": {"id": {"type": "string", "nullable": True}},
                        }
                    },
                }
            }
        },
    }
    result = run(oas3({"/pets": {"post": op(operationId="addPet", requestBody=body)}}))
    owner = only_action(result)["inputs"]["owner"]
    assert owner["required"] is True
    assert owner["allOf"] == [{"required": ["id"]}]
    assert "unevaluatedProperties" not in owner
    assert set(owner) - {"in", "required", "alias", "explode"} <= JSON_SCHEMA_KEYWORDS
    assert owner["properties"]["id"]["type"] == ["string", "null"]


def test_the_output_is_the_first_2xx_json_schema() -> None:
    responses = {
        "404": {"description": "no", "content": {"application/json": {"schema": {"type": "string"}}}},
        "201": {
            "description": "made",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
        },
        "200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}},
    }
    pet = {"type": "object", "properties": {"id": {"type": "integer"}}}
    doc = oas3(
        {"/pets": {"get": {"operationId": "list", "responses": responses}}}, components={"schemas": {"Pet": pet}}
    )
    assert only_action(run(doc))["output"] == pet

"""Malformed documents never crash the importer: it imports, or raises CatalogError.

Every node of two feature-rich documents is replaced in turn by junk values; each import either
succeeds with a definition the loader accepts, or raises `CatalogError`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from plughub.engine.catalog import parse_definition
from plughub.engine.openapi import import_openapi
from plughub.exceptions import CatalogError
from tests.openapi.docs import oas3, offline, swagger2

JUNK: list[Any] = [None, 7, "{x}", [], {}, [{}], {"$ref": "#/nope"}, {"$ref": 3}, True]

PET = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$", "example": "rex"},
        "tags": {"type": "array", "items": {"type": "string"}, "nullable": True},
        "owner": {"$ref": "#/components/schemas/Owner"},
    },
}
OWNER = {"type": "object", "properties": {"pets": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}}}
RICH_OAS3 = oas3(
    {
        "/pets/{id}": {
            "parameters": [{"$ref": "#/components/parameters/Id"}],
            "get": {
                "operationId": "getPet",
                "summary": "Get a pet",
                "tags": ["pets"],
                "security": [],
                "parameters": [
                    {"name": "page[size]", "in": "query", "schema": {"type": "integer", "format": "int32"}},
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                    }
                },
            },
            "put": {
                "operationId": "putPet",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                },
                "responses": {"204": {"description": "done"}},
            },
        }
    },
    servers=[
        {"url": "https://{region}.example.com/v1", "variables": {"region": {"default": "eu", "enum": ["eu", "us"]}}}
    ],
    components={
        "schemas": {"Pet": PET, "Owner": OWNER},
        "parameters": {"Id": {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}},
        "securitySchemes": {
            "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
            "oauth": {
                "type": "oauth2",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": "/authorize",
                        "tokenUrl": "/token",
                        "scopes": {"read": "r"},
                    }
                },
            },
        },
    },
    security=[{"key": []}],
)
RICH_SWAGGER = swagger2(
    {
        "/pets": {
            "post": {
                "operationId": "addPet",
                "consumes": ["application/x-www-form-urlencoded"],
                "parameters": [
                    {"name": "name", "in": "formData", "type": "string", "required": True},
                    {"name": "ids", "in": "query", "type": "array", "items": {"type": "string"}},
                ],
                "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}},
            },
            "put": {
                "parameters": [{"name": "pet", "in": "body", "schema": {"$ref": "#/definitions/Pet"}}],
                "responses": {"200": {"description": "ok"}},
            },
        }
    },
    definitions={"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}},
    securityDefinitions={"basic": {"type": "basic"}},
)


def nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, (*path, index))


@pytest.mark.parametrize("doc", [RICH_OAS3, RICH_SWAGGER], ids=["oas3", "swagger2"])
def test_every_node_replaced_by_junk_imports_or_raises_catalog_error(doc: dict[str, Any]) -> None:
    parse_definition(import_openapi(doc, fetch=offline).definition)
    runs = 0
    for path in nodes(doc):
        for junk in JUNK:
            mutated = copy.deepcopy(doc)
            parent = mutated
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = junk
            runs += 1
            try:
                result = import_openapi(mutated, fetch=offline)
            except CatalogError:
                continue
            parse_definition(result.definition)
            json.dumps(result.definition)
            assert len(result.definition["actions"]) == result.operations - len(result.skipped)
    assert runs > 300

"""Small inline OpenAPI documents for the importer's unit tests."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from plughub.engine.catalog import IntegrationSpec, parse_definition
from plughub.engine.openapi import ImportResult, import_openapi


def oas3(paths: dict[str, Any] | None = None, *, version: str = "3.0.3", **extra: Any) -> dict[str, Any]:
    """An OpenAPI 3 document with one server and the given paths."""
    doc: dict[str, Any] = {
        "openapi": version,
        "info": {"title": "Pet Shop", "version": "1.0"},
        "servers": [{"url": "https://api.example.com/v1"}],
        "paths": paths or {},
    }
    doc.update(extra)
    return doc


def swagger2(paths: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A Swagger 2.0 document on https://api.example.com/v1."""
    doc: dict[str, Any] = {
        "swagger": "2.0",
        "info": {"title": "Pet Shop", "version": "1.0"},
        "host": "api.example.com",
        "basePath": "/v1",
        "schemes": ["https"],
        "paths": paths or {},
    }
    doc.update(extra)
    return doc


def offline(url: str) -> bytes:
    """A fetch that never reaches the network."""
    raise OSError(f"offline: {url}")


def run(source: Any, **kwargs: Any) -> ImportResult:
    """Import a document (a mapping, a path or an URL) and check that the definition loads."""
    kwargs.setdefault("fetch", offline)
    result = import_openapi(source, **kwargs)
    loaded(result)
    json.dumps(result.definition)  # plain JSON all the way down
    return result


def loaded(result: ImportResult) -> IntegrationSpec:
    """The definition, validated by the catalog loader; every input schema checked explicitly too."""
    spec = parse_definition(result.definition)
    for action in spec.actions.values():
        Draft202012Validator.check_schema(action.input_schema)
    return spec


def only_action(result: ImportResult) -> dict[str, Any]:
    """The single action of a result."""
    actions = result.definition["actions"]
    assert len(actions) == 1, list(actions)
    return next(iter(actions.values()))  # type: ignore[no-any-return]


def op(**fields: Any) -> dict[str, Any]:
    """An operation with a 200 response."""
    return {"responses": {"200": {"description": "ok"}}, **fields}

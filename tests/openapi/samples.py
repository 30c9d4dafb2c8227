"""Inputs for the round trip: schemas made sendable, and hand-built minimal values."""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

_FORMATS = {
    "uuid": "3f2c8d4e-5b6a-4c7d-8e9f-0a1b2c3d4e5f",
    "date-time": "2024-01-02T03:04:05Z",
    "date": "2024-01-02",
    "time": "03:04:05Z",
    "email": "ann@example.com",
    "uri": "https://example.com/a",
    "url": "https://example.com/a",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
}
_TOKEN = "^[A-Za-z0-9_-]{1,16}$"


def sendable(action: dict[str, Any]) -> dict[str, Any]:
    """The action's input schema, narrowed to values HTTP carries unchanged.

    Free-form strings in the path, query and headers get a token pattern (a header cannot carry
    arbitrary Unicode, a path value with `/` is another path); an action whose body inputs are all
    optional gets its first one required, since no body input means no body at all.

    Args:
        action: `{"_schema": input schema, "inputs": the definition's inputs}`.

    Returns:
        A schema to generate inputs from.
    """
    schema = copy.deepcopy(action["_schema"])
    locations = {name: spec.get("in", "body") for name, spec in action["inputs"].items()}
    for name, prop in schema["properties"].items():
        if locations[name] in ("path", "query", "header"):
            _narrow(prop)
    body = [name for name, where in locations.items() if where == "body"]
    if body and not any(name in schema["required"] for name in body):
        schema["required"] = [*schema["required"], body[0]]
    return schema


def _narrow(prop: dict[str, Any]) -> None:
    if prop.get("type") == "string" and not any(k in prop for k in ("enum", "const", "format", "pattern")):
        prop["pattern"] = _TOKEN
    items = prop.get("items")
    if prop.get("type") == "array" and isinstance(items, dict):
        _narrow(items)
        prop.setdefault("minItems", 1)


def hand_built(schema: dict[str, Any]) -> dict[str, Any]:
    """Minimal inputs: every required input, then every optional one that keeps them valid.

    Args:
        schema: The input schema.

    Returns:
        Inputs valid against the schema.

    Raises:
        AssertionError: No valid inputs could be built.
    """
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    required = {name: sample(schema["properties"][name]) for name in schema["required"]}
    inputs = dict(required)
    for name, prop in schema["properties"].items():
        if name in inputs:
            continue
        candidate = {**inputs, name: sample(prop)}
        if validator.is_valid(candidate):
            inputs = candidate
    errors = [e.message for e in validator.iter_errors(inputs)]
    assert not errors, errors
    return inputs


def sample(schema: Any) -> Any:
    """A small value valid against a schema (best effort for the schemas the corpus uses).

    Args:
        schema: A JSON Schema.

    Returns:
        A value.
    """
    if not isinstance(schema, dict) or not schema:
        return "x"
    checker = Draft202012Validator(schema, format_checker=FormatChecker())
    for key in ("const", "default"):
        if schema.get(key) is not None and checker.is_valid(schema[key]):
            return schema[key]
    for value in [*(schema.get("enum") or []), *(schema.get("examples") or [])]:
        # An object example may show read-only members, which a request must not send.
        if value is not None and not isinstance(value, (dict, list)) and checker.is_valid(value):
            return value
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            for alternative in schema[key]:
                value = sample({**{k: v for k, v in schema.items() if k != key}, **alternative})
                if checker.is_valid(value):
                    return value
    kinds = schema.get("type")
    kind = next((k for k in ([kinds] if isinstance(kinds, str) else kinds or []) if k != "null"), None)
    if kind is None and ("properties" in schema or "allOf" in schema):
        kind = "object"
    if kind == "object":
        value: dict[str, Any] = {}
        properties = dict(schema.get("properties") or {})
        required = list(schema.get("required") or [])
        for part in schema.get("allOf") or []:
            if "properties" in part or "type" in part:
                part_value = sample(part)
                if isinstance(part_value, dict):
                    value.update(part_value)
            properties.update(part.get("properties") or {})
            required += part.get("required") or []
        for name in required:
            value[name] = sample(properties.get(name, {}))
        return value
    if kind == "array":
        return [sample(schema.get("items", {})) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return max(float(schema.get("minimum", 1.5)), 1.5)
    if kind == "boolean":
        return True
    text = _FORMATS.get(schema.get("format", ""), "x" * max(1, schema.get("minLength", 1)))
    if "pattern" in schema and not checker.is_valid(text):
        text = _matching(schema["pattern"])
    return text


def _matching(pattern: str) -> str:
    """The simplest string a pattern matches (hypothesis shrinks to it), or a guess without hypothesis."""
    try:
        from hypothesis import find, settings
        from hypothesis.strategies import from_regex
    except ImportError:
        return "abc"
    return str(find(from_regex(pattern, fullmatch=True), lambda _: True, settings=settings(database=None)))

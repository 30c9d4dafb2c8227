"""JSON Schema keywords: which the converter keeps, and how it converts plain values."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ANNOTATIONS",
    "SPECIAL",
    "SUBSCHEMA",
    "SUBSCHEMA_LISTS",
    "SUBSCHEMA_MAPS",
    "TYPES",
    "compiles",
    "convert_annotations",
    "convert_value",
    "is_number",
    "plain",
]

TYPES = frozenset(("string", "number", "integer", "boolean", "array", "object", "null"))
SUBSCHEMA = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
)
SUBSCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_COUNTS = (
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "maxProperties",
    "minProperties",
    "maxContains",
    "minContains",
)
_NUMBERS = ("maximum", "minimum")
_TEXTS = ("title", "description", "format", "contentEncoding", "contentMediaType", "$comment")
_FLAGS = ("uniqueItems", "deprecated", "readOnly", "writeOnly")
ANNOTATIONS = frozenset(("title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"))
# Handled on their own, or dropped on purpose (OpenAPI-only, or meaningless once inlined).
SPECIAL = frozenset(("$ref", "type", "nullable", "example", "examples", "exclusiveMinimum", "exclusiveMaximum"))


def plain(value: Any) -> Any:
    """Make a value from YAML plain JSON: dates become ISO strings, keys strings.

    Null members of mappings are left out (the definition loader refuses keys without a value).

    Args:
        value: A parsed value.

    Returns:
        The same value with only JSON types in it.
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def is_number(value: Any) -> bool:
    """Tell whether a value is a JSON number (booleans are not).

    Args:
        value: Any value.

    Returns:
        True for an int or a float.
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compiles(pattern: Any) -> bool:
    """Tell whether a pattern is a regular expression Python (and so jsonschema) accepts.

    Args:
        pattern: The value of `pattern` or a `patternProperties` key.

    Returns:
        True when it compiles.
    """
    if not isinstance(pattern, str):
        return False
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def convert_value(key: str, value: Any, out: dict[str, Any], at: str, notes: list[str]) -> None:
    """Copy one non-schema keyword into `out` when its value is valid JSON Schema.

    Args:
        key: The keyword.
        value: Its value in the document.
        out: The converted schema.
        at: The keyword's pointer, for notes.
        notes: Receives a line when a pattern is dropped.
    """
    if key in _COUNTS:
        if is_number(value) and value >= 0 and float(value).is_integer():
            out[key] = int(value)
    elif key in _NUMBERS:
        if is_number(value):
            out[key] = value
    elif key == "multipleOf":
        if is_number(value) and value > 0:
            out[key] = value
    elif key in _TEXTS:
        out[key] = value if isinstance(value, str) else str(value)
    elif key in _FLAGS:
        if isinstance(value, bool):
            out[key] = value
    elif key == "pattern":
        if compiles(value):
            out[key] = value
        else:
            notes.append(f"{at}: pattern {value!r} is not a Python regular expression; dropped")
    elif key == "required":
        if isinstance(value, list):
            out[key] = list(dict.fromkeys(str(v) for v in value if isinstance(v, (str, int))))
    elif key == "enum":
        if isinstance(value, list):
            out[key] = plain(value)
    elif key in ("const", "default"):
        out[key] = plain(value)
    elif key == "dependentRequired" and isinstance(value, Mapping):
        out[key] = {str(k): list(dict.fromkeys(str(v) for v in vs)) for k, vs in value.items() if isinstance(vs, list)}


def convert_annotations(node: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Convert boolean `exclusiveMinimum`/`exclusiveMaximum` and `example` (OpenAPI 3.0).

    `format: int32` becomes bounds too, as OpenAPI validators enforce it and JSON Schema's do not.

    Args:
        node: The schema in the document.
        out: The converted schema.
    """
    _exclusive(node, out)
    _examples(node, out)
    _integer_bounds(out)


_INTEGER_BOUNDS = {"int32": 2**31}  # int64 bounds would only add noise: no agent sends 2**63


def _integer_bounds(out: dict[str, Any]) -> None:
    size = _INTEGER_BOUNDS.get(out.get("format", ""))
    if size is None:
        return
    if "minimum" not in out and "exclusiveMinimum" not in out:
        out["minimum"] = -size
    if "maximum" not in out and "exclusiveMaximum" not in out:
        out["maximum"] = size - 1


def _exclusive(node: Mapping[str, Any], out: dict[str, Any]) -> None:
    for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(key)
        if value is True and is_number(node.get(bound)):
            out[key] = out.pop(bound)
        elif is_number(value):
            out[key] = value


def _examples(node: Mapping[str, Any], out: dict[str, Any]) -> None:
    examples = node.get("examples")
    if isinstance(examples, list):
        out["examples"] = plain(examples)
    elif "example" in node and node["example"] is not None:
        out["examples"] = [plain(node["example"])]

"""OpenAI strict function schemas from input schemas, and the model's arguments back to inputs.

OpenAI's strict mode (Structured Outputs for function calling) accepts a subset of JSON Schema:
every object lists all its properties in `required` and sets `additionalProperties: false`, an
optional property is written as one that may be null, `allOf`/`oneOf`/`not` and keywords such as
`default`, `minLength` or `uniqueItems` are refused. `strict_schema` rewrites a schema that way:

- an optional property becomes nullable (`"type": ["string", "null"]`, or `anyOf` with null);
- `oneOf` becomes `anyOf`, `allOf` branches that are objects merge into their parent;
- a value strict mode cannot describe (an object with no declared properties, such as a map of
  metadata, or a value of any type) becomes a string holding its JSON text;
- every other unsupported keyword goes.

`restore_arguments` undoes that on the arguments the model sends: a null for an optional input
that does not take null means "not given" and is left out, and JSON text is parsed back, so the
action receives the inputs its own schema describes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["as_text", "restore_arguments", "strict_schema"]

_KEPT = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "enum", "anyOf", "$ref", "$defs",
     "definitions", "description", "pattern", "format", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
     "exclusiveMinimum", "minItems", "maxItems"}
)  # fmt: skip
_TEXT_NOTE = "Write the value as JSON text"
_DEFS = ("$defs", "definitions")


def _types(node: Mapping[str, Any]) -> list[str]:
    kind = node.get("type")
    return (
        [kind] if isinstance(kind, str) else [k for k in kind if isinstance(k, str)] if isinstance(kind, list) else []
    )


def as_text(node: Any) -> bool:
    """Whether strict mode carries this schema's value as JSON text.

    True for a schema of any value (no type, no alternatives) and for an object without declared
    properties that takes other keys (a map): strict mode can describe neither.

    Args:
        node: A (sub)schema.

    Returns:
        True when the value is sent as text.
    """
    if node is True:
        return True
    if not isinstance(node, Mapping):
        return False
    if any(k in node for k in ("anyOf", "oneOf", "allOf", "enum", "const", "$ref")):
        return False
    types = _types(node)
    if not types:
        return "properties" not in node
    return "object" in types and not node.get("properties") and node.get("additionalProperties") is not False


def _accepts_null(node: Any) -> bool:
    if node is True:
        return True
    if not isinstance(node, Mapping):
        return False
    types = _types(node)
    if "null" in types or (isinstance(node.get("enum"), list) and None in node["enum"]):
        return True
    if not types and not any(k in node for k in ("anyOf", "oneOf", "allOf", "enum", "const", "$ref", "properties")):
        return True  # a schema of any value
    return any(_accepts_null(branch) for key in ("anyOf", "oneOf") for branch in node.get(key) or [])


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    if _accepts_null(node):
        return node
    if "$ref" in node or "anyOf" in node:
        branches = node.pop("anyOf", None) or [{"$ref": node.pop("$ref")}]
        return {**node, "anyOf": [*branches, {"type": "null"}]}
    types = _types(node)
    if types:
        node["type"] = [*types, "null"]
    if isinstance(node.get("enum"), list):
        node["enum"] = [*node["enum"], None]
    return node


def _merge_all_of(node: dict[str, Any]) -> None:
    """Fold `allOf` object branches into the node (strict mode refuses `allOf`)."""
    for branch in node.pop("allOf", None) or []:
        if not isinstance(branch, Mapping):
            continue
        properties = branch.get("properties")
        if isinstance(properties, Mapping):
            node.setdefault("properties", {}).update(
                {k: v for k, v in properties.items() if k not in node["properties"]}
            )
            node.setdefault("type", "object")
        if isinstance(branch.get("required"), list):
            node["required"] = list(dict.fromkeys([*node.get("required", []), *branch["required"]]))
        if "description" in branch and "description" not in node:
            node["description"] = branch["description"]


def _strict(node: Any) -> dict[str, Any]:
    if as_text(node):
        source = node if isinstance(node, Mapping) else {}
        description = str(source.get("description") or "").strip()
        return {"type": "string", "description": f"{description} ({_TEXT_NOTE}.)".strip()}
    if not isinstance(node, Mapping):  # `false`: nothing is valid; an empty enum would be refused too
        return {"type": "null"}
    out: dict[str, Any] = {k: copy.deepcopy(v) for k, v in node.items() if k in _KEPT or k in ("allOf", "oneOf")}
    if "const" in node and "enum" not in out:
        out["enum"] = [copy.deepcopy(node["const"])]
    _merge_all_of(out)
    if "oneOf" in out:
        out["anyOf"] = [*out.get("anyOf", []), *out.pop("oneOf")]
    if "anyOf" in out:
        out["anyOf"] = [_strict(branch) for branch in out["anyOf"]]
    for container in _DEFS:
        if isinstance(out.get(container), Mapping):
            out[container] = {name: _strict(sub) for name, sub in out[container].items()}
    types = _types(out)
    if "properties" in out and not types:
        out["type"], types = "object", ["object"]
    if "array" in types:
        out["items"] = _strict(out.get("items", True))
    else:
        out.pop("items", None)
    if "object" in types or "properties" in out:
        found = out.get("properties")
        properties: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        required = set(out.get("required") or [])
        out["properties"] = {
            name: _strict(sub) if name in required else _nullable(_strict(sub)) for name, sub in properties.items()
        }
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    else:
        out.pop("required", None)
        out.pop("additionalProperties", None)
    return out


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrite an object schema for OpenAI's strict mode (see the module's docstring).

    Args:
        schema: A tool's parameters, already cleaned for OpenAI (an object at the top); not modified.

    Returns:
        The strict schema.
    """
    # The top level is the tool's arguments: an object of its declared properties, whatever it says.
    return _strict(
        {**schema, "type": "object", "properties": schema.get("properties") or {}, "additionalProperties": False}
    )


def restore_arguments(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the arguments of a strict tool call back into the inputs the action's schema describes.

    Args:
        arguments: What the model sent.
        schema: The action's own input schema (before `strict_schema`).

    Returns:
        The inputs: nulls that stand for "not given" left out, JSON text parsed back.
    """
    restored = _restore(dict(arguments), schema)
    return restored if isinstance(restored, dict) else dict(arguments)


def _restore(value: Any, schema: Any) -> Any:
    if value is None or not isinstance(schema, Mapping):
        return value
    if as_text(schema) and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # plain text given for a value of any type
    if isinstance(value, Mapping) and isinstance(schema.get("properties"), Mapping):
        properties, required = schema["properties"], set(schema.get("required") or [])
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = properties.get(key)
            if item is None and key not in required and sub is not None and not _accepts_null(sub):
                continue
            out[key] = _restore(item, sub)
        return out
    if isinstance(value, list) and "items" in schema:
        return [_restore(item, schema["items"]) for item in value]
    return value

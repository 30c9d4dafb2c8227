"""Actions as LLM tool definitions (OpenAI chat and Responses, Anthropic, MCP): names, schemas, descriptions.

Plain dicts, no SDK objects: the SDK (`ConnectionTool.as_tools`) and the MCP server both build their tools here.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from plughub.schemas import ActionInfo
from plughub.tool_schemas.descriptions import tool_description
from plughub.tool_schemas.strict import strict_schema

__all__ = ["FORMATS", "as_tools", "build_tools", "clean_schema", "tool_name"]

FORMATS = ("openai", "openai-responses", "anthropic", "mcp")  # tool definition formats

# OpenAI allows 64 characters; Anthropic now documents 128 and the MCP spec 128, but 64 is accepted
# everywhere, and MCP clients forward names to model APIs, often behind a prefix (`mcp__server__`).
_MAX_NAME = 64
_API_NAME, _MCP_NAME = re.compile(r"[^A-Za-z0-9_-]"), re.compile(r"[^A-Za-z0-9_.-]")
_INVALID_NAME = {"openai": _API_NAME, "openai-responses": _API_NAME, "anthropic": _API_NAME, "mcp": _MCP_NAME}
_MAX_DESCRIPTION = {"openai": 1024, "openai-responses": 1024, "anthropic": 4096, "mcp": 4096}
# The keywords OpenAI parameters keep, and the formats OpenAI documents (for Structured Outputs); others go.
_OPENAI_KEYS = frozenset(
    {"type", "properties", "required", "items", "enum", "description", "default", "format", "minimum", "maximum",
     "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "minItems",
     "maxItems", "anyOf", "oneOf", "allOf", "additionalProperties", "$ref", "$defs", "definitions"}
)  # fmt: skip
_OPENAI_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"})
_DATA = frozenset({"enum", "const", "default", "examples", "required", "type"})  # values, not subschemas


def _format(fmt: str) -> str:
    if (key := fmt.strip().lower().replace("_", "-") if isinstance(fmt, str) else "") not in FORMATS:
        raise ValueError(f"unknown tool format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    return key


def _dialect(fmt: str) -> str:
    """The schema dialect of a format: both OpenAI APIs take the same function schemas."""
    return "openai" if fmt.startswith("openai") else fmt


def _check_strict(fmt: str, strict: bool) -> None:
    if strict and _dialect(fmt) != "openai":
        raise ValueError(f"strict=True applies to the OpenAI formats ('openai', 'openai-responses'), not {fmt!r}")


def tool_name(code: str, fmt: str) -> str:
    """Return the tool name of an action in a format.

    Args:
        code: The action code (`GITHUB_CREATE_ISSUE`).
        fmt: "openai", "openai-responses", "anthropic" or "mcp".

    Returns:
        The code when valid; else the code with forbidden characters (not `[A-Za-z0-9_-]`, `.` allowed for "mcp")
        as `_`, cut to 64 characters with `_` and 8 hex digits of its SHA-256 at the end: deterministic, distinct.

    Raises:
        ValueError: An empty code, or an unknown format.
    """
    invalid = _INVALID_NAME[_format(fmt)]
    if not isinstance(code, str) or not code:
        raise ValueError(f"an action code must be a non-empty string, got {code!r}")
    if len(code) <= _MAX_NAME and not invalid.search(code):
        return code
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()[:8]
    return f"{invalid.sub('_', code)[: _MAX_NAME - len(digest) - 1]}_{digest}"


def _clean(node: Any, fmt: str) -> Any:
    """Clean one subschema, recursively; booleans and other values are copied."""
    if not isinstance(node, Mapping):
        return copy.deepcopy(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if (fmt == "openai" and key not in _OPENAI_KEYS) or (fmt == "anthropic" and key == "$schema"):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: _clean(sub, fmt) for name, sub in value.items()}
        elif key in _DATA or not isinstance(value, list):
            out[key] = copy.deepcopy(value) if key in _DATA else _clean(value, fmt)
        elif not (key == "items" and fmt == "openai"):  # OpenAI has no tuple-style `items`
            out[key] = [_clean(sub, fmt) for sub in value]
    if out.pop("nullable", None) is True or node.get("nullable") is True:  # OpenAPI 3.0's `"type": [..., "null"]`
        kinds = [out["type"]] if isinstance(out.get("type"), str) else out.get("type")
        if isinstance(kinds, list) and "null" not in kinds:
            out["type"] = [*kinds, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if fmt == "openai":
        if "const" in node and "enum" not in out:
            out["enum"] = [copy.deepcopy(node["const"])]
        if "format" in out and not (isinstance(out["format"], str) and out["format"] in _OPENAI_FORMATS):
            del out["format"]
    return out


def _refs(node: Any) -> list[str]:
    if isinstance(node, Mapping):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for key, value in node.items() if key != "$ref" for ref in _refs(value)]
    return [ref for item in node for ref in _refs(item)] if isinstance(node, list) else []


def _prune_defs(schema: dict[str, Any]) -> None:
    """Drop the top-level `$defs`/`definitions` entries that no `$ref` reaches."""
    pending, keep = _refs({k: v for k, v in schema.items() if k not in ("$defs", "definitions")}), set()
    while pending:
        container, _, name = pending.pop().removeprefix("#/").partition("/")
        name = name.split("/")[0].replace("~1", "/").replace("~0", "~")
        if isinstance(defs := schema.get(container), Mapping) and name in defs and (container, name) not in keep:
            keep.add((container, name))
            pending += _refs(defs[name])
    for container in [c for c in ("$defs", "definitions") if isinstance(schema.get(c), Mapping)]:
        kept = {k: v for k, v in schema.pop(container).items() if (container, k) in keep}
        schema.update({container: kept} if kept else {})


def clean_schema(schema: Mapping[str, Any], fmt: str, *, strict: bool = False) -> dict[str, Any]:
    """Return a copy of an input schema that a format's API accepts.

    The top level becomes `{"type": "object", "properties": {...}}`; top-level `allOf`/`anyOf`/`oneOf` (OpenAI
    and Anthropic reject them) are merged into `properties` (required when an `allOf` branch requires it);
    `nullable` becomes a type list with "null". "openai" keeps only common keywords (`const` becomes a one-value
    `enum`; `title`, `examples`, `$schema`, unknown formats, unused `$defs` go); "anthropic" drops `$schema`.
    `strict` (OpenAI only) rewrites the result for OpenAI's strict mode (`strict.strict_schema`).

    Args:
        schema: A JSON Schema (`ActionInfo.input_schema`); it is not modified.
        fmt: "openai", "openai-responses", "anthropic" or "mcp".
        strict: Make it an OpenAI strict schema.

    Returns:
        The cleaned copy.

    Raises:
        ValueError: An unknown format, `strict` with a format that is not OpenAI's, or a schema that does
            not describe an object.
    """
    fmt = _format(fmt)
    _check_strict(fmt, strict)
    fmt = _dialect(fmt)
    if not isinstance(schema, Mapping):
        raise ValueError(f"an input schema must be a JSON object (dict), got {type(schema).__name__}")
    out: dict[str, Any] = _clean(schema, fmt)
    kind = out.get("type", "object")
    if kind != "object" and not (isinstance(kind, list) and "object" in kind):
        raise ValueError(f"a tool's input schema must describe an object, got type {kind!r}")
    out["type"] = "object"
    properties = out["properties"] = dict(out["properties"]) if isinstance(out.get("properties"), dict) else {}
    required = [r for r in out["required"] if isinstance(r, str)] if isinstance(out.get("required"), list) else []
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in [b for b in out.pop(key, None) or [] if isinstance(b, dict)]:
            for name, sub in (branch["properties"] if isinstance(branch.get("properties"), dict) else {}).items():
                properties.setdefault(name, sub)
            if key == "allOf" and isinstance(branch.get("required"), list):
                required += [r for r in branch["required"] if isinstance(r, str)]
    if fmt == "openai":
        out = {k: v for k, v in out.items() if k not in ("enum", "not")}  # rejected at the top level too
        _prune_defs(out)
    if required or "required" in out:
        out["required"] = list(dict.fromkeys(required))
    return strict_schema(out) if strict else out


def build_tools(
    actions: Sequence[ActionInfo], fmt: str = "openai", *, strict: bool = False
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Describe actions as tool definitions, with the way back from tool names to action codes.

    Args:
        actions: The actions (`backend.list_actions`), in the tools' order.
        fmt: "openai" (chat completions: `{"type": "function", "function": {"name", "description", "parameters"}}`),
            "openai-responses" (the Responses API: `{"type": "function", "name", "description", "parameters",
            "strict"}`), "anthropic" (`{"name", "description", "input_schema"}`) or "mcp" (`{"name", "title",
            "description", "inputSchema"}`).
        strict: OpenAI strict mode: strict schemas, and `"strict": true` in the tool.

    Returns:
        The tool definitions, and each tool name's action code.

    Raises:
        ValueError: An unknown format, `strict` with a format that is not OpenAI's, a schema that is not an
            object's, or two actions with one name.
    """
    fmt = _format(fmt)
    _check_strict(fmt, strict)
    tools: list[dict[str, Any]] = []
    codes: dict[str, str] = {}
    for info in actions:
        name = tool_name(info.code, fmt)
        if name in codes:
            raise ValueError(f"actions {codes[name]!r} and {info.code!r} both become tool {name!r}")
        codes[name] = info.code
        try:
            schema = clean_schema(info.input_schema, fmt, strict=strict)
        except ValueError as exc:
            raise ValueError(f"action {info.code!r}: {exc}") from exc
        text = tool_description(info, _MAX_DESCRIPTION[fmt])
        if fmt == "openai":
            function = {"name": name, "description": text, "parameters": schema, **({"strict": True} if strict else {})}
            tools.append({"type": "function", "function": function})
        elif fmt == "openai-responses":
            tools.append(
                {"type": "function", "name": name, "description": text, "parameters": schema, "strict": strict}
            )
        elif fmt == "anthropic":
            tools.append({"name": name, "description": text, "input_schema": schema})
        else:
            tools.append({"name": name, "title": info.name, "description": text, "inputSchema": schema})
    return tools, codes


def as_tools(actions: Sequence[ActionInfo], fmt: str = "openai", *, strict: bool = False) -> list[dict[str, Any]]:
    """Describe actions as tool definitions (`build_tools` without the name-to-code map).

    Args:
        actions: The actions.
        fmt: "openai", "openai-responses", "anthropic" or "mcp".
        strict: OpenAI strict mode.

    Returns:
        The tool definitions.

    Raises:
        ValueError: As `build_tools`.
    """
    return build_tools(actions, fmt, strict=strict)[0]

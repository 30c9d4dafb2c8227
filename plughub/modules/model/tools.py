"""A connection's actions as LLM tools (OpenAI chat and Responses, Anthropic, MCP), and tool calls back; plain dicts."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from plughub.enums import ResponseStatus
from plughub.modules.model.response import ModelResponse
from plughub.modules.model.strict import strict_schema
from plughub.modules.model.tool_descriptions import tool_description
from plughub.schemas import ActionInfo

__all__ = ["FORMATS", "SHAPES", "as_tools", "build_tools", "clean_schema", "parse_tool_call", "tool_name",
           "tool_result"]  # fmt: skip

FORMATS = ("openai", "openai-responses", "anthropic", "mcp")  # tool definition formats
SHAPES = ("openai_chat", "openai_responses", "anthropic")  # tool call shapes

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
_EXPECTED = ("expected an OpenAI chat tool call {'id', 'type': 'function', 'function': {'name', 'arguments'}}, an "
             "OpenAI Responses item {'type': 'function_call', 'call_id', 'name', 'arguments'} or an Anthropic block "
             "{'type': 'tool_use', 'id', 'name', 'input'}")  # fmt: skip


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


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


def _arguments(raw: Any, name: str) -> dict[str, Any]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"tool call {name!r}: arguments are not valid JSON (want an object): {raw[:200]!r}"
            ) from exc
    if not isinstance(raw, Mapping):
        raise ValueError(f"tool call {name!r}: arguments must be a JSON object, got {type(raw).__name__}")
    return dict(raw)


def parse_tool_call(call: Any) -> tuple[str, str | None, str, dict[str, Any]]:
    """Read a tool call a model made, as a dict or as the object its SDK returns.

    Args:
        call: An OpenAI chat tool call (`{"id", "type": "function", "function": {"name", "arguments"}}`), an OpenAI
            Responses item (`{"type": "function_call", "call_id", "name", "arguments"}`) or an Anthropic block
            (`{"type": "tool_use", "id", "name", "input"}`).

    Returns:
        The shape ("openai_chat", "openai_responses", "anthropic"), call id (None if absent), tool name, arguments.

    Raises:
        ValueError: An unknown shape, no tool name, or arguments that are not a JSON object.
    """
    kind, function = _get(call, "type"), _get(call, "function")
    if kind == "tool_use":
        shape, call_id, body, raw = "anthropic", _get(call, "id"), call, _get(call, "input")
        if raw is not None and not isinstance(raw, Mapping):
            raise ValueError(f"tool_use block: input must be an object, got {type(raw).__name__}")
    elif kind == "function_call":
        shape, call_id, body, raw = "openai_responses", _get(call, "call_id"), call, _get(call, "arguments")
    elif function is not None and kind in (None, "function"):
        shape, call_id, body, raw = "openai_chat", _get(call, "id"), function, _get(function, "arguments")
    else:
        got = sorted(call) if isinstance(call, Mapping) else type(call).__name__
        raise ValueError(f"{_EXPECTED}; got {got} with type {kind!r}")
    name = _get(body, "name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{shape} tool call: expected a non-empty tool name, got {name!r}")
    return shape, (str(call_id) if call_id else None), name, _arguments(raw, name)


def tool_result(call_id: str | None, response: ModelResponse, shape: str, *, max_chars: int = 100000) -> dict[str, Any]:
    """Build the message that gives a tool call's result back to the model.

    Args:
        call_id: The call id `parse_tool_call` returned.
        response: What `ConnectionTool.run` returned.
        shape: The shape `parse_tool_call` returned: "openai_chat" (a `{"role": "tool"}` message; no `tool_call_id`
            without an id), "openai_responses" (a `function_call_output` item) or "anthropic" (a `tool_result`).
        max_chars: The longest result text; longer text is cut and ends with a marker.

    Returns:
        The message. Its text is the JSON of `response.data`, or, unless SUCCESS, of `{"error": error_code,
        "message": error_message}` (and `is_error` for Anthropic).

    Raises:
        ValueError: An unknown shape, `max_chars` under 100, or no call id where the API needs one.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown tool call shape {shape!r}; expected one of: {', '.join(SHAPES)}")
    if max_chars < 100:
        raise ValueError(f"max_chars must be at least 100, got {max_chars}")
    if not call_id and shape != "openai_chat":
        raise ValueError(f"a {shape} tool result needs the id of the call it answers")
    failed = response.status != ResponseStatus.SUCCESS
    status = str(getattr(response.status, "value", response.status)).lower()
    payload = {"error": response.error_code or status, "message": response.error_message or ""}
    text = json.dumps(payload if failed else response.data, ensure_ascii=False, default=str)
    marker = f"... [truncated: {len(text)} characters in all]"
    text = text if len(text) <= max_chars else text[: max_chars - len(marker)] + marker
    if shape == "openai_chat":
        return {"role": "tool", **({"tool_call_id": call_id} if call_id else {}), "content": text}
    if shape == "openai_responses":
        return {"type": "function_call_output", "call_id": call_id, "output": text}
    return {"type": "tool_result", "tool_use_id": call_id, "content": text, "is_error": failed}

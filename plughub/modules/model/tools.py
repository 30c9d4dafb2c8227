"""Tool calls a model made, run through a connection and answered back (OpenAI chat and Responses, Anthropic).

The tool definitions themselves come from `plughub.tool_schemas`, which the MCP server shares.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from plughub.enums import ResponseStatus
from plughub.exceptions import InvalidInput
from plughub.modules.model.response import ModelResponse

__all__ = ["SHAPES", "parse_tool_call", "refused_call", "tool_code", "tool_result"]

SHAPES = ("openai_chat", "openai_responses", "anthropic")  # tool call shapes
_EXPECTED = ("expected an OpenAI chat tool call {'id', 'type': 'function', 'function': {'name', 'arguments'}}, an "
             "OpenAI Responses item {'type': 'function_call', 'call_id', 'name', 'arguments'} or an Anthropic block "
             "{'type': 'tool_use', 'id', 'name', 'input'}")  # fmt: skip


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


def tool_code(name: str, names: Mapping[str, str]) -> str:
    """The action code behind a tool name a model called.

    Args:
        name: The tool's name as the model gave it.
        names: Tool names to action codes (as `as_tools` made them).

    Returns:
        The action's code (the name itself, or upper-cased, when it is a code).

    Raises:
        InvalidInput: No tool has this name.
    """
    code = names.get(name) or next((c for c in (name, name.upper()) if c in names.values()), None)
    if code is None:
        raise InvalidInput(f"tool {name!r} is not one of this connection's tools: {', '.join(sorted(names))}")
    return code


def refused_call(exc: ValueError) -> ModelResponse:
    """A FAILED response for a tool call whose arguments were refused (the model reads it and retries).

    Args:
        exc: What refused them.

    Returns:
        The response, with the error's code (`invalid_input` by default) and message.
    """
    return ModelResponse(
        status=ResponseStatus.FAILED,
        error_code=getattr(exc, "code", "invalid_input"),
        error_message=str(exc),
        completed=True,
    )

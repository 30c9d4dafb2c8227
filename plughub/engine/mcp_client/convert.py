"""MCP tools as plughub actions, and MCP tool results as action results."""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult, Tool

from plughub.engine.catalog.describe import humanize
from plughub.enums import ResponseStatus
from plughub.exceptions import McpToolError
from plughub.schemas import ActionInfo, ActionResult, InputField

__all__ = ["tool_action", "tool_result"]

_DATATYPES = {"string": "text", "integer": "number", "number": "number", "boolean": "boolean"}


def tool_action(tool: Tool) -> ActionInfo:
    """Describe an MCP tool as an action: its name is the code, its input schema the inputs.

    Args:
        tool: The tool as `tools/list` gave it.

    Returns:
        The action.
    """
    schema: dict[str, Any] = dict(tool.input_schema or {})
    schema.setdefault("type", "object")
    found = schema.get("properties")
    properties: dict[str, Any] = found if isinstance(found, dict) else {}
    required = set(schema.get("required") or [])
    inputs = []
    for name, prop in properties.items():
        prop = prop if isinstance(prop, dict) else {}
        kind = prop.get("type", "string")
        inputs.append(
            InputField(
                code=name,
                name=prop.get("title") or humanize(name),
                description=prop.get("description", ""),
                datatype=_DATATYPES.get(kind, "array" if kind == "array" else "object" if kind == "object" else "text")
                if isinstance(kind, str)
                else "text",
                required=name in required,
                default=prop.get("default"),
                enum=prop.get("enum"),
                json_schema=prop,
            )
        )
    title = tool.title or (tool.annotations.title if tool.annotations else None)
    return ActionInfo(
        code=tool.name,
        name=title or tool.name,
        description=tool.description or "",
        method="MCP",
        path="tools/call",
        inputs=inputs,
        input_schema=schema,
    )


def _block(block: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = block.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dumped


def tool_result(label: str, result: CallToolResult, run_time: float) -> ActionResult:
    """Turn a `tools/call` result into an action result, faithfully.

    `data` is the structured content when the server sent some, else the text when the answer is
    one text block, else the list of content blocks; `details["content"]` always holds every block.
    A tool error (`isError`) is a FAILED result whose message is the tool's text.

    Args:
        label: `<connection> <tool>`, for messages.
        result: The server's result.
        run_time: Seconds the call took.

    Returns:
        The result.
    """
    blocks = [_block(b) for b in result.content]
    texts = [b.get("text", "") for b in blocks if b.get("type") == "text"]
    details: dict[str, Any] = {"content": blocks}
    if result.is_error:
        message = f"{label}: " + ("\n".join(texts) or "the tool reported an error without a message")
        return ActionResult.failure(McpToolError(message, details=details), run_time=run_time)
    data: Any
    if result.structured_content is not None:
        data = result.structured_content
        details["structured_content"] = result.structured_content
    elif len(blocks) == 1 and blocks[0].get("type") == "text":
        data = texts[0]
    else:
        data = blocks
    return ActionResult(status=ResponseStatus.SUCCESS, data=data, details=details, run_time=run_time)

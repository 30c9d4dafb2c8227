"""Connections' actions as LangChain tools (`StructuredTool`s with the actions' JSON Schemas); `plughub[langchain]`.

```python
from plughub.adapters.langchain import tools
agent = create_agent(model, tools(conn))  # or model.bind_tools(tools(conn)), LangGraph's ToolNode, ...
```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plughub.adapters.toolspec import Connections, ToolSpec, require, tool_specs
from plughub.modules.model.connection import ConnectAction

__all__ = ["tools"]

# BaseTool.run passes these to the tool's own `_run` by keyword, so arguments with these names would be lost;
# such inputs are offered to the model under another name and renamed back.
_RESERVED = ("config", "run_manager")


def _renames(schema: dict[str, Any]) -> dict[str, str]:
    properties = schema.get("properties") or {}
    renames: dict[str, str] = {}
    for name in [n for n in _RESERVED if n in properties]:
        alias = f"{name}_"
        while alias in properties:
            alias += "_"
        renames[alias] = name
    return renames


def _schema(spec: ToolSpec, renames: dict[str, str]) -> dict[str, Any]:
    if not renames:
        return spec.parameters
    back = {v: k for k, v in renames.items()}
    schema = dict(spec.parameters)
    schema["properties"] = {back.get(k, k): v for k, v in schema["properties"].items()}
    if isinstance(schema.get("required"), list):
        schema["required"] = [back.get(r, r) for r in schema["required"]]
    return schema


def _tool(spec: ToolSpec, module: Any) -> Any:
    renames = _renames(spec.parameters)

    def arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {renames.get(k, k): v for k, v in kwargs.items()}

    def run(**kwargs: Any) -> str:
        text, failed = spec.run(arguments(kwargs))
        if failed:  # with handle_tool_error, LangChain answers with the text and status="error"
            raise module.ToolException(text)
        return text

    async def arun(**kwargs: Any) -> str:
        text, failed = await spec.arun(arguments(kwargs))
        if failed:
            raise module.ToolException(text)
        return text

    return module.StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=spec.name,
        description=spec.description,
        args_schema=_schema(spec, renames),
        handle_tool_error=True,
    )


def tools(
    connections: Connections,
    *,
    actions: Sequence[ConnectAction | str] | None = None,
    max_tools: int | None = None,
    query: str | None = None,
) -> list[Any]:
    """Make LangChain tools of connections' actions (those in `action_scope`, when set).

    Each is a `langchain_core.tools.StructuredTool` named after the action, whose description says what it does
    and returns, and whose `args_schema` is the action's input JSON Schema. Calling it runs the action through
    plughub (credentials never reach the model); `ainvoke` runs it in a worker thread. A failed action or refused
    arguments come back as a `ToolMessage` with `status="error"` and `{"error", "message"}` as its text.

    Args:
        connections: A `ConnectionTool`, or several.
        actions: Only these actions (codes or `ConnectAction`s).
        max_tools: The most tools (the best matches of `query`, else the first ones).
        query: What the agent should do; only the actions that match it, best first.

    Returns:
        The tools.

    Raises:
        ImportError: langchain-core is not installed (`pip install 'plughub[langchain]'`).
        TypeError: Something other than a `ConnectionTool` was given.
        ValueError: As `plughub.adapters.toolspec.tool_specs`.
    """
    module = require("langchain_core.tools", "langchain")
    return [_tool(spec, module) for spec in tool_specs(connections, actions=actions, max_tools=max_tools, query=query)]

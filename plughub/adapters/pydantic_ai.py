"""Connections' actions as PydanticAI tools (`Tool.from_schema`); `plughub[pydantic-ai]`.

```python
from pydantic_ai import Agent
from plughub.adapters.pydantic_ai import tools
agent = Agent("openai:gpt-5", tools=tools(conn))
```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plughub.adapters.toolspec import Connections, ToolSpec, require, tool_specs
from plughub.modules.model.connection import ConnectAction

__all__ = ["tools"]


def _tool(spec: ToolSpec, module: Any) -> Any:
    async def call(**arguments: Any) -> str:
        text, _failed = await spec.arun(arguments)
        return text

    return module.Tool.from_schema(
        call, name=spec.name, description=spec.description, json_schema=spec.parameters, takes_ctx=False
    )


def tools(
    connections: Connections,
    *,
    actions: Sequence[ConnectAction | str] | None = None,
    max_tools: int | None = None,
    query: str | None = None,
) -> list[Any]:
    """Make PydanticAI tools of connections' actions (those in `action_scope`, when set).

    Each is a `pydantic_ai.Tool` made with `Tool.from_schema`: named after the action, described by what it does
    and returns, its arguments' schema the action's input JSON Schema. The agent awaits it; plughub runs the action
    in a worker thread. A failed action or refused arguments come back to the model as `{"error", "message"}`
    text (no retry is spent and the run goes on).

    Args:
        connections: A `ConnectionTool`, or several.
        actions: Only these actions (codes or `ConnectAction`s).
        max_tools: The most tools (the best matches of `query`, else the first ones).
        query: What the agent should do; only the actions that match it, best first.

    Returns:
        The tools.

    Raises:
        ImportError: pydantic-ai-slim is not installed (`pip install 'plughub[pydantic-ai]'`).
        TypeError: Something other than a `ConnectionTool` was given.
        ValueError: As `plughub.adapters.toolspec.tool_specs`.
    """
    module = require("pydantic_ai", "pydantic-ai")
    return [_tool(spec, module) for spec in tool_specs(connections, actions=actions, max_tools=max_tools, query=query)]

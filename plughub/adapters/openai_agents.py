"""Connections' actions as OpenAI Agents SDK tools (`FunctionTool`s); `plughub[openai-agents]`.

```python
from agents import Agent, Runner
from plughub.adapters.openai_agents import tools
agent = Agent(name="ops", instructions="...", tools=tools(conn))
```
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from plughub.adapters.toolspec import Connections, ToolSpec, require, tool_specs
from plughub.modules.model.connection import ConnectAction

__all__ = ["tools"]


def _error(code: str, message: str) -> str:
    return json.dumps({"error": code, "message": message}, ensure_ascii=False)


def _tool(spec: ToolSpec, module: Any) -> Any:
    async def invoke(_context: Any, raw: str) -> str:
        try:
            arguments = json.loads(raw) if raw and raw.strip() else {}
        except json.JSONDecodeError:
            return _error("invalid_arguments", f"{spec.name}: the arguments are not valid JSON; send a JSON object")
        if not isinstance(arguments, dict):
            return _error("invalid_arguments", f"{spec.name}: the arguments must be a JSON object")
        text, _failed = await spec.arun(arguments)
        return text

    # The actions' schemas have optional inputs, which OpenAI's strict mode cannot express; not strict.
    return module.FunctionTool(
        name=spec.name,
        description=spec.description,
        params_json_schema=spec.parameters,
        on_invoke_tool=invoke,
        strict_json_schema=False,
    )


def tools(
    connections: Connections,
    *,
    actions: Sequence[ConnectAction | str] | None = None,
    max_tools: int | None = None,
    query: str | None = None,
) -> list[Any]:
    """Make OpenAI Agents SDK tools of connections' actions (those in `action_scope`, when set).

    Each is an `agents.FunctionTool` named after the action, whose description says what it does and returns and
    whose `params_json_schema` is the action's input JSON Schema (`strict_json_schema=False`). The SDK calls it
    asynchronously; plughub runs the action in a worker thread. A failed action or refused arguments come back to
    the model as `{"error", "message"}` text, and the run goes on.

    Args:
        connections: A `ConnectionTool`, or several.
        actions: Only these actions (codes or `ConnectAction`s).
        max_tools: The most tools (the best matches of `query`, else the first ones).
        query: What the agent should do; only the actions that match it, best first.

    Returns:
        The tools.

    Raises:
        ImportError: openai-agents is not installed (`pip install 'plughub[openai-agents]'`).
        TypeError: Something other than a `ConnectionTool` was given.
        ValueError: As `plughub.adapters.toolspec.tool_specs`.
    """
    module = require("agents", "openai-agents")
    return [_tool(spec, module) for spec in tool_specs(connections, actions=actions, max_tools=max_tools, query=query)]

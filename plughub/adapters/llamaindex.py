"""Connections' actions as LlamaIndex tools (`FunctionTool`s); `plughub[llamaindex]`.

```python
from llama_index.core.agent.workflow import FunctionAgent
from plughub.adapters.llamaindex import tools
agent = FunctionAgent(tools=tools(conn), llm=llm)
```
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pydantic

from plughub.adapters.toolspec import Connections, ToolSpec, require, tool_specs
from plughub.modules.model.connection import ConnectAction

__all__ = ["tools"]


def _schema_model(spec: ToolSpec) -> type[pydantic.BaseModel]:
    """A pydantic model whose JSON Schema is the action's own: LlamaIndex reads a tool's schema from a model.

    The model has no fields (arguments are checked by plughub against the real schema); `json_schema_extra`
    replaces what pydantic would generate with the action's schema, kept exactly.
    """

    def replace(schema: dict[str, Any]) -> None:
        schema.clear()
        schema.update(copy.deepcopy(spec.parameters))

    config = pydantic.ConfigDict(json_schema_extra=replace, extra="allow")
    return pydantic.create_model(f"{spec.name}_arguments", __config__=config)


def _tool(spec: ToolSpec, module: Any) -> Any:
    def run(**arguments: Any) -> str:
        return spec.run(arguments)[0]

    async def arun(**arguments: Any) -> str:
        return (await spec.arun(arguments))[0]

    return module.FunctionTool.from_defaults(
        fn=run, async_fn=arun, name=spec.name, description=spec.description, fn_schema=_schema_model(spec)
    )


def tools(
    connections: Connections,
    *,
    actions: Sequence[ConnectAction | str] | None = None,
    max_tools: int | None = None,
    query: str | None = None,
) -> list[Any]:
    """Make LlamaIndex tools of connections' actions (those in `action_scope`, when set).

    Each is a `llama_index.core.tools.FunctionTool` named after the action, described by what it does and returns,
    whose metadata gives the action's input JSON Schema as its parameters. Agents call `acall`, which runs the
    action in a worker thread. A failed action or refused arguments come back to the model as
    `{"error", "message"}` text, and the agent goes on.

    Args:
        connections: A `ConnectionTool`, or several.
        actions: Only these actions (codes or `ConnectAction`s).
        max_tools: The most tools (the best matches of `query`, else the first ones).
        query: What the agent should do; only the actions that match it, best first.

    Returns:
        The tools.

    Raises:
        ImportError: llama-index-core is not installed (`pip install 'plughub[llamaindex]'`).
        TypeError: Something other than a `ConnectionTool` was given.
        ValueError: As `plughub.adapters.toolspec.tool_specs`.
    """
    module = require("llama_index.core.tools", "llamaindex")
    return [_tool(spec, module) for spec in tool_specs(connections, actions=actions, max_tools=max_tools, query=query)]

"""What every framework adapter needs: connections' actions as neutral tool specs, and a call's result as text.

A `ToolSpec` carries what a model sees (name, description, JSON Schema of the arguments, all from
`ConnectionTool.as_tools("openai")`, so `action_scope` holds) and runs a call through `ConnectionTool.run`. The
result is text for the model: the service's answer as JSON, or `{"error", "message"}` when the action failed or
the arguments were refused, so a failure never ends the agent's run.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NamedTuple

from plughub.enums import ResponseStatus
from plughub.exceptions import PlughubError
from plughub.modules.model.connection import ConnectAction, ConnectionTool
from plughub.modules.model.ranking import select_actions
from plughub.modules.model.response import ModelResponse
from plughub.modules.model.tools import tool_result
from plughub.tool_schemas import tool_name

__all__ = ["ToolSpec", "require", "tool_specs"]

Connections = ConnectionTool | Iterable[ConnectionTool]


@dataclass(frozen=True)
class ToolSpec:
    """One action as a tool, for any framework.

    Args:
        name: The tool name (`^[A-Za-z0-9_-]{1,64}$`, the action code when it fits).
        description: What the action does and what it returns.
        parameters: The JSON Schema of the arguments (an object), with the inputs' descriptions and enums.
        code: The action code.
        connection: The connection that runs it.
    """

    name: str
    description: str
    parameters: dict[str, Any] = field(repr=False)
    code: str
    connection: ConnectionTool = field(repr=False)

    def run(self, arguments: Mapping[str, Any] | None = None) -> tuple[str, bool]:
        """Run the action with the model's arguments.

        Args:
            arguments: The arguments, as the model gave them.

        Returns:
            The text for the model (the answer as JSON, or `{"error", "message"}`), and whether the call failed.
            Refused arguments and every plughub error come back this way, for the model to read and adapt.
        """
        try:
            response = self.connection.run(self.code, dict(arguments or {}))
        except (PlughubError, ValueError) as exc:
            response = ModelResponse(
                status=ResponseStatus.FAILED,
                error_code=getattr(exc, "code", "invalid_input"),
                error_message=str(exc),
                completed=True,
            )
        return tool_result(None, response, "openai_chat")["content"], response.status != ResponseStatus.SUCCESS

    async def arun(self, arguments: Mapping[str, Any] | None = None) -> tuple[str, bool]:
        """Run the action in a worker thread, so that the event loop goes on serving other tasks.

        Args:
            arguments: The arguments, as the model gave them.

        Returns:
            As `run`.
        """
        return await asyncio.to_thread(self.run, arguments)


class _Candidate(NamedTuple):
    code: str
    name: str
    description: str
    connection: ConnectionTool
    definition: dict[str, Any]


def _connections(connections: Connections) -> list[ConnectionTool]:
    found = [connections] if isinstance(connections, ConnectionTool) else list(connections)
    if not found:
        raise ValueError("give a ConnectionTool (ModelFactory.get(connection_id)) or a list of them; got none")
    for item in found:
        if not isinstance(item, ConnectionTool):
            raise TypeError(f"expected a ConnectionTool (ModelFactory.get(connection_id)), got {type(item).__name__}")
    return found


def _candidates(connection: ConnectionTool) -> list[_Candidate]:
    # as_tools says which actions are in scope and how a model sees them; actions give names for ranking.
    definitions = {d["function"]["name"]: d["function"] for d in connection.as_tools("openai")}
    found = []
    for action in connection.actions:
        definition = definitions.get(tool_name(action.code or "", "openai")) if action.code else None
        if definition is not None and action.code:
            found.append(_Candidate(action.code, action.name, action.description or "", connection, definition))
    return found


def _narrow(candidates: list[_Candidate], actions: Sequence[ConnectAction | str]) -> list[_Candidate]:
    wanted = [a.code if isinstance(a, ConnectAction) else a for a in actions]
    known = {c.code for c in candidates}
    missing = [code for code in wanted if code not in known]
    if missing:
        listed = sorted(known)
        shown = ", ".join(listed[:20]) + (f", ... ({len(listed)} in all)" if len(listed) > 20 else "")
        raise ValueError(
            f"actions={missing!r}: not among the connections' actions (within action_scope); available: {shown}"
        )
    chosen = set(wanted)
    return [c for c in candidates if c.code in chosen]


def tool_specs(
    connections: Connections,
    *,
    actions: Sequence[ConnectAction | str] | None = None,
    max_tools: int | None = None,
    query: str | None = None,
) -> list[ToolSpec]:
    """Describe connections' actions as tool specs.

    Args:
        connections: A `ConnectionTool`, or several (their tools are put together).
        actions: Only these actions (codes or `ConnectAction`s); each must be in its connection's `action_scope`.
        max_tools: The most tools (the best matches of `query`, else the first ones, with a warning).
        query: What the agent should do: only the actions that match it, best first (`ConnectionTool.find_actions`).

    Returns:
        The specs, in the connections' and actions' order (best first with a query).

    Raises:
        TypeError: Something other than a `ConnectionTool` was given.
        ValueError: No connection, an action that is not available, a bad `max_tools` or query, or two
            connections' actions with one tool name (narrow them with `actions=` or `action_scope`).
    """
    candidates = [c for connection in _connections(connections) for c in _candidates(connection)]
    if actions is not None:
        candidates = _narrow(candidates, actions)
    specs: dict[str, ToolSpec] = {}
    for chosen in select_actions(candidates, max_tools=max_tools, query=query):
        name = chosen.definition["name"]
        if name in specs:
            raise ValueError(
                f"tool {name!r} would come from connections {specs[name].connection.id} and {chosen.connection.id}; "
                "give each connection its own agent, or narrow with actions=[...] or action_scope"
            )
        specs[name] = ToolSpec(
            name=name,
            description=chosen.definition["description"],
            parameters=chosen.definition["parameters"],
            code=chosen.code,
            connection=chosen.connection,
        )
    return list(specs.values())


def require(module: str, extra: str) -> ModuleType:
    """Import a framework's module, or say which extra installs it.

    Args:
        module: The module (`langchain_core.tools`).
        extra: The plughub extra that installs it (`langchain`).

    Returns:
        The module.

    Raises:
        ImportError: The framework is not installed; the message says `pip install 'plughub[<extra>]'`.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"this adapter needs {module.split('.')[0]}, which is not installed: pip install 'plughub[{extra}]'"
        ) from exc

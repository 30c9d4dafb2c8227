"""Connections' actions as MCP tools: which tools, their names, and tool calls run through a backend.

Nothing here speaks the protocol: tool definitions and call results are plain dicts in MCP's wire
shape (`inputSchema`, `isError`, `structuredContent`), which `plughub.mcp_server.server` hands to the SDK.

Tool names (the rule the README documents):

1. An action's tool name is its code (`GITHUB_CREATE_ISSUE`) when it matches `^[A-Za-z0-9_-]{1,64}$`,
   the strictest rule clients forward names under (OpenAI's; the MCP spec allows `.` and 128);
   otherwise the code with other characters as `_`, cut to 64 with 8 hex digits of its SHA-256.
2. When several exposed actions get the same name (two GitHub connections both have
   `GITHUB_CREATE_ISSUE`), each becomes `<name>__<connection>`, where `<connection>` is the
   connection's name in lower case with other characters than `[a-z0-9_-]` as `_` if those are
   distinct and not empty among them, else the connection id; cut to 64 the same way.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from plughub.enums import ConnectionStatus, ResponseStatus
from plughub.exceptions import ActionNotFound, ConnectionNotFound, ConnectionStateError, PlughubError
from plughub.schemas import ActionInfo, ActionResult, ConnectionInfo
from plughub.tool_schemas import build_tools, tool_name

__all__ = ["ActionSource", "ExposedTool", "Toolset", "name_tools", "result_of"]

logger = logging.getLogger("plughub.mcp_server")

_MAX_NAME = 64
_SLUG = re.compile(r"[^a-z0-9_-]+")
_MAX_ACTION_DESCRIPTION = 3500  # leaves room for the connection line within the 4096 build_tools keeps
_READ_ONLY = frozenset({"GET", "HEAD"})


@runtime_checkable
class ActionSource(Protocol):
    """What a toolset needs from plughub: a `Backend` has it, and so has a team's view of the engine."""

    def get_connection(self, connection_id: str) -> ConnectionInfo:
        """Describe a connection, secrets masked."""
        ...

    def list_actions(self, connection_id: str) -> list[ActionInfo]:
        """List a connection's actions."""
        ...

    def run_action(self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None) -> ActionResult:
        """Run an action."""
        ...


@dataclass(frozen=True)
class ExposedTool:
    """One action of one connection, as the MCP client sees it.

    Attributes:
        name: The tool name.
        connection: The connection that runs it.
        action: The action.
        definition: The MCP tool definition (`name`, `title`, `description`, `inputSchema`, `annotations`).
    """

    name: str
    connection: ConnectionInfo
    action: ActionInfo
    definition: dict[str, Any]


def _slug(text: str) -> str:
    return _SLUG.sub("_", text.lower()).strip("_-")


def _fit(name: str) -> str:
    """A name within 64 characters of `[A-Za-z0-9_-]` (the tools module's rule: a hash when cut)."""
    return tool_name(name, "openai")


def name_tools(pairs: Sequence[tuple[ConnectionInfo, ActionInfo]]) -> list[str]:
    """Name the tools of some connections' actions, uniquely (the module docstring gives the rule).

    Args:
        pairs: Each exposed action with its connection, in the tools' order.

    Returns:
        One name per pair, in the same order.

    Raises:
        ValueError: Two tools would still share a name (a code that equals another's suffixed name).
    """
    base = [_fit(action.code) for _, action in pairs]
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(base):
        groups.setdefault(name, []).append(index)
    names = list(base)
    for name, members in groups.items():
        if len(members) == 1:
            continue
        slugs = [_slug(pairs[i][0].name) for i in members]
        by_name = all(slugs) and len(set(slugs)) == len(slugs)
        for index, slug in zip(members, slugs, strict=True):
            names[index] = _fit(f"{name}__{slug if by_name else pairs[index][0].id}")
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            first = seen[name]
            raise ValueError(
                f"actions {pairs[first][1].code!r} (connection {pairs[first][0].id}) and {pairs[index][1].code!r} "
                f"(connection {pairs[index][0].id}) would both be tool {name!r}; expose fewer actions (--actions)"
            )
        seen[name] = index
    return names


def _definition(connection: ConnectionInfo, action: ActionInfo, name: str, suffixed: bool) -> dict[str, Any]:
    text = (action.description or action.name or action.code).strip()
    if len(text) > _MAX_ACTION_DESCRIPTION:
        text = text[: _MAX_ACTION_DESCRIPTION - 3].rstrip() + "..."
    where = f"{connection.integration_name}, id {connection.id}"
    text += f"\n\nRuns on the plughub connection '{connection.name}' ({where})."
    described = action.model_copy(update={"description": text})
    tool = build_tools([described], "mcp")[0][0]
    tool["name"] = name
    tool["title"] = f"{action.name} ({connection.name})" if suffixed else action.name
    method = action.method.upper()
    annotations: dict[str, Any] = {"openWorldHint": True}
    if method in _READ_ONLY:
        annotations["readOnlyHint"] = True
    elif method == "DELETE":
        annotations["destructiveHint"] = True
    tool["annotations"] = annotations
    return tool


def _error(code: str, message: str, status_code: int | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"error": code, "message": message}
    if status_code is not None:
        payload["status_code"] = status_code
    return {"content": [{"type": "text", "text": json.dumps(payload, ensure_ascii=False)}], "isError": True}


def result_of(result: ActionResult) -> dict[str, Any]:
    """Turn an action's result into an MCP tool call result.

    Args:
        result: What the backend returned (already redacted by the engine).

    Returns:
        SUCCESS: the data as text (a string as is, anything else as JSON) and, when it is an object, as
        `structuredContent`. Otherwise `isError` with `{"error", "message", "status_code"}` as JSON text.
    """
    if result.status is not ResponseStatus.SUCCESS:
        status = str(getattr(result.status, "value", result.status)).lower()
        message = result.error_message or f"the action ended with status {status}"
        return _error(result.error_code or status, message, result.status_code)
    data = result.data
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    out: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": False}
    if isinstance(data, dict):
        out["structuredContent"] = json.loads(json.dumps(data, default=str))
    return out


ConnectionsLoader = Callable[[], Sequence[ConnectionInfo]]


class Toolset:
    """The MCP tools of some connections' actions, and the calls that run them.

    Args:
        source: Where connections and actions come from (a `Backend`, or a team's view of the engine).
        connections: The connection ids to expose, or a function that returns the connections to expose
            (called again at each listing: "the team's active connections").
        actions: The action codes to expose (case-insensitive): None for all; a collection for those
            codes in every connection; a mapping from connection id to codes for per-connection scopes
            (a connection it leaves out exposes all its actions).
    """

    def __init__(
        self,
        source: ActionSource,
        connections: Sequence[str] | ConnectionsLoader,
        actions: Collection[str] | Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.source = source
        self._ids: tuple[str, ...] | None = None
        self._loader: ConnectionsLoader | None = None
        if callable(connections):
            self._loader = connections
        else:
            if isinstance(connections, str):
                raise TypeError("connections must be a sequence of connection ids, not one string")
            self._ids = tuple(dict.fromkeys(connections))
        self._scopes: dict[str, frozenset[str]] = {}
        self._everywhere: frozenset[str] | None = None
        if isinstance(actions, Mapping):
            self._scopes = {cid: frozenset(c.upper() for c in codes) for cid, codes in actions.items() if codes}
        elif actions is not None:
            if isinstance(actions, str):
                raise TypeError("actions must be a collection of action codes, not one string")
            self._everywhere = frozenset(c.upper() for c in actions) or None
        self._lock = threading.Lock()
        self._by_name: dict[str, ExposedTool] = {}

    def __repr__(self) -> str:
        shown = list(self._ids) if self._ids is not None else "dynamic"
        return f"Toolset(connections={shown}, tools={len(self._by_name)})"

    def _allowed(self, connection_id: str) -> frozenset[str] | None:
        return self._scopes.get(connection_id, self._everywhere)

    def check(self) -> list[ExposedTool]:
        """Check the connection ids and action codes before serving, and list the tools.

        Returns:
            The tools.

        Raises:
            ConnectionNotFound: A connection id that does not exist (or belongs to another team).
            ConnectionStateError: A connection that is not active (an OAuth consent not completed, an
                expired grant).
            ActionNotFound: An action code that no exposed connection has.
        """
        connections = self._connections(strict=True)
        listed = {c.id: self.source.list_actions(c.id) for c in connections}
        unknown = sorted(cid for cid in self._scopes if cid not in listed)
        if unknown:
            raise ConnectionNotFound(f"actions are scoped for connection {', '.join(unknown)}, which is not exposed")
        have = {cid: {a.code.upper() for a in actions} for cid, actions in listed.items()}
        anywhere = set().union(*have.values())
        missing = sorted(set(self._everywhere or ()) - anywhere)
        missing += sorted(f"{code} (in {cid})" for cid, codes in self._scopes.items() for code in codes - have[cid])
        if missing:
            every = sorted({a.code for actions in listed.values() for a in actions})
            shown = ", ".join(every[:20]) + (f", ... ({len(every)} in all)" if len(every) > 20 else "")
            raise ActionNotFound(
                f"no exposed connection has action {', '.join(missing)}; their actions: {shown or 'none'} "
                "(list them with `plughub actions CONNECTION_ID`)",
                details={"missing": missing},
            )
        return self._build(connections, listed)

    def _connections(self, *, strict: bool) -> list[ConnectionInfo]:
        if self._loader is not None:
            return [c for c in self._loader() if c.status is ConnectionStatus.ACTIVE]
        found = []
        for connection_id in self._ids or ():
            try:
                info = self.source.get_connection(connection_id)
            except ConnectionNotFound:
                if strict:
                    raise
                logger.warning("connection %s no longer exists; its tools are left out", connection_id)
                continue
            if info.status is not ConnectionStatus.ACTIVE:
                if strict:
                    raise ConnectionStateError(
                        f"connection {info.id} ({info.name}) is {info.status.value}, not active"
                        + (f" ({info.error})" if info.error else "")
                        + ": complete or renew its authorization first, or leave it out"
                    )
                logger.warning("connection %s is %s; its tools are left out", info.id, info.status.value)
                continue
            found.append(info)
        return found

    def _build(
        self, connections: Sequence[ConnectionInfo], listed: Mapping[str, list[ActionInfo]]
    ) -> list[ExposedTool]:
        pairs = []
        for connection in connections:
            allowed = self._allowed(connection.id)
            for action in listed[connection.id]:
                if allowed is None or action.code.upper() in allowed:
                    pairs.append((connection, action))
        names = name_tools(pairs)
        tools = []
        for (connection, action), name in zip(pairs, names, strict=True):
            try:
                definition = _definition(connection, action, name, name != _fit(action.code))
            except ValueError as exc:  # a schema that is not an object's: one bad action must not hide the rest
                logger.warning("action %s of connection %s is left out: %s", action.code, connection.id, exc)
                continue
            tools.append(ExposedTool(name, connection, action, definition))
        with self._lock:
            self._by_name = {t.name: t for t in tools}
        return tools

    def refresh(self) -> list[ExposedTool]:
        """Read the connections and their actions again.

        Connections that disappeared or stopped being active since `check` are left out (with a
        warning in the log), so that the other tools keep working.

        Returns:
            The tools.
        """
        connections = self._connections(strict=False)
        listed: dict[str, list[ActionInfo]] = {}
        for connection in connections:
            try:
                listed[connection.id] = self.source.list_actions(connection.id)
            except ConnectionNotFound:
                logger.warning("connection %s no longer exists; its tools are left out", connection.id)
        return self._build([c for c in connections if c.id in listed], listed)

    def tools(self) -> list[dict[str, Any]]:
        """List the MCP tool definitions (read afresh).

        Returns:
            The definitions, in the connections' order and each connection's action order.
        """
        return [t.definition for t in self.refresh()]

    def find(self, name: str) -> ExposedTool | None:
        """Find a tool by name: in the last listing, else in a fresh one.

        Args:
            name: The tool name.

        Returns:
            The tool, or None when no exposed action has this name.
        """
        with self._lock:
            found = self._by_name.get(name)
        if found is None:
            found = next((t for t in self.refresh() if t.name == name), None)
        return found

    def call(self, name: str, arguments: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a tool call; what the client or the service got wrong is a result, not an exception.

        Args:
            name: The tool name.
            arguments: The tool's arguments.

        Returns:
            An MCP `CallToolResult` as a dict: the action's answer, or `isError` with the reason (unknown
            tool, invalid arguments, a connection no longer active, the service's failure).

        Raises:
            PlughubError: A name not seen in the last listing, and listing again failed (the plughub
                server unreachable, ...); the MCP server turns this into an error result too.
        """
        tool = self.find(name)
        if tool is None:
            with self._lock:
                known = sorted(self._by_name)
            shown = ", ".join(known[:30]) + (f", ... ({len(known)} in all)" if len(known) > 30 else "")
            return _error("unknown_tool", f"unknown tool {name!r}; the tools are: {shown or 'none'}")
        try:
            result = self.source.run_action(tool.connection.id, tool.action.code, dict(arguments or {}))
        except PlughubError as exc:
            return _error(exc.code, exc.message)
        except Exception as exc:
            # Only the class name: an unexpected exception's text may hold anything.
            logger.error("unexpected %s while running tool %s", type(exc).__name__, name)
            return _error("internal_error", f"plughub failed to run the action ({type(exc).__name__}); see its log")
        return result_of(result)

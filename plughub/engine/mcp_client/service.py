"""MCP connections inside the engine: tools as actions (cached), runs as `tools/call`."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from plughub.config import Settings
from plughub.engine.connections.inputs import ConnectInputs
from plughub.engine.credentials import Credentials
from plughub.engine.http.guard import Guard
from plughub.engine.mcp_client.urls import origin_of
from plughub.engine.redact import Redactor
from plughub.engine.store import ConnectionRecord
from plughub.enums import AuthenticationSchema
from plughub.exceptions import ActionError, ActionNotFound, InvalidInput, MissingInputs, UnknownInputs
from plughub.schemas import ActionInfo, ActionResult
from plughub.via import HEADER as VIA_HEADER
from plughub.via import outbound

if TYPE_CHECKING:
    from plughub.engine.mcp_client.session import Endpoint

# The MCP SDK (and httpx2, starlette, ...) load on the first MCP call, not with the engine.

__all__ = ["McpConnections", "mcp_config"]

_DEFAULT_TTL = 300.0


def mcp_config(inputs: ConnectInputs) -> dict[str, Any]:
    """The clear-text config of a new MCP connection: its transport and the server's origin.

    Args:
        inputs: The validated connect inputs (the URL among the credentials).

    Returns:
        The config to store; the URL itself stays sealed (its path may hold a key).
    """
    return {**inputs.config, "server": origin_of(str(inputs.credentials["url"]))}


class McpConnections:
    """Talks to the MCP servers behind MCP connections, through the official SDK.

    Every operation opens a session, does its work and closes it (no connection state is kept
    between calls). Tool lists are cached per connection for `ttl` seconds; `refresh` asks again.
    The SDK is asynchronous: its calls run on one event loop in a background thread, so the
    engine's callers may be plain threads or code inside a running event loop alike.

    Args:
        credentials: Opens the connections' credentials (the server URL among them).
        settings: The timeouts.
        guard: The network guard (a server's); None sends anywhere.
        ttl: Seconds a tool list is reused.
    """

    def __init__(
        self, credentials: Credentials, settings: Settings, guard: Guard | None, ttl: float = _DEFAULT_TTL
    ) -> None:
        self._credentials = credentials
        self._settings = settings
        self._guard = guard
        self.ttl = ttl
        self._cache: dict[str, tuple[float, list[ActionInfo]]] = {}
        self._validators: dict[tuple[str, str], tuple[str, Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"McpConnections(ttl={self.ttl}, cached={len(self._cache)})"

    def _run(self, func: Any, *args: Any) -> Any:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                # A daemon thread: a process that forgets engine.close() still exits.
                self._thread = threading.Thread(target=self._loop.run_forever, name="plughub-mcp", daemon=True)
                self._thread.start()
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(func(*args), loop).result()

    def close(self) -> None:
        """Stop the background event loop."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()

    def _endpoint(self, record: ConnectionRecord) -> tuple[Endpoint, Redactor]:
        from plughub.engine.mcp_client.session import Endpoint

        credentials = self._credentials.read(record.id)
        scheme = AuthenticationSchema(record.scheme)
        # Read here, in the caller's thread: the request being served (if any) set the chain there.
        headers: dict[str, str] = {VIA_HEADER: outbound()}
        if scheme is AuthenticationSchema.BEARER_TOKEN:
            headers["Authorization"] = f"Bearer {credentials['token']}"
        elif scheme is AuthenticationSchema.API_KEY:
            headers[str(credentials.get("header") or "X-API-Key")] = str(credentials["api_key"])
        settings = self._settings
        endpoint = Endpoint(
            url=str(credentials["url"]),
            headers=headers,
            transport=str(record.config.get("transport") or "auto"),
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            guard=self._guard,
        )
        secrets = [v for k, v in credentials.items() if k != "header"]
        return endpoint, Redactor([*secrets, endpoint.url.split("?", 1)[0]])

    def actions(self, record: ConnectionRecord, *, refresh: bool = False) -> list[ActionInfo]:
        """The server's tools as actions, from the cache unless it is stale or `refresh` is set.

        Args:
            record: The MCP connection.
            refresh: Ask the server even when the cache is fresh.

        Returns:
            The actions.

        Raises:
            ActionError: The server could not be reached, refused the credentials, or did not
                speak MCP (the message says which and what to check).
        """
        cached = self._cache.get(record.id)
        if cached is not None and not refresh and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        from plughub.engine.mcp_client.convert import tool_action
        from plughub.engine.mcp_client.errors import describe_failure
        from plughub.engine.mcp_client.session import list_tools

        endpoint, redactor = self._endpoint(record)
        try:
            tools = self._run(list_tools, endpoint)
        except Exception as exc:  # every failure becomes one clear ActionError
            raise describe_failure(exc, origin_of(endpoint.url), redactor) from None
        actions = [tool_action(tool) for tool in tools]
        self._cache[record.id] = (time.monotonic(), actions)
        return actions

    def forget(self, connection_id: str) -> None:
        """Drop a connection's cached tools (it was deleted or reconnected).

        Args:
            connection_id: The connection.
        """
        self._cache.pop(connection_id, None)

    def action(self, record: ConnectionRecord, name: str) -> ActionInfo:
        """Find one tool.

        Args:
            record: The MCP connection.
            name: The tool's name.

        Returns:
            The action.

        Raises:
            ActionNotFound: The server has no such tool (its tools are listed).
            ActionError: The tool list could not be fetched.
        """
        actions = self.actions(record)
        found = next((a for a in actions if a.code == name), None)
        if found is None:
            actions = self.actions(record, refresh=True)  # the server may have gained the tool
            found = next((a for a in actions if a.code == name), None)
        if found is None:
            names = [a.code for a in actions]
            shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
            raise ActionNotFound(
                f"the MCP server of connection {record.id} has no tool '{name}'. Its tools: {shown or 'none'}.",
                details={"actions": names},
            )
        return found

    def run(self, record: ConnectionRecord, name: str, inputs: Mapping[str, Any]) -> ActionResult:
        """Call a tool with validated arguments.

        Args:
            record: The MCP connection (active).
            name: The tool's name.
            inputs: Its arguments.

        Returns:
            The tool's result; a tool error, an unreachable server or a protocol error is a
            FAILED result with the reason.

        Raises:
            ActionNotFound: No such tool.
            InvalidInput: The arguments break the tool's input schema (nothing is sent).
        """
        try:
            action = self.action(record, name)
        except ActionError as exc:
            return ActionResult.failure(exc)
        from plughub.engine.mcp_client.convert import tool_result
        from plughub.engine.mcp_client.errors import describe_failure
        from plughub.engine.mcp_client.session import call_tool

        self._validate(record.id, action, inputs)
        endpoint, redactor = self._endpoint(record)
        label = f"{record.name} {name}"
        started = time.perf_counter()
        try:
            result = self._run(call_tool, endpoint, name, dict(inputs))
        except Exception as exc:  # every failure becomes a FAILED result
            failure = describe_failure(exc, origin_of(endpoint.url), redactor)
            labelled = type(failure)(f"{label}: {failure.message}", details=failure.details)
            return ActionResult.failure(labelled, run_time=time.perf_counter() - started)
        outcome = tool_result(label, result, time.perf_counter() - started)
        if redactor:
            outcome = outcome.model_copy(
                update={
                    "data": redactor.data(outcome.data),
                    "details": redactor.data(outcome.details),
                    "error_message": redactor.text(outcome.error_message) if outcome.error_message else None,
                }
            )
        return outcome

    def _validate(self, connection_id: str, action: ActionInfo, inputs: Mapping[str, Any]) -> None:
        if not isinstance(inputs, Mapping):
            raise InvalidInput(
                f"inputs of {action.code} must be a mapping of name to value, not {type(inputs).__name__}"
            )
        schema = action.input_schema
        required = [n for n in schema.get("required") or [] if inputs.get(n) is None]
        properties = schema.get("properties") or {}
        if required:
            raise MissingInputs(
                f"{action.code} needs {', '.join(repr(n) for n in required)}; its inputs: "
                f"{', '.join(properties) or 'none'}.",
                details={"missing": required, "accepted": list(properties)},
            )
        if schema.get("additionalProperties") is False:
            unknown = sorted(k for k in inputs if k not in properties)
            if unknown:
                raise UnknownInputs(
                    f"{action.code} does not take {', '.join(repr(u) for u in unknown)}; it accepts: "
                    f"{', '.join(properties) or 'no inputs'}.",
                    details={"unknown": unknown, "accepted": list(properties)},
                )
        key = (connection_id, action.code)
        fingerprint = repr(sorted(schema.items(), key=lambda kv: kv[0]))
        entry = self._validators.get(key)
        if entry is None or entry[0] != fingerprint:
            from jsonschema import Draft202012Validator  # ~9 MB: only for MCP tools with arguments
            from jsonschema.exceptions import SchemaError

            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError:  # a server's broken schema: let the server judge the arguments
                return
            entry = self._validators[key] = (fingerprint, Draft202012Validator(schema))
        errors = sorted(entry[1].iter_errors(dict(inputs)), key=lambda e: list(map(str, e.path)))
        if errors:
            problems = [f"input '{'.'.join(map(str, e.absolute_path)) or 'inputs'}': {e.message}" for e in errors[:5]]
            raise InvalidInput(f"{action.code}: " + "; ".join(problems), details={"problems": problems})

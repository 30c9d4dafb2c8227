"""The engine's action calls: list a connection's actions, describe one, run one (and audit it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from plughub.engine.audit import AuditLog
from plughub.engine.catalog import Catalog, describe_action
from plughub.engine.catalog.models import ActionSpec, IntegrationSpec
from plughub.engine.http.send import Sender
from plughub.engine.mcp_client import McpConnections
from plughub.engine.runner import Call, prepare, resend_after_401, run_action
from plughub.engine.store import LOCAL_TEAM, ConnectionRecord, RunRecord, Store
from plughub.engine.validation import InputValidator
from plughub.enums import ConnectionStatus
from plughub.exceptions import ActionNotFound, ConnectionStateError
from plughub.schemas import ActionInfo, ActionResult

if TYPE_CHECKING:
    from plughub.engine.engine import Engine

__all__ = ["ActionsMixin", "StagedRun"]

T = TypeVar("T")


@dataclass(frozen=True)
class StagedRun:
    """A run checked and prepared by `stage_run`, for `finish_run`.

    Attributes:
        connection_id: The connection.
        action: The action as asked.
        inputs: The inputs as given.
        team: The team.
        ready: The connection row, the action code and the call to send from the event loop;
            None when the run goes to a worker thread (MCP, a token to refresh first, no
            asynchronous transport).
    """

    connection_id: str
    action: str
    inputs: Mapping[str, Any] | None
    team: str
    ready: tuple[ConnectionRecord, str, Call] | None = field(default=None, repr=False)


class ActionsMixin:
    """Action calls of the `Engine`."""

    catalog: Catalog
    store: Store
    http: Sender
    mcp: McpConnections
    validator: InputValidator
    audit: bool
    audit_log: AuditLog
    _record: Callable[[str, str | None], ConnectionRecord]

    def list_actions(self, connection_id: str, *, team: str = LOCAL_TEAM) -> list[ActionInfo]:
        """List a connection's actions with their inputs.

        Args:
            connection_id: The connection.
            team: The team that owns the connection (another team's id is not found).

        Returns:
            The actions, in the definition's order.

        Raises:
            ConnectionNotFound: No connection has this id.
        """
        return self._actions_of(connection_id, team, refresh=False)

    def refresh_actions(self, connection_id: str, *, team: str = LOCAL_TEAM) -> list[ActionInfo]:
        """List a connection's actions again, bypassing caches (an MCP server's tools may change).

        Args:
            connection_id: The connection.
            team: The team that owns the connection.

        Returns:
            The actions.

        Raises:
            ConnectionNotFound: No connection has this id.
            ActionError: An MCP server could not be asked (unreachable, refused, not MCP).
        """
        return self._actions_of(connection_id, team, refresh=True)

    def _actions_of(self, connection_id: str, team: str, *, refresh: bool) -> list[ActionInfo]:
        record = self._record(connection_id, team)
        spec = self.catalog.spec(record.integration_id, team)
        if spec.protocol == "mcp":
            return self.mcp.actions(record, refresh=refresh)
        return [describe_action(code, action) for code, action in spec.actions.items()]

    def get_action(self, connection_id: str, action: str, *, team: str = LOCAL_TEAM) -> ActionInfo:
        """Describe one action of a connection.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            team: The team that owns the connection (another team's id is not found).

        Returns:
            The action.

        Raises:
            ConnectionNotFound: No connection has this id.
            ActionNotFound: The integration has no such action.
        """
        record = self._record(connection_id, team)
        spec = self.catalog.spec(record.integration_id, team)
        if spec.protocol == "mcp":
            return self.mcp.action(record, action)
        code, found = self._action(spec, action)
        return describe_action(code, found)

    @staticmethod
    def _action(spec: IntegrationSpec, action: str) -> tuple[str, ActionSpec]:
        for code in (action, spec.action_prefix + action, action.upper()):
            if code in spec.actions:
                return code, spec.actions[code]
        codes = list(spec.actions)
        shown = ", ".join(codes[:12]) + (f", ... ({len(codes)} in all)" if len(codes) > 12 else "")
        raise ActionNotFound(
            f"{spec.display_name} has no action '{action}'. Its actions: {shown}.", details={"actions": codes}
        )

    def run_action(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None, *, team: str = LOCAL_TEAM
    ) -> ActionResult:
        """Run an action of a connection against the real service.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            inputs: The action's inputs.
            team: The team that owns the connection (another team's id is not found).

        Returns:
            SUCCESS with the service's answer, or FAILED with its status and a sanitised excerpt.

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            ActionNotFound: The integration has no such action.
            InvalidInput: The inputs break the action's schema (nothing is sent).
        """
        record, spec, code, found, inputs = self._staged(connection_id, action, inputs, team)
        if found is None:
            result = self.mcp.run(record, action, inputs)
        else:
            result = run_action(cast("Engine", self), record, spec, code, found, inputs)
        self._audited(record, code, result)
        return result

    async def run_action_async(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None, *, team: str = LOCAL_TEAM
    ) -> ActionResult:
        """`run_action` for an event loop (`plughub serve`): the request goes out without a thread.

        The common case runs on the loop: the connection and its signer come from memory (or
        SQLite), the request goes out through the executor's asynchronous transport. A network
        database is read in a worker thread; MCP servers, an OAuth 2.0 token to refresh first,
        and an engine without an asynchronous transport run `run_action` in a worker thread.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            inputs: The action's inputs.
            team: The team that owns the connection.

        Returns:
            The result, as `run_action` gives it.

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            ActionNotFound: The integration has no such action.
            InvalidInput: The inputs break the action's schema (nothing is sent).
        """
        staged = await self.offload(partial(self.stage_run, connection_id, action, inputs, team=team))
        return await self.finish_run(staged)

    def stage_run(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None, *, team: str = LOCAL_TEAM
    ) -> StagedRun:
        """The part of `run_action_async` before the request: checks, credentials, no network.

        It reads the database (through the read cache), so an event loop calls it through `offload`;
        the server's fast lane runs it together with the API key check, one trip for both.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            inputs: The action's inputs.
            team: The team that owns the connection.

        Returns:
            The staged run, for `finish_run`.

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            ActionNotFound: The integration has no such action.
            InvalidInput: The inputs break the action's schema (nothing is sent).
        """
        ready = None
        if self.http.async_transport is not None:
            ready = self._staged_call(connection_id, action, inputs, team)
        return StagedRun(connection_id, action, inputs, team, ready)

    async def finish_run(self, staged: StagedRun) -> ActionResult:
        """Send a staged run from the event loop (or run it in a worker thread), and audit it.

        Args:
            staged: What `stage_run` returned.

        Returns:
            The result, as `run_action` gives it.
        """
        from anyio import to_thread  # httpx's dependency; only the server's loop needs it

        if staged.ready is None:
            run = partial(self.run_action, staged.connection_id, staged.action, staged.inputs, team=staged.team)
            return await to_thread.run_sync(run)
        record, code, call = staged.ready
        result = await self.http.send_async(call.label, call.first_request, call.signer.auth, call.signer.redactor)
        if call.oauth2 is not None and result.status_code == 401:
            result = await to_thread.run_sync(resend_after_401, cast("Engine", self), call)
        self._audited(record, code, result)
        return result

    async def offload(self, work: Callable[..., T], *args: Any) -> T:
        """Run a call that reads the database from an event loop.

        SQLite is a local file read in microseconds: the call runs on the loop. A network database
        (PostgreSQL) may take a round trip or more: the call runs in a worker thread.

        Args:
            work: The call (a `functools.partial` for keyword arguments).
            *args: Its arguments.

        Returns:
            What it returns.
        """
        return await self.store.db.offload(work, *args)

    def _staged(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None, team: str
    ) -> tuple[ConnectionRecord, IntegrationSpec, str, ActionSpec | None, dict[str, Any]]:
        """The checks before a run: an active connection, a known action, valid inputs (None: MCP)."""
        record = self._record(connection_id, team)
        if record.status != ConnectionStatus.ACTIVE.value:
            raise ConnectionStateError(
                f"connection {record.id} is {record.status}"
                + (f" ({record.error})" if record.error else "")
                + "; it must be active to run actions."
            )
        spec = self.catalog.spec(record.integration_id, team)
        inputs = dict(inputs or {})
        if spec.protocol == "mcp":
            return record, spec, action, None, inputs  # the MCP server validates against its own list
        code, found = self._action(spec, action)
        self.validator.validate(code, found, inputs)
        return record, spec, code, found, inputs

    def _staged_call(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None, team: str
    ) -> tuple[ConnectionRecord, str, Call] | None:
        """A call ready for the asynchronous transport, or None when the run needs the thread path."""
        record, spec, code, found, checked = self._staged(connection_id, action, inputs, team)
        if found is None:
            return None
        call = prepare(cast("Engine", self), record, spec, code, found, checked)
        return None if call.refresh_due else (record, code, call)

    def _audited(self, record: ConnectionRecord, code: str, result: ActionResult) -> None:
        if self.audit:
            self.audit_log.record(
                RunRecord(
                    team_id=record.team_id,
                    connection_id=record.id,
                    action=code,
                    status=result.status.value,
                    upstream_status=result.status_code,
                    error_code=result.error_code,
                    duration_ms=round(result.run_time * 1000, 3),
                )
            )

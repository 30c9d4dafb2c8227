"""Actions: list a connection's actions, describe one, run one (in a thread or on an event loop), audit it."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from plughub.engine.actions.call import Call, Refresh, Send, Step, build_signer, prepare, steps
from plughub.engine.actions.signers import Signer, Signers
from plughub.engine.actions.validation import InputValidator
from plughub.engine.audit import AuditLog
from plughub.engine.catalog import Catalog, describe_action
from plughub.engine.catalog.models import ActionSpec, IntegrationSpec
from plughub.engine.connections.service import ConnectionService
from plughub.engine.credentials import Credentials
from plughub.engine.http.send import Sender
from plughub.engine.mcp_client.service import McpConnections
from plughub.engine.oauth.apps import OAuthApps
from plughub.engine.oauth.flows import OAuthFlows
from plughub.engine.store import LOCAL_TEAM, ConnectionRecord, RunRecord, Store
from plughub.enums import AuthenticationSchema, ConnectionStatus
from plughub.exceptions import ActionNotFound, ConnectionStateError, OAuthError
from plughub.schemas import ActionInfo, ActionResult

__all__ = ["ActionService", "StagedRun"]


@dataclass(frozen=True)
class StagedRun:
    """A run checked and prepared by `ActionService.stage`, for `ActionService.finish`.

    Attributes:
        connection_id: The connection.
        action: The action as asked.
        inputs: The inputs as given.
        team: The team.
        ready: The connection row, the action code and the call to send from the event loop;
            None when the run goes to a worker thread (MCP, no asynchronous transport).
    """

    connection_id: str
    action: str
    inputs: Mapping[str, Any] | None
    team: str
    ready: tuple[ConnectionRecord, str, Call] | None = field(default=None, repr=False)


class ActionService:
    """A connection's actions: described from its definition (or its MCP server), run against the service.

    Args:
        catalog: The integrations.
        connections: Finds a team's connection.
        store: The sealed credentials (read on every run, through the read cache).
        credentials: Opens them.
        oauth: Refreshes OAuth 2.0 tokens.
        oauth_apps: The OAuth 1.0a apps that sign requests.
        mcp: Runs MCP connections' tools.
        sender: Sends requests (retries, redirects, results).
        validator: Checks inputs against the action's schema.
        signers: The signers kept between runs.
        audit: Where runs are audited; None audits nothing.
    """

    def __init__(
        self,
        *,
        catalog: Catalog,
        connections: ConnectionService,
        store: Store,
        credentials: Credentials,
        oauth: OAuthFlows,
        oauth_apps: OAuthApps,
        mcp: McpConnections,
        sender: Sender,
        validator: InputValidator,
        signers: Signers,
        audit: AuditLog | None,
    ) -> None:
        self._catalog = catalog
        self._connections = connections
        self._store = store
        self._credentials = credentials
        self._oauth = oauth
        self._oauth_apps = oauth_apps
        self._mcp = mcp
        self._sender = sender
        self._validator = validator
        self._signers = signers
        self._audit = audit

    def __repr__(self) -> str:
        return f"ActionService(audited={self.audited})"

    @property
    def audited(self) -> bool:
        """Whether every run is recorded in the audit."""
        return self._audit is not None

    # Describe

    def list(self, connection_id: str, *, team: str = LOCAL_TEAM) -> list[ActionInfo]:
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

    def refresh(self, connection_id: str, *, team: str = LOCAL_TEAM) -> builtins.list[ActionInfo]:
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

    def _actions_of(self, connection_id: str, team: str, *, refresh: bool) -> builtins.list[ActionInfo]:
        record = self._connections.record(connection_id, team)
        spec = self._catalog.spec(record.integration_id, team)
        if spec.protocol == "mcp":
            return self._mcp.actions(record, refresh=refresh)
        return [describe_action(code, action) for code, action in spec.actions.items()]

    def get(self, connection_id: str, action: str, *, team: str = LOCAL_TEAM) -> ActionInfo:
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
        record = self._connections.record(connection_id, team)
        spec = self._catalog.spec(record.integration_id, team)
        if spec.protocol == "mcp":
            return self._mcp.action(record, action)
        code, found = _action(spec, action)
        return describe_action(code, found)

    # Run

    def run(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None, *, team: str = LOCAL_TEAM
    ) -> ActionResult:
        """Run an action of a connection against the real service.

        An OAuth 2.0 token expiring within the definition's margin is refreshed first; a 401
        answer triggers one refresh and one more send (see `plughub.engine.actions.call.steps`).

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            inputs: The action's inputs.
            team: The team that owns the connection (another team's id is not found).

        Returns:
            SUCCESS with the service's answer, or FAILED with its status and a sanitised excerpt
            (a refused refresh is FAILED with `error_code="connection_expired"`).

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            ActionNotFound: The integration has no such action.
            InvalidInput: The inputs break the action's schema (nothing is sent).
        """
        record, spec, code, found, checked = self._checked(connection_id, action, inputs, team)
        if found is None:
            result = self._mcp.run(record, action, checked)
        else:
            result = self._drive(self._prepare(record, spec, code, found, checked))
        self._audited(record, code, result)
        return result

    async def run_async(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None, *, team: str = LOCAL_TEAM
    ) -> ActionResult:
        """`run` for an event loop (`plughub serve`): the request goes out without a thread.

        The connection and its signer come from memory (or SQLite; a network database is read in a
        worker thread), the request goes out through the sender's asynchronous transport, and a
        token refresh (a locked database row and a token request) runs in a worker thread. MCP
        servers, and a sender without an asynchronous transport, run `run` in a worker thread.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            inputs: The action's inputs.
            team: The team that owns the connection.

        Returns:
            The result, as `run` gives it.

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            ActionNotFound: The integration has no such action.
            InvalidInput: The inputs break the action's schema (nothing is sent).
        """
        staged = await self._store.db.offload(partial(self.stage, connection_id, action, inputs, team=team))
        return await self.finish(staged)

    def stage(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None, *, team: str = LOCAL_TEAM
    ) -> StagedRun:
        """The part of `run_async` before the request: checks, credentials, no network.

        It reads the database (through the read cache), so an event loop calls it through
        `Database.offload`.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            inputs: The action's inputs.
            team: The team that owns the connection.

        Returns:
            The staged run, for `finish`.

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            ActionNotFound: The integration has no such action.
            InvalidInput: The inputs break the action's schema (nothing is sent).
        """
        ready = None
        if self._sender.async_transport is not None:
            record, spec, code, found, checked = self._checked(connection_id, action, inputs, team)
            if found is not None:
                ready = (record, code, self._prepare(record, spec, code, found, checked))
        return StagedRun(connection_id, action, inputs, team, ready)

    async def finish(self, staged: StagedRun) -> ActionResult:
        """Send a staged run from the event loop (or run it in a worker thread), and audit it.

        Args:
            staged: What `stage` returned.

        Returns:
            The result, as `run` gives it.
        """
        from anyio import to_thread  # httpx's dependency; only the server's loop needs it

        if staged.ready is None:
            run = partial(self.run, staged.connection_id, staged.action, staged.inputs, team=staged.team)
            return await to_thread.run_sync(run)
        record, code, call = staged.ready
        plan = steps(call)
        try:
            step = next(plan)
            while True:
                if isinstance(step, Send):
                    signer = step.signer
                    step = plan.send(
                        await self._sender.send_async(call.label, step.request, signer.auth, signer.redactor)
                    )
                    continue
                try:
                    refreshed = await to_thread.run_sync(self._refreshed, call, step)
                except OAuthError as exc:
                    step = plan.throw(exc)
                else:
                    step = plan.send(refreshed)
        except StopIteration as done:
            result: ActionResult = done.value
        self._audited(record, code, result)
        return result

    def _drive(self, call: Call) -> ActionResult:
        """Run a call's steps in this thread."""
        plan: Step = steps(call)
        try:
            step = next(plan)
            while True:
                if isinstance(step, Send):
                    signer = step.signer
                    step = plan.send(self._sender.send(call.label, step.request, signer.auth, signer.redactor))
                    continue
                try:
                    refreshed = self._refreshed(call, step)
                except OAuthError as exc:
                    step = plan.throw(exc)
                else:
                    step = plan.send(refreshed)
        except StopIteration as done:
            result: ActionResult = done.value
            return result

    def _checked(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None, team: str
    ) -> tuple[ConnectionRecord, IntegrationSpec, str, ActionSpec | None, dict[str, Any]]:
        """The checks before a run: an active connection, a known action, valid inputs (None: MCP)."""
        record = self._connections.record(connection_id, team)
        if record.status != ConnectionStatus.ACTIVE.value:
            raise ConnectionStateError(
                f"connection {record.id} is {record.status}"
                + (f" ({record.error})" if record.error else "")
                + "; it must be active to run actions."
            )
        spec = self._catalog.spec(record.integration_id, team)
        checked = dict(inputs or {})
        if spec.protocol == "mcp":
            return record, spec, action, None, checked  # the MCP server validates against its own list
        code, found = _action(spec, action)
        self._validator.validate(code, found, checked)
        return record, spec, code, found, checked

    def _prepare(
        self, record: ConnectionRecord, spec: IntegrationSpec, code: str, action: ActionSpec, inputs: dict[str, Any]
    ) -> Call:
        """The call, with the connection's cached signer or one built from its opened credentials."""

        def signer() -> Signer:
            blob = self._store.credentials.get(record.id)
            cached = self._signers.get(record, spec, blob)
            if cached is not None:
                return cached
            opened = self._credentials.open(record.id, blob) if blob else {}
            return self._signers.put(record, spec, blob, self._signer(spec, record, opened))

        return prepare(record, spec, code, action, inputs, signer)

    def _signer(self, spec: IntegrationSpec, record: ConnectionRecord, credentials: Mapping[str, Any]) -> Signer:
        oauth1 = AuthenticationSchema(record.scheme) is AuthenticationSchema.OAUTH1
        app = self._oauth_apps.app(spec.id, record.team_id) if oauth1 else None
        return build_signer(spec, record, credentials, app)

    def _refreshed(self, call: Call, step: Refresh) -> Signer:
        """Refresh the token the step's signer holds (once across callers) and sign with the new one."""
        if call.oauth2 is None:
            raise TypeError("only OAuth 2.0 calls are refreshed")
        seen = step.signer.credentials
        credentials = self._oauth.refresh(call.record, call.spec, call.oauth2, seen, force=step.force)
        return self._signer(call.spec, call.record, credentials)

    def _audited(self, record: ConnectionRecord, code: str, result: ActionResult) -> None:
        if self._audit is not None:
            self._audit.record(
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


def _action(spec: IntegrationSpec, action: str) -> tuple[str, ActionSpec]:
    """Find an action by its code, with or without the integration's prefix, in any case."""
    for code in (action, spec.action_prefix + action, action.upper()):
        if code in spec.actions:
            return code, spec.actions[code]
    codes = list(spec.actions)
    shown = ", ".join(codes[:12]) + (f", ... ({len(codes)} in all)" if len(codes) > 12 else "")
    raise ActionNotFound(
        f"{spec.display_name} has no action '{action}'. Its actions: {shown}.", details={"actions": codes}
    )

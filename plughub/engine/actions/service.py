"""Actions: list a connection's actions, describe one, run one (in a thread or on an event loop), page through one."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from plughub.engine.actions.call import Call, prepare
from plughub.engine.actions.driver import Driver
from plughub.engine.actions.page_tokens import PageTokens
from plughub.engine.actions.pagination import NextPage, first_inputs, next_page, page_items
from plughub.engine.actions.validation import InputValidator
from plughub.engine.catalog import Catalog, describe_action
from plughub.engine.catalog.models import ActionSpec, IntegrationSpec
from plughub.engine.connections.service import ConnectionService
from plughub.engine.credentials import Credentials
from plughub.engine.http.render import build_request
from plughub.engine.mcp_client.service import McpConnections
from plughub.engine.store import LOCAL_TEAM, ConnectionRecord, Store
from plughub.enums import ConnectionStatus, ResponseStatus
from plughub.exceptions import ActionError, ActionNotFound, ConnectionStateError, InvalidInput
from plughub.schemas import ActionInfo, ActionResult

__all__ = ["ActionService", "StagedRun"]

# A paginated run's default bound (DESIGN.md §9: `run(..., paginate=True, max_pages=10)`).
DEFAULT_MAX_PAGES = 10
_ACTIVE = ConnectionStatus.ACTIVE.value  # as stored (an enum member's value is a property: slow on the hot path)


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
        store: The database (an event loop reads it through `Database.offload`).
        credentials: Seals the page tokens of paginated runs (a page token names a URL to call).
        mcp: Runs MCP connections' tools.
        validator: Checks inputs against the action's schema.
        driver: Signs, sends and audits each request.
    """

    def __init__(
        self,
        *,
        catalog: Catalog,
        connections: ConnectionService,
        store: Store,
        credentials: Credentials,
        mcp: McpConnections,
        validator: InputValidator,
        driver: Driver,
    ) -> None:
        self._catalog = catalog
        self._connections = connections
        self._store = store
        self._tokens = PageTokens(credentials)
        self._mcp = mcp
        self._validator = validator
        self._driver = driver

    def __repr__(self) -> str:
        return f"ActionService(audited={self.audited})"

    @property
    def audited(self) -> bool:
        """Whether every run is recorded in the audit."""
        return self._driver.audited

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
        self,
        connection_id: str,
        action: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        team: str = LOCAL_TEAM,
        paginate: bool = False,
        max_pages: int | None = None,
        page_token: str | None = None,
        include_deleting: bool = False,
    ) -> ActionResult:
        """Run an action of a connection against the real service.

        An OAuth 2.0 token expiring within the definition's margin is refreshed first; a 401
        answer triggers one refresh and one more send (see `plughub.engine.actions.call.steps`).
        With `paginate`, the action's pages are read one after the other (see `pages`) and their
        items gathered.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            inputs: The action's inputs.
            team: The team that owns the connection (another team's id is not found).
            paginate: Read every page (up to `max_pages`): `data` is the list of all items,
                `details` has `pages`, `truncated` and, when truncated, `next_page_token`.
            max_pages: The most pages a paginated run reads (10 by default).
            page_token: Go on from where a truncated paginated run stopped (its `next_page_token`).
            include_deleting: Run it also on a connection being deleted (its unsubscribe jobs;
                not paginated).

        Returns:
            SUCCESS with the service's answer, or FAILED with its status and a sanitised excerpt
            (a refused refresh is FAILED with `error_code="connection_expired"`; a 2xx answer that
            the definition's response rules call an error is FAILED with `upstream_error`). A
            paginated run that meets a failing page is that page's failure.

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            ActionNotFound: The integration has no such action.
            InvalidInput: The inputs break the action's schema (nothing is sent), or `paginate`
                is asked of an action that does not paginate, or `max_pages` is not a positive integer.
        """
        if paginate or page_token is not None:
            return self._paginated(connection_id, action, inputs, team, max_pages, page_token)
        if max_pages is not None:
            raise InvalidInput("max_pages applies to a paginated run: pass paginate=True too")
        record, spec, code, found, checked = self._checked(connection_id, action, inputs, team, include_deleting)
        if found is None:
            with self._driver.span(record, code) as span:
                result = self._mcp.run(record, action, checked)
                span.finished(result)
        else:
            result = self._driver.drive(self._prepare(record, spec, code, found, checked)).result
        self._driver.audit(record, code, result)
        return result

    async def run_async(
        self,
        connection_id: str,
        action: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        team: str = LOCAL_TEAM,
        paginate: bool = False,
        max_pages: int | None = None,
        page_token: str | None = None,
    ) -> ActionResult:
        """`run` for an event loop (`plughub serve`): the request goes out without a thread.

        The connection and its signer come from memory (or SQLite; a network database is read in a
        worker thread), the request goes out through the sender's asynchronous transport, and a
        token refresh (a locked database row and a token request) runs in a worker thread. MCP
        servers, a sender without an asynchronous transport, and paginated runs run `run` in a
        worker thread.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            inputs: The action's inputs.
            team: The team that owns the connection.
            paginate: Read every page (see `run`).
            max_pages: The most pages a paginated run reads.
            page_token: Go on from a truncated paginated run.

        Returns:
            The result, as `run` gives it.

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            ActionNotFound: The integration has no such action.
            InvalidInput: The inputs break the action's schema (nothing is sent).
        """
        if paginate or page_token is not None or max_pages is not None:
            from anyio import to_thread  # httpx's dependency; only the server's loop needs it

            run = partial(
                self.run,
                connection_id,
                action,
                inputs,
                team=team,
                paginate=paginate,
                max_pages=max_pages,
                page_token=page_token,
            )
            return await to_thread.run_sync(run)
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
        if self._driver.sender.async_transport is not None:
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
        result = (await self._driver.drive_async(call)).result
        self._driver.audit(record, code, result)
        return result

    # Pages

    def pages(
        self,
        connection_id: str,
        action: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        team: str = LOCAL_TEAM,
        max_pages: int | None = None,
        page_token: str | None = None,
    ) -> Iterator[tuple[ActionResult, NextPage | None]]:
        """Read an action's pages one by one, each when the caller asks for it (DESIGN.md §9).

        The checks (connection, action, inputs, `pagination`) are made on the first `next()`;
        each page is one run, audited as one. The iteration ends after the last page, after
        `max_pages`, or with the first page that fails (yielded, then nothing more). A next
        page's URL on another origin is a failure (`upstream_redirect`): credentials stay with
        the service.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            inputs: The action's inputs (those of the first page).
            team: The team that owns the connection.
            max_pages: The most pages to read (None: until the last).
            page_token: Start where a previous paginated run stopped.

        Yields:
            Each page's result (SUCCESS with the page's items as `data`, or the failure) and
            where the next page is (None after the last page or a failure).

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            ActionNotFound: The integration has no such action.
            InvalidInput: The inputs break the action's schema, the action does not paginate,
                `max_pages` is not a positive integer, or the page token is not one plughub gave.
        """
        _check_max_pages(max_pages)
        record, spec, code, found, checked = self._checked(connection_id, action, inputs, team)
        if found is None or found.pagination is None:
            raise InvalidInput(
                f"{spec.display_name} {code} does not declare pagination; run it without paginate"
                + (" (an MCP tool is not paginated)" if found is None else ""),
                details={"action": code},
            )
        pagination = found.pagination
        upcoming: NextPage | None = (
            self._tokens.open(page_token, record, code) if page_token else NextPage(first_inputs(pagination, checked))
        )
        read = 0
        # A next page's URL must stay on the origin of the connection's base URL (an action's own
        # base_url counts as written in the definition).
        app = self._driver.app(spec, record)
        origin = build_request(spec, found, checked, record.config, base_url=record.base_url, app=app).url
        while upcoming is not None and (max_pages is None or read < max_pages):
            if upcoming.failure is not None:
                yield ActionResult.model_validate(upcoming.failure), None
                return
            sent = upcoming.inputs or checked
            call = self._prepare(record, spec, code, found, sent, url=upcoming.url)
            answer = self._driver.drive(call)
            read += 1
            result = answer.result
            if result.status is not ResponseStatus.SUCCESS:
                self._driver.audit(record, code, result)
                yield result, None
                return
            try:
                items = page_items(call.label, pagination, result.data)
            except ActionError as exc:  # the definition's items pointer does not fit the answer
                failed = ActionResult.failure(exc, status_code=result.status_code, run_time=result.run_time)
                self._driver.audit(record, code, failed)
                yield failed, None
                return
            self._driver.audit(record, code, result)
            try:
                upcoming = next_page(call.label, pagination, answer, sent, items, origin)
            except ActionError as exc:  # a next link elsewhere: this page's items, then the error
                failed = ActionResult.failure(exc, status_code=result.status_code)
                upcoming = NextPage(failure=failed.model_dump(mode="json"))
            yield result.model_copy(update={"data": items}), upcoming

    def _paginated(
        self,
        connection_id: str,
        action: str,
        inputs: Mapping[str, Any] | None,
        team: str,
        max_pages: int | None,
        page_token: str | None,
    ) -> ActionResult:
        limit = DEFAULT_MAX_PAGES if max_pages is None else max_pages
        _check_max_pages(limit)
        items: builtins.list[Any] = []
        pages = 0
        run_time = 0.0
        status_code = None
        upcoming: NextPage | None = None
        pages_read = self.pages(connection_id, action, inputs, team=team, max_pages=limit, page_token=page_token)
        for result, after in pages_read:
            run_time += result.run_time
            if result.status is not ResponseStatus.SUCCESS:
                failed = {**result.details, "pages": pages, "truncated": True}
                return result.model_copy(update={"details": failed, "run_time": run_time})
            pages += 1
            status_code = result.status_code
            items.extend(result.data)
            upcoming = after
        details: dict[str, Any] = {"pages": pages, "truncated": upcoming is not None}
        if upcoming is not None:
            record = self._connections.record(connection_id, team)
            code, _found = _action(self._catalog.spec(record.integration_id, team), action)
            details["next_page_token"] = self._tokens.seal(upcoming, record, code)
        return ActionResult(
            status=ResponseStatus.SUCCESS, data=items, status_code=status_code, details=details, run_time=run_time
        )

    def _checked(
        self,
        connection_id: str,
        action: str,
        inputs: Mapping[str, Any] | None,
        team: str,
        include_deleting: bool = False,
    ) -> tuple[ConnectionRecord, IntegrationSpec, str, ActionSpec | None, dict[str, Any]]:
        """The checks before a run: an active connection, a known action, valid inputs (None: MCP)."""
        record = self._connections.record(connection_id, team, include_deleting=include_deleting)
        if record.status != _ACTIVE:
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
        self,
        record: ConnectionRecord,
        spec: IntegrationSpec,
        code: str,
        action: ActionSpec,
        inputs: dict[str, Any],
        *,
        url: str | None = None,
    ) -> Call:
        """The call, with the connection's cached signer or one built from its opened credentials."""
        app = self._driver.app(spec, record)
        return prepare(record, spec, code, action, inputs, partial(self._driver.signer, record, spec), app=app, url=url)


def _check_max_pages(max_pages: int | None) -> None:
    if max_pages is not None and (isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1):
        raise InvalidInput(
            f"max_pages must be a positive whole number, not {max_pages!r}", details={"field": "max_pages"}
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

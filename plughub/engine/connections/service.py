"""Connections: connect, describe, list, delete (revoking OAuth tokens first), reconnect, complete consent.

Deleting a connection whose subscriptions must be unsubscribed at the provider takes two steps:
the connection is marked `deleting` (every read treats it as gone) while the unsubscribe jobs
run with its credentials; when the last of them ends, `finish_deleting` revokes its OAuth token
and removes it. A process that dies at any step leaves the mark, and the events' scan finishes.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from plughub.engine.catalog import Catalog
from plughub.engine.catalog.models import IntegrationSpec, OAuth1Spec, OAuth2Spec
from plughub.engine.connections.inputs import ConnectInputs, split_connect_data
from plughub.engine.connections.lookup import find_connection, not_found
from plughub.engine.connections.view import describe
from plughub.engine.credentials import Credentials
from plughub.engine.mcp_client.service import McpConnections, mcp_config
from plughub.engine.oauth.apps import OAuthApps
from plughub.engine.oauth.discovered import DISCOVERED
from plughub.engine.oauth.flows import OAuthFlows
from plughub.engine.paging import check_paging, page_of
from plughub.engine.recent import RecentOutcomes
from plughub.engine.store import LOCAL_TEAM, ConnectionRecord, Store
from plughub.enums import AuthenticationSchema, ConnectionStatus
from plughub.exceptions import InvalidInput, OAuthProviderError
from plughub.schemas import ConnectionInfo, ConnectRequest, ConnectResult, DeleteResult, Page

__all__ = ["MAX_WAIT", "ConnectionService", "DeletionHook"]

logger = logging.getLogger("plughub.engine")

MAX_WAIT = 30.0
"""The longest a delete waits for the unsubscribe jobs (a REST call holds a connection that long)."""
# Seconds a process holds a connection it is deleting: longer than a revocation call.
_LEASE = 120.0


class DeletionHook(Protocol):
    """What must happen before a connection goes (the events' subscriptions: unsubscribed at the provider)."""

    def stop(self, connection_id: str) -> bool:
        """Remove what can go at once, and start the jobs of what must be undone at the provider first.

        Args:
            connection_id: The connection, marked `deleting` already.

        Returns:
            Whether jobs were started: the deletion then finishes when they end.
        """
        ...

    def settle(self, connection_id: str, wait: float) -> bool:
        """Wait up to `wait` seconds for those jobs, making due attempts in this thread.

        Args:
            connection_id: The connection.
            wait: Seconds to wait at most.

        Returns:
            Whether they have all ended.
        """
        ...


class ConnectionService:
    """A team's connections to integrations.

    Args:
        catalog: The integrations.
        store: Connection rows and sealed credentials.
        credentials: Seals and opens credentials.
        oauth: Starts and completes consents, revokes tokens.
        oauth_apps: The teams' OAuth clients.
        mcp: Forgets an MCP connection's tools when it goes.

    Attributes:
        deletion_hooks: Asked before a connection goes (the composition root adds the events'
            unsubscribe here).
    """

    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        credentials: Credentials,
        oauth: OAuthFlows,
        oauth_apps: OAuthApps,
        mcp: McpConnections,
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._credentials = credentials
        self._oauth = oauth
        self._oauth_apps = oauth_apps
        self._mcp = mcp
        self.deletion_hooks: list[DeletionHook] = []
        self._deleted: RecentOutcomes[DeleteResult] = RecentOutcomes()

    def __repr__(self) -> str:
        return "ConnectionService()"

    def record(self, connection_id: str, team: str | None, *, include_deleting: bool = False) -> ConnectionRecord:
        """A team's connection row, for the other services.

        Args:
            connection_id: Its id.
            team: The team that must own it; None for any.
            include_deleting: Find it also while it is being deleted (for its unsubscribe jobs).

        Returns:
            The row.

        Raises:
            ConnectionNotFound: No connection has this id (another team's answers the same, and
                so does one being deleted unless `include_deleting`).
        """
        return find_connection(self._store, connection_id, team, include_deleting=include_deleting)

    def create(self, request: ConnectRequest, *, team: str = LOCAL_TEAM) -> ConnectResult:
        """Connect to an integration: validate, seal the credentials, store the connection.

        Args:
            request: The integration, scheme, name, connect data and end user.
            team: The team that owns the connection.

        Returns:
            The new connection's id and status (and, for OAuth, the consent page's URL).

        Raises:
            IntegrationNotFound: Unknown integration.
            UnsupportedScheme: The integration does not support the scheme.
            MissingInputs: Required inputs are missing.
            UnknownInputs: Inputs the scheme does not take.
            InvalidInput: A value is malformed.
            OAuthAppMissing: An OAuth scheme without an app.
        """
        spec = self._catalog.spec(request.integration_id, team)
        inputs = split_connect_data(spec, request.scheme, request.data)
        auth = spec.auth_for(request.scheme)
        record = ConnectionRecord(
            id=secrets.token_hex(12),
            integration_id=spec.id,
            name=request.name or spec.display_name,
            description=request.description or "",
            scheme=request.scheme.value,
            status=ConnectionStatus.ACTIVE.value,
            config=mcp_config(inputs) if spec.protocol == "mcp" else inputs.config,
            base_url=inputs.base_url,
            team_id=team,
            end_user_id=request.end_user_id,
        )
        credentials = inputs.credentials
        if isinstance(auth, OAuth2Spec) and auth.grant_type == "client_credentials":
            credentials = self._client_credentials(spec, auth, inputs)
        elif isinstance(auth, OAuth2Spec) and auth.discovery == "mcp":
            pending = replace(record, status=ConnectionStatus.PENDING.value)
            url = self._mcp_consent(pending, spec, str(inputs.credentials["url"]), inputs.scopes)
            return ConnectResult(id=record.id, status=ConnectionStatus.PENDING, redirect_url=url)
        elif isinstance(auth, (OAuth1Spec, OAuth2Spec)):
            app = self._oauth_apps.app(spec.id, team)
            pending = replace(record, status=ConnectionStatus.PENDING.value)
            url = self._oauth.start(pending, spec, auth, app, inputs.scopes)
            return ConnectResult(id=record.id, status=ConnectionStatus.PENDING, redirect_url=url)
        if credentials:
            self._credentials.write(lambda seal: self._store.connections.insert(record, seal(record.id, credentials)))
        else:
            self._store.connections.insert(record, None)
        logger.info("connected %s with %s as %s", spec.id, request.scheme.value, record.id)
        return ConnectResult(id=record.id, status=ConnectionStatus.ACTIVE)

    def _mcp_consent(self, record: ConnectionRecord, spec: IntegrationSpec, url: str, scopes: list[str] | None) -> str:
        """Discover an MCP server's authorization server, then start the usual consent with what was found."""
        transport = str(record.config.get("transport") or "auto")
        found, app = self._mcp.discover(url, transport, integration_id=spec.id, team=record.team_id)
        keep = {"url": url, DISCOVERED: found.stored()}
        return self._oauth.start(record, spec, found.spec(), app, scopes, keep=keep)

    def _client_credentials(self, spec: IntegrationSpec, auth: OAuth2Spec, inputs: ConnectInputs) -> dict[str, Any]:
        try:
            return self._oauth.client_credentials_token(
                auth,
                inputs.config,
                inputs.credentials["client_id"],
                inputs.credentials["client_secret"],
                inputs.scopes,
            )
        except OAuthProviderError as exc:
            raise InvalidInput(
                f"{spec.display_name} refused these client credentials: {exc.message}; nothing was stored",
                details=exc.details,
            ) from None

    def reconnect(
        self, connection_id: str, scopes: list[str] | None = None, *, team: str = LOCAL_TEAM
    ) -> ConnectResult:
        """Start a new consent for an OAuth connection, keeping its id (re-consent, other scopes).

        An active connection stays active with its old tokens until the new consent completes.

        Args:
            connection_id: The connection.
            scopes: Scopes to ask for; None for the app's or the definition's.
            team: The team that owns the connection.

        Returns:
            The connection's id and status, and the new `redirect_url`.

        Raises:
            ConnectionNotFound: No connection has this id.
            InvalidInput: The connection does not use an OAuth authorization flow.
            OAuthAppMissing: The integration has no OAuth app.
        """
        record = self.record(connection_id, team)
        spec = self._catalog.spec(record.integration_id, team)
        auth = spec.auth_for(AuthenticationSchema(record.scheme))
        if not isinstance(auth, (OAuth1Spec, OAuth2Spec)) or getattr(auth, "grant_type", "") == "client_credentials":
            raise InvalidInput(
                f"connection {record.id} uses {record.scheme}, which has no consent to renew; "
                "delete it and connect again with new credentials"
            )
        status = record.status if record.status == ConnectionStatus.ACTIVE.value else ConnectionStatus.PENDING.value
        if isinstance(auth, OAuth2Spec) and auth.discovery == "mcp":
            # The server may have moved to another authorization server since: discover again.
            server = self._credentials.read(record.id).get("url")
            if not server:
                raise InvalidInput(f"connection {record.id} has no MCP server URL stored; delete it and connect again")
            url = self._mcp_consent(replace(record, status=status), spec, str(server), scopes)
        else:
            app = self._oauth_apps.app(spec.id, team)
            url = self._oauth.start(replace(record, status=status), spec, auth, app, scopes)
        return ConnectResult(id=record.id, status=ConnectionStatus(status), redirect_url=url)

    def complete_authorization(self, params: Mapping[str, str], *, team: str | None = None) -> ConnectionInfo:
        """Complete an OAuth authorization from the provider's redirect.

        Args:
            params: The callback URL's query parameters.
            team: The team that must own the connection (checked before anything changes);
                None accepts any (the browser's callback, where the state is the proof).

        Returns:
            The connection, now active.

        Raises:
            OAuthStateError: The state is missing, unknown, expired or already used.
            OAuthProviderError: The provider refused (the pending connection is marked failed).
            ConnectionNotFound: The connection belongs to another team than `team`.
        """
        return self.get(self._oauth.complete(params, team), team=None)

    def get(self, connection_id: str, *, team: str | None = LOCAL_TEAM) -> ConnectionInfo:
        """Describe a connection, secrets masked.

        Args:
            connection_id: Its id.
            team: The team that owns the connection (another team's id is not found).

        Returns:
            The connection.

        Raises:
            ConnectionNotFound: No connection has this id.
        """
        return describe(self.record(connection_id, team), self._catalog, self._credentials, with_credentials=True)

    def counts(self) -> dict[tuple[str, str], int]:
        """Count every team's connections by integration and status (for the server's metrics).

        Returns:
            `{(integration_id, status): count}`, for the pairs that have connections.
        """
        return self._store.connections.count_by_status()

    def list(
        self,
        query: str | None = None,
        page_number: int = 0,
        page_size: int = 20,
        integration_id: str | None = None,
        *,
        team: str = LOCAL_TEAM,
        end_user_id: str | None = None,
        status: str | None = None,
    ) -> Page[ConnectionInfo]:
        """List a team's connections, newest first.

        Args:
            query: Text to find in the name, description or integration id.
            page_number: 0-based page.
            page_size: Results per page.
            integration_id: Only this integration's connections.
            team: The team.
            end_user_id: Only this end user's connections.
            status: Only connections in this status (`active`, `pending`, `expired`, `failed`).

        Returns:
            One page of connections (credentials not included).
        """
        check_paging(page_number, page_size)
        records, total = self._store.connections.list(
            team_id=team,
            query=query,
            integration_id=integration_id,
            end_user_id=end_user_id,
            offset=page_number * page_size,
            limit=page_size,
            status=status,
        )
        infos = [describe(r, self._catalog, self._credentials, with_credentials=False) for r in records]
        return page_of(infos, total, page_number, page_size)

    def delete(self, connection_id: str, *, team: str = LOCAL_TEAM, wait: float = 0) -> DeleteResult:
        """Delete a connection and its credentials, revoking OAuth tokens at the provider first.

        When its subscriptions must be unsubscribed at the provider first, the connection is
        `deleting` until their jobs end (with retries): every read answers as if it were gone,
        its webhook URLs answer 404 and nothing is delivered. Then its tokens are revoked (they
        were still valid for the unsubscribe calls) and it is removed. With `wait`, the call
        waits that long for the jobs (running them in this thread when no worker has taken them).
        A failed revocation is reported in the result; the local delete happens regardless.

        Args:
            connection_id: Its id.
            team: The team that owns the connection (another team's id is not found).
            wait: Seconds to wait for the unsubscribe jobs (0 to 30).

        Returns:
            `status` `deleted`, or `deleting` while the jobs run; whether the provider revoked
            the tokens, and why not when it did not (`revoked` is None when not known: still
            deleting, or finished by another process).

        Raises:
            ConnectionNotFound: No connection has this id.
            InvalidInput: `wait` is out of range.
        """
        if not 0 <= wait <= MAX_WAIT:
            raise InvalidInput(f"wait must be between 0 and {MAX_WAIT:g} seconds")
        deadline = time.monotonic() + wait
        record = self.record(connection_id, team)
        if not self._store.connections.mark_deleting(record.id, team, _LEASE):
            raise not_found(connection_id)  # deleted meanwhile by another call
        waiting = False
        for hook in self.deletion_hooks:
            waiting = hook.stop(record.id) or waiting  # its subscriptions: unsubscribed while its tokens work
        if not waiting:
            return self._finish(record)
        self._store.connections.release_deletion(record.id)  # the last unsubscribe job finishes it
        logger.info("connection %s: deleting once its subscriptions are unsubscribed at the provider", record.id)
        if wait > 0 and self._settle(record.id, deadline):
            self.finish_deleting(record.id)  # a job that ended just before this process let go could not
        done = self._deleted.take(record.id)
        if done is not None:
            return done
        if self._store.connections.get(record.id, include_deleting=True) is None:
            return DeleteResult(id=record.id, revoked=None)  # finished by another process
        return DeleteResult(id=record.id, status="deleting", revoked=None)

    def finish_deleting(self, connection_id: str) -> DeleteResult | None:
        """Finish deleting a `deleting` connection whose unsubscribe jobs have ended (or a dead process's).

        Claims it first, so that one process does it: revokes its OAuth token, forgets its MCP
        session, removes the row and its credentials.

        Args:
            connection_id: The connection.

        Returns:
            The result, or None when it is not being deleted, gone, or another process holds it.
        """
        record = self._store.connections.claim_deletion(connection_id, _LEASE)
        if record is None:
            return None
        result = self._finish(record)
        self._deleted.note(record.id, result)  # for the delete call that waits, if it is in this process
        return result

    def _settle(self, connection_id: str, deadline: float) -> bool:
        settled = [hook.settle(connection_id, max(0.0, deadline - time.monotonic())) for hook in self.deletion_hooks]
        return all(settled)

    def _finish(self, record: ConnectionRecord) -> DeleteResult:
        problem = None
        revoked = False
        if record.scheme == "OAUTH2" and self._catalog.contains(record.integration_id, record.team_id):
            opened = self._credentials.read(record.id)
            if opened:
                spec = self._catalog.spec(record.integration_id, record.team_id)
                problem = self._oauth.revoke(record, spec, opened)
                entry = self._oauth.oauth2_entry(spec, opened)
                revoked = problem is None and entry is not None and bool(entry.revocation_url)
        self._mcp.forget(record.id)
        self._store.connections.delete(record.id)
        if problem:
            logger.warning("deleted connection %s, but revocation failed: %s", record.id, problem)
        else:
            logger.info("deleted connection %s", record.id)
        return DeleteResult(id=record.id, revoked=revoked, revocation_error=problem)

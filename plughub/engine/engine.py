"""The engine facade: catalog, store, vault and executor behind one set of calls.

Both backends end here: the embedded backend calls it in process, the server over HTTP.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx

from plughub.config import Settings, ensure_home
from plughub.engine.actions import ActionsMixin
from plughub.engine.audit import AuditLog
from plughub.engine.catalog import Catalog
from plughub.engine.catalog.models import IntegrationSpec, OAuth1Spec, OAuth2Spec
from plughub.engine.connections.inputs import ConnectInputs, split_connect_data
from plughub.engine.connections.view import describe_connection
from plughub.engine.credentials import Credentials
from plughub.engine.http.guard import Guard, GuardedTransport, parse_allowlist
from plughub.engine.http.send import RetryPolicy, Sender
from plughub.engine.integrations import IntegrationsMixin, check_paging, page_of
from plughub.engine.mcp_client import McpConnections, mcp_config
from plughub.engine.oauth.apps import OAuthApp, OAuthApps
from plughub.engine.oauth.flows import OAuthFlows
from plughub.engine.signers import Signers
from plughub.engine.store import (
    LOCAL_TEAM,
    ConnectionRecord,
    Database,
    Store,
    open_database,
    sqlite_url,
)
from plughub.engine.validation import InputValidator
from plughub.enums import AuthenticationSchema, ConnectionStatus
from plughub.exceptions import (
    ConnectionNotFound,
    InvalidInput,
    OAuthProviderError,
)
from plughub.schemas import (
    ConnectionInfo,
    ConnectRequest,
    ConnectResult,
    DeleteResult,
    OAuthAppInfo,
    Page,
)

__all__ = ["Engine"]

logger = logging.getLogger("plughub.engine")
_STATIC = (
    AuthenticationSchema.API_KEY,
    AuthenticationSchema.BEARER_TOKEN,
    AuthenticationSchema.BASIC,
    AuthenticationSchema.NO_AUTH,
)


class Engine(IntegrationsMixin, ActionsMixin):
    """plughub's engine.

    Args:
        settings: The configuration; read from the environment when omitted.
        database_url: A SQLAlchemy URL; the SQLite file under `PLUGHUB_HOME` by default.
        transport: An httpx transport for upstream calls (tests); the network by default.
        guard_outbound: Refuse private, loopback, link-local and metadata addresses unless
            `PLUGHUB_ALLOW_PRIVATE_NETWORKS` allows them (the server turns this on).
        audit: Record every action run (team, connection, action, status, duration).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        database_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        guard_outbound: bool = False,
        audit: bool | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.store = Store(
            Database(
                open_database(database_url or sqlite_url(ensure_home(self.settings.home))),
                cache_ttl=self.settings.cache_ttl,
            )
        )
        # Another server process may store a definition later: a miss looks in the store.
        self.catalog = Catalog(self.settings.catalog_path, missing=self._stored_definition)
        self.load_stored_definitions()
        guard = Guard(parse_allowlist(self.settings.allow_private_networks)) if guard_outbound else None
        self.guard = guard
        network = transport is None  # a given transport stands in for the network (tests)
        if guard is not None and transport is None:
            transport = GuardedTransport(
                guard,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30),
            )
        self.audit = guard_outbound if audit is None else audit
        self.guard_outbound = guard_outbound
        self.audit_log = AuditLog(self.store)
        self.signers = Signers(self.settings.cache_ttl)
        self.http = Sender(
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            retry=RetryPolicy(attempts=max(1, self.settings.retry_attempts), max_wait=self.settings.retry_max_wait),
            transport=transport,
            trust_env=not guard_outbound,
            asynchronous=network,
            guard=guard,
        )
        self.validator = InputValidator()
        self.credentials = Credentials(self.store, self.settings)
        self.oauth_apps = OAuthApps(self.store, self.credentials, self.catalog, self.settings)
        self.oauth = OAuthFlows(
            self.store, self.credentials, self.catalog, self.oauth_apps, self.http.client, self.settings
        )
        self.mcp = McpConnections(self.credentials, self.settings, guard)

    def __repr__(self) -> str:
        return f"Engine(home={str(self.settings.home)!r}, integrations={len(self.catalog)})"

    def close(self) -> None:
        """Release the database, the HTTP pool and the MCP event loop."""
        self.mcp.close()
        self.audit_log.close()
        self.signers.clear()
        self.http.close()
        self.store.close()

    # OAuth apps (delegated while callers move to `engine.oauth_apps`)

    def oauth_app(self, integration_id: str, team: str = LOCAL_TEAM) -> OAuthApp:  # noqa: D102
        return self.oauth_apps.app(integration_id, team)

    def scheme_unavailable(  # noqa: D102
        self, integration_id: str, scheme: AuthenticationSchema, team: str = LOCAL_TEAM
    ) -> str | None:
        return self.oauth_apps.scheme_unavailable(integration_id, scheme, team)

    def set_oauth_app(  # noqa: D102
        self,
        integration_id: str,
        client_id: str,
        client_secret: str,
        scopes: list[str] | None = None,
        *,
        team: str = LOCAL_TEAM,
    ) -> OAuthAppInfo:
        return self.oauth_apps.set(integration_id, client_id, client_secret, scopes, team=team)

    def get_oauth_app(self, integration_id: str, *, team: str = LOCAL_TEAM) -> OAuthAppInfo:  # noqa: D102
        return self.oauth_apps.get(integration_id, team=team)

    def delete_oauth_app(self, integration_id: str, *, team: str = LOCAL_TEAM) -> None:  # noqa: D102
        self.oauth_apps.delete(integration_id, team=team)

    # Connections

    def create_connection(self, request: ConnectRequest, *, team: str = LOCAL_TEAM) -> ConnectResult:
        """Connect to an integration: validate, seal the credentials, store the connection.

        Args:
            request: The integration, scheme, name, connect data and end user.
            team: The team that owns the connection.

        Returns:
            The new connection's id and status.

        Raises:
            IntegrationNotFound: Unknown integration.
            UnsupportedScheme: The integration does not support the scheme.
            MissingInputs: Required inputs are missing.
            UnknownInputs: Inputs the scheme does not take.
            InvalidInput: A value is malformed.
        """
        spec = self.catalog.spec(request.integration_id, team)
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
        elif isinstance(auth, (OAuth1Spec, OAuth2Spec)):
            app = self.oauth_app(spec.id, team)
            pending = replace(record, status=ConnectionStatus.PENDING.value)
            url = self.oauth.start(pending, spec, auth, app, inputs.scopes)
            return ConnectResult(id=record.id, status=ConnectionStatus.PENDING, redirect_url=url)
        if credentials:
            self.credentials.write(lambda seal: self.store.connections.insert(record, seal(record.id, credentials)))
        else:
            self.store.connections.insert(record, None)
        logger.info("connected %s with %s as %s", spec.id, request.scheme.value, record.id)
        return ConnectResult(id=record.id, status=ConnectionStatus.ACTIVE)

    def _client_credentials(self, spec: IntegrationSpec, auth: OAuth2Spec, inputs: ConnectInputs) -> dict[str, Any]:
        try:
            return self.oauth.client_credentials_token(
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
        record = self._record(connection_id, team)
        spec = self.catalog.spec(record.integration_id, team)
        auth = spec.auth_for(AuthenticationSchema(record.scheme))
        if not isinstance(auth, (OAuth1Spec, OAuth2Spec)) or getattr(auth, "grant_type", "") == "client_credentials":
            raise InvalidInput(
                f"connection {record.id} uses {record.scheme}, which has no consent to renew; "
                "delete it and connect again with new credentials"
            )
        status = record.status if record.status == ConnectionStatus.ACTIVE.value else ConnectionStatus.PENDING.value
        url = self.oauth.start(replace(record, status=status), spec, auth, self.oauth_app(spec.id, team), scopes)
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
        return self.get_connection(self.oauth.complete(params, team), team=None)

    def get_connection(self, connection_id: str, *, team: str | None = LOCAL_TEAM) -> ConnectionInfo:
        """Describe a connection, secrets masked.

        Args:
            connection_id: Its id.
            team: The team that owns the connection (another team's id is not found).

        Returns:
            The connection.

        Raises:
            ConnectionNotFound: No connection has this id.
        """
        return self._describe(self._record(connection_id, team), with_credentials=True)

    def list_connections(
        self,
        query: str | None = None,
        page_number: int = 0,
        page_size: int = 20,
        integration_id: str | None = None,
        *,
        team: str = LOCAL_TEAM,
        end_user_id: str | None = None,
    ) -> Page[ConnectionInfo]:
        """List a team's connections, newest first.

        Args:
            query: Text to find in the name, description or integration id.
            page_number: 0-based page.
            page_size: Results per page.
            integration_id: Only this integration's connections.
            team: The team.
            end_user_id: Only this end user's connections.

        Returns:
            One page of connections (credentials not included).
        """
        check_paging(page_number, page_size)
        records, total = self.store.connections.list(
            team_id=team,
            query=query,
            integration_id=integration_id,
            end_user_id=end_user_id,
            offset=page_number * page_size,
            limit=page_size,
        )
        return page_of([self._describe(r, with_credentials=False) for r in records], total, page_number, page_size)

    def delete_connection(self, connection_id: str, *, team: str = LOCAL_TEAM) -> DeleteResult:
        """Delete a connection and its credentials, revoking OAuth tokens at the provider first.

        A failed revocation is reported in the result; the local delete happens regardless.

        Args:
            connection_id: Its id.
            team: The team that owns the connection (another team's id is not found).

        Returns:
            Whether the provider revoked the tokens, and why not when it did not.

        Raises:
            ConnectionNotFound: No connection has this id.
        """
        record = self._record(connection_id, team)
        problem = None
        revoked = False
        if record.scheme == "OAUTH2" and self.catalog.contains(record.integration_id, team):
            opened = self.credentials.read(record.id)
            if opened:
                spec = self.catalog.spec(record.integration_id, team)
                problem = self.oauth.revoke(record, spec, opened)
                revoked = problem is None and bool(getattr(spec.auth_for_mode("OAUTH2"), "revocation_url", None))
        self.mcp.forget(connection_id)
        if not self.store.connections.delete(connection_id, team):
            raise self._not_found(connection_id)
        if problem:
            logger.warning("deleted connection %s, but revocation failed: %s", connection_id, problem)
        return DeleteResult(id=connection_id, revoked=revoked, revocation_error=problem)

    def _describe(self, record: ConnectionRecord, *, with_credentials: bool) -> ConnectionInfo:
        return describe_connection(self, record, with_credentials=with_credentials)

    def _record(self, connection_id: str, team: str | None) -> ConnectionRecord:
        # Another team's connection answers exactly like a missing one.
        record = self.store.connections.get(connection_id, team)
        if record is None:
            raise self._not_found(connection_id)
        return record

    @staticmethod
    def _not_found(connection_id: str) -> ConnectionNotFound:
        return ConnectionNotFound(
            f"No connection with id '{connection_id}'. List them with "
            "ModelFactory.list(function_type=FunctionType.CONNECTION) or `plughub connections list`.",
            details={"id": connection_id},
        )


def _jsonable(data: Any) -> Any:
    import json

    return json.loads(json.dumps(data, default=str))

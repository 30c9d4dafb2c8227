"""The engine: the composition root that builds plughub's services and wires them together.

Both backends end here: the embedded backend calls the services in process, the server over HTTP.
The engine holds no business logic of its own; each service receives the few collaborators it needs.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING

import httpx

from plughub.config import Settings, ensure_home
from plughub.engine.actions.driver import Driver
from plughub.engine.actions.service import ActionService
from plughub.engine.actions.signers import Signers
from plughub.engine.actions.validation import InputValidator
from plughub.engine.audit import AuditLog
from plughub.engine.catalog import Catalog
from plughub.engine.catalog.service import IntegrationService, stored_definition
from plughub.engine.connections.service import ConnectionService
from plughub.engine.credentials import Credentials
from plughub.engine.http.guard import Guard, GuardedTransport, parse_allowlist
from plughub.engine.http.send import RetryPolicy, Sender
from plughub.engine.mcp_client.authorization import McpAuthorization
from plughub.engine.mcp_client.service import McpConnections
from plughub.engine.oauth.apps import OAuthApps
from plughub.engine.oauth.flows import OAuthFlows
from plughub.engine.observers import RunObserver, RunTracer
from plughub.engine.store import Database, Store, open_database, sqlite_url
from plughub.engine.teams import Teams

if TYPE_CHECKING:
    from plughub.engine.events.service import Events
    from plughub.engine.proxy.service import ProxyService

__all__ = ["Engine"]


class Engine:
    """plughub's engine: the services, built and wired.

    Args:
        settings: The configuration; read from the environment when omitted.
        database_url: A SQLAlchemy URL; the SQLite file under `PLUGHUB_HOME` by default.
        transport: An httpx transport for upstream calls (tests); the network by default.
        guard_outbound: Refuse private, loopback, link-local and metadata addresses unless
            `PLUGHUB_ALLOW_PRIVATE_NETWORKS` allows them (the server turns this on).
        audit: Record every action run (team, connection, action, status, duration); on with
            `guard_outbound` by default.

    Attributes:
        settings: The configuration.
        store: Persistence (`store.db` is the database).
        catalog: The integration definitions.
        credentials: Seals and opens secrets (the vault and its key ring).
        integrations: The catalog's calls (list, get, create, import, verify).
        connections: Connections (create, get, list, delete, reconnect, complete_authorization).
        actions: A connection's actions (list, get, run, run_async, pages).
        proxy: Any request to a connection's service, with its credentials (`request`); built
            on first use.
        oauth: The OAuth flows (consent, callback, refresh, revocation).
        oauth_apps: The teams' OAuth clients.
        mcp: MCP servers behind MCP connections.
        http: The sender every upstream request goes through.
        audit: The audit of action runs.
        teams: Teams, API keys and connect sessions.
        events: Subscriptions, inbound webhooks, polls, deliveries and their jobs (`start_worker`);
            built on first use.
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
        database = open_database(database_url or sqlite_url(ensure_home(self.settings.home)))
        self.store = Store(Database(database, cache_ttl=self.settings.cache_ttl))
        # Another server process may store a definition later: a miss looks in the store.
        self.catalog = Catalog(self.settings.catalog_path, missing=partial(stored_definition, self.store))
        guard = Guard(parse_allowlist(self.settings.allow_private_networks)) if guard_outbound else None
        network = transport is None  # a given transport stands in for the network (tests)
        if guard is not None and transport is None:
            transport = GuardedTransport(
                guard,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30),
            )
        self.http = Sender(
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            retry=RetryPolicy(attempts=max(1, self.settings.retry_attempts), max_wait=self.settings.retry_max_wait),
            transport=transport,
            trust_env=not guard_outbound,
            asynchronous=network,
            guard=guard,
        )
        self.credentials = Credentials(self.store, self.settings)
        self.audit = AuditLog(self.store)
        self.teams = Teams(self.store)
        self.integrations = IntegrationService(self.catalog, self.store, self.http)
        self.integrations.load_stored()
        self.oauth_apps = OAuthApps(self.store, self.credentials, self.catalog, self.settings)
        self.oauth = OAuthFlows(
            self.store, self.credentials, self.catalog, self.oauth_apps, self.http.client, self.settings
        )
        self.mcp = McpConnections(
            self.credentials,
            self.settings,
            guard,
            oauth=self.oauth,
            authorization=McpAuthorization(
                self.store, self.credentials, self.oauth_apps, self.http.client, self.settings, guard
            ),
        )
        self.connections = ConnectionService(
            self.catalog, self.store, self.credentials, self.oauth, self.oauth_apps, self.mcp
        )
        self._signers = Signers(self.settings.cache_ttl)
        self._driver = driver = Driver(
            store=self.store,
            credentials=self.credentials,
            oauth=self.oauth,
            oauth_apps=self.oauth_apps,
            sender=self.http,
            signers=self._signers,
            audit=self.audit if (guard_outbound if audit is None else audit) else None,
        )
        self.actions = ActionService(
            catalog=self.catalog,
            connections=self.connections,
            store=self.store,
            credentials=self.credentials,
            mcp=self.mcp,
            validator=InputValidator(),
            driver=driver,
        )
        # The proxy and the events are built (and their modules imported) on first use: a process
        # that only runs actions, like most SDK programs, never loads them.
        self._guard = guard
        self._events_transport = None if network else transport
        self._lazy = threading.Lock()
        self._proxy: ProxyService | None = None
        self._events: Events | None = None
        self.connections.deletion_hooks.append(_SubscriptionsHook(self))

    @property
    def proxy(self) -> ProxyService:
        """Any request to a connection's service, with its credentials."""
        if self._proxy is None:
            with self._lazy:
                if self._proxy is None:
                    from plughub.engine.proxy.service import ProxyService

                    self._proxy = ProxyService(catalog=self.catalog, connections=self.connections, driver=self._driver)
        return self._proxy

    @property
    def events(self) -> Events:
        """Subscriptions, inbound webhooks, polls, deliveries and their jobs."""
        if self._events is None:
            with self._lazy:
                if self._events is None:
                    from plughub.engine.events.service import Events

                    # Deliveries go to URLs a tenant gives: through the guard whenever upstream calls are.
                    self._events = Events(
                        catalog=self.catalog,
                        connections=self.connections,
                        actions=self.actions,
                        store=self.store,
                        credentials=self.credentials,
                        oauth_apps=self.oauth_apps,
                        settings=self.settings,
                        transport=self._events_transport,
                        guard=self._guard,
                    )
        return self._events

    def __repr__(self) -> str:
        return f"Engine(home={str(self.settings.home)!r}, integrations={len(self.catalog)})"

    def instrument(self, *, observer: RunObserver | None = None, tracer: RunTracer | None = None) -> None:
        """Watch runs: tell `observer` of each finished run and refresh, trace each run with `tracer`.

        `plughub serve` sets its Prometheus metrics and, with the `otel` extra, its tracer; the
        embedded engine sets neither, and a run then pays nothing for them.

        Args:
            observer: Told of finished runs and OAuth 2.0 refreshes; None stops telling.
            tracer: Opens a span per run and adds `traceparent` to upstream requests; None stops tracing.
        """
        self._driver.observer = observer
        self.oauth.observer = observer
        self.events.observer = observer
        self._driver.tracer = tracer
        self.http.outgoing = tracer.inject if tracer is not None else None

    def close(self) -> None:
        """Release the jobs, the MCP event loop, the audit's thread, the HTTP pools and the database."""
        if self._events is not None:
            self._events.close()
        self.mcp.close()
        self.audit.close()
        self._signers.clear()
        self.http.close()
        self.store.close()


class _SubscriptionsHook:
    """The connections' deletion hook (`DeletionHook`): the events' `connection_subscriptions`.

    It builds the events service when a connection is deleted, rather than with the engine.

    Args:
        engine: The engine whose events to ask.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __repr__(self) -> str:
        return "_SubscriptionsHook()"

    def stop(self, connection_id: str) -> bool:
        """See `DeletionHook.stop`."""
        return self._engine.events.connection_subscriptions.stop(connection_id)

    def settle(self, connection_id: str, wait: float) -> bool:
        """See `DeletionHook.settle`."""
        return self._engine.events.connection_subscriptions.settle(connection_id, wait)

"""The embedded backend: the engine in this process, opened on first use."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plughub.config import Settings
from plughub.schemas import (
    ActionInfo,
    ActionResult,
    ConnectionInfo,
    ConnectRequest,
    ConnectResult,
    DeleteResult,
    ImportReport,
    IntegrationInfo,
    OAuthAppInfo,
    Page,
    ProxyResponse,
    SubscribeRequest,
    SubscriptionDeleted,
    SubscriptionInfo,
    TriggerInfo,
    VerifyReport,
)
from plughub.schemas.events import DeliveryInfo, EventInfo

if TYPE_CHECKING:
    from plughub.engine import Engine

__all__ = ["EmbeddedBackend"]


class EmbeddedBackend:
    """Runs the engine in process (SQLite and a key file under `PLUGHUB_HOME`).

    Args:
        engine: An engine to use; one is opened from `settings` on first use otherwise.
        settings: Configuration for that engine; read from the environment when omitted.
    """

    def __init__(self, engine: Engine | None = None, settings: Settings | None = None) -> None:
        self._engine = engine
        self._settings = settings
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EmbeddedBackend(engine={self._engine!r})"

    @property
    def engine(self) -> Engine:
        """The engine, opened on first use (importing it costs time the CLI's --help need not pay)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from plughub.engine import Engine

                    self._engine = Engine(self._settings)
        return self._engine

    def list_integrations(
        self, query: str | None = None, page_number: int = 0, page_size: int = 20, category: str | None = None
    ) -> Page[IntegrationInfo]:
        return self.engine.integrations.list(query, page_number, page_size, category=category)

    def get_integration(self, id_or_name: str) -> IntegrationInfo:
        return self.engine.integrations.get(id_or_name)

    def create_integration(self, definition: Mapping[str, Any] | str | Path) -> IntegrationInfo:
        return self.engine.integrations.create(definition)

    def import_integration(self, source: Mapping[str, Any] | str | Path, options: Mapping[str, Any]) -> ImportReport:
        return self.engine.integrations.import_openapi(source, **options)

    def verify_integration(self, id_or_name: str, documents: Sequence[Mapping[str, Any] | str | Path]) -> VerifyReport:
        return self.engine.integrations.verify(id_or_name, documents)

    def create_connection(self, request: ConnectRequest) -> ConnectResult:
        return self.engine.connections.create(request)

    def get_connection(self, connection_id: str) -> ConnectionInfo:
        return self.engine.connections.get(connection_id)

    def list_connections(
        self, query: str | None = None, page_number: int = 0, page_size: int = 20
    ) -> Page[ConnectionInfo]:
        return self.engine.connections.list(query, page_number, page_size)

    def delete_connection(self, connection_id: str, wait: float = 0) -> DeleteResult:
        return self.engine.connections.delete(connection_id, wait=wait)

    def reconnect(self, connection_id: str, scopes: list[str] | None = None) -> ConnectResult:
        return self.engine.connections.reconnect(connection_id, scopes)

    def complete_authorization(self, params: Mapping[str, str]) -> ConnectionInfo:
        return self.engine.connections.complete_authorization(params)

    def set_oauth_app(
        self,
        integration_id: str,
        client_id: str,
        client_secret: str,
        scopes: list[str] | None = None,
        signing_secret: str | None = None,
        webhook_secret: str | None = None,
    ) -> OAuthAppInfo:
        return self.engine.oauth_apps.set(
            integration_id,
            client_id,
            client_secret,
            scopes,
            signing_secret=signing_secret,
            webhook_secret=webhook_secret,
        )

    def get_oauth_app(self, integration_id: str) -> OAuthAppInfo:
        return self.engine.oauth_apps.get(integration_id)

    def delete_oauth_app(self, integration_id: str) -> None:
        self.engine.oauth_apps.delete(integration_id)

    def list_actions(self, connection_id: str) -> list[ActionInfo]:
        return self.engine.actions.list(connection_id)

    def refresh_actions(self, connection_id: str) -> list[ActionInfo]:
        return self.engine.actions.refresh(connection_id)

    def get_action(self, connection_id: str, action: str) -> ActionInfo:
        return self.engine.actions.get(connection_id, action)

    def run_action(
        self,
        connection_id: str,
        action: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        paginate: bool = False,
        max_pages: int | None = None,
        page_token: str | None = None,
    ) -> ActionResult:
        return self.engine.actions.run(
            connection_id, action, inputs, paginate=paginate, max_pages=max_pages, page_token=page_token
        )

    def iterate_action(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None, *, max_pages: int | None = None
    ) -> Iterator[ActionResult]:
        for result, _next in self.engine.actions.pages(connection_id, action, inputs, max_pages=max_pages):
            yield result

    def proxy(
        self,
        connection_id: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ProxyResponse:
        return self.engine.proxy.request(
            connection_id, method, path, params=params, json=json, data=data, headers=headers
        )

    def list_triggers(self, connection_id: str) -> list[TriggerInfo]:
        return self.engine.events.subscriptions.triggers(connection_id)

    def subscribe(self, connection_id: str, request: SubscribeRequest, wait: float = 0) -> SubscriptionInfo:
        return self.engine.events.subscriptions.subscribe(connection_id, request, wait=wait)

    def get_subscription(self, subscription_id: str) -> SubscriptionInfo:
        return self.engine.events.subscriptions.get(subscription_id)

    def list_subscriptions(
        self, connection_id: str | None = None, page_number: int = 0, page_size: int = 20
    ) -> Page[SubscriptionInfo]:
        return self.engine.events.subscriptions.list(connection_id, page_number, page_size)

    def delete_subscription(self, subscription_id: str, wait: float = 0) -> SubscriptionDeleted:
        return self.engine.events.subscriptions.delete(subscription_id, wait=wait)

    def list_events(
        self, subscription_id: str, after: str | None = None, limit: int = 100, wait: float = 0
    ) -> list[EventInfo]:
        return self.engine.events.subscriptions.events(subscription_id, after, limit, wait)

    def poll_subscription(self, subscription_id: str) -> list[EventInfo]:
        return self.engine.events.poll_now(subscription_id)

    def list_deliveries(self, subscription_id: str, status: str | None = None, limit: int = 100) -> list[DeliveryInfo]:
        return self.engine.events.subscriptions.deliveries(subscription_id, status, limit)

    def redeliver(self, subscription_id: str, event_id: str) -> DeliveryInfo:
        return self.engine.events.redeliver(subscription_id, event_id)

    def close(self) -> None:
        """Close the engine if it was opened."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None

"""The seam between the SDK and whatever runs the work: one protocol, two implementations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

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

__all__ = ["Backend"]


@runtime_checkable
class Backend(Protocol):
    """What the SDK needs from an engine, in process or across HTTP.

    Every method raises the `PlughubError` subclasses the engine raises, so callers see the same
    exceptions whichever backend serves them.
    """

    def list_integrations(
        self, query: str | None = None, page_number: int = 0, page_size: int = 20, category: str | None = None
    ) -> Page[IntegrationInfo]:
        """Search the catalog."""
        ...

    def get_integration(self, id_or_name: str) -> IntegrationInfo:
        """Find one integration by id or name."""
        ...

    def create_integration(self, definition: Mapping[str, Any] | str | Path) -> IntegrationInfo:
        """Register a user-defined integration."""
        ...

    def import_integration(self, source: Mapping[str, Any] | str | Path, options: Mapping[str, Any]) -> ImportReport:
        """Import an OpenAPI document as an integration (options: id, name, base_url, include, exclude)."""
        ...

    def verify_integration(self, id_or_name: str, documents: Sequence[Mapping[str, Any] | str | Path]) -> VerifyReport:
        """Check an integration against vendor OpenAPI documents (paths, URLs or parsed documents)."""
        ...

    def create_connection(self, request: ConnectRequest) -> ConnectResult:
        """Connect to an integration."""
        ...

    def get_connection(self, connection_id: str) -> ConnectionInfo:
        """Describe a connection, secrets masked."""
        ...

    def list_connections(
        self, query: str | None = None, page_number: int = 0, page_size: int = 20
    ) -> Page[ConnectionInfo]:
        """List connections."""
        ...

    def delete_connection(self, connection_id: str, wait: float = 0) -> DeleteResult:
        """Delete a connection, unsubscribing (jobs; wait up to `wait` s) and revoking its OAuth tokens first."""
        ...

    def reconnect(self, connection_id: str, scopes: list[str] | None = None) -> ConnectResult:
        """Start a new consent for an OAuth connection."""
        ...

    def complete_authorization(self, params: Mapping[str, str]) -> ConnectionInfo:
        """Complete an OAuth authorization from the callback's query parameters."""
        ...

    def set_oauth_app(
        self,
        integration_id: str,
        client_id: str,
        client_secret: str,
        scopes: list[str] | None = None,
        signing_secret: str | None = None,
        webhook_secret: str | None = None,
    ) -> OAuthAppInfo:
        """Store an integration's OAuth client (and the secrets its webhooks are signed with)."""
        ...

    def get_oauth_app(self, integration_id: str) -> OAuthAppInfo:
        """Describe an integration's OAuth client, secret masked."""
        ...

    def delete_oauth_app(self, integration_id: str) -> None:
        """Delete an integration's stored OAuth client."""
        ...

    def list_actions(self, connection_id: str) -> list[ActionInfo]:
        """List a connection's actions."""
        ...

    def refresh_actions(self, connection_id: str) -> list[ActionInfo]:
        """List a connection's actions again, bypassing caches (an MCP server's tools)."""
        ...

    def get_action(self, connection_id: str, action: str) -> ActionInfo:
        """Describe one action."""
        ...

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
        """Run an action (with `paginate`, read its pages and gather their items)."""
        ...

    def iterate_action(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None, *, max_pages: int | None = None
    ) -> Iterator[ActionResult]:
        """Read an action's pages lazily, one result per page (a FAILED one ends the iteration)."""
        ...

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
        """Send any request to a connection's service with its credentials."""
        ...

    def list_triggers(self, connection_id: str) -> list[TriggerInfo]:
        """List a connection's triggers."""
        ...

    def subscribe(self, connection_id: str, request: SubscribeRequest, wait: float = 0) -> SubscriptionInfo:
        """Switch a trigger on (the answer holds the secrets, this once); wait up to `wait` s for its job."""
        ...

    def get_subscription(self, subscription_id: str) -> SubscriptionInfo:
        """Describe a subscription (no secrets)."""
        ...

    def list_subscriptions(
        self, connection_id: str | None = None, page_number: int = 0, page_size: int = 20
    ) -> Page[SubscriptionInfo]:
        """List subscriptions (one connection's, or the team's)."""
        ...

    def delete_subscription(self, subscription_id: str, wait: float = 0) -> SubscriptionDeleted:
        """Delete a subscription, unsubscribing at the provider (a job; wait up to `wait` s for it)."""
        ...

    def list_events(
        self, subscription_id: str, after: str | None = None, limit: int = 100, wait: float = 0
    ) -> list[EventInfo]:
        """Pull a subscription's events after one (long-polling up to `wait` seconds)."""
        ...

    def poll_subscription(self, subscription_id: str) -> list[EventInfo]:
        """Run a poll trigger's subscription now."""
        ...

    def list_deliveries(self, subscription_id: str, status: str | None = None, limit: int = 100) -> list[DeliveryInfo]:
        """A subscription's deliveries, newest first."""
        ...

    def redeliver(self, subscription_id: str, event_id: str) -> DeliveryInfo:
        """Send an event to the subscription's target again."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...

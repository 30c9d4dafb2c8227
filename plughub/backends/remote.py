"""The remote backend: the SDK against a `plughub serve` server, with the same exceptions.

It never imports the engine: a remote-only install needs neither the crypto nor the SQL stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from json import dumps
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml

from plughub.enums import ResponseStatus
from plughub.exceptions import BackendError, InvalidInput, error_class
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

__all__ = ["RemoteBackend"]


# libyaml's loader is several times faster on multi-megabyte documents.
_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_document(path: str | Path) -> Any:
    """Parse an OpenAPI document file (JSON, or YAML) to send it to the server."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
        return json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=_YamlLoader)  # noqa: S506
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{path}: cannot read the document ({exc})") from None


def _segment(value: str) -> str:
    # Ids go into paths; keep a slash or a dot-dot from changing the route.
    return quote(value, safe="")


class RemoteBackend:
    """Calls a plughub server's `/v1` API.

    Args:
        base_url: The server (`PLUGHUB_URL`).
        api_key: The team's API key (`PLUGHUB_API_KEY`).
        client: An httpx client to use (tests pass one bound to an in-process app).
        timeout: Seconds to wait for the server (action runs included).
    """

    def __init__(
        self, base_url: str, api_key: str | None, *, client: httpx.Client | None = None, timeout: float = 60.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._client = client or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._owns_client = client is None

    def __repr__(self) -> str:
        return f"RemoteBackend({self.base_url!r})"

    def with_api_key(self, api_key: str) -> RemoteBackend:
        """The same server with another team's key (an SDK object's own `api_key`).

        Args:
            api_key: The key.

        Returns:
            A backend sharing this one's connection pool.
        """
        return RemoteBackend(self.base_url, api_key, client=self._client)

    def close(self) -> None:
        """Close the connection pool."""
        if self._owns_client:
            self._client.close()

    def _call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        content = None
        if json is not None:
            # Escaped to ASCII: text that is not valid Unicode (a lone surrogate) travels as `\ud800`,
            # and the server refuses it with the error the embedded engine raises.
            content = dumps(json, allow_nan=False).encode("ascii")
            headers["Content-Type"] = "application/json"
        try:
            response = self._client.request(method, path, content=content, params=query, headers=headers)
        except httpx.HTTPError as exc:
            raise BackendError(f"cannot reach the plughub server at {self.base_url}: {type(exc).__name__}") from None
        if response.is_success:
            return response.json() if response.content else None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if isinstance(body, dict) and "error" in body:
            raise error_class(str(body["error"]))(str(body.get("message", "")), details=body.get("details") or {})
        raise BackendError(f"the plughub server answered {response.status_code} without an error body")

    def list_integrations(
        self, query: str | None = None, page_number: int = 0, page_size: int = 20, category: str | None = None
    ) -> Page[IntegrationInfo]:
        data = self._call(
            "GET",
            "/v1/integrations",
            params={"query": query, "page_number": page_number, "page_size": page_size, "category": category},
        )
        return Page[IntegrationInfo].model_validate(data)

    def get_integration(self, id_or_name: str) -> IntegrationInfo:
        return IntegrationInfo.model_validate(self._call("GET", f"/v1/integrations/{_segment(id_or_name)}"))

    def create_integration(self, definition: Mapping[str, Any] | str | Path) -> IntegrationInfo:
        body: Any = definition
        if not isinstance(definition, Mapping):
            try:
                body = yaml.safe_load(Path(definition).read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise InvalidInput(f"{definition}: cannot read the definition ({exc})") from None
        return IntegrationInfo.model_validate(self._call("POST", "/v1/integrations", json=body))

    def import_integration(self, source: Mapping[str, Any] | str | Path, options: Mapping[str, Any]) -> ImportReport:
        body: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
        if isinstance(source, Mapping):
            body["document"] = dict(source)
        elif str(source).startswith(("http://", "https://")):
            body["url"] = str(source)  # the server fetches it, through its network guard
        else:
            try:
                body["document"] = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise InvalidInput(f"{source}: cannot read the document ({exc})") from None
        return ImportReport.model_validate(self._call("POST", "/v1/integrations/import", json=body))

    def verify_integration(self, id_or_name: str, documents: Sequence[Mapping[str, Any] | str | Path]) -> VerifyReport:
        sent: list[dict[str, Any]] = []
        for source in documents:
            if isinstance(source, Mapping):
                sent.append({"document": dict(source)})
            elif str(source).startswith(("http://", "https://")):
                sent.append({"url": str(source)})  # the server fetches it, through its network guard
            else:
                sent.append({"name": Path(source).name, "document": _read_document(source)})
        path = f"/v1/integrations/{_segment(id_or_name)}/verify"
        return VerifyReport.model_validate(self._call("POST", path, json={"documents": sent}))

    def create_connection(self, request: ConnectRequest) -> ConnectResult:
        body = request.model_dump(mode="json")
        return ConnectResult.model_validate(self._call("POST", "/v1/connections", json=body))

    def get_connection(self, connection_id: str) -> ConnectionInfo:
        return ConnectionInfo.model_validate(self._call("GET", f"/v1/connections/{_segment(connection_id)}"))

    def list_connections(
        self, query: str | None = None, page_number: int = 0, page_size: int = 20
    ) -> Page[ConnectionInfo]:
        data = self._call(
            "GET", "/v1/connections", params={"query": query, "page_number": page_number, "page_size": page_size}
        )
        return Page[ConnectionInfo].model_validate(data)

    def delete_connection(self, connection_id: str, wait: float = 0) -> DeleteResult:
        data = self._call("DELETE", f"/v1/connections/{_segment(connection_id)}", params={"wait": wait or None})
        return DeleteResult.model_validate(data)

    def reconnect(self, connection_id: str, scopes: list[str] | None = None) -> ConnectResult:
        data = self._call("POST", f"/v1/connections/{_segment(connection_id)}/reconnect", json={"scopes": scopes})
        return ConnectResult.model_validate(data)

    def complete_authorization(self, params: Mapping[str, str]) -> ConnectionInfo:
        data = self._call("POST", "/v1/oauth/complete", json={"params": dict(params)})
        return ConnectionInfo.model_validate(data)

    def list_actions(self, connection_id: str) -> list[ActionInfo]:
        data = self._call("GET", f"/v1/connections/{_segment(connection_id)}/actions")
        return [ActionInfo.model_validate(item) for item in data]

    def refresh_actions(self, connection_id: str) -> list[ActionInfo]:
        data = self._call("POST", f"/v1/connections/{_segment(connection_id)}/actions/refresh")
        return [ActionInfo.model_validate(item) for item in data]

    def get_action(self, connection_id: str, action: str) -> ActionInfo:
        path = f"/v1/connections/{_segment(connection_id)}/actions/{_segment(action)}"
        return ActionInfo.model_validate(self._call("GET", path))

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
        path = f"/v1/connections/{_segment(connection_id)}/actions/{_segment(action)}/run"
        body: dict[str, Any] = {"inputs": dict(inputs or {})}
        # Only what is asked for: a plain run's body stays {"inputs"} (the server's fast lane).
        if paginate:
            body["paginate"] = True
        if max_pages is not None:
            body["max_pages"] = max_pages
        if page_token is not None:
            body["page_token"] = page_token
        return ActionResult.model_validate(self._call("POST", path, json=body))

    def iterate_action(
        self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None, *, max_pages: int | None = None
    ) -> Iterator[ActionResult]:
        # One page per call: the server reads a page and answers a sealed token for the next one,
        # so nothing is fetched before the caller asks for it.
        token: str | None = None
        read = 0
        while max_pages is None or read < max_pages:
            result = self.run_action(connection_id, action, inputs, paginate=True, max_pages=1, page_token=token)
            read += 1
            yield result
            token = result.details.get("next_page_token") if isinstance(result.details, dict) else None
            if result.status is not ResponseStatus.SUCCESS or not token:
                return

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
        sent_headers = dict(headers or {})
        body: Any = json
        if data is not None:
            if json is not None:
                raise InvalidInput("give json or data, not both")
            body = data
            if not any(name.lower() == "content-type" for name in sent_headers):
                # The server sends a JSON object as JSON unless the request says it is a form.
                form = "application/x-www-form-urlencoded"
                sent_headers["Content-Type"] = form if isinstance(data, Mapping) else "text/plain; charset=utf-8"
        request = {"method": method, "path": path, "query": dict(params or {}), "headers": sent_headers}
        if body is not None:
            request["body"] = dict(body) if isinstance(body, Mapping) else body
        data_back = self._call("POST", f"/v1/connections/{_segment(connection_id)}/proxy", json=request)
        return ProxyResponse.model_validate(data_back)

    def set_oauth_app(
        self,
        integration_id: str,
        client_id: str,
        client_secret: str,
        scopes: list[str] | None = None,
        signing_secret: str | None = None,
        webhook_secret: str | None = None,
    ) -> OAuthAppInfo:
        body = {
            "client_id": client_id,
            "client_secret": client_secret,
            "scopes": scopes,
            "signing_secret": signing_secret,
            "webhook_secret": webhook_secret,
        }
        return OAuthAppInfo.model_validate(
            self._call("PUT", f"/v1/integrations/{_segment(integration_id)}/oauth-app", json=body)
        )

    def get_oauth_app(self, integration_id: str) -> OAuthAppInfo:
        return OAuthAppInfo.model_validate(self._call("GET", f"/v1/integrations/{_segment(integration_id)}/oauth-app"))

    def delete_oauth_app(self, integration_id: str) -> None:
        self._call("DELETE", f"/v1/integrations/{_segment(integration_id)}/oauth-app")

    def list_triggers(self, connection_id: str) -> list[TriggerInfo]:
        data = self._call("GET", f"/v1/connections/{_segment(connection_id)}/triggers")
        return [TriggerInfo.model_validate(t) for t in data]

    def subscribe(self, connection_id: str, request: SubscribeRequest, wait: float = 0) -> SubscriptionInfo:
        body = request.model_dump(mode="json")
        path = f"/v1/connections/{_segment(connection_id)}/subscriptions"
        data = self._call("POST", path, json=body, params={"wait": wait or None})
        return SubscriptionInfo.model_validate(data)

    def get_subscription(self, subscription_id: str) -> SubscriptionInfo:
        return SubscriptionInfo.model_validate(self._call("GET", f"/v1/subscriptions/{_segment(subscription_id)}"))

    def list_subscriptions(
        self, connection_id: str | None = None, page_number: int = 0, page_size: int = 20
    ) -> Page[SubscriptionInfo]:
        path = f"/v1/connections/{_segment(connection_id)}/subscriptions" if connection_id else "/v1/subscriptions"
        data = self._call("GET", path, params={"page_number": page_number, "page_size": page_size})
        return Page[SubscriptionInfo].model_validate(data)

    def delete_subscription(self, subscription_id: str, wait: float = 0) -> SubscriptionDeleted:
        data = self._call("DELETE", f"/v1/subscriptions/{_segment(subscription_id)}", params={"wait": wait or None})
        return SubscriptionDeleted.model_validate(data)

    def list_events(
        self, subscription_id: str, after: str | None = None, limit: int = 100, wait: float = 0
    ) -> list[EventInfo]:
        params = {"after": after, "limit": limit, "wait": wait or None}
        data = self._call("GET", f"/v1/subscriptions/{_segment(subscription_id)}/events", params=params)
        return [EventInfo.model_validate(e) for e in data]

    def poll_subscription(self, subscription_id: str) -> list[EventInfo]:
        data = self._call("POST", f"/v1/subscriptions/{_segment(subscription_id)}/poll")
        return [EventInfo.model_validate(e) for e in data]

    def list_deliveries(self, subscription_id: str, status: str | None = None, limit: int = 100) -> list[DeliveryInfo]:
        params = {"status": status, "limit": limit}
        data = self._call("GET", f"/v1/subscriptions/{_segment(subscription_id)}/deliveries", params=params)
        return [DeliveryInfo.model_validate(d) for d in data]

    def redeliver(self, subscription_id: str, event_id: str) -> DeliveryInfo:
        path = f"/v1/subscriptions/{_segment(subscription_id)}/events/{_segment(event_id)}/redeliver"
        return DeliveryInfo.model_validate(self._call("POST", path))

"""How an MCP server behind OAuth is authorized, found the way the MCP authorization spec says.

An unauthenticated request to the server answers 401; its `WWW-Authenticate` names the protected
resource metadata (RFC 9728; else the well-known URIs), which names the authorization server,
whose metadata (RFC 8414, else OpenID Connect Discovery) gives the endpoints. The client plughub
is there is the team's OAuth app for the integration, or one registered dynamically (RFC 7591) and
kept sealed per team and server origin. Every request goes through the engine's HTTP client, so
the network guard checks each URL; every document is validated before it is used.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from typing import Any

import httpx

from plughub.config import Settings
from plughub.engine.credentials import Credentials
from plughub.engine.http.guard import Guard, GuardRefusal
from plughub.engine.mcp_client.urls import origin_of, uses_sse
from plughub.engine.oauth import registration
from plughub.engine.oauth.apps import OAuthApp, OAuthApps
from plughub.engine.oauth.discovered import DiscoveredOAuth
from plughub.engine.oauth.discovery import (
    AuthorizationServer,
    ProtectedResource,
    check_resource_metadata,
    check_server_metadata,
    check_url,
    is_loopback_host,
    parse_challenges,
    resource_metadata_urls,
    server_metadata_urls,
)
from plughub.engine.store import Store
from plughub.exceptions import InvalidInput, OAuthAppMissing, OAuthProviderError
from plughub.via import HEADER as VIA_HEADER
from plughub.via import outbound

__all__ = ["McpAuthorization", "registered_client_id"]

logger = logging.getLogger("plughub.oauth")

_MAX_DOCUMENT = 1 << 20
# The probe is an `initialize`, the first request any MCP client sends; only its status matters.
_PROBE_VERSION = "2025-06-18"


def registered_client_id(team: str, origin: str) -> str:
    """The vault record of the client registered for a team at an MCP server's authorization server.

    Args:
        team: The team.
        origin: The MCP server's origin.

    Returns:
        `mcp-client:<team>:<origin>`.
    """
    return f"mcp-client:{team}:{origin}"


class McpAuthorization:
    """Discovers an MCP server's authorization server and the client plughub is there.

    Args:
        store: Where registered clients are kept.
        credentials: Seals and opens them.
        apps: The teams' OAuth apps (a team's app is used rather than registering a client).
        client: The HTTP client (the network guard's, in a server).
        settings: The callback URL a registered client redirects to.
        guard: The network guard, or None; plain http is accepted on a loopback host it allows.
    """

    def __init__(
        self,
        store: Store,
        credentials: Credentials,
        apps: OAuthApps,
        client: httpx.Client,
        settings: Settings,
        guard: Guard | None,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._apps = apps
        self._client = client
        self._settings = settings
        self._guard = guard

    def __repr__(self) -> str:
        return "McpAuthorization()"

    def discover(self, url: str, transport: str, *, integration_id: str, team: str) -> tuple[DiscoveredOAuth, OAuthApp]:
        """Find how a server is authorized, and the client to ask with (registering one if need be).

        Args:
            url: The MCP endpoint (secret: only its origin is ever shown).
            transport: `streamable_http`, `sse` or `auto`.
            integration_id: The integration (whose OAuth app the team may have set).
            team: The team connecting.

        Returns:
            What was found (the registered client inside, if one was registered) and the client.

        Raises:
            InvalidInput: The server does not ask for credentials, or its URL is plain http elsewhere than loopback.
            OAuthProviderError: A step failed: unreachable or refused by the network guard, no or
                invalid metadata, another issuer, no PKCE with S256, a refused registration.
            OAuthAppMissing: The authorization server registers no clients and the team has no app.
        """
        origin = origin_of(url)
        try:
            check_url(url, f"the MCP server at {origin}", self._http_allowed)
        except OAuthProviderError as exc:
            raise InvalidInput(f"{exc.message}; nothing was stored") from None
        challenge = self._probe(url, transport, origin)
        resource = self._resource(url, origin, challenge.get("resource_metadata"))
        where = f"the authorization server of the MCP server at {origin}"
        issuer = check_url(resource.authorization_servers[0], where, self._http_allowed)
        server = self._server(issuer)
        scopes = challenge["scope"].split() if challenge.get("scope") else list(resource.scopes or [])
        try:
            app = self._apps.app(integration_id, team)
        except OAuthAppMissing:
            if server.registration_endpoint is None:
                raise self._no_client(integration_id, server, origin) from None
            client = self._registered(team, origin, server, scopes)
            found = self._found(server, resource, scopes, client.token_auth_method, client)
            return found, OAuthApp(client.client_id, client.client_secret, None, "registered")
        # The team's app has a secret: a confidential client's methods only.
        method = registration.choose_auth_method(tuple(m for m in server.token_auth_methods if m != "none"))
        return self._found(server, resource, scopes, method, None), app

    @staticmethod
    def _found(
        server: AuthorizationServer,
        resource: ProtectedResource,
        scopes: list[str],
        method: str,
        registered: registration.RegisteredClient | None,
    ) -> DiscoveredOAuth:
        return DiscoveredOAuth(
            issuer=server.issuer,
            authorization_endpoint=server.authorization_endpoint,
            token_endpoint=server.token_endpoint,
            revocation_endpoint=server.revocation_endpoint,
            resource=resource.resource,
            scopes=scopes,
            token_auth_method=method,
            client_id=registered.client_id if registered else None,
            client_secret=registered.client_secret if registered else "",
            issuer_in_callback=server.issuer_in_callback,
        )

    def _http_allowed(self, host: str) -> bool:
        if not is_loopback_host(host):
            return False
        if self._guard is None:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = ipaddress.ip_address("127.0.0.1")  # localhost
        return self._guard.allowlist.allows(host, address)

    # The requests

    def _send(self, request: httpx.Request, what: str, *, read: bool = True) -> httpx.Response:
        """Send through the engine's client (the guard's, in a server); the answer read, at most 1 MiB."""
        request.headers.setdefault("Accept", "application/json")
        try:
            response = self._client.send(request, stream=True)
        except GuardRefusal as exc:
            raise OAuthProviderError(f"{what}: {exc}", details={"error": "outbound_blocked"}) from None
        except httpx.HTTPError as exc:
            raise OAuthProviderError(
                f"could not reach {what}: {type(exc).__name__}", details={"error": "unreachable"}
            ) from None
        try:
            if not read:  # the probe: an MCP server that answers may hold a stream open
                return response
            content = b""
            for chunk in response.iter_bytes():
                content += chunk
                if len(content) > _MAX_DOCUMENT:
                    raise OAuthProviderError(f"{what} answered more than 1 MiB", details={"error": "invalid_metadata"})
            return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)
        except httpx.HTTPError as exc:
            raise OAuthProviderError(f"{what} failed: {type(exc).__name__}", details={"error": "unreachable"}) from None
        finally:
            response.close()

    def _probe(self, url: str, transport: str, origin: str) -> dict[str, str]:
        headers = {VIA_HEADER: outbound()}
        if uses_sse(url, transport):
            request = httpx.Request("GET", url, headers={**headers, "Accept": "text/event-stream"})
        else:
            initialize = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": _PROBE_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "plughub", "version": "0"},
                },
            }
            request = httpx.Request(
                "POST",
                url,
                json=initialize,
                headers={**headers, "Accept": "application/json, text/event-stream"},
            )
        where = f"the MCP server at {origin}"
        response = self._send(request, where, read=False)
        challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
        if response.status_code in (401, 403) and (response.status_code == 401 or "bearer" in challenges):
            return challenges.get("bearer", {})
        if response.is_success:
            raise InvalidInput(
                f"{where} answered without asking for credentials, so it is not behind OAuth; connect with NO_AUTH "
                "(or BEARER_TOKEN or API_KEY when it takes a token or a key); nothing was stored"
            )
        hint = " Check the URL's path and the transport." if response.status_code in (404, 405) else ""
        raise OAuthProviderError(
            f"{where} answered HTTP {response.status_code} to a request without credentials, not 401 with "
            f"the way to authorize (the MCP authorization spec).{hint}",
            details={"error": "not_protected", "status_code": response.status_code},
        )

    def _document(self, url: str, what: str) -> Any:
        """The JSON document at a URL, or None when there is none there (any error status)."""
        response = self._send(httpx.Request("GET", url), what)
        if not response.is_success:
            return None
        try:
            return json.loads(response.content)
        except ValueError:
            raise OAuthProviderError(f"{what} is not JSON", details={"error": "invalid_metadata"}) from None

    def _resource(self, url: str, origin: str, from_challenge: str | None) -> ProtectedResource:
        where = f"the protected resource metadata of the MCP server at {origin}"
        if from_challenge:
            check_url(from_challenge, where, self._http_allowed)
        for candidate in resource_metadata_urls(url, from_challenge):
            document = self._document(candidate, f"{where} ({origin_of(candidate)})")
            if document is not None:
                return check_resource_metadata(document, url, origin)
        raise OAuthProviderError(
            f"the MCP server at {origin} asks for authorization but publishes no protected resource metadata "
            "(RFC 9728: neither where its WWW-Authenticate points nor at /.well-known/oauth-protected-resource), "
            "so plughub cannot find its authorization server",
            details={"error": "no_metadata"},
        )

    def _server(self, issuer: str) -> AuthorizationServer:
        where = f"the metadata of the authorization server {issuer}"
        for candidate in server_metadata_urls(issuer):
            document = self._document(candidate, where)
            if document is not None:
                return check_server_metadata(document, issuer, self._http_allowed)
        raise OAuthProviderError(
            f"the authorization server {issuer} publishes no metadata (RFC 8414 or OpenID Connect Discovery)",
            details={"error": "no_metadata"},
        )

    # The client

    def _no_client(self, integration_id: str, server: AuthorizationServer, origin: str) -> OAuthAppMissing:
        callback = self._settings.callback_url
        return OAuthAppMissing(
            f"the authorization server {server.issuer} of the MCP server at {origin} does not register clients "
            f"itself (no registration_endpoint), and no OAuth app is set for {integration_id}. Register a client "
            f"there with the redirect URI {callback}, then call IntegrationFactory.get({integration_id!r})"
            f".set_oauth_app(client_id=..., client_secret=...) or run `plughub oauth-app set {integration_id}`; "
            "nothing was stored",
            details={"integration": integration_id, "redirect_uri": callback, "issuer": server.issuer},
        )

    def _registered(
        self, team: str, origin: str, server: AuthorizationServer, scopes: list[str]
    ) -> registration.RegisteredClient:
        record_id = registered_client_id(team, origin)
        callback = self._settings.callback_url
        kept = self._credentials.read(record_id)
        expires_at = kept.get("expires_at")
        if (
            kept.get("issuer") == server.issuer
            and kept.get("redirect_uri") == callback
            and (expires_at is None or float(expires_at) > time.time() + 60)
        ):
            return registration.RegisteredClient(
                kept["client_id"], kept["client_secret"], kept["token_auth_method"], expires_at
            )
        assert server.registration_endpoint is not None  # noqa: S101 - the caller checked
        method = registration.choose_auth_method(server.token_auth_methods)
        request = registration.registration_request(
            server.registration_endpoint, redirect_uri=callback, auth_method=method, scopes=scopes
        )
        response = self._send(request, f"the registration endpoint of {server.issuer}")
        client = registration.parse_registration(response, method)
        data = {
            "issuer": server.issuer,
            "redirect_uri": callback,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "token_auth_method": client.token_auth_method,
            "expires_at": client.expires_at,
        }
        self._credentials.write(lambda seal: self._store.credentials.put(record_id, seal(record_id, data)))
        logger.info("registered plughub as a client of %s for the MCP server at %s", server.issuer, origin)
        return client

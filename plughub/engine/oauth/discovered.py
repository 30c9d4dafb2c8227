"""A connection's own OAuth 2.0 entry, found by discovery rather than written in its definition.

An MCP server behind OAuth names its authorization server at connect time; what discovery found
(endpoints, issuer, the resource, and the client plughub registered there, if it did) is sealed
with the connection's tokens under `DISCOVERED`, and becomes the `OAuth2Spec` and `OAuthApp` that
consent, refresh and revocation use, through the same code as every other OAuth 2.0 connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from plughub.engine.catalog.models import OAuth2Spec
from plughub.engine.oauth.apps import OAuthApp

__all__ = ["DISCOVERED", "DiscoveredOAuth", "discovered_in"]

DISCOVERED = "discovered"
# RFC 7591 / RFC 8414 names of the token endpoint's client authentication, as definitions say them.
_AUTH_METHODS: dict[str, Literal["basic", "post", "none"]] = {
    "client_secret_basic": "basic",
    "client_secret_post": "post",
    "none": "none",
}


@dataclass(frozen=True)
class DiscoveredOAuth:
    """One connection's authorization server and client.

    Attributes:
        issuer: The authorization server's issuer identifier (a callback's `iss` must equal it).
        authorization_endpoint: Its consent page.
        token_endpoint: Its token endpoint.
        revocation_endpoint: Its revocation endpoint, if any.
        resource: The MCP server's resource identifier, sent as `resource` (RFC 8707).
        scopes: The scopes to ask for when the caller names none.
        token_auth_method: `client_secret_basic`, `client_secret_post` or `none`.
        client_id: The client plughub registered (RFC 7591); None uses the team's OAuth app.
        client_secret: That client's secret (empty for a public client).
        issuer_in_callback: The server says its callbacks carry `iss` (RFC 9207).
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None
    resource: str
    scopes: list[str] = field(default_factory=list)
    token_auth_method: str = "client_secret_basic"
    client_id: str | None = None
    client_secret: str = field(default="", repr=False)
    issuer_in_callback: bool = False

    def spec(self) -> OAuth2Spec:
        """The OAuth 2.0 entry: these endpoints, PKCE, and `resource` on every request.

        Returns:
            The entry, as a definition would say it.
        """
        return OAuth2Spec(
            mode="OAUTH2",
            authorization_url=self.authorization_endpoint,
            token_url=self.token_endpoint,
            revocation_url=self.revocation_endpoint,
            default_scopes=list(self.scopes),
            pkce=True,
            token_request_auth_method=_AUTH_METHODS.get(self.token_auth_method, "basic"),
            authorization_params={"resource": self.resource},
            token_params={"resource": self.resource},
            issuer=self.issuer,
            issuer_in_callback=self.issuer_in_callback,
        )

    def app(self) -> OAuthApp | None:
        """The registered client, or None when the team's OAuth app is the client."""
        if self.client_id is None:
            return None
        return OAuthApp(self.client_id, self.client_secret, None, "registered")

    def stored(self) -> dict[str, Any]:
        """What is sealed with the connection's credentials.

        Returns:
            A JSON-ready dict.
        """
        return asdict(self)


def discovered_in(credentials: Mapping[str, Any]) -> DiscoveredOAuth | None:
    """The discovered entry sealed with a connection's credentials (or a consent's flow secrets).

    Args:
        credentials: The opened credentials.

    Returns:
        The entry, or None for a connection whose definition names its endpoints.
    """
    found = credentials.get(DISCOVERED)
    if not isinstance(found, Mapping):
        return None
    return DiscoveredOAuth(**{name: value for name, value in found.items() if name in _FIELDS})


_FIELDS = frozenset(f.name for f in fields(DiscoveredOAuth))

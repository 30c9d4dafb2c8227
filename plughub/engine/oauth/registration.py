"""OAuth 2.0 dynamic client registration (RFC 7591): the request plughub sends, and the answer read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from plughub.exceptions import OAuthProviderError

__all__ = ["CLIENT_NAME", "RegisteredClient", "choose_auth_method", "parse_registration", "registration_request"]

CLIENT_NAME = "plughub"
# plughub keeps its secret on the server side: a confidential client when the server allows one.
_PREFERRED = ("client_secret_basic", "client_secret_post", "none")


@dataclass(frozen=True)
class RegisteredClient:
    """A client an authorization server registered.

    Attributes:
        client_id: Its id.
        client_secret: Its secret (empty for a public client).
        token_auth_method: How it authenticates at the token endpoint.
        expires_at: When the secret expires (epoch seconds), or None when it does not.
    """

    client_id: str
    client_secret: str = field(repr=False)
    token_auth_method: str
    expires_at: float | None


def choose_auth_method(supported: tuple[str, ...]) -> str:
    """The token endpoint authentication to register with.

    Args:
        supported: What the server lists (`token_endpoint_auth_methods_supported`).

    Returns:
        `client_secret_basic`, `client_secret_post` or `none`, the first plughub can use.

    Raises:
        OAuthProviderError: The server offers none of them.
    """
    for method in _PREFERRED:
        if method in supported:
            return method
    raise OAuthProviderError(
        f"the authorization server offers no token endpoint authentication plughub supports "
        f"({', '.join(supported) or 'none listed'}; plughub uses {', '.join(_PREFERRED)})",
        details={"error": "unsupported_auth_method"},
    )


def registration_request(
    endpoint: str, *, redirect_uri: str, auth_method: str, scopes: list[str] | None
) -> httpx.Request:
    """Build a registration request (RFC 7591 §3.1) for an authorization code client.

    Args:
        endpoint: The registration endpoint.
        redirect_uri: plughub's callback URL, the client's only redirect URI.
        auth_method: Its token endpoint authentication.
        scopes: The scopes it will ask for, if known.

    Returns:
        The request.
    """
    metadata: dict[str, Any] = {
        "client_name": CLIENT_NAME,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": auth_method,
    }
    if scopes:
        metadata["scope"] = " ".join(scopes)
    return httpx.Request("POST", endpoint, json=metadata, headers={"Accept": "application/json"})


def parse_registration(response: httpx.Response, auth_method: str) -> RegisteredClient:
    """Read a registration answer (RFC 7591 §3.2).

    Args:
        response: The answer.
        auth_method: The method asked for (used when the answer does not say).

    Returns:
        The client.

    Raises:
        OAuthProviderError: An error answer (RFC 7591 §3.2.2), or no client id, or no secret for a
            confidential client.
    """
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    if response.is_error or not isinstance(data.get("client_id"), str) or not data.get("client_id"):
        error = str(data.get("error") or f"http_{response.status_code}")
        description = str(data.get("error_description") or "")
        raise OAuthProviderError(
            f"the authorization server refused to register plughub as a client: {error}"
            + (f": {description}" if description else ""),
            details={"error": error, "error_description": description, "status_code": response.status_code},
        )
    method = str(data.get("token_endpoint_auth_method") or auth_method)
    secret = data.get("client_secret")
    if method != "none" and not (isinstance(secret, str) and secret):
        raise OAuthProviderError(
            f"the authorization server registered a {method} client without a client_secret",
            details={"error": "invalid_client_metadata"},
        )
    expires = data.get("client_secret_expires_at")
    # RFC 7591 §3.2.1: 0 means the secret does not expire.
    expires_at = float(expires) if isinstance(expires, (int, float)) and expires > 0 else None
    return RegisteredClient(str(data["client_id"]), secret if isinstance(secret, str) else "", method, expires_at)

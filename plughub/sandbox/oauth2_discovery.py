"""What lets a client find and join the sandbox's OAuth 2.0 provider by itself, on Authlib's server classes.

RFC 8414 authorization server metadata (built and validated with Authlib's
`AuthorizationServerMetadata`) and RFC 7591 dynamic client registration (Authlib's
`ClientRegistrationEndpoint`, open to anyone, as MCP clients expect).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

__all__ = ["METADATA_PATH", "REGISTRATION_PATH", "Registration", "server_metadata"]

METADATA_PATH = "/.well-known/oauth-authorization-server"
REGISTRATION_PATH = "/oauth2/register"
SCOPES = ["notes:read", "notes:write"]
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class _Provider(Protocol):
    issuer: str
    registration: bool
    sends_iss: bool
    registered: list[str]
    metadata_changes: dict[str, Any]

    @property
    def register_client(self) -> Callable[..., None]: ...


def server_metadata(provider: _Provider) -> dict[str, Any]:
    """The provider's metadata (RFC 8414 §2), with the provider's `metadata_changes` applied.

    Args:
        provider: The provider (its issuer, whether it registers clients, the test changes).

    Returns:
        The metadata document.
    """
    issuer = provider.issuer
    metadata = AuthorizationServerMetadata(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth2/authorize",
            "token_endpoint": f"{issuer}/oauth2/token",
            "revocation_endpoint": f"{issuer}/oauth2/revoke",
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": provider.sends_iss,
        }
    )
    if provider.registration:
        metadata["registration_endpoint"] = f"{issuer}{REGISTRATION_PATH}"
    metadata.validate()
    document = dict(metadata)
    for key, value in provider.metadata_changes.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return document


class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
    """RFC 7591 registration: anyone may register an authorization code client (no initial token)."""

    def __init__(self, server: Any, provider: _Provider) -> None:
        super().__init__(server)
        self.provider = provider

    def authenticate_token(self, request: Any) -> Any:
        """Open registration: every request is allowed (RFC 7591 §3 permits it)."""
        return {"anonymous": True}

    def get_server_metadata(self) -> dict[str, Any]:
        """The metadata the client's is checked against (scopes, grants, auth methods)."""
        return server_metadata(self.provider)

    def save_client(self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any) -> Any:
        """Register the client with the provider."""
        scopes = str(client_metadata.get("scope") or " ".join(SCOPES)).split()
        self.provider.register_client(
            client_info["client_id"],
            client_info["client_secret"],
            list(client_metadata.get("redirect_uris") or []),
            scopes,
            token_endpoint_auth_method=client_metadata.get("token_endpoint_auth_method", "client_secret_basic"),
            grant_types=tuple(client_metadata.get("grant_types") or ("authorization_code",)),
        )
        self.provider.registered.append(client_info["client_id"])
        return client_info

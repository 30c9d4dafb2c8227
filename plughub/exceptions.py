"""plughub's exceptions: one hierarchy, each class with a machine `code` and an HTTP status.

```
* PlughubError                       plughub_error           500
  x ConfigurationError               configuration_error     500
  x AuthenticationError              unauthorized            401   (missing, invalid or revoked API key)
  x PayloadTooLarge                  payload_too_large       413
  x InvalidInput (ValueError)        invalid_input           422
    + UnsupportedScheme              unsupported_scheme      422
    + MissingInputs                  missing_inputs          422
    + UnknownInputs                  unknown_inputs          422
  x NotFoundError (ValueError, LookupError)                  404
    + IntegrationNotFound            integration_not_found
    + ConnectionNotFound             connection_not_found
    + ActionNotFound                 action_not_found
  x ConflictError (ValueError)       conflict                409
  x CatalogError                     catalog_error           500   (file and key in the message)
    + InvalidDefinition (ValueError) invalid_definition      422   (a user-submitted definition)
  x CredentialError                  credential_error        500
    + VaultKeyError                  vault_key_error         500   (never echoes a key)
  x ConnectionStateError (ValueError) connection_not_active  409
    + InvalidCredentials             invalid_credentials     409   (stored values that cannot be sent)
  x OAuthError                       oauth_error             400
    + OAuthAppMissing (ValueError)   oauth_app_missing       422
    + OAuthStateError (ValueError)   oauth_state_invalid     400
    + OAuthProviderError             oauth_provider_error    502   (the provider's error code in details)
    + ConnectionExpired              connection_expired      409   (refresh refused; reconnect())
  x ActionError                      action_error            502
    + UpstreamStatusError            upstream_status         502
    + UpstreamError                  upstream_error          502   (a 2xx answer the definition calls an error)
    + UpstreamRedirect               upstream_redirect       502   (to another host: not followed)
    + UpstreamTransportError         upstream_unreachable    504
    + OutboundBlocked                outbound_blocked        502   (the network guard refused the host)
    + McpToolError                   mcp_tool_error          502   (the MCP tool reported an error)
  x BackendError                     backend_error           503
  x DatabaseUnavailable              database_unavailable    503   (the server sends Retry-After)
```

Invalid calls raise; a failing action comes back as a FAILED `ModelResponse` whose
`error_code` is one of these codes. `ERRORS_BY_CODE` rebuilds a class from its code (the remote
backend uses it so that callers see the same exceptions in both modes).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ERRORS_BY_CODE",
    "ActionError",
    "ActionNotFound",
    "AuthenticationError",
    "BackendError",
    "CatalogError",
    "ConfigurationError",
    "ConflictError",
    "ConnectionExpired",
    "ConnectionNotFound",
    "ConnectionStateError",
    "CredentialError",
    "DatabaseUnavailable",
    "IntegrationNotFound",
    "InvalidCredentials",
    "InvalidDefinition",
    "InvalidInput",
    "McpProtocolError",
    "McpToolError",
    "MissingInputs",
    "NotFoundError",
    "OAuthAppMissing",
    "OAuthError",
    "OAuthProviderError",
    "OAuthStateError",
    "OutboundBlocked",
    "PayloadTooLarge",
    "PlughubError",
    "UnknownInputs",
    "UnsupportedScheme",
    "UpstreamError",
    "UpstreamRedirect",
    "UpstreamStatusError",
    "UpstreamTimeout",
    "UpstreamTransportError",
    "VaultKeyError",
    "error_class",
]


class PlughubError(Exception):
    """Base of every plughub error.

    Args:
        message: What happened and, where it helps, what to do about it. Never a secret.
        details: Structured context safe to show (field names, accepted values, ...).
    """

    code: str = "plughub_error"
    status_code: int = 500
    # Seconds a client should wait before trying again (the server's `Retry-After`), where waiting helps.
    retry_after: int | None = None

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """Return the error as the server's JSON body.

        Returns:
            `{"error": code, "message": ..., "details": ...}`.
        """
        return {"error": self.code, "message": self.message, "details": self.details}


class ConfigurationError(PlughubError):
    """plughub is not configured correctly (a bad setting, an unreadable home directory)."""

    code = "configuration_error"


class AuthenticationError(PlughubError):
    """The request carries no API key, or one that is unknown or revoked."""

    code = "unauthorized"
    status_code = 401


class PayloadTooLarge(PlughubError):
    """The request body is larger than the server accepts."""

    code = "payload_too_large"
    status_code = 413


class InvalidInput(PlughubError, ValueError):
    """A call's arguments are invalid; nothing was stored or sent."""

    code = "invalid_input"
    status_code = 422


class UnsupportedScheme(InvalidInput):
    """The integration does not support the authentication scheme asked for."""

    code = "unsupported_scheme"


class MissingInputs(InvalidInput):
    """Required inputs are missing; `details["missing"]` lists every one."""

    code = "missing_inputs"


class UnknownInputs(InvalidInput):
    """Inputs the target does not accept; `details["accepted"]` lists those it does."""

    code = "unknown_inputs"


class NotFoundError(PlughubError, ValueError, LookupError):
    """Something looked up by id or name does not exist."""

    code = "not_found"
    status_code = 404


class IntegrationNotFound(NotFoundError):
    """No integration has this id or name."""

    code = "integration_not_found"


class ConnectionNotFound(NotFoundError):
    """No connection has this id (or it belongs to another team)."""

    code = "connection_not_found"


class ActionNotFound(NotFoundError):
    """The connection's integration has no action with this code."""

    code = "action_not_found"


class ConflictError(PlughubError, ValueError):
    """The call conflicts with what exists (a duplicate integration id, ...)."""

    code = "conflict"
    status_code = 409


class CatalogError(PlughubError):
    """An integration definition is broken; the message names the file and the key."""

    code = "catalog_error"


class InvalidDefinition(CatalogError, InvalidInput):
    """A definition a user submitted is broken; the message names the key."""

    code = "invalid_definition"
    status_code = 422


class CredentialError(PlughubError):
    """Credentials cannot be stored or opened."""

    code = "credential_error"


class VaultKeyError(CredentialError):
    """The master key is missing or does not open this store."""

    code = "vault_key_error"


class ConnectionStateError(PlughubError, ValueError):
    """The connection is not active (pending consent, failed or expired)."""

    code = "connection_not_active"
    status_code = 409


class InvalidCredentials(ConnectionStateError):
    """A connection's stored credentials cannot be sent (a line break in a header value); connect again."""

    code = "invalid_credentials"


class OAuthError(PlughubError):
    """An OAuth flow could not go on."""

    code = "oauth_error"
    status_code = 400


class OAuthAppMissing(OAuthError, ValueError):
    """No OAuth client (app) is configured for the integration; the message says how to set one."""

    code = "oauth_app_missing"
    status_code = 422


class OAuthStateError(OAuthError, ValueError):
    """The callback's state is unknown, expired or already used."""

    code = "oauth_state_invalid"


class OAuthProviderError(OAuthError):
    """The provider refused (access_denied, invalid_grant, ...); `details["error"]` has its code."""

    code = "oauth_provider_error"
    status_code = 502


class ConnectionExpired(OAuthError):
    """The provider refused to refresh the token; the connection is expired until `reconnect()`."""

    code = "connection_expired"
    status_code = 409


class ActionError(PlughubError):
    """An action failed while it ran."""

    code = "action_error"
    status_code = 502


class UpstreamStatusError(ActionError):
    """The service answered with an error status; `details` has the status and an excerpt."""

    code = "upstream_status"


class UpstreamError(ActionError):
    """The service answered 2xx with an error the definition's `response.error_when` recognises.

    Slack's `{"ok": false, "error": ...}`, GraphQL's `errors`: the message is the service's own.
    """

    code = "upstream_error"


class UpstreamRedirect(ActionError):
    """The service redirected to another host, which plughub does not follow (credentials stay put)."""

    code = "upstream_redirect"


class UpstreamTransportError(ActionError):
    """The service could not be reached or did not answer in time."""

    code = "upstream_unreachable"
    status_code = 504


class UpstreamTimeout(UpstreamTransportError):
    """The service did not answer in time."""

    code = "upstream_timeout"


class OutboundBlocked(ActionError):
    """The network guard refused the host: it resolves to a private address the operator did not allow."""

    code = "outbound_blocked"


class McpProtocolError(ActionError):
    """An MCP server answered something that is not MCP (bad JSON-RPC, HTML, a wrong endpoint)."""

    code = "mcp_protocol_error"


class McpToolError(ActionError):
    """An MCP server's tool answered with an error (its text is the message)."""

    code = "mcp_tool_error"


class BackendError(PlughubError):
    """The plughub server could not be reached or answered something unexpected."""

    code = "backend_error"
    status_code = 503


class DatabaseUnavailable(PlughubError):
    """The database cannot be reached (stopped, restarting, out of connections); try again shortly."""

    code = "database_unavailable"
    status_code = 503
    retry_after = 5


def _subclasses(cls: type[PlughubError]) -> list[type[PlughubError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found


ERRORS_BY_CODE: dict[str, type[PlughubError]] = {c.code: c for c in _subclasses(PlughubError)}


def error_class(code: str) -> type[PlughubError]:
    """Find the exception class for an error code.

    Args:
        code: A `PlughubError.code`.

    Returns:
        The class with that code, or `PlughubError` for an unknown code.
    """
    return ERRORS_BY_CODE.get(code, PlughubError)

"""plughub's exceptions: one hierarchy, each class with a machine `code`.

```
* PlughubError                        plughub_error
  x ConfigurationError                configuration_error
  x AuthenticationError               unauthorized            (missing, invalid or revoked API key)
  x PayloadTooLarge                   payload_too_large
  x InvalidInput (ValueError)         invalid_input
    + UnsupportedScheme               unsupported_scheme
    + MissingInputs                   missing_inputs
    + UnknownInputs                   unknown_inputs
  x NotFoundError (ValueError, LookupError)
    + IntegrationNotFound             integration_not_found
    + ConnectionNotFound              connection_not_found
    + ActionNotFound                  action_not_found
    + TriggerNotFound                 trigger_not_found
    + SubscriptionNotFound            subscription_not_found
    + EventNotFound                   event_not_found
  x ConflictError (ValueError)        conflict
  x CatalogError                      catalog_error           (file and key in the message)
    + InvalidDefinition (ValueError)  invalid_definition      (a user-submitted definition)
  x CredentialError                   credential_error
    + VaultKeyError                   vault_key_error         (never echoes a key)
  x ConnectionStateError (ValueError) connection_not_active
    + InvalidCredentials              invalid_credentials     (stored values that cannot be sent)
  x OAuthError                        oauth_error
    + OAuthAppMissing (ValueError)    oauth_app_missing
    + OAuthStateError (ValueError)    oauth_state_invalid
    + OAuthProviderError              oauth_provider_error    (the provider's error code in details)
    + ConnectionExpired               connection_expired      (refresh refused; reconnect())
  x ActionError                       action_error
    + UpstreamStatusError             upstream_status
    + UpstreamError                   upstream_error          (a 2xx answer the definition calls an error)
    + UpstreamRedirect                upstream_redirect       (to another host: not followed)
    + UpstreamTransportError          upstream_unreachable
      + UpstreamTimeout               upstream_timeout
    + OutboundBlocked                 outbound_blocked        (the network guard refused the host)
    + McpProtocolError                mcp_protocol_error
    + McpToolError                    mcp_tool_error          (the MCP tool reported an error)
  x BackendError                      backend_error
  x DatabaseUnavailable               database_unavailable    (try again shortly)
```

Invalid calls raise; a failing action comes back as a FAILED `ModelResponse` whose
`error_code` is one of these codes. `ERRORS_BY_CODE` rebuilds a class from its code (the remote
backend uses it so that callers see the same exceptions in both modes). HTTP statuses are the
server's business: `plughub.server.errors` maps each class to one.
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
    "EventNotFound",
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
    "SubscriptionNotFound",
    "TriggerNotFound",
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


class PayloadTooLarge(PlughubError):
    """The request body is larger than the server accepts."""

    code = "payload_too_large"


class InvalidInput(PlughubError, ValueError):
    """A call's arguments are invalid; nothing was stored or sent."""

    code = "invalid_input"


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


class IntegrationNotFound(NotFoundError):
    """No integration has this id or name."""

    code = "integration_not_found"


class ConnectionNotFound(NotFoundError):
    """No connection has this id (or it belongs to another team)."""

    code = "connection_not_found"


class ActionNotFound(NotFoundError):
    """The connection's integration has no action with this code."""

    code = "action_not_found"


class TriggerNotFound(NotFoundError):
    """The connection's integration has no trigger with this code."""

    code = "trigger_not_found"


class SubscriptionNotFound(NotFoundError):
    """No subscription has this id (or it belongs to another team)."""

    code = "subscription_not_found"


class EventNotFound(NotFoundError):
    """The subscription has no event with this id."""

    code = "event_not_found"


class ConflictError(PlughubError, ValueError):
    """The call conflicts with what exists (a duplicate integration id, ...)."""

    code = "conflict"


class CatalogError(PlughubError):
    """An integration definition is broken; the message names the file and the key."""

    code = "catalog_error"


class InvalidDefinition(CatalogError, InvalidInput):
    """A definition a user submitted is broken; the message names the key."""

    code = "invalid_definition"


class CredentialError(PlughubError):
    """Credentials cannot be stored or opened."""

    code = "credential_error"


class VaultKeyError(CredentialError):
    """The master key is missing or does not open this store."""

    code = "vault_key_error"


class ConnectionStateError(PlughubError, ValueError):
    """The connection is not active (pending consent, failed or expired)."""

    code = "connection_not_active"


class InvalidCredentials(ConnectionStateError):
    """A connection's stored credentials cannot be sent (a line break in a header value); connect again."""

    code = "invalid_credentials"


class OAuthError(PlughubError):
    """An OAuth flow could not go on."""

    code = "oauth_error"


class OAuthAppMissing(OAuthError, ValueError):
    """No OAuth client (app) is configured for the integration; the message says how to set one."""

    code = "oauth_app_missing"


class OAuthStateError(OAuthError, ValueError):
    """The callback's state is unknown, expired or already used."""

    code = "oauth_state_invalid"


class OAuthProviderError(OAuthError):
    """The provider refused (access_denied, invalid_grant, ...); `details["error"]` has its code."""

    code = "oauth_provider_error"


class ConnectionExpired(OAuthError):
    """The provider refused to refresh the token; the connection is expired until `reconnect()`."""

    code = "connection_expired"


class ActionError(PlughubError):
    """An action failed while it ran."""

    code = "action_error"


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


class DatabaseUnavailable(PlughubError):
    """The database cannot be reached (stopped, restarting, out of connections); try again shortly."""

    code = "database_unavailable"


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

"""Connections as they cross the backend boundary. Secrets travel only inside `ConnectRequest`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from plughub.enums import AuthenticationSchema, ConnectionStatus, FunctionType

__all__ = [
    "AIXPLAIN_MCP_INTEGRATION_ID",
    "INTEGRATION_ALIASES",
    "MCP_INTEGRATION_ID",
    "ConnectRequest",
    "ConnectResult",
    "ConnectionInfo",
    "DeleteResult",
    "OAuthAppInfo",
    "is_mcp_integration",
]

MCP_INTEGRATION_ID = "mcp"
"""The bundled integration whose connections are remote MCP servers."""

AIXPLAIN_MCP_INTEGRATION_ID = "686eb9cd26480723d0634d3e"
"""The id the aiXplain SDK hard-codes for its MCP integration; plughub answers to it too."""

INTEGRATION_ALIASES = {AIXPLAIN_MCP_INTEGRATION_ID: MCP_INTEGRATION_ID}
"""Other ids integrations answer to."""


def is_mcp_integration(integration_id: str) -> bool:
    """Tell whether an id names the MCP integration.

    Args:
        integration_id: An integration id.

    Returns:
        True for `mcp` and its aiXplain alias.
    """
    return INTEGRATION_ALIASES.get(integration_id, integration_id) == MCP_INTEGRATION_ID


class ConnectRequest(BaseModel):
    """Ask to connect to an integration.

    `data` holds the connect inputs, secrets included, so it is kept out of the repr.
    """

    integration_id: str
    scheme: AuthenticationSchema
    name: str | None = None
    description: str | None = None
    end_user_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _mcp_shorthand(cls, value: Any) -> Any:
        """For the MCP integration, `data` may be the server URL and the scheme may be left out.

        The scheme is then read from the data: a `token` means BEARER_TOKEN, an `api_key` means
        API_KEY, and nothing but the URL means NO_AUTH (as in aiXplain).
        """
        if not isinstance(value, dict) or not is_mcp_integration(str(value.get("integration_id", ""))):
            return value
        value = dict(value)
        data = value.get("data")
        if isinstance(data, str):
            value["data"] = data = {"url": data}
        if value.get("scheme") is None and isinstance(data, dict):
            value["scheme"] = (
                AuthenticationSchema.BEARER_TOKEN
                if "token" in data
                else AuthenticationSchema.API_KEY
                if "api_key" in data
                else AuthenticationSchema.NO_AUTH
            )
        return value


class ConnectResult(BaseModel):
    """The connection created; `redirect_url` is set for OAuth consent."""

    id: str
    status: ConnectionStatus
    redirect_url: str | None = None


class ConnectionInfo(BaseModel):
    """A stored connection with its secrets masked (`credentials` maps each field to a mask)."""

    id: str
    integration_id: str
    integration_name: str
    function_type: FunctionType = FunctionType.CONNECTION
    name: str
    description: str = ""
    scheme: AuthenticationSchema
    status: ConnectionStatus
    config: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, str] = Field(default_factory=dict)
    base_url: str | None = None
    end_user_id: str | None = None
    error: str | None = None
    scopes: list[str] = Field(default_factory=list)
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class DeleteResult(BaseModel):
    """A deleted connection; `revocation_error` says why the provider did not revoke its tokens.

    `status` is `deleted`, or `deleting` while its subscriptions are unsubscribed at the provider
    (jobs; the connection is gone for every read meanwhile, and its tokens are revoked after).
    `revoked` is None when not known (still deleting, or finished by another process).
    """

    id: str
    status: str = "deleted"
    revoked: bool | None = False
    revocation_error: str | None = None


class OAuthAppInfo(BaseModel):
    """An integration's OAuth app, secrets masked.

    `signing_secret` and `webhook_secret` (the secrets the provider signs the app's webhooks
    with, masked) are None when not set.
    """

    integration_id: str
    client_id: str
    client_secret: str
    scopes: list[str] | None = None
    source: str = "stored"
    redirect_uri: str
    signing_secret: str | None = None
    webhook_secret: str | None = None

"""Connections as they cross the backend boundary. Secrets travel only inside `ConnectRequest`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from plughub.enums import AuthenticationSchema, ConnectionStatus

__all__ = ["ConnectRequest", "ConnectResult", "ConnectionInfo", "DeleteResult", "OAuthAppInfo"]


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
    """A deleted connection; `revocation_error` says why the provider did not revoke its tokens."""

    id: str
    revoked: bool = False
    revocation_error: str | None = None


class OAuthAppInfo(BaseModel):
    """An integration's OAuth app, secret masked."""

    integration_id: str
    client_id: str
    client_secret: str
    scopes: list[str] | None = None
    source: str = "stored"
    redirect_uri: str

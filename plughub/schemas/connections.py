"""Connections as they cross the backend boundary. Secrets travel only inside `ConnectRequest`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from plughub.enums import AuthenticationSchema, ConnectionStatus

__all__ = ["ConnectRequest", "ConnectResult", "ConnectionInfo"]


class ConnectRequest(BaseModel):
    """Ask to connect to an integration.

    `data` holds the connect inputs, secrets included, so it is kept out of the repr.
    """

    integration_id: str
    scheme: AuthenticationSchema
    name: str | None = None
    description: str | None = None
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
    error: str | None = None
    created_at: datetime
    updated_at: datetime

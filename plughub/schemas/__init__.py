"""Objects that cross the backend boundary (SDK <-> engine or server); a leaf layer."""

from __future__ import annotations

from plughub.schemas.actions import ActionInfo, ActionResult
from plughub.schemas.connections import ConnectionInfo, ConnectRequest, ConnectResult, DeleteResult, OAuthAppInfo
from plughub.schemas.integrations import AuthSchemeInfo, ImportReport, InputField, IntegrationInfo
from plughub.schemas.pages import Page

__all__ = [
    "ActionInfo",
    "ActionResult",
    "AuthSchemeInfo",
    "ConnectRequest",
    "ConnectResult",
    "ConnectionInfo",
    "DeleteResult",
    "ImportReport",
    "InputField",
    "IntegrationInfo",
    "OAuthAppInfo",
    "Page",
]

"""Objects that cross the backend boundary (SDK <-> engine or server); a leaf layer."""

from __future__ import annotations

from plughub.schemas.actions import ActionInfo, ActionResult, ProxyResponse
from plughub.schemas.connections import (
    AIXPLAIN_MCP_INTEGRATION_ID,
    MCP_INTEGRATION_ID,
    ConnectionInfo,
    ConnectRequest,
    ConnectResult,
    DeleteResult,
    OAuthAppInfo,
    is_mcp_integration,
)
from plughub.schemas.events import (
    DeliveryInfo,
    EventInfo,
    SubscribeRequest,
    SubscriptionDeleted,
    SubscriptionInfo,
)
from plughub.schemas.integrations import (
    ActionSummary,
    AuthSchemeInfo,
    ImportReport,
    InputField,
    IntegrationInfo,
    TriggerInfo,
    VerifyFinding,
    VerifyReport,
)
from plughub.schemas.pages import Page

__all__ = [
    "AIXPLAIN_MCP_INTEGRATION_ID",
    "MCP_INTEGRATION_ID",
    "ActionInfo",
    "ActionResult",
    "ActionSummary",
    "AuthSchemeInfo",
    "ConnectRequest",
    "ConnectResult",
    "ConnectionInfo",
    "DeleteResult",
    "DeliveryInfo",
    "EventInfo",
    "ImportReport",
    "InputField",
    "IntegrationInfo",
    "OAuthAppInfo",
    "Page",
    "ProxyResponse",
    "SubscribeRequest",
    "SubscriptionDeleted",
    "SubscriptionInfo",
    "TriggerInfo",
    "VerifyFinding",
    "VerifyReport",
    "is_mcp_integration",
]

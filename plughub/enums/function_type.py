"""Kinds of model records (aiXplain's `FunctionType`)."""

from __future__ import annotations

from enum import Enum

__all__ = ["FunctionType"]


class FunctionType(Enum):
    """What a model record is; integrations are `CONNECTOR`, connections `CONNECTION`, subscriptions `SUBSCRIPTION`."""

    AI = "ai"
    SEGMENTOR = "segmentor"
    RECONSTRUCTOR = "reconstructor"
    UTILITY = "utility"
    METRIC = "metric"
    SEARCH = "search"
    INTEGRATION = "connector"
    CONNECTION = "connection"
    MCP_CONNECTION = "mcpconnection"
    MCPSERVER = "mcpserver"
    SUBSCRIPTION = "subscription"

"""Ids on the aiXplain wire: the MCP integration answers to the id the aiXplain SDK hard-codes."""

from __future__ import annotations

__all__ = ["AIXPLAIN_MCP_ID", "MCP_ID", "engine_id", "wire_id"]

MCP_ID = "mcp"
"""plughub's bundled MCP integration."""

AIXPLAIN_MCP_ID = "686eb9cd26480723d0634d3e"
"""The MCP integration's id in the aiXplain SDK: `Integration.connect(data=url)` works only for it."""


def engine_id(asset_id: str) -> str:
    """The id the engine knows an asset by.

    Args:
        asset_id: An id as the SDK sent it.

    Returns:
        `mcp` for the aiXplain MCP id; any other id unchanged.
    """
    return MCP_ID if asset_id == AIXPLAIN_MCP_ID else asset_id


def wire_id(integration_id: str) -> str:
    """The id an integration is shown by on the wire (in listings and as a connection's parent).

    Args:
        integration_id: The engine's id.

    Returns:
        The aiXplain MCP id for `mcp`, so that the SDK's MCP shortcut works; any other id unchanged.
    """
    return AIXPLAIN_MCP_ID if integration_id == MCP_ID else integration_id

"""Remote MCP servers as connections: their tools are the connection's actions."""

from __future__ import annotations

from plughub.engine.mcp_client.service import McpConnections, mcp_config

__all__ = ["McpConnections", "mcp_config"]

"""Build SDK objects from backend descriptions."""

from __future__ import annotations

from plughub.backends import Backend
from plughub.enums import Function, FunctionType
from plughub.modules.model.connection import ConnectionTool
from plughub.modules.model.integration import Integration
from plughub.modules.model.mcp_connection import MCPConnection
from plughub.schemas import ConnectionInfo, IntegrationInfo

__all__ = ["connection_tool", "integration"]


def integration(info: IntegrationInfo, backend: Backend | None, api_key: str | None = None) -> Integration:
    """Build an `Integration` from its description.

    Args:
        info: The description.
        backend: The backend its calls go to (None: the process default).
        api_key: The server key for its calls.

    Returns:
        The integration.
    """
    return Integration(
        id=info.id,
        name=info.name,
        description=info.description,
        api_key=api_key,
        supplier=info.supplier,
        function=Function.CONNECTOR,
        info=info,
        backend=backend,
        authentication_methods=info.authentication_methods,
    )


def connection_tool(info: ConnectionInfo, backend: Backend | None, api_key: str | None = None) -> ConnectionTool:
    """Build a `ConnectionTool` (an `MCPConnection` for an MCP server) from a connection's description.

    Args:
        info: The description.
        backend: The backend its calls go to (None: the process default).
        api_key: The server key for its calls.

    Returns:
        The tool.
    """
    cls = MCPConnection if info.function_type is FunctionType.MCP_CONNECTION else ConnectionTool
    return cls(
        id=info.id,
        name=info.name,
        description=info.description,
        api_key=api_key,
        supplier=info.integration_name,
        function=Function.UTILITIES,
        function_type=info.function_type,
        connection=info,
        backend=backend,
    )

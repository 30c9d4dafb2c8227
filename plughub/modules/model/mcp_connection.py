"""Connections to remote MCP servers: the server's tools are the actions."""

from __future__ import annotations

from typing import Any

from plughub.enums import FunctionType
from plughub.modules.model.connection import ConnectAction, ConnectionTool

__all__ = ["MCPConnection"]


class MCPConnection(ConnectionTool):
    """A connection to a remote MCP server (streamable HTTP or SSE), as in aiXplain.

    Its actions are the server's tools (`tools/list`, cached per connection) and `run` calls
    `tools/call`: text, structured content and tool errors come back in a `ModelResponse`
    (`data` is the structured content when the server sent some, else the text of a one-block
    answer, else the content blocks; `details["content"]` always holds every block).

    Args:
        id: The connection id.
        name: Its name.
        function_type: Must be `FunctionType.MCP_CONNECTION`.
        **kwargs: As for `ConnectionTool`.

    Raises:
        AssertionError: Another `function_type`.
    """

    def __init__(
        self, id: str, name: str, function_type: FunctionType | None = FunctionType.MCP_CONNECTION, **kwargs: Any
    ) -> None:
        if function_type is not FunctionType.MCP_CONNECTION:
            raise AssertionError("Connection only supports mcp connection function")
        super().__init__(id=id, name=name, function_type=function_type, **kwargs)

    def refresh_tools(self) -> list[ConnectAction]:
        """Ask the server for its tools again (they are cached otherwise).

        Returns:
            The tools as actions.

        Raises:
            ActionError: The server could not be reached, refused the credentials or did not
                answer as an MCP server (the message says which).
        """
        self._actions = [
            ConnectAction(name=a.name, description=a.description, code=a.code)
            for a in self.backend.refresh_actions(self.id)
        ]
        return self._actions

    def __repr__(self) -> str:
        return f"MCPConnection(id={self.id}, name={self.name})"

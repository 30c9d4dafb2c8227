"""A remote MCP server as a plughub connection: list its tools, call them, read the results.

Runs offline: it starts a small MCP server (built with the official `mcp` SDK) on 127.0.0.1 that
wants a bearer token, connects plughub to it, and runs its tools through the connection.

    python examples/mcp_client.py
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

os.environ.setdefault("PLUGHUB_HOME", tempfile.mkdtemp(prefix="plughub-mcp-"))

from plughub import IntegrationFactory, ModelFactory  # after PLUGHUB_HOME is set

TOKEN = "example-token"  # what the server below wants; plughub keeps it sealed in its vault


def weather_server() -> MCPServer:
    """A small MCP server with two tools, built with the official SDK."""
    server = MCPServer("weather", log_level="WARNING")

    @server.tool(title="Forecast")
    def forecast(city: str, days: int = 1) -> dict[str, object]:
        """Tomorrow's weather for a city (made up, offline)."""
        return {"city": city, "days": days, "summary": "sunny", "high_c": 21}

    @server.tool()
    def alerts(region: str) -> str:
        """Weather alerts for a region."""
        if region == "nowhere":
            raise ToolError(f"unknown region {region!r}")
        return f"No alerts for {region}."

    return server


def require_token(app):  # type: ignore[no-untyped-def]
    """Wrap an ASGI app so that it answers 401 without the bearer token."""

    async def guarded(scope, receive, send):  # type: ignore[no-untyped-def]
        headers = dict(scope.get("headers") or [])
        if scope["type"] == "http" and headers.get(b"authorization") != f"Bearer {TOKEN}".encode():
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
        await app(scope, receive, send)

    return guarded


def serve(app) -> tuple[str, uvicorn.Server, threading.Thread]:  # type: ignore[no-untyped-def]
    """Run an ASGI app on a free port of 127.0.0.1 in a thread."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}/mcp", server, thread


def main() -> None:
    """Connect to the server, list and call its tools, then see it go away."""
    url, server, thread = serve(require_token(weather_server().streamable_http_app()))
    try:
        # The scheme may be left out for MCP: a token means BEARER_TOKEN ({"url": ...} alone: NO_AUTH).
        response = IntegrationFactory.get("mcp").connect(data={"url": url, "token": TOKEN}, name="Weather")
        tool = ModelFactory.get(response.data["id"])
        print(type(tool).__name__, "with tools:", [action.code for action in tool.actions])
        print("inputs of forecast:", sorted(tool.get_action_inputs("forecast")))

        result = tool.run("forecast", {"city": "Lisbon", "days": 2})
        print("forecast:", result.status.value, result.data)
        result = tool.run("alerts", {"region": "Alps"})
        print("alerts:", result.status.value, repr(result.data))
        result = tool.run("alerts", {"region": "nowhere"})
        print("tool error:", result.status.value, result.error_code, "-", result.error_message)
        try:
            tool.run("forecast", {"days": 2})
        except ValueError as exc:
            print("invalid arguments, nothing sent:", exc)
        print("as OpenAI tools:", [t["function"]["name"] for t in tool.as_tools("openai")])
    finally:
        server.should_exit = True
        thread.join(10)
    result = tool.run("forecast", {"city": "Lisbon"})
    print("server down:", result.status.value, result.error_code, "-", result.error_message)


if __name__ == "__main__":
    main()

"""plughub as an MCP server for a desktop agent, offline.

Connects the sandbox API, prints the entry a desktop agent (Claude Desktop's
`claude_desktop_config.json`, or any client with the same `mcpServers` format) needs to start
`plughub mcp serve` over stdio, then does what the agent would: starts that command, lists the tools
and calls one with the official MCP client. The API key stays in plughub: the agent never sees it.

Run it with `python examples/mcp_server.py` (a temporary PLUGHUB_HOME and the sandbox).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile

os.environ.setdefault("PLUGHUB_HOME", tempfile.mkdtemp(prefix="plughub-example-"))

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from plughub import AuthenticationSchema, IntegrationFactory
from plughub.sandbox import SandboxCredentials, SandboxServer

key = secrets.token_urlsafe(16)
with SandboxServer(SandboxCredentials(api_key=key, token=secrets.token_urlsafe(16), password="x" * 16)) as sandbox:
    connection = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": key, "port": sandbox.port}
    )
    connection_id = connection.data["id"]

    # 1. The desktop agent's configuration. With plughub installed, "command" can be just "plughub"
    #    and "args" ["mcp", "serve", ...]; here the interpreter running this example starts it.
    args = ["-m", "plughub.cli", "mcp", "serve", "--connection", connection_id]
    args += ["--actions", "SANDBOX_CREATE_NOTE,SANDBOX_LIST_NOTES"]
    entry = {"command": sys.executable, "args": args, "env": {"PLUGHUB_HOME": os.environ["PLUGHUB_HOME"]}}
    print(json.dumps({"mcpServers": {"plughub-sandbox": entry}}, indent=2))

    # 2. What the agent does with it: start the server over stdio, list the tools, call one.
    async def agent() -> None:
        """Start the server as the agent would, list its tools, call one well and one badly."""
        server = StdioServerParameters(command=entry["command"], args=entry["args"], env=entry["env"])
        async with Client(server) as client:
            tools = (await client.list_tools()).tools
            print("tools:", [t.name for t in tools])
            print("schema of SANDBOX_CREATE_NOTE:", json.dumps(tools[0].input_schema))
            result = await client.call_tool("SANDBOX_CREATE_NOTE", {"text": "Buy milk", "tags": ["home"]})
            print("result:", json.dumps(result.structured_content))
            error = await client.call_tool("SANDBOX_CREATE_NOTE", {"tags": ["home"]})
            print("invalid arguments:", error.is_error, error.content[0].text)

    anyio.run(agent)
    # The configuration holds the connection id, never the key.
    print("key in the configuration:", key in json.dumps(entry))

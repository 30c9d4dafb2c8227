"""An agent's tool loop, without calling any LLM.

Recorded tool calls in OpenAI's and Anthropic's shapes are run by plughub against the sandbox API,
and the results printed as each API expects them.

Run it with `python examples/tool_loop.py` (offline: a temporary PLUGHUB_HOME and the sandbox).
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile

os.environ.setdefault("PLUGHUB_HOME", tempfile.mkdtemp(prefix="plughub-example-"))

from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory
from plughub.sandbox import SandboxCredentials, SandboxServer

key = secrets.token_urlsafe(16)
with SandboxServer(SandboxCredentials(api_key=key, token=secrets.token_urlsafe(16), password="x" * 16)) as sandbox:
    connection = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": key, "port": sandbox.port}
    )
    tool = ModelFactory.get(connection.data["id"])
    tool.action_scope = [a for a in tool.actions if a.code in ("SANDBOX_CREATE_NOTE", "SANDBOX_LIST_NOTES")]

    # 1. Hand the tools to the model (here we only print their names).
    print("OpenAI tools:", [t["function"]["name"] for t in tool.as_tools("openai")])
    print("Anthropic tools:", [t["name"] for t in tool.as_tools("anthropic")])

    # 2. The model answers with a tool call; these are recorded ones, in each API's shape.
    openai_call = {
        "id": "call_abc123",
        "type": "function",
        "function": {"name": "SANDBOX_CREATE_NOTE", "arguments": json.dumps({"text": "Buy milk", "tags": ["home"]})},
    }
    anthropic_call = {"type": "tool_use", "id": "toolu_01", "name": "SANDBOX_LIST_NOTES", "input": {"limit": 5}}

    # 3. plughub runs each call with the credentials it holds, and builds the message to send back.
    print("OpenAI tool message:", json.dumps(tool.run_tool_call(openai_call)))
    print("Anthropic tool_result:", json.dumps(tool.run_tool_call(anthropic_call)))

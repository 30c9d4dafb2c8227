"""A PydanticAI agent whose tools are plughub actions, offline.

PydanticAI's `Agent` runs with its `FunctionModel`, here a function that plays the model: it
calls one tool to create a note in the sandbox API, one to read a note that does not exist (404,
which comes back as an error the model reads), then answers with what it learnt.

Run it with `python examples/pydantic_ai_agent.py` (needs `pip install 'plughub[pydantic-ai]'`).
"""

from __future__ import annotations

import os
import secrets
import tempfile

os.environ.setdefault("PLUGHUB_HOME", tempfile.mkdtemp(prefix="plughub-example-"))

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory
from plughub.adapters.pydantic_ai import tools
from plughub.sandbox import SandboxCredentials, SandboxServer

script = [
    ModelResponse(parts=[ToolCallPart("SANDBOX_CREATE_NOTE", {"text": "Buy milk"}, tool_call_id="c1")]),
    ModelResponse(parts=[ToolCallPart("SANDBOX_GET_NOTE", {"note_id": 42}, tool_call_id="c2")]),
]


def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Plays the model: the scripted calls, then an answer; a real agent names an LLM instead."""
    if script:
        return script.pop(0)
    return ModelResponse(parts=[TextPart("Saved 'Buy milk' as note 1; there is no note 42.")])


key = secrets.token_urlsafe(16)
with SandboxServer(SandboxCredentials(api_key=key, token=secrets.token_urlsafe(16), password="x" * 16)) as sandbox:
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": key, "port": sandbox.port}
    )
    conn = ModelFactory.get(response.data["id"])
    conn.action_scope = [a for a in conn.actions if a.code in ("SANDBOX_CREATE_NOTE", "SANDBOX_GET_NOTE")]

    agent_tools = tools(conn)  # Tool.from_schema: name, description and JSON Schema of each action
    print("tools:", [t.name for t in agent_tools])

    agent = Agent(FunctionModel(model), tools=agent_tools)
    result = agent.run_sync("Note 'Buy milk', then show note 42.")
    for message in result.all_messages():
        for part in message.parts:
            if isinstance(part, ToolReturnPart):
                print("tool result:", part.content)
    print("answer:", result.output)

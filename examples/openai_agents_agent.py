"""An OpenAI Agents SDK agent whose tools are plughub actions, offline.

The SDK's own `Runner` runs the agent with a scripted model (a `Model` subclass that answers with
recorded Responses API items) instead of OpenAI's: one call creates a note in the sandbox API,
one asks for a note that does not exist (404, which the model reads as an error). Tracing is off,
so nothing leaves the machine.

Run it with `python examples/openai_agents_agent.py` (needs `pip install 'plughub[openai-agents]'`).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
from typing import Any

os.environ.setdefault("PLUGHUB_HOME", tempfile.mkdtemp(prefix="plughub-example-"))

from agents import Agent, RunConfig, Runner, Usage
from agents.items import ModelResponse
from agents.models.interface import Model
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory
from plughub.adapters.openai_agents import tools
from plughub.sandbox import SandboxCredentials, SandboxServer


def call(name: str, arguments: dict[str, Any], call_id: str) -> ResponseFunctionToolCall:
    """A function call, as the Responses API returns it."""
    return ResponseFunctionToolCall(
        type="function_call", id=f"fc_{call_id}", call_id=call_id, name=name, arguments=json.dumps(arguments)
    )


def say(text: str) -> ResponseOutputMessage:
    """An assistant message, as the Responses API returns it."""
    content = [ResponseOutputText(type="output_text", text=text, annotations=[])]
    return ResponseOutputMessage(type="message", id="msg_1", role="assistant", status="completed", content=content)


class ScriptedModel(Model):
    """Answers each turn with the next recorded item; a real agent uses an OpenAI model here."""

    def __init__(self, turns: list[Any]) -> None:
        self.turns = turns

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        """Answer with the next recorded item."""
        return ModelResponse(output=[self.turns.pop(0)], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        """Not needed: `Runner.run` does not stream."""
        raise NotImplementedError


key = secrets.token_urlsafe(16)
with SandboxServer(SandboxCredentials(api_key=key, token=secrets.token_urlsafe(16), password="x" * 16)) as sandbox:
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": key, "port": sandbox.port}
    )
    conn = ModelFactory.get(response.data["id"])
    conn.action_scope = [a for a in conn.actions if a.code in ("SANDBOX_CREATE_NOTE", "SANDBOX_GET_NOTE")]

    agent_tools = tools(conn)  # FunctionTools: name, description and JSON Schema of each action
    print("tools:", [t.name for t in agent_tools])

    model = ScriptedModel(
        [
            call("SANDBOX_CREATE_NOTE", {"text": "Buy milk"}, "c1"),
            call("SANDBOX_GET_NOTE", {"note_id": 42}, "c2"),
            say("Saved 'Buy milk' as note 1; there is no note 42."),
        ]
    )
    agent = Agent(name="notes", instructions="Keep the user's notes.", tools=agent_tools, model=model)
    question = "Note 'Buy milk', then show note 42."
    result = asyncio.run(Runner.run(agent, question, run_config=RunConfig(tracing_disabled=True)))
    for item in result.new_items:
        if item.type == "tool_call_output_item":
            print("tool result:", item.output)
    print("answer:", result.final_output)

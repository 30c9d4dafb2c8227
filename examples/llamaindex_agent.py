"""A LlamaIndex agent whose tools are plughub actions, offline.

LlamaIndex's `FunctionAgent` runs with its mock function-calling LLM, given a function that plays
the model: one tool call creates a note in the sandbox API, one reads a note that does not exist
(404, which comes back as an error the model reads), then it answers.

Run it with `python examples/llamaindex_agent.py` (needs `pip install 'plughub[llamaindex]'`).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("PLUGHUB_HOME", tempfile.mkdtemp(prefix="plughub-example-"))

from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ToolCallBlock
from llama_index.core.llms import ChatMessage, MessageRole
from llama_index.core.llms.mock import MockFunctionCallingLLM

from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory
from plughub.adapters.llamaindex import tools
from plughub.sandbox import SandboxCredentials, SandboxServer

script = [
    ChatMessage(role=MessageRole.ASSISTANT, blocks=[ToolCallBlock(tool_call_id="c1", tool_name="SANDBOX_CREATE_NOTE",
                                                                  tool_kwargs={"text": "Buy milk"})]),
    ChatMessage(role=MessageRole.ASSISTANT, blocks=[ToolCallBlock(tool_call_id="c2", tool_name="SANDBOX_GET_NOTE",
                                                                  tool_kwargs={"note_id": 42})]),
]  # fmt: skip


def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
    """Plays the model: the scripted calls, then an answer; a real agent uses an LLM (OpenAI, Anthropic, ...)."""
    if script:
        return script.pop(0)
    return ChatMessage(role=MessageRole.ASSISTANT, content="Saved 'Buy milk' as note 1; there is no note 42.")


async def main(agent: FunctionAgent) -> str:
    """Run the agent, printing each tool result as it comes."""
    handler = agent.run("Note 'Buy milk', then show note 42.")
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            print("tool result:", event.tool_output.content)
    return str(await handler)


key = secrets.token_urlsafe(16)
with SandboxServer(SandboxCredentials(api_key=key, token=secrets.token_urlsafe(16), password="x" * 16)) as sandbox:
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": key, "port": sandbox.port}
    )
    conn = ModelFactory.get(response.data["id"])
    conn.action_scope = [a for a in conn.actions if a.code in ("SANDBOX_CREATE_NOTE", "SANDBOX_GET_NOTE")]

    agent_tools = tools(conn)  # FunctionTools: name, description and JSON Schema of each action
    print("tools:", [t.metadata.name for t in agent_tools])

    agent = FunctionAgent(tools=agent_tools, llm=MockFunctionCallingLLM(response_generator=respond))
    print("answer:", asyncio.run(main(agent)))

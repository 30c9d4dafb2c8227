"""A LangChain agent whose tools are plughub actions, offline.

LangChain's own agent loop (`langchain.agents.create_agent`) runs with a fake chat model that
answers with scripted tool calls: one creates a note in the sandbox API, one asks for a note that
does not exist (the service answers 404, and the model reads the error as text). The credentials
stay in plughub; the model only ever sees the tools and their results.

Run it with `python examples/langchain_agent.py` (needs `pip install 'plughub[langchain]' langchain`).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from typing import Any

os.environ.setdefault("PLUGHUB_HOME", tempfile.mkdtemp(prefix="plughub-example-"))

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage

from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory
from plughub.adapters.langchain import tools
from plughub.sandbox import SandboxCredentials, SandboxServer


class ScriptedModel(GenericFakeChatModel):
    """LangChain's fake chat model; a real one (ChatOpenAI, ChatAnthropic, ...) decides the calls itself."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        """Take the tools; a real model sends their schemas to its API."""
        return self


key = secrets.token_urlsafe(16)
with SandboxServer(SandboxCredentials(api_key=key, token=secrets.token_urlsafe(16), password="x" * 16)) as sandbox:
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": key, "port": sandbox.port}
    )
    conn = ModelFactory.get(response.data["id"])
    conn.action_scope = [a for a in conn.actions if a.code in ("SANDBOX_CREATE_NOTE", "SANDBOX_GET_NOTE")]

    agent_tools = tools(conn)  # StructuredTools: name, description and JSON Schema of each action
    print("tools:", [t.name for t in agent_tools])

    model = ScriptedModel(
        messages=iter(
            [
                AIMessage("", tool_calls=[{"name": "SANDBOX_CREATE_NOTE", "args": {"text": "Buy milk"}, "id": "c1"}]),
                AIMessage("", tool_calls=[{"name": "SANDBOX_GET_NOTE", "args": {"note_id": 42}, "id": "c2"}]),
                AIMessage("Saved 'Buy milk' as note 1; there is no note 42."),
            ]
        )
    )
    agent = create_agent(model, agent_tools)
    state = agent.invoke({"messages": [{"role": "user", "content": "Note 'Buy milk', then show note 42."}]})
    for message in state["messages"]:
        if isinstance(message, ToolMessage):
            print(f"tool result ({message.status}): {message.content}")
    print("answer:", state["messages"][-1].content)

"""plughub.adapters.langchain: LangChain's own agent loop (`create_agent`) with a fake chat model, over sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory
from plughub.adapters.langchain import tools
from tests.adapters.conftest import CREATE, CREATE_ARGS, GET, assert_answers, assert_created_upstream
from tests.upstream import Reply, Upstream


class ScriptedChatModel(GenericFakeChatModel):
    """LangChain's fake chat model, answering with scripted messages; it records the tools it was given."""

    offered: list[Any] = []

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        self.offered = list(tools)
        return self


def _script() -> ScriptedChatModel:
    return ScriptedChatModel(
        messages=iter(
            [
                AIMessage(content="", tool_calls=[{"name": CREATE, "args": CREATE_ARGS, "id": "call_1"}]),
                AIMessage(content="", tool_calls=[{"name": GET, "args": {"number": 99}, "id": "call_2"}]),
                AIMessage(content="Created issue 7; issue 99 does not exist."),
            ]
        )
    )


def test_tools_carry_the_actions_in_scope_with_their_schemas(conn: ConnectionTool) -> None:
    made = tools(conn)
    assert [t.name for t in made] == [CREATE, GET]  # TRACKER_DELETE_REPO is outside action_scope
    definition = convert_to_openai_tool(made[0])["function"]
    assert definition["description"].startswith("Open a new issue in a repository.\n\nReturns the service's JSON")
    priority = definition["parameters"]["properties"]["priority"]
    assert priority == {"type": "string", "enum": ["low", "high"], "description": "Urgency"}
    assert definition["parameters"]["required"] == ["repo", "title"]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_create_agent_runs_a_tool_and_reads_a_404_as_text(conn: ConnectionTool, upstream: Upstream, mode: str) -> None:
    model = _script()
    agent = create_agent(model, tools(conn))
    question = {"messages": [{"role": "user", "content": "File the login bug, then show issue 99."}]}
    state = agent.invoke(question) if mode == "invoke" else asyncio.run(agent.ainvoke(question))
    assert [t.name for t in model.offered] == [CREATE, GET]
    assert_created_upstream(upstream)
    results = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert [m.status for m in results] == ["success", "error"]
    assert_answers([str(m.content) for m in results])
    assert state["messages"][-1].content == "Created issue 7; issue 99 does not exist."


def test_reserved_argument_names_reach_the_action(backend: Any, upstream: Upstream) -> None:
    # LangChain passes `config` and `run_manager` to a tool's own code; such inputs travel renamed and come back.
    upstream.route("GET", "/settings", lambda seen: Reply(200, dict(seen.query)))
    definition = {
        "id": "settings",
        "display_name": "Settings",
        "base_url": upstream.url,
        "auth": [{"mode": "NO_AUTH"}],
        "actions": {
            "SETTINGS_READ": {
                "display_name": "Read settings",
                "path": "/settings",
                "inputs": {"config": {"type": "string", "in": "query", "required": True}},
            }
        },
    }
    integration = IntegrationFactory.create(definition)
    conn = ModelFactory.get(integration.connect(AuthenticationSchema.NO_AUTH).data["id"])
    (tool,) = tools(conn)
    assert list(convert_to_openai_tool(tool)["function"]["parameters"]["properties"]) == ["config_"]
    message = tool.invoke({"type": "tool_call", "name": "SETTINGS_READ", "args": {"config": "x"}, "id": "c"})
    assert message.status == "error"  # the model must use the name it was shown
    message = tool.invoke({"type": "tool_call", "name": "SETTINGS_READ", "args": {"config_": "dark"}, "id": "c"})
    assert message.status == "success" and '"config": "dark"' in message.content

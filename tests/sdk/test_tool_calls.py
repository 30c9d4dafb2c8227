"""ConnectionTool.as_tools and run_tool_call against the real sandbox, in each API's shape."""

from __future__ import annotations

import json

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory
from tests.conftest import CANARY_API_KEY

pytestmark = pytest.mark.usefixtures("backend")


def _tool(sandbox) -> ConnectionTool:  # type: ignore[no-untyped-def]
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": CANARY_API_KEY, "port": sandbox.port}
    )
    tool = ModelFactory.get(response.data["id"])
    assert isinstance(tool, ConnectionTool)
    return tool


def test_as_tools_respects_action_scope(sandbox) -> None:  # type: ignore[no-untyped-def]
    tool = _tool(sandbox)
    everything = tool.as_tools("openai")
    assert {t["function"]["name"] for t in everything} >= {"SANDBOX_WHOAMI", "SANDBOX_CREATE_NOTE"}
    tool.action_scope = [a for a in tool.actions if a.code == "SANDBOX_CREATE_NOTE"]
    scoped = tool.as_tools("anthropic")
    assert [t["name"] for t in scoped] == ["SANDBOX_CREATE_NOTE"]
    assert scoped[0]["input_schema"]["required"] == ["text"]


@pytest.mark.parametrize("shape", ["openai_chat", "openai_responses", "anthropic"])
def test_a_recorded_tool_call_runs_and_answers_in_the_same_shape(sandbox, shape: str) -> None:  # type: ignore[no-untyped-def]
    tool = _tool(sandbox)
    arguments = {"text": "from an agent", "tags": ["llm"]}
    call = {
        "openai_chat": {
            "id": "call_1",
            "type": "function",
            "function": {"name": "SANDBOX_CREATE_NOTE", "arguments": json.dumps(arguments)},
        },
        "openai_responses": {
            "type": "function_call",
            "call_id": "call_1",
            "name": "SANDBOX_CREATE_NOTE",
            "arguments": json.dumps(arguments),
        },
        "anthropic": {"type": "tool_use", "id": "call_1", "name": "SANDBOX_CREATE_NOTE", "input": arguments},
    }[shape]
    result = tool.run_tool_call(call)
    text = result.get("content") or result.get("output")
    assert json.loads(text)["text"] == "from an agent"
    assert sandbox.received[-1].headers.get("X-Api-Key") == CANARY_API_KEY  # credentials stayed in plughub
    assert CANARY_API_KEY not in json.dumps(result)


def test_bad_arguments_come_back_as_an_error_result(sandbox) -> None:  # type: ignore[no-untyped-def]
    tool = _tool(sandbox)
    result = tool.run_tool_call({"type": "tool_use", "id": "c", "name": "SANDBOX_CREATE_NOTE", "input": {}})
    assert result["is_error"] is True and "needs input 'text'" in result["content"]
    with pytest.raises(ValueError, match="not one of this connection's tools"):
        tool.run_tool_call({"type": "tool_use", "id": "c", "name": "GITHUB_CREATE_ISSUE", "input": {}})

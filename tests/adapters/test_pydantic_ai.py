"""plughub.adapters.pydantic_ai: PydanticAI's `Agent` with its `FunctionModel` (and `TestModel`), over sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel

from plughub import ConnectionTool
from plughub.adapters.pydantic_ai import tools
from tests.adapters.conftest import CREATE, CREATE_ARGS, GET, assert_answers, assert_created_upstream
from tests.upstream import Upstream


def _returns(messages: list[ModelMessage]) -> list[str]:
    return [str(p.content) for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart)]


def test_agent_runs_a_tool_and_reads_a_404_as_text(conn: ConnectionTool, upstream: Upstream) -> None:
    script = [
        ModelResponse(parts=[ToolCallPart(CREATE, CREATE_ARGS, tool_call_id="call_1")]),
        ModelResponse(parts=[ToolCallPart(GET, {"number": 99}, tool_call_id="call_2")]),
    ]
    offered: list[Any] = []

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        offered[:] = info.function_tools
        return script.pop(0) if script else ModelResponse(parts=[TextPart(" | ".join(_returns(messages)))])

    agent = Agent(FunctionModel(model), tools=tools(conn))
    result = asyncio.run(agent.run("File the login bug, then show issue 99."))
    assert [t.name for t in offered] == [CREATE, GET]
    create = offered[0]
    assert create.description.startswith("Open a new issue in a repository.\n\nReturns ")
    assert create.parameters_json_schema["properties"]["priority"]["enum"] == ["low", "high"]
    assert_created_upstream(upstream)
    assert_answers(_returns(result.all_messages()))
    assert result.output == " | ".join(_returns(result.all_messages()))


def test_test_model_calls_every_tool_with_schema_valid_arguments(conn: ConnectionTool, upstream: Upstream) -> None:
    # TestModel makes up arguments from each tool's JSON Schema: the schemas are ones a model can satisfy.
    agent = Agent(TestModel(), tools=tools(conn, actions=[CREATE]))
    result = agent.run_sync("File something.")
    (seen,) = upstream.seen  # plughub accepted the made-up arguments and sent them
    assert seen.method == "POST" and seen.path.startswith("/repos/") and isinstance(seen.json()["title"], str)
    (answer,) = _returns(result.all_messages())
    # The tracker knows only the repository "acme": any other answers 404, which the model reads as an error.
    assert json.loads(answer).get("error", "upstream_status") == "upstream_status"

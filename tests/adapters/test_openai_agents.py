"""plughub.adapters.openai_agents: the Agents SDK's `Runner` with a scripted `Model`, over sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents import Agent, FunctionTool, RunConfig, Runner, Usage
from agents.items import ModelResponse
from agents.models.interface import Model
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from plughub import ConnectionTool
from plughub.adapters.openai_agents import tools
from tests.adapters.conftest import CREATE, CREATE_ARGS, GET, assert_answers, assert_created_upstream
from tests.upstream import Upstream


def call(name: str, arguments: Any, call_id: str) -> ResponseFunctionToolCall:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ResponseFunctionToolCall(
        type="function_call", call_id=call_id, name=name, arguments=raw, id=f"fc_{call_id}", status="completed"
    )


def say(text: str) -> ResponseOutputMessage:
    content = [ResponseOutputText(type="output_text", text=text, annotations=[])]
    return ResponseOutputMessage(type="message", id="msg_1", role="assistant", status="completed", content=content)


class ScriptedModel(Model):
    """A model that answers each turn with the next scripted output item, and records what it was given."""

    def __init__(self, turns: list[Any]) -> None:
        self.turns = list(turns)
        self.tools: list[Any] = []

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        # The interface's arguments, in order: instructions, input, settings, tools, ...
        tools = kwargs["tools"] if "tools" in kwargs else args[3]
        self.tools = list(tools)
        return ModelResponse(output=[self.turns.pop(0)], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the tests do not stream")


def _run(model: ScriptedModel, made: list[Any]) -> Any:
    agent = Agent(name="triage", instructions="File issues.", tools=made, model=model)
    # Tracing off: nothing may leave the machine.
    return asyncio.run(Runner.run(agent, "File the login bug.", run_config=RunConfig(tracing_disabled=True)))


def test_runner_runs_a_tool_and_reads_a_404_as_text(conn: ConnectionTool, upstream: Upstream) -> None:
    model = ScriptedModel(
        [call(CREATE, CREATE_ARGS, "call_1"), call(GET, {"number": 99}, "call_2"), say("Created issue 7.")]
    )
    result = _run(model, tools(conn))
    offered = {t.name: t for t in model.tools}
    assert list(offered) == [CREATE, GET] and all(isinstance(t, FunctionTool) for t in offered.values())
    assert offered[CREATE].params_json_schema["properties"]["priority"]["enum"] == ["low", "high"]
    assert offered[CREATE].strict_json_schema is False
    assert_created_upstream(upstream)
    outputs = [item.output for item in result.new_items if type(item).__name__ == "ToolCallOutputItem"]
    assert_answers(outputs)
    assert result.final_output == "Created issue 7."


def test_malformed_arguments_come_back_as_text(conn: ConnectionTool, upstream: Upstream) -> None:
    model = ScriptedModel([call(CREATE, "{not json", "call_1"), call(CREATE, "[1]", "call_2"), say("Sorry.")])
    result = _run(model, tools(conn))
    outputs = [json.loads(item.output) for item in result.new_items if type(item).__name__ == "ToolCallOutputItem"]
    assert [o["error"] for o in outputs] == ["invalid_arguments", "invalid_arguments"]
    assert "not valid JSON" in outputs[0]["message"] and "JSON object" in outputs[1]["message"]
    assert upstream.seen == []  # nothing was sent
    assert result.final_output == "Sorry."

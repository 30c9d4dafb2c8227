"""plughub.adapters.llamaindex: LlamaIndex's `FunctionAgent` with its mock function-calling LLM, over sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ToolCallBlock
from llama_index.core.llms import ChatMessage, MessageRole
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool

from plughub import ConnectionTool
from plughub.adapters.llamaindex import tools
from tests.adapters.conftest import CREATE, CREATE_ARGS, GET, assert_answers, assert_created_upstream
from tests.upstream import Upstream

# llama-index-workflows reads every attribute of an agent (inspect.getmembers), pydantic's deprecated ones too.
pytestmark = pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecationWarning")


def _call(name: str, arguments: dict[str, Any], call_id: str) -> ChatMessage:
    block = ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=arguments)
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=[block])


def test_function_agent_runs_a_tool_and_reads_a_404_as_text(conn: ConnectionTool, upstream: Upstream) -> None:
    script = [_call(CREATE, CREATE_ARGS, "call_1"), _call(GET, {"number": 99}, "call_2")]
    results: list[str] = []

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        if script:
            return script.pop(0)
        results.extend(str(m.content) for m in messages if m.role == MessageRole.TOOL)
        return ChatMessage(role=MessageRole.ASSISTANT, content="Created issue 7.")

    made = tools(conn)
    agent = FunctionAgent(tools=made, llm=MockFunctionCallingLLM(response_generator=respond))

    async def main() -> Any:  # the workflow starts its tasks on the running loop
        return await agent.run("File the login bug, then show issue 99.")

    answer = asyncio.run(main())
    assert str(answer) == "Created issue 7."
    assert_created_upstream(upstream)
    assert_answers(results)


def test_tool_metadata_is_the_actions_schema(conn: ConnectionTool, upstream: Upstream) -> None:
    create, get = tools(conn)
    assert isinstance(create, FunctionTool) and create.metadata.name == CREATE and get.metadata.name == GET
    openai = create.metadata.to_openai_tool()["function"]  # what an OpenAI-backed agent sends
    assert openai["description"].startswith("Open a new issue in a repository.\n\nReturns ")
    assert openai["parameters"]["properties"]["priority"] == {
        "type": "string",
        "enum": ["low", "high"],
        "description": "Urgency",
    }
    assert openai["parameters"]["required"] == ["repo", "title"]
    # The synchronous call (LlamaIndex's older agents and direct use) runs the action too.
    output = create.call(**CREATE_ARGS)
    assert '"number": 7' in output.content and upstream.seen[-1].method == "POST"

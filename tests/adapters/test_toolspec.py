"""plughub.adapters.toolspec: what every adapter shares (choosing actions, running calls as text, imports)."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import threading

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory
from plughub.adapters import langchain, llamaindex, openai_agents, pydantic_ai
from plughub.adapters.toolspec import require, tool_specs
from tests.adapters.conftest import CREATE, CREATE_ARGS, DELETE, GET
from tests.conftest import CANARY_API_KEY
from tests.upstream import Reply, Seen, Upstream

ADAPTERS = {
    "langchain": (langchain, "langchain_core.tools"),
    "openai-agents": (openai_agents, "agents"),
    "pydantic-ai": (pydantic_ai, "pydantic_ai"),
    "llamaindex": (llamaindex, "llama_index.core.tools"),
}


def test_specs_follow_action_scope_and_narrow_further(conn: ConnectionTool) -> None:
    assert [s.name for s in tool_specs(conn)] == [CREATE, GET]
    (get,) = tool_specs(conn, actions=[GET])
    assert get.code == GET and get.parameters["required"] == ["number"]
    assert "connection=" not in repr(get)  # the connection (and its backend) stay out of reprs
    with pytest.raises(ValueError, match=r"actions=\['TRACKER_DELETE_REPO'\]: not among .* available: TRACKER_CREATE"):
        tool_specs(conn, actions=[DELETE])  # outside action_scope
    assert [s.code for s in tool_specs(conn, query="read an issue", max_tools=1)] == [GET]
    with pytest.warns(UserWarning, match="only the first 1 become tools"):
        assert [s.code for s in tool_specs(conn, max_tools=1)] == [CREATE]
    with pytest.raises(ValueError, match="max_tools must be a positive integer"):
        tool_specs(conn, max_tools=0)


def test_bad_connections_are_refused(conn: ConnectionTool) -> None:
    with pytest.raises(ValueError, match="give a ConnectionTool"):
        tool_specs([])
    with pytest.raises(TypeError, match=r"expected a ConnectionTool \(ModelFactory.get\(connection_id\)\), got str"):
        tool_specs([conn, conn.id])  # type: ignore[list-item]


def test_several_connections_give_one_tool_list_and_name_clashes_are_refused(
    conn: ConnectionTool, upstream: Upstream
) -> None:
    other = ModelFactory.get(
        IntegrationFactory.get("tracker").connect(AuthenticationSchema.API_KEY, data={"api_key": "k2"}).data["id"]
    )
    assert isinstance(other, ConnectionTool)
    other.action_scope = [a for a in other.actions if a.code == DELETE]
    specs = tool_specs([conn, other])
    assert [(s.code, s.connection.id) for s in specs] == [(CREATE, conn.id), (GET, conn.id), (DELETE, other.id)]
    other.action_scope = None
    with pytest.raises(ValueError, match=f"tool '{CREATE}' would come from connections {conn.id} and {other.id}"):
        tool_specs([conn, other])
    assert [s.code for s in tool_specs([conn, other], actions=[DELETE])] == [DELETE]


def test_every_failure_comes_back_as_text(any_conn: ConnectionTool, upstream: Upstream) -> None:
    conn = any_conn
    create, get = tool_specs(conn)
    text, failed = create.run(CREATE_ARGS)
    assert not failed and json.loads(text)["number"] == 7
    for arguments, code in (({}, "missing_inputs"), ({"repo": "acme", "title": 5}, "invalid_input")):
        text, failed = create.run(arguments)
        assert failed and json.loads(text)["error"] == code, text
    text, failed = get.run({"number": 99})
    assert failed and json.loads(text)["error"] == "upstream_status" and "404" in json.loads(text)["message"]
    conn.delete()
    text, failed = get.run({"number": 1})
    assert failed and json.loads(text)["error"] == "connection_not_found"
    assert CANARY_API_KEY not in text


def test_arun_leaves_the_event_loop_free(any_conn: ConnectionTool, upstream: Upstream) -> None:
    # The upstream answers only once a coroutine on the loop lets it: were the call run on the loop itself, that
    # coroutine could not run until the call was over, and the upstream would give up (503).
    gate = threading.Event()

    def held(seen: Seen) -> Reply:
        return Reply(201, {"number": 8}) if gate.wait(timeout=20) else Reply(503, {"error": "gate never opened"})

    upstream.route("POST", "/repos/acme/issues", held)
    (create,) = tool_specs(any_conn, actions=[CREATE])

    async def main() -> tuple[str, bool]:
        call = asyncio.create_task(create.arun(CREATE_ARGS))
        while not upstream.seen:
            await asyncio.sleep(0.01)
        gate.set()
        return await call

    text, failed = asyncio.run(main())
    assert not failed and json.loads(text) == {"number": 8}


@pytest.mark.parametrize("extra", sorted(ADAPTERS))
def test_a_missing_framework_names_the_extra(extra: str, conn: ConnectionTool, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter, module = ADAPTERS[extra]
    monkeypatch.setitem(sys.modules, module, None)  # what an environment without the framework looks like
    with pytest.raises(ImportError, match=rf"pip install 'plughub\[{extra}\]'"):
        adapter.tools(conn)
    with pytest.raises(ImportError, match=r"needs no_such_framework, which is not installed"):
        require("no_such_framework.tools", extra)


def test_adapters_import_without_their_frameworks(monkeypatch: pytest.MonkeyPatch) -> None:
    for adapter, module in ADAPTERS.values():
        monkeypatch.setitem(sys.modules, module.split(".")[0], None)
        monkeypatch.delitem(sys.modules, adapter.__name__)
        assert importlib.import_module(adapter.__name__).__all__ == ["tools"]

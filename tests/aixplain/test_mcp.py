"""MCP connections through the SDK: the hard-coded aiXplain MCP id, LIST_TOOLS, and runs of the server's tools."""

from __future__ import annotations

from tests.aixplain.conftest import Wire
from tests.mcp_servers import mcp_test_server

MCP = """
from aixplain import Aixplain
from aixplain.factories import ModelFactory
from aixplain.modules.model.integration import AuthenticationSchema

URL = "%(url)s"
integ = ModelFactory.get("686eb9cd26480723d0634d3e")
RESULTS["integration"] = {"class": type(integ).__name__, "id": integ.id, "methods": integ.authentication_methods}
answer = response(integ.connect(data=URL))  # the SDK's MCP shortcut: {"data": "<url>"}
RESULTS["connect"] = answer
conn = ModelFactory.get(answer["data"]["id"])
RESULTS["connection"] = {"class": type(conn).__name__, "tools": [(a.code, a.name, a.description) for a in conn.actions]}
RESULTS["inputs"] = conn.get_action_inputs(conn.actions[0])
RESULTS["add"] = response(conn.run("add", {"a": 2, "b": 3}))
RESULTS["fail"] = response(conn.run("fail", {"reason": "no fuel"}))
by_slug = ModelFactory.get("mcp")
RESULTS["by_slug"] = response(by_slug.connect(AuthenticationSchema.NO_AUTH, data={"url": URL}, name="mcp-by-slug"))

aix = Aixplain(model_url="%(base)s/api/v2/execute")
tool = aix.Integration.get("686eb9cd26480723d0634d3e").connect(name="mcp-v2", data=URL)
tool = aix.Tool.get(tool.id)
RESULTS["v2_tool"] = {"function_type": tool.function_type, "parent": tool.integration_id, "actions": list(tool.actions)}
RESULTS["v2_inputs"] = sorted(tool.actions["add"].inputs.keys())
RESULTS["v2_add"] = tool.run(action="add", data={"a": 20, "b": 22}).data
"""


def test_an_mcp_server_through_the_sdk(wire: Wire) -> None:
    with mcp_test_server() as server:
        results, output = wire.sdk(MCP % {"url": server.http_url, "base": wire.url})

    assert results["integration"] == {
        "class": "Integration",
        "id": "686eb9cd26480723d0634d3e",
        "methods": ["NO_AUTH", "BEARER_TOKEN", "API_KEY"],
    }
    assert results["connect"]["status"] == "SUCCESS"
    assert results["connection"]["class"] == "MCPConnection"
    tools = results["connection"]["tools"]
    assert [t[0] for t in tools] == ["add", "shout", "profile", "fail"]
    assert tools[0] == ["add", "add", "Add two integers."]
    assert set(results["inputs"]) == {"a", "b"}
    assert results["inputs"]["a"]["required"] is True and results["inputs"]["a"]["datatype"] == "integer"
    assert results["add"]["status"] == "SUCCESS"
    assert results["add"]["data"] == {"result": 5}
    assert results["fail"]["status"] == "FAILED"
    assert "cannot do it: no fuel" in results["fail"]["error_message"]
    assert results["by_slug"]["status"] == "SUCCESS"

    assert results["v2_tool"] == {
        "function_type": "mcpconnection",
        "parent": "686eb9cd26480723d0634d3e",
        "actions": ["add", "shout", "profile", "fail"],
    }
    assert results["v2_inputs"] == ["a", "b"]
    assert results["v2_add"] == {"result": 42}
    connections = wire.engine.connections.list(team=wire.team_a.id).results
    assert {c.integration_id for c in connections} == {"mcp"}
    assert len(connections) == 3
    # The server's URL is a credential: no answer of plughub's carries it (the SDK logs every answer).
    logged_answers = [line for line in output.splitlines() if "Result of request" in line]
    assert logged_answers and not any(server.http_url in line for line in logged_answers)

"""The v1 factories (`aixplain.factories`): list, get, connect with each scheme, actions, inputs."""

from __future__ import annotations

from plughub.sandbox import SandboxServer
from tests.aixplain.conftest import Wire, assert_clean
from tests.conftest import CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN

V1_SCHEMES = """
from aixplain.factories import IntegrationFactory, ModelFactory
from aixplain.modules.model.integration import AuthenticationSchema
from aixplain.modules.model.connection import ConnectionTool

listing = record("list", lambda: IntegrationFactory.list())
RESULTS["listed"] = sorted(i.id for i in listing["results"]) if listing else None
RESULTS["list_total"] = listing["total"] if listing else None
found = record("search", lambda: IntegrationFactory.list(query="Wire Sandbox"))
RESULTS["searched"] = [i.id for i in found["results"]] if found else None
integ = IntegrationFactory.get("wire-sandbox")
RESULTS["integration"] = {"class": type(integ).__name__, "repr": repr(integ), "name": integ.name,
                          "methods": integ.authentication_methods}
record("by_name", lambda: IntegrationFactory.get(name="Wire Sandbox").id)
RESULTS["model_get"] = type(ModelFactory.get("wire-sandbox")).__name__
record("missing_input", lambda: integ.connect(AuthenticationSchema.BASIC, data={"username": "demo"}))

DATA = {
    "API_KEY": {"api_key": "%(api_key)s"},
    "BEARER_TOKEN": {"token": "%(token)s"},
    "BASIC": {"username": "demo", "password": "%(password)s"},
    "NO_AUTH": {},
}
connections = {}
for scheme, data in DATA.items():
    answer = record("connect_" + scheme, lambda: response(integ.connect(
        AuthenticationSchema[scheme], data=data, name="c-" + scheme, description="via " + scheme)))
    connections[scheme] = answer["data"]["id"]
for scheme in ("OAUTH2", "OAUTH1"):
    connect = lambda: response(integ.connect(AuthenticationSchema[scheme], name="c-" + scheme))
    answer = record("connect_" + scheme, connect)
    connections[scheme] = answer["data"]["id"]
    RESULTS["redirect_" + scheme] = answer["data"]["redirectURL"]
    record("consent_" + scheme, lambda: consent(answer["data"]["redirectURL"]))

for scheme, connection_id in connections.items():
    tool = ModelFactory.get(connection_id)
    RESULTS["tool_" + scheme] = {"class": type(tool).__name__, "name": tool.name, "description": tool.description,
                                 "actions": [(a.code, a.name) for a in tool.actions]}
    if scheme == "NO_AUTH":
        RESULTS["whoami_" + scheme] = response(tool.run("WIRE_SANDBOX_ECHO", {"message": "hi"}))
    else:
        RESULTS["whoami_" + scheme] = response(tool.run("WIRE_SANDBOX_WHOAMI", {}))

from aixplain.enums import Function
mine = ModelFactory.list(function=Function.CONNECTION, page_size=50)
RESULTS["connections"] = sorted((c.name, type(c).__name__) for c in mine["results"])

tool = ModelFactory.get(connections["API_KEY"])
RESULTS["inputs"] = tool.get_action_inputs("WIRE_SANDBOX_CREATE_NOTE")
RESULTS["inputs_short"] = sorted(tool.get_action_inputs("LIST_NOTES"))
record("inputs_unknown", lambda: tool.get_action_inputs("NOPE"))
note = response(tool.run("WIRE_SANDBOX_CREATE_NOTE", {"text": "hello", "tags": ["a"]}))
RESULTS["note"] = note
RESULTS["read"] = response(tool.run("WIRE_SANDBOX_GET_NOTE", data={"note_id": note["data"]["id"]}))
record("delete", lambda: ModelFactory.get(connections["NO_AUTH"]).delete())
record("deleted_get", lambda: ModelFactory.get(connections["NO_AUTH"]))
"""


def test_v1_lists_gets_and_connects_with_all_six_schemes(wire: Wire, wire_sandbox: SandboxServer) -> None:
    script = V1_SCHEMES % {"api_key": CANARY_API_KEY, "token": CANARY_TOKEN, "password": CANARY_PASSWORD}
    results, output = wire.sdk(script)

    first_page = wire.engine.integrations.list(team=wire.team_a.id)  # the team's view, 20 a page
    assert results["listed"] == sorted(i.id for i in first_page.results)
    assert results["list_total"] == first_page.total > 100
    assert results["searched"][0] == "wire-sandbox"
    assert results["integration"] == {
        "class": "Integration",
        "repr": "Integration: Wire Sandbox by plughub (id=wire-sandbox)",
        "name": "Wire Sandbox",
        "methods": ["API_KEY", "BEARER_TOKEN", "BASIC", "NO_AUTH", "OAUTH2", "OAUTH1"],
    }
    assert results["by_name"] == {"ok": "wire-sandbox", "warnings": []}
    assert results["model_get"] == "Integration"
    # The SDK checks `<SCHEME>-inputs` itself; nothing reaches the server.
    assert results["missing_input"]["error"] == "ValueError"
    assert "Parameters ['username', 'password'] are required" in results["missing_input"]["message"]

    for scheme in ("API_KEY", "BEARER_TOKEN", "BASIC", "NO_AUTH"):
        answer = results["connect_" + scheme]["ok"]
        assert answer["status"] == "SUCCESS" and answer["completed"] is True, answer
        assert set(answer["data"]) == {"id"}
    for scheme in ("OAUTH2", "OAUTH1"):
        connect = results["connect_" + scheme]
        redirect = results["redirect_" + scheme]
        assert redirect.startswith(f"{wire_sandbox.url}/{scheme.lower()}/authorize?")
        assert connect["warnings"] == [
            f"Before using the tool, please visit the following URL to complete the connection: {redirect}"
        ]
        assert results["consent_" + scheme]["ok"] == {"status": 200, "connected": True}

    for scheme in ("API_KEY", "BEARER_TOKEN", "BASIC", "NO_AUTH", "OAUTH2", "OAUTH1"):
        tool = results["tool_" + scheme]
        assert tool["class"] == "ConnectionTool"
        assert tool["name"] == f"c-{scheme}"
        assert ["WIRE_SANDBOX_WHOAMI", "Who am I"] in tool["actions"]
        whoami = results["whoami_" + scheme]
        assert whoami["status"] == "SUCCESS" and whoami["completed"] is True, whoami
        expected = {"echo": "hi", "authenticated": False} if scheme == "NO_AUTH" else {"scheme": scheme, "user": "demo"}
        assert whoami["data"] == expected, whoami
    assert results["tool_API_KEY"]["description"] == "via API_KEY"
    assert results["connections"] == sorted(
        [f"c-{s}", "ConnectionTool"] for s in ("API_KEY", "BEARER_TOKEN", "BASIC", "NO_AUTH", "OAUTH2", "OAUTH1")
    )

    inputs = results["inputs"]
    assert set(inputs) == {"text", "tags"}
    assert inputs["text"]["required"] is True and inputs["text"]["datatype"] == "string"
    assert inputs["tags"]["required"] is False and inputs["tags"]["datatype"] == "array"
    assert results["inputs_short"] == ["limit", "offset"]
    assert "not found in response" in results["inputs_unknown"]["message"]
    assert results["note"]["status"] == "SUCCESS"
    assert results["read"]["data"]["text"] == "hello"
    assert results["delete"] == {"ok": None, "warnings": []}
    assert "Status Code: 404" in results["deleted_get"]["message"]
    assert_clean(output)

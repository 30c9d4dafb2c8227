"""The v2 client (`from aixplain import Aixplain`): search, get, connect with each scheme, tools, inputs."""

from __future__ import annotations

from plughub.sandbox import SandboxServer
from tests.aixplain.conftest import Wire, assert_clean
from tests.conftest import CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN

V2_SCHEMES = """
from aixplain import Aixplain

aix = Aixplain()
page = aix.Integration.search(query="Wire Sandbox")
RESULTS["search"] = {"ids": [i.id for i in page.results], "total": page.total}
record("all", lambda: aix.Integration.search().total)
integ = aix.Integration.get("wire-sandbox")
RESULTS["integration"] = {"class": type(integ).__name__, "name": integ.name,
                          "schemes": integ.attributes["auth_schemes"],
                          "basic_inputs": integ.attributes["BASIC-inputs"]}
RESULTS["integration_actions"] = [(a.name, a.description) for a in integ.list_actions()][:3]

DATA = {
    "API_KEY": {"api_key": "%(api_key)s"},
    "BEARER_TOKEN": {"token": "%(token)s"},
    "BASIC": {"username": "demo", "password": "%(password)s"},
    "NO_AUTH": {},
}
tools = {}
for scheme, data in DATA.items():
    tool = integ.connect(name="v2-" + scheme, authScheme=scheme, data=data)
    tools[scheme] = tool.id
    RESULTS["connect_" + scheme] = {"class": type(tool).__name__, "name": tool.name,
                                    "integration_id": tool.integration_id, "redirect_url": tool.redirect_url}
for scheme in ("OAUTH2", "OAUTH1"):
    tool = record("connect_" + scheme, lambda: integ.connect(name="v2-" + scheme, authScheme=scheme))
    tools[scheme] = tool.id
    RESULTS["redirect_" + scheme] = tool.redirect_url
    record("consent_" + scheme, lambda: consent(tool.redirect_url))

# Tool(...).save() sends no scheme: the server picks the one the data fits.
saved = aix.Tool(name="v2-saved", integration="wire-sandbox", config={"token": "%(token)s"})
saved.save()
tools["SAVED"] = saved.id
record("missing", lambda: integ.connect(name="v2-bad", authScheme="BASIC", data={"username": "demo"}))
record("unsupported", lambda: integ.connect(name="v2-bad", authScheme="DIGEST", data={}))

for scheme, tool_id in tools.items():
    tool = aix.Tool.get(tool_id)
    action = "WIRE_SANDBOX_ECHO" if scheme == "NO_AUTH" else "WIRE_SANDBOX_WHOAMI"
    data = {"message": "hi"} if scheme == "NO_AUTH" else {}
    result = tool.run(action=action, data=data)
    RESULTS["run_" + scheme] = {"status": result.status, "completed": result.completed, "data": result.data,
                                "parent": tool.integration_id, "function_type": tool.function_type}

tool = aix.Tool.get(tools["API_KEY"])
RESULTS["tool_actions"] = list(tool.actions)
inputs = tool.actions["WIRE_SANDBOX_CREATE_NOTE"].inputs
RESULTS["inputs"] = {name: {"required": inputs[name].required, "type": inputs[name].type} for name in inputs.keys()}
note = tool.run(action="WIRE_SANDBOX_CREATE_NOTE", data={"text": "from v2"})
RESULTS["note"] = note.data
record("delete", lambda: str(tool.delete()))
record("deleted", lambda: aix.Tool.get(tools["API_KEY"]))
"""


def test_v2_searches_gets_and_connects_with_all_six_schemes(wire: Wire, wire_sandbox: SandboxServer) -> None:
    script = V2_SCHEMES % {"api_key": CANARY_API_KEY, "token": CANARY_TOKEN, "password": CANARY_PASSWORD}
    results, output = wire.sdk(script, run_url="/api/v2/execute")

    assert results["search"]["ids"][0] == "wire-sandbox"
    assert results["all"]["ok"] == wire.engine.integrations.list(team=wire.team_a.id).total
    assert results["integration"] == {
        "class": "Integration",
        "name": "Wire Sandbox",
        "schemes": '["API_KEY", "BEARER_TOKEN", "BASIC", "NO_AUTH", "OAUTH2", "OAUTH1"]',
        "basic_inputs": (
            '[{"name": "username", "displayName": "Username", "type": "string", "description": "Username", '
            '"required": true}, {"name": "password", "displayName": "Password", "type": "string", '
            '"description": "Password", "required": true}]'
        ),
    }
    assert results["integration_actions"][0] == [
        "WIRE_SANDBOX_WHOAMI",
        "Report which scheme authenticated the request.",
    ]

    for scheme in ("API_KEY", "BEARER_TOKEN", "BASIC", "NO_AUTH"):
        assert results["connect_" + scheme] == {
            "class": "Tool",
            "name": f"v2-{scheme}",
            "integration_id": "wire-sandbox",
            "redirect_url": None,
        }
    for scheme in ("OAUTH2", "OAUTH1"):
        redirect = results["redirect_" + scheme]
        assert redirect.startswith(f"{wire_sandbox.url}/{scheme.lower()}/authorize?")
        assert results["connect_" + scheme]["warnings"] == [
            f"Before using the tool, please visit the following URL to complete the connection: {redirect}"
        ]
        assert results["consent_" + scheme]["ok"] == {"status": 200, "connected": True}
    assert results["missing"]["error"] == "APIError"
    assert results["missing"]["message"] == (
        "Parameter 'password' is required for Wire Sandbox BASIC authentication. "
        "Please provide it in the data dictionary."
    )
    assert results["unsupported"]["message"] == (
        "Wire Sandbox does not support authScheme 'DIGEST'; "
        "it supports API_KEY, BEARER_TOKEN, BASIC, NO_AUTH, OAUTH2, OAUTH1"
    )

    for scheme in ("API_KEY", "BEARER_TOKEN", "BASIC", "NO_AUTH", "OAUTH2", "OAUTH1", "SAVED"):
        run = results["run_" + scheme]
        expected = {"echo": "hi", "authenticated": False} if scheme == "NO_AUTH" else {"scheme": scheme, "user": "demo"}
        if scheme == "SAVED":
            expected = {"scheme": "BEARER_TOKEN", "user": "demo"}
        assert run == {
            "status": "SUCCESS",
            "completed": True,
            "data": expected,
            "parent": "wire-sandbox",
            "function_type": "connection",
        }, scheme
    assert "WIRE_SANDBOX_CREATE_NOTE" in results["tool_actions"]
    assert results["inputs"] == {
        "text": {"required": True, "type": "string"},
        "tags": {"required": False, "type": "array"},
    }
    assert results["note"]["text"] == "from v2"
    assert "error" not in results["delete"], results["delete"]
    assert results["deleted"]["error"] == "APIError"
    assert "No tool (connection) with id" in results["deleted"]["message"]
    # Nothing half-made was stored by the refused connects.
    names = [c.name for c in wire.engine.connections.list(team=wire.team_a.id, page_size=100).results]
    assert "v2-bad" not in names
    assert_clean(output)

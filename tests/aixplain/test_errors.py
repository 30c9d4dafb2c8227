"""Keys, tenancy and bad requests on the aiXplain routes: the SDK's view, and the wire's error shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from plughub.enums import AuthenticationSchema
from plughub.sandbox import SandboxServer
from plughub.schemas import ConnectRequest
from tests.aixplain.conftest import Wire, assert_clean
from tests.conftest import CANARY_API_KEY

TENANCY = """
import aixplain.utils.config as config
from aixplain import Aixplain
from aixplain.factories import IntegrationFactory, ModelFactory

CONN = "%(connection)s"
record("other_team_get", lambda: ModelFactory.get(CONN))
record("other_team_integration", lambda: IntegrationFactory.get("wire-sandbox"))
record("other_team_tool", lambda: Aixplain().Tool.get(CONN))
record("own_integration", lambda: IntegrationFactory.get("sandbox").id)
record("wrong_key_get", lambda: ModelFactory.get("sandbox", api_key="%(wrong)s"))
record("wrong_key_search", lambda: Aixplain(api_key="%(wrong)s").Integration.search())
config.TEAM_API_KEY = "%(wrong)s"
record("wrong_key_list", lambda: IntegrationFactory.list())
"""


def _error(response: httpx.Response, status: int, code: str) -> str:
    """The response is an aiXplain error with this status and code; return its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "completed", "statusCode", "message", "error", "error_message"}, body
    assert (body["status"], body["completed"], body["statusCode"]) == ("FAILED", True, status)
    assert body["error"] == f"{code}: {body['message']}"
    assert body["error_message"] == body["message"]
    return str(body["message"])


@pytest.fixture
def connection(wire: Wire, wire_sandbox: SandboxServer) -> str:
    request = ConnectRequest(
        integration_id="wire-sandbox", scheme=AuthenticationSchema.API_KEY, data={"api_key": CANARY_API_KEY}
    )
    return wire.engine.connections.create(request, team=wire.team_a.id).id


def test_the_sdk_sees_another_teams_ids_as_missing_and_a_wrong_key_as_401(wire: Wire, connection: str) -> None:
    results, output = wire.sdk(
        TENANCY % {"connection": connection, "wrong": "phk_not-a-key"}, key=wire.team_b.key, run_url="/api/v2/execute"
    )
    missing = (
        f"No integration or connection with id '{connection}' for this API key's team. List integrations with "
        "IntegrationFactory.list(); a connection's id is the `id` that connect() returned."
    )
    get = results["other_team_get"]
    assert get["error"] == "Exception"
    assert get["message"].startswith(f"Model GET Error: Failed to retrieve model {connection}. Status Code: 404.")
    assert missing in get["message"]
    assert "Status Code: 404" in results["other_team_integration"]["message"]
    assert results["other_team_tool"] == {
        "error": "APIError",
        "message": f"No tool (connection) with id '{connection}' for this API key's team; a tool's id is the one "
        "Integration.connect() or Tool(...).save() returned.",
    }
    assert results["own_integration"] == {"ok": "sandbox", "warnings": []}
    unknown_key = (
        "the API key is unknown or revoked: set TEAM_API_KEY to a live plughub API key "
        "(list them with `plughub api-keys list --team TEAM`)"
    )
    assert "Status Code: 401" in results["wrong_key_get"]["message"]
    assert unknown_key in results["wrong_key_get"]["message"]
    assert results["wrong_key_search"] == {"error": "APIError", "message": unknown_key}
    assert results["wrong_key_list"]["message"].startswith(
        "Listing Models Error: Failed to retrieve models. Status Code: 401."
    )
    assert_clean(output)


def test_every_header_style_authenticates_and_none_is_401(wire: Wire) -> None:
    key = wire.team_a.key
    with wire.http() as anonymous:
        for headers in ({"Authorization": f"Token {key}"}, {"Authorization": f"Bearer {key}"}, {"x-api-key": key}):
            answer = anonymous.get("/sdk/models/sandbox", headers=headers)
            assert answer.status_code == 200, (headers, answer.text)
            assert answer.json()["id"] == "sandbox"
        message = _error(anonymous.post("/v2/integrations/paginate", json={}), 401, "unauthorized")
        assert message == (
            "an API key is required: set TEAM_API_KEY to a plughub API key (create one with "
            "`plughub api-keys create --team TEAM`); the SDK sends it as `Authorization: Token <key>` or `x-api-key`"
        )
        _error(anonymous.get("/api/v1/data/req_x", headers={"x-api-key": "phk_wrong"}), 401, "unauthorized")
        # The /v1 API keeps its own error shape.
        v1 = anonymous.get("/v1/integrations")
        assert v1.status_code == 401
        assert set(v1.json()) == {"error", "message", "details"}


def test_another_teams_connection_is_a_404_on_every_route(wire: Wire, connection: str) -> None:
    with wire.http(wire.team_b.key) as b:
        for answer in (
            b.get(f"/sdk/models/{connection}"),
            b.delete(f"/sdk/models/{connection}"),
            b.post(f"/api/v2/execute/{connection}", json={"action": "LIST_ACTIONS", "data": " "}),
            b.post(f"/api/v1/execute/{connection}", json={"action": "WIRE_SANDBOX_WHOAMI", "data": {}}),
        ):
            assert f"No integration or connection with id '{connection}'" in _error(answer, 404, "not_found")
        _error(b.get(f"/v2/tools/{connection}"), 404, "connection_not_found")
        _error(b.delete(f"/v2/tools/{connection}"), 404, "connection_not_found")
        listed = b.post("/sdk/models/paginate", json={"q": "", "functions": ["connection"]}).json()
        assert listed["items"] == [] and listed["total"] == 0
    with wire.http(wire.team_a.key) as a:
        listed = a.post("/sdk/models/paginate", json={"functions": ["connection"]}).json()
        assert [item["id"] for item in listed["items"]] == [connection]
        assert listed["items"][0]["functionType"] == "connection"
        assert a.get(f"/sdk/models/{connection}").json()["status"] == "onboarded"


def _count(wire: Wire) -> int:
    return wire.engine.connections.list(team=wire.team_a.id).total


def test_bad_requests_are_400_with_a_message_and_store_nothing(wire: Wire, connection: str) -> None:
    before = _count(wire)
    with wire.http(wire.team_a.key) as a:
        execute = "/api/v2/execute/wire-sandbox"
        cases: list[tuple[Any, str, str]] = [
            (b"{not json", "invalid_input", "the body is not valid JSON"),
            ([1, 2], "invalid_input", "the body must be a JSON object"),
            ({"authScheme": "API_KEY", "data": "k"}, "invalid_input", "data must be an object of connect inputs"),
            ({"authScheme": "DIGEST"}, "unsupported_scheme", "Wire Sandbox does not support authScheme 'DIGEST'"),
            ({"authScheme": "API_KEY", "data": {}}, "missing_inputs", "Parameter 'api_key' is required"),
            (
                {"authScheme": "API_KEY", "data": {"api_key": CANARY_API_KEY, "colour": "red"}},
                "unknown_inputs",
                "colour",
            ),
            ({"data": {"colour": "red"}}, "unsupported_scheme", "no authentication scheme of Wire Sandbox fits"),
            ({"name": 7, "authScheme": "NO_AUTH"}, "invalid_input", "name must be a string, not int"),
            ({"action": "WIRE_SANDBOX_WHOAMI", "data": {}}, "invalid_input", "is an integration: connect to it first"),
            ({"action": "LIST_INPUTS", "data": {"actions": [1]}}, "invalid_input", "data.actions must be a list"),
        ]
        for body, code, text in cases:
            if isinstance(body, bytes):
                sent = a.post(execute, content=body, headers={"Content-Type": "application/json"})
            else:
                sent = a.post(execute, json=body)
            message = _error(sent, 400, code)
            assert text in message, (body, message)
            assert CANARY_API_KEY not in sent.text
        message = _error(a.post(f"/api/v2/execute/{connection}", json={"data": {}}), 400, "invalid_input")
        assert message.startswith(f"'{connection}' is a connection: send the action to run")
        message = _error(a.delete("/sdk/models/wire-sandbox"), 400, "invalid_input")
        assert message == (
            "'wire-sandbox' is an integration; only connections (the ids connect() returned) are deleted here"
        )
        message = _error(a.post("/sdk/models/paginate", json={"pageSize": "many"}), 400, "invalid_input")
        assert message == "pageSize must be an integer"
        message = _error(a.post("/sdk/models/paginate", json={"pageSize": 0}), 400, "invalid_input")
        assert message == "page_number must be >= 0 and page_size between 1 and 1000"
        _error(a.get("/sdk/models/nothing-here"), 404, "not_found")
        _error(a.get("/v2/integrations/nothing-here"), 404, "integration_not_found")
        assert _error(a.get("/sdk/models/by-name/Nothing Here"), 404, "not_found").startswith(
            "No integration or connection named 'Nothing Here'"
        )
        assert a.get("/sdk/models/by-name/Wire Sandbox").json()["id"] == "wire-sandbox"
    assert _count(wire) == before

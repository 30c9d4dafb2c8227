"""Bad requests answer the JSON error shape with a 4xx status, naming what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plughub.config import Settings
from plughub.exceptions import InvalidInput
from plughub.sandbox import SandboxServer
from tests.server.conftest import Hub, HubFactory, Tenant, assert_error, connect_sandbox, run


def _fields(body: dict[str, Any]) -> list[str]:
    return [p["field"] for p in body["details"]["problems"]]


def test_malformed_json_body_is_422(team_a: Tenant) -> None:
    for path in ("/v1/connections", "/v1/integrations", "/v1/connect-sessions", "/v1/connections/x/actions/A/run"):
        response = team_a.client.post(
            path, content=b'{"integration_id": ', headers={"Content-Type": "application/json"}
        )
        body = assert_error(response, 422, "invalid_input")
        assert "JSON" in body["message"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"scheme": "API_KEY"}, "integration_id", "Field required"),
        ({"integration_id": "sandbox", "scheme": "PIGEON"}, "scheme", "API_KEY"),
        ({"integration_id": "sandbox"}, "scheme", "Field required"),
        ({"integration_id": "sandbox", "scheme": "API_KEY", "data": "key=1"}, "data", "dictionary"),
        ({"integration_id": ["sandbox"], "scheme": "API_KEY"}, "integration_id", "string"),
    ],
)
def test_connect_schema_violations_name_the_field(team_a: Tenant, body: dict[str, Any], field: str, words: str) -> None:
    problem = assert_error(team_a.client.post("/v1/connections", json=body), 422, "invalid_input")
    assert field in _fields(problem)
    assert problem["message"].startswith(f"{field}: ")
    assert words in problem["message"]


def test_a_body_that_is_not_an_object_is_422(team_a: Tenant) -> None:
    for body in ([], "text", 3, None):
        assert_error(team_a.client.post("/v1/connections", json=body), 422, "invalid_input")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"inputs": ["a"]}, "inputs", "dictionary"),
        ({"inputs": "text=hi"}, "inputs", "dictionary"),
        ({"inputs": {}, "extra": 1}, "body", "unknown field 'extra': put the action's inputs under \"inputs\""),
        ({"input": {"text": "hi"}}, "body", "unknown field 'input': put the action's inputs under \"inputs\""),
    ],
)
def test_run_body_violations_name_the_field(
    team_a: Tenant, sandbox: SandboxServer, body: dict[str, Any], field: str, words: str
) -> None:
    connection_id = connect_sandbox(team_a.client, sandbox)
    response = team_a.client.post(f"/v1/connections/{connection_id}/actions/SANDBOX_CREATE_NOTE/run", json=body)
    problem = assert_error(response, 422, "invalid_input")
    assert field in _fields(problem)
    assert words in problem["message"]
    assert sandbox.received == []


def test_other_bodies_refuse_extra_fields(team_a: Tenant) -> None:
    response = team_a.client.put(
        "/v1/integrations/sandbox/oauth-app", json={"client_id": "c", "client_secret": "s", "colour": "blue"}
    )
    assert "colour" in _fields(assert_error(response, 422, "invalid_input"))
    response = team_a.client.put("/v1/integrations/sandbox/oauth-app", json={"client_id": "", "client_secret": "s"})
    assert "client_id" in _fields(assert_error(response, 422, "invalid_input"))
    response = team_a.client.post("/v1/connect-sessions", json={"integration_id": "sandbox", "schemes": ["PIGEON"]})
    assert "schemes.0" in _fields(assert_error(response, 422, "invalid_input"))
    response = team_a.client.get("/v1/connections", params={"page_size": 0})
    assert "page_size" in _fields(assert_error(response, 422, "invalid_input"))
    response = team_a.client.get("/v1/integrations", params={"page_number": "first"})
    assert "page_number" in _fields(assert_error(response, 422, "invalid_input"))


@pytest.mark.parametrize(
    ("action", "inputs", "code"),
    [
        ("SANDBOX_CREATE_NOTE", {}, "missing_inputs"),
        ("SANDBOX_CREATE_NOTE", {"text": ""}, "invalid_input"),
        ("SANDBOX_CREATE_NOTE", {"text": "hi", "colour": "blue"}, "unknown_inputs"),
        ("SANDBOX_LIST_NOTES", {"limit": 0}, "invalid_input"),
        ("SANDBOX_GET_NOTE", {"note_id": "one"}, "invalid_input"),
    ],
)
def test_action_input_violations_answer_the_engines_message(
    hub: Hub, team_a: Tenant, sandbox: SandboxServer, action: str, inputs: dict[str, Any], code: str
) -> None:
    connection_id = connect_sandbox(team_a.client, sandbox)
    with pytest.raises(InvalidInput) as raised:
        hub.engine.actions.run(connection_id, action, inputs, team=team_a.id)
    body = assert_error(run(team_a.client, connection_id, action, inputs), 422, raised.value.code)
    assert raised.value.code == code
    assert body["message"] == raised.value.message
    assert body["details"] == raised.value.details
    assert sandbox.received == []


def test_connect_data_violations(team_a: Tenant) -> None:
    def connect(data: dict[str, Any]) -> Any:
        return team_a.client.post(
            "/v1/connections", json={"integration_id": "sandbox", "scheme": "API_KEY", "data": data}
        )

    missing = assert_error(connect({}), 422, "missing_inputs")
    assert missing["details"]["missing"] == ["api_key"]
    unknown = assert_error(connect({"api_key": "k", "colour": "blue"}), 422, "unknown_inputs")
    assert unknown["details"]["unknown"] == ["colour"]
    wrong = assert_error(connect({"api_key": "k", "port": "eighty"}), 422, "invalid_input")
    assert "port" in wrong["message"]
    bad_url = assert_error(connect({"api_key": "k", "base_url": "ftp://x"}), 422, "invalid_input")
    assert "base_url" in bad_url["message"]
    unsupported = team_a.client.post(
        "/v1/connections", json={"integration_id": "hacker-news", "scheme": "BASIC", "data": {}}
    )
    assert "supported" in assert_error(unsupported, 422, "unsupported_scheme")["details"]
    assert_error(
        team_a.client.post("/v1/connections", json={"integration_id": "no-such-thing", "scheme": "NO_AUTH"}),
        404,
        "integration_not_found",
    )
    assert team_a.client.get("/v1/connections").json()["total"] == 0


def test_unknown_action_and_reconnect_of_a_static_scheme(team_a: Tenant, sandbox: SandboxServer) -> None:
    connection_id = connect_sandbox(team_a.client, sandbox)
    body = assert_error(run(team_a.client, connection_id, "SANDBOX_FLY"), 404, "action_not_found")
    assert "SANDBOX_WHOAMI" in body["details"]["actions"]
    assert_error(team_a.client.get(f"/v1/connections/{connection_id}/actions/FLY"), 404, "action_not_found")
    assert_error(team_a.client.post(f"/v1/connections/{connection_id}/reconnect"), 422, "invalid_input")
    assert sandbox.received == []


def test_unknown_route_and_method(hub: Hub, team_a: Tenant) -> None:
    for client in (hub.client(), team_a.client):
        assert_error(client.get("/v1/nothing-here"), 404, "not_found")
        assert_error(client.get("/"), 404, "not_found")
    assert_error(team_a.client.patch("/v1/connections"), 405, "method_not_allowed")


@pytest.fixture
def small_hub(make_hub: HubFactory) -> Hub:
    return make_hub(max_body_bytes=1024)


def test_oversized_body_is_413(small_hub: Hub, sandbox: SandboxServer) -> None:
    tenant = small_hub.team("small")
    big = {"integration_id": "sandbox", "scheme": "NO_AUTH", "name": "x" * 2000}
    response = tenant.client.post("/v1/connections", json=big)
    body = assert_error(response, 413, "payload_too_large")
    assert body["details"] == {"limit": 1024}
    # Without a key too: the size is checked before anything else.
    assert_error(small_hub.client().post("/v1/connections", json=big), 413, "payload_too_large")
    assert tenant.client.get("/v1/connections").json()["total"] == 0
    small = {"integration_id": "sandbox", "scheme": "NO_AUTH", "name": "x" * 900, "data": {"port": sandbox.port}}
    assert tenant.client.post("/v1/connections", json=small).status_code == 201


def test_oversized_chunked_body_is_413(small_hub: Hub) -> None:
    tenant = small_hub.team("small")

    def chunks() -> Iterator[bytes]:
        yield b'{"integration_id": "sandbox", "scheme": "NO_AUTH", "name": "'
        for _ in range(8):
            yield b"x" * 512
        yield b'"}'

    response = tenant.client.post("/v1/connections", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")
    assert tenant.client.get("/v1/connections").json()["total"] == 0

    def small() -> Iterator[bytes]:
        yield b'{"integration_id": "sandbox", "scheme": "NO_AUTH",'
        yield b' "name": "chunked"}'

    accepted = tenant.client.post("/v1/connections", content=small(), headers={"Content-Type": "application/json"})
    assert accepted.status_code == 201, accepted.text


def test_broken_definition_is_a_client_error(team_a: Tenant) -> None:
    response = team_a.client.post("/v1/integrations", json={"id": "half-done"})
    body = assert_error(response, 422, "invalid_definition")
    assert "display_name" in body["message"]
    bad_action = {
        "id": "half-done",
        "display_name": "Half done",
        "base_url": "https://half.example",
        "auth": [{"mode": "NO_AUTH"}],
        "actions": {"whoami": {"method": "GET", "path": "/whoami"}},
    }
    body = assert_error(team_a.client.post("/v1/integrations", json=bad_action), 422, "invalid_definition")
    assert "actions" in body["message"]
    assert_error(team_a.client.get("/v1/integrations/half-done"), 404, "integration_not_found")


@pytest.mark.parametrize("page_number", [10**30, 2**62])
def test_a_huge_page_number_is_not_a_server_error(hub: Hub, team_a: Tenant, page_number: int) -> None:
    # A fresh connection each time: uvicorn closes the connection after an unhandled error.
    response = httpx.get(
        f"{hub.url}/v1/connections",
        params={"page_number": page_number},
        headers={"Authorization": f"Bearer {team_a.key}"},
    )
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert_error(response, 422, "invalid_input")
    else:
        assert response.json()["results"] == []


def test_a_huge_page_number_of_integrations_is_an_empty_page(team_a: Tenant) -> None:
    response = team_a.client.get("/v1/integrations", params={"page_number": 10**30})
    assert response.status_code < 500, response.text


def test_an_unexpected_exception_answers_the_json_error_shape(settings: Settings) -> None:
    from plughub.engine import Engine
    from plughub.server import create_app
    from tests.servers import serve_app

    engine = Engine(settings)
    try:
        app = create_app(engine)

        @app.api.get("/v1/explode")
        def explode() -> None:
            raise RuntimeError("an unexpected failure with a secret: s3cr3t")

        with serve_app(app) as url:
            response = httpx.get(f"{url}/v1/explode")
    finally:
        engine.close()
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"]
    assert "s3cr3t" not in response.text


def test_import_by_url_never_reads_the_servers_files(hub: Hub, team_a: Tenant) -> None:
    for url in ("/etc/passwd", "master.key", "file:///etc/passwd"):
        body = assert_error(team_a.client.post("/v1/integrations/import", json={"url": url}), 422, "invalid_input")
        assert "http:// or https://" in body["message"]
    assert_error(team_a.client.post("/v1/integrations/import", json={}), 422, "invalid_input")

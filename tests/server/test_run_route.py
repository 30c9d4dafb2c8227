"""The run route (`plughub.server.run_route`): one endpoint, answering as its OpenAPI document says.

It reads the body as FastAPI reads a `RunBody` (JSON by `Content-Type`, FastAPI's own wording for
what it refuses) and checks the key as every `/v1` route does; the cases below are the answers the
FastAPI route gave before the route was a Starlette one.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from plughub.sandbox import SandboxServer
from tests.server.conftest import Hub, Tenant, assert_error, assert_no_canary, connect_sandbox

JSON = "application/json"
NOT_AN_OBJECT = "body: Input should be a valid dictionary or object to extract fields from"
NOT_A_DICT = "inputs: Input should be a valid dictionary"
KEY_REQUIRED = "an API key is required: send `Authorization: Bearer <key>`"


@pytest.fixture
def whoami(team_a: Tenant, sandbox: SandboxServer) -> str:
    """The path that runs SANDBOX_WHOAMI on team A's sandbox connection."""
    return f"/v1/connections/{connect_sandbox(team_a.client, sandbox)}/actions/SANDBOX_WHOAMI/run"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (JSON, b'{"inputs": {}}'),
        (JSON, b"{}"),
        ("application/json; charset=utf-8", b'{"inputs": {}}'),
        ("Application/JSON", b'{"inputs": {}}'),
        ("application/vnd.api+json", b'{"inputs": {}}'),
        (JSON, b'\xef\xbb\xbf{"inputs": {}}'),  # a byte order mark
        (JSON, '{"inputs": {}}'.encode("utf-16")),
    ],
)
def test_a_run_answers_the_result(team_a: Tenant, whoami: str, content_type: str, body: bytes) -> None:
    response = team_a.client.post(whoami, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON
    assert response.headers["x-request-id"]
    answer = response.json()
    assert (answer["status"], answer["status_code"]) == ("SUCCESS", 200)
    assert answer["data"] == {"scheme": "API_KEY", "user": "demo"}
    assert_no_canary(response.text)


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        (JSON, b'{"inputs":', "body: JSON decode error"),
        (JSON, b"nope", "body: JSON decode error"),
        (JSON, b"\xff\xfe", "body: JSON decode error"),
        (JSON, b"", "body: Field required"),
        (None, b"", "body: Field required"),
        (None, b'{"inputs": {}}', NOT_AN_OBJECT),  # no type is not JSON (FastAPI's strict content type)
        ("text/plain", b'{"inputs": {}}', NOT_AN_OBJECT),
        ("application/x-www-form-urlencoded", b"inputs=1", NOT_AN_OBJECT),
        (JSON, b"[]", NOT_AN_OBJECT),
        (JSON, b'"x"', NOT_AN_OBJECT),
        (JSON, b"3", NOT_AN_OBJECT),
        (JSON, b"null", NOT_AN_OBJECT),
        (JSON, b'{"inputs": 3}', NOT_A_DICT),
        (JSON, b'{"inputs": null}', NOT_A_DICT),
        (JSON, b'{"inputs": []}', NOT_A_DICT),
        (JSON, b'{"inputs": {}, "inputs": "a"}', NOT_A_DICT),  # the last of duplicate keys counts
        (
            JSON,
            b'{"inputs": {}, "extra": 1}',
            """body: unknown field 'extra': put the action's inputs under "inputs": {"inputs": {"extra": ...}}""",
        ),
    ],
)
def test_a_body_that_is_not_a_run_body_is_422_in_fastapis_words(
    team_a: Tenant, whoami: str, content_type: str | None, body: bytes, message: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = team_a.client.post(whoami, content=body, headers=headers)
    answer = assert_error(response, 422, "invalid_input")
    assert answer["message"] == message
    field, _, problem = message.partition(": ")
    assert answer["details"] == {"problems": [{"field": field, "problem": problem}]}


def test_a_body_that_is_no_text_is_400(team_a: Tenant, whoami: str) -> None:
    response = team_a.client.post(whoami, content=b"\xff", headers={"Content-Type": JSON})
    assert assert_error(response, 400, "http_error")["message"] == "There was an error parsing the body"


@pytest.mark.parametrize("body", [b"{}", b"[]", b"", b'{"inputs": 3}'])
def test_without_a_key_it_is_401_before_the_body_is_checked(hub: Hub, team_a: Tenant, whoami: str, body: bytes) -> None:
    for client, message in ((hub.client(), KEY_REQUIRED), (hub.client("nope"), "the API key is unknown or revoked")):
        response = client.post(whoami, content=body, headers={"Content-Type": JSON})
        assert assert_error(response, 401, "unauthorized")["message"].startswith(message)
    basic = hub.client(Authorization="Basic abc").post(whoami, json={})
    assert assert_error(basic, 401, "unauthorized")["message"].startswith(KEY_REQUIRED)


def test_json_that_does_not_parse_is_422_even_without_a_key(hub: Hub, whoami: str) -> None:
    response = hub.client().post(whoami, content=b'{"inputs":', headers={"Content-Type": JSON})
    assert assert_error(response, 422, "invalid_input")["message"] == "body: JSON decode error"


def test_the_key_may_come_as_x_api_key_or_a_lower_case_bearer(hub: Hub, team_a: Tenant, whoami: str) -> None:
    for client in (hub.client(**{"X-Api-Key": team_a.key}), hub.client(Authorization=f"bearer {team_a.key}")):
        response = client.post(whoami, json={"inputs": {}})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("action", "inputs", "status", "code"),
    [
        ("SANDBOX_CREATE_NOTE", {"text": 3}, 422, "invalid_input"),
        ("SANDBOX_CREATE_NOTE", {}, 422, "missing_inputs"),
        ("SANDBOX_CREATE_NOTE", {"text": "hi", "colour": "red"}, 422, "unknown_inputs"),
        ("SANDBOX_FLY", {}, 404, "action_not_found"),
        ("SANDBOX.X", {}, 404, "action_not_found"),
    ],
)
def test_the_engines_refusals_keep_their_class_status(
    team_a: Tenant, sandbox: SandboxServer, action: str, inputs: dict[str, Any], status: int, code: str
) -> None:
    connection = connect_sandbox(team_a.client, sandbox)
    response = team_a.client.post(f"/v1/connections/{connection}/actions/{action}/run", json={"inputs": inputs})
    assert_error(response, status, code)
    assert_no_canary(response.text)


def test_an_unknown_or_foreign_connection_is_404(team_a: Tenant, team_b: Tenant, sandbox: SandboxServer) -> None:
    foreign = connect_sandbox(team_b.client, sandbox)
    for connection in ("nope", foreign):
        response = team_a.client.post(f"/v1/connections/{connection}/actions/SANDBOX_WHOAMI/run", json={})
        assert assert_error(response, 404, "connection_not_found")["details"] == {"id": connection}


def test_other_methods_are_405_and_a_trailing_slash_redirects(team_a: Tenant, whoami: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        assert_error(team_a.client.request(method, whoami, json={}), 405, "method_not_allowed")
    moved = team_a.client.post(whoami + "/", json={})
    assert moved.status_code == 307
    assert httpx.URL(moved.headers["location"]).path == whoami


def test_a_revoked_key_stops_at_once(hub: Hub, team_a: Tenant, whoami: str) -> None:
    assert team_a.client.post(whoami, json={}).status_code == 200
    assert hub.engine.teams.revoke_api_key(team_a.key_id)
    body = assert_error(team_a.client.post(whoami, json={}), 401, "unauthorized")
    assert body["message"] == "the API key is unknown or revoked"


def test_an_unexpected_failure_is_the_json_error_without_its_text(
    hub: Hub, team_a: Tenant, whoami: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("an unexpected failure with a secret: s3cr3t")

    monkeypatch.setattr(hub.engine.actions, "finish", explode)
    response = team_a.client.post(whoami, json={})
    body = assert_error(response, 500, "internal_error")
    assert "s3cr3t" not in response.text
    assert body["details"]["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-request-id"] in body["message"]


def test_the_openapi_document_describes_the_route(hub: Hub) -> None:
    document = httpx.get(f"{hub.url}/openapi.json").json()
    operation = document["paths"]["/v1/connections/{connection_id}/actions/{action}/run"]
    assert list(operation) == ["post"]
    post = operation["post"]
    assert (post["tags"], post["summary"]) == (["actions"], "Run Action")
    assert post["description"].startswith("Run an action against the real service")
    assert [(p["name"], p["in"], p["required"]) for p in post["parameters"]] == [
        ("connection_id", "path", True),
        ("action", "path", True),
    ]
    assert post["requestBody"]["required"] is True
    assert post["requestBody"]["content"][JSON]["schema"] == {"$ref": "#/components/schemas/RunBody"}
    assert post["responses"]["200"]["content"][JSON]["schema"] == {"$ref": "#/components/schemas/ActionResult"}
    assert post["responses"]["422"]["content"][JSON]["schema"] == {"$ref": "#/components/schemas/HTTPValidationError"}
    assert {"inputs", "paginate", "max_pages", "page_token"} == set(
        document["components"]["schemas"]["RunBody"]["properties"]
    )

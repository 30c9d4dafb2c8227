"""Pagination and the proxy over REST (DESIGN.md §9): the run body, `POST /v1/connections/{id}/proxy`."""

from __future__ import annotations

import httpx
import pytest

from plughub.sandbox import SandboxServer
from tests.conftest import CANARY_API_KEY
from tests.server.conftest import Hub, HubFactory, Tenant, assert_error, assert_no_canary, connect_sandbox


def _notes(client: httpx.Client, connection: str, count: int) -> None:
    for n in range(count):
        path = f"/v1/connections/{connection}/actions/SANDBOX_CREATE_NOTE/run"
        assert client.post(path, json={"inputs": {"text": f"note {n}"}}).json()["status"] == "SUCCESS"


def test_a_paginated_run_reads_the_pages_and_goes_on_with_its_token(team_a: Tenant, sandbox: SandboxServer) -> None:
    connection = connect_sandbox(team_a.client, sandbox)
    _notes(team_a.client, connection, 5)
    path = f"/v1/connections/{connection}/actions/SANDBOX_LIST_NOTES/run"
    first = team_a.client.post(path, json={"inputs": {"limit": 2}, "paginate": True, "max_pages": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert [n["text"] for n in body["data"]] == ["note 0", "note 1", "note 2", "note 3"]
    assert body["details"]["pages"] == 2 and body["details"]["truncated"] is True
    rest = team_a.client.post(
        path, json={"inputs": {"limit": 2}, "paginate": True, "page_token": body["details"]["next_page_token"]}
    )
    assert [n["text"] for n in rest.json()["data"]] == ["note 4"]
    assert rest.json()["details"] == {"pages": 1, "truncated": False}
    offsets = [r.query.get("offset") for r in sandbox.received if r.path == "/notes" and r.method == "GET"]
    assert offsets == [None, "2", "4"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"inputs": {}, "paginate": True, "max_pages": 0}, 422, "max_pages: Input should be greater than or equal"),
        ({"inputs": {}, "paginate": "yes"}, 422, "paginate: Input should be a valid boolean"),
        ({"limit": 2, "paginate": True}, 422, """unknown field 'limit': put the action's inputs under "inputs\""""),
    ],
)
def test_bad_run_bodies_name_the_rest_field(
    team_a: Tenant, sandbox: SandboxServer, body: dict[str, object], status: int, fragment: str
) -> None:
    connection = connect_sandbox(team_a.client, sandbox)
    answer = team_a.client.post(f"/v1/connections/{connection}/actions/SANDBOX_LIST_NOTES/run", json=body)
    assert fragment in assert_error(answer, status, "invalid_input")["message"]


def test_paginate_on_an_action_that_does_not_paginate_is_422(team_a: Tenant, sandbox: SandboxServer) -> None:
    connection = connect_sandbox(team_a.client, sandbox)
    answer = team_a.client.post(
        f"/v1/connections/{connection}/actions/SANDBOX_WHOAMI/run", json={"inputs": {}, "paginate": True}
    )
    assert "does not declare pagination" in assert_error(answer, 422, "invalid_input")["message"]


def test_the_proxy_sends_with_the_credentials_and_is_audited(team_a: Tenant, sandbox: SandboxServer) -> None:
    connection = connect_sandbox(team_a.client, sandbox)
    answer = team_a.client.post(
        f"/v1/connections/{connection}/proxy",
        json={"method": "POST", "path": "/notes", "query": {"draft": True}, "body": {"text": "by proxy"}},
    )
    assert answer.status_code == 200, answer.text
    proxied = answer.json()
    assert proxied["ok"] is True and proxied["status_code"] == 201
    assert proxied["data"]["text"] == "by proxy" and proxied["data"]["created_by"] == "API_KEY"
    seen = sandbox.received[-1]
    assert (seen.method, seen.path, seen.query) == ("POST", "/notes", {"draft": "true"})
    assert seen.headers["X-Api-Key"] == CANARY_API_KEY
    assert_no_canary(answer.text)
    missing = team_a.client.post(f"/v1/connections/{connection}/proxy", json={"method": "GET", "path": "/notes/99"})
    assert missing.status_code == 200 and missing.json()["ok"] is False and missing.json()["status_code"] == 404
    team_a.client.post(f"/v1/connections/{connection}/proxy", json={"method": "GET", "path": "/notes"})
    runs = team_a.client.get(f"/v1/connections/{connection}/runs").json()
    assert [(r["action"], r["upstream_status"]) for r in runs[:3]] == [("PROXY", 200), ("PROXY", 404), ("PROXY", 201)]


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        ({"method": "GET", "path": "http://169.254.169.254/latest"}, "is not on the connection's origin"),
        ({"method": "GET", "path": "/a/%2e%2e/b"}, "'.' or '..' segment"),
        ({"method": "GET", "path": "/notes", "headers": {"X-Api-Key": "mine"}}, "header 'X-Api-Key' is refused"),
        ({"method": "GET", "path": "/notes", "headers": {"Authorization": "Bearer x"}}, "header 'Authorization'"),
        ({"method": "GET", "path": "/notes", "headers": {"Upgrade": "websocket"}}, "header 'Upgrade' is refused"),
        ({"method": "CONNECT", "path": "/notes"}, "method 'CONNECT' is not one plughub sends"),
    ],
)
def test_refused_proxy_requests_are_422_and_send_nothing(
    team_a: Tenant, sandbox: SandboxServer, request_body: dict[str, object], fragment: str
) -> None:
    connection = connect_sandbox(team_a.client, sandbox)
    before = len(sandbox.received)
    answer = team_a.client.post(f"/v1/connections/{connection}/proxy", json=request_body)
    assert fragment in assert_error(answer, 422, "invalid_input")["message"]
    assert len(sandbox.received) == before


def test_the_proxy_passes_the_network_guard(make_hub: HubFactory, sandbox: SandboxServer) -> None:
    guarded = make_hub(allow=None)  # loopback is not allowed: the sandbox is out of reach
    tenant = guarded.team("guarded")
    connection = connect_sandbox(tenant.client, sandbox, data={"api_key": CANARY_API_KEY, "port": sandbox.port})
    before = len(sandbox.received)
    answer = tenant.client.post(f"/v1/connections/{connection}/proxy", json={"method": "GET", "path": "/whoami"})
    assert_error(answer, 502, "outbound_blocked")
    assert len(sandbox.received) == before


def test_another_teams_connection_is_404(team_a: Tenant, team_b: Tenant, sandbox: SandboxServer) -> None:
    foreign = connect_sandbox(team_b.client, sandbox)
    answer = team_a.client.post(f"/v1/connections/{foreign}/proxy", json={"method": "GET", "path": "/whoami"})
    assert_error(answer, 404, "connection_not_found")


def test_the_openapi_document_describes_both(hub: Hub) -> None:
    document = httpx.get(f"{hub.url}/openapi.json", timeout=20).json()
    run_body = document["components"]["schemas"]["RunBody"]["properties"]
    assert {"inputs", "paginate", "max_pages", "page_token"} <= set(run_body)
    proxy = document["paths"]["/v1/connections/{connection_id}/proxy"]["post"]
    schema_ref = proxy["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]["properties"]) == {
        "method",
        "path",
        "query",
        "headers",
        "body",
    }
    response_ref = proxy["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert response_ref.endswith("/ProxyResponse")

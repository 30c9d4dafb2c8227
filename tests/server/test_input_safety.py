"""Crafted inputs on the REST API: a 4xx JSON error naming the input, never a 500, and nothing sent or stored."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from plughub.engine.store import ConnectionRecord
from tests.conftest import CANARY_TOKEN
from tests.repos_api import (
    CLIMBING_PATH_VALUES,
    DEFINITION,
    GET,
    INVALID_HOSTS,
    UNSENDABLE_IDS,
    UNSENDABLE_INPUTS,
    route,
)
from tests.server.conftest import Hub, HubFactory, Tenant, assert_error, assert_no_canary
from tests.upstream import Upstream


@pytest.fixture
def repos(team_a: Tenant, upstream: Upstream) -> str:
    """Team A's connection of the Acme Repos API to the upstream; its id."""
    route(upstream)
    assert team_a.client.post("/v1/integrations", json=DEFINITION).status_code == 201
    body = {
        "integration_id": "acme-repos",
        "scheme": "BEARER_TOKEN",
        "data": {"token": CANARY_TOKEN, "base_url": upstream.url},
    }
    created = team_a.client.post("/v1/connections", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _run(tenant: Tenant, connection: str, action: str, body: Any) -> httpx.Response:
    """Post a run body, JSON-escaped to ASCII (as a lone surrogate must be)."""
    path = f"/v1/connections/{connection}/actions/{action}/run"
    content = json.dumps(body).encode("ascii")
    return tenant.client.post(path, content=content, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("owner", CLIMBING_PATH_VALUES)
def test_a_path_input_cannot_reach_another_endpoint(team_a: Tenant, repos: str, upstream: Upstream, owner: str) -> None:
    response = _run(team_a, repos, GET, {"inputs": {"owner": owner, "repo": "user"}})
    body = assert_error(response, 422, "invalid_input")
    assert body["message"].startswith(f"{GET}: input 'owner' cannot be '{owner}'")
    assert body["details"] == {"input": "owner"}
    assert upstream.seen == []
    assert team_a.client.get(f"/v1/connections/{repos}/runs").json() == []


@pytest.mark.parametrize(("action", "inputs", "name"), UNSENDABLE_INPUTS, ids=UNSENDABLE_IDS)
def test_inputs_that_cannot_be_sent_are_422_not_500(
    team_a: Tenant, repos: str, upstream: Upstream, action: str, inputs: dict[str, Any], name: str
) -> None:
    response = _run(team_a, repos, action, {"inputs": inputs})
    body = assert_error(response, 422, "invalid_input")
    assert body["message"].startswith(f"{action}: input '{name}'")
    assert upstream.seen == []


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_connection_config_making_an_invalid_host_is_422_and_nothing_is_stored(team_a: Tenant, host: str) -> None:
    assert team_a.client.post("/v1/integrations", json=DEFINITION).status_code == 201
    body = {"integration_id": "acme-repos", "scheme": "NO_AUTH", "data": {"host": host}}
    problem = assert_error(team_a.client.post("/v1/connections", json=body), 422, "invalid_input")
    assert f"these settings make the base URL 'http://{host}'" in problem["message"]
    assert "Check 'host'" in problem["message"]
    assert team_a.client.get("/v1/connections").json()["total"] == 0


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_a_stored_connection_with_an_invalid_host_is_422(hub: Hub, team_a: Tenant, host: str) -> None:
    assert team_a.client.post("/v1/integrations", json=DEFINITION).status_code == 201
    # Stored by an earlier release, which did not check the rendered base URL at connect.
    record = ConnectionRecord(
        id="stored-bad-host",
        integration_id="acme-repos",
        name="Old",
        scheme="NO_AUTH",
        status="active",
        config={"host": host},
        team_id=team_a.id,
    )
    hub.engine.store.connections.insert(record, None)
    response = _run(team_a, "stored-bad-host", GET, {"inputs": {"owner": "o", "repo": "r"}})
    body = assert_error(response, 422, "invalid_input")
    assert f"the connection's base URL 'http://{host}' is not valid" in body["message"]


def test_a_token_that_cannot_be_a_header_is_refused_at_connect(team_a: Tenant) -> None:
    assert team_a.client.post("/v1/integrations", json=DEFINITION).status_code == 201
    for token in ("t\r\nX-Injected: 1", "\u2603", "\ud800"):
        body = {"integration_id": "acme-repos", "scheme": "BEARER_TOKEN", "data": {"token": token}}
        response = team_a.client.post(
            "/v1/connections", content=json.dumps(body).encode("ascii"), headers={"Content-Type": "application/json"}
        )
        assert "'token'" in assert_error(response, 422, "invalid_input")["message"]
    assert team_a.client.get("/v1/connections").json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"owner": "o", "repo": "r"},
            "body: unknown fields 'owner', 'repo': put the action's inputs under \"inputs\": "
            '{"inputs": {"owner": ..., "repo": ...}}',
        ),
        (
            {"inputs": {"owner": "o"}, "repo": "r"},
            'body: unknown field \'repo\': put the action\'s inputs under "inputs": {"inputs": {"repo": ...}}',
        ),
    ],
    ids=["no-wrapper", "beside-the-wrapper"],
)
def test_a_run_body_without_the_inputs_wrapper_says_where_inputs_go(
    team_a: Tenant, repos: str, upstream: Upstream, body: dict[str, Any], message: str
) -> None:
    response = _run(team_a, repos, GET, body)
    assert assert_error(response, 422, "invalid_input")["message"] == message
    assert upstream.seen == []


def test_the_guards_refusal_names_the_host_and_the_log_keeps_the_address(
    make_hub: HubFactory, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    guarded = make_hub(allow=None)
    tenant = guarded.team("guarded")
    assert tenant.client.post("/v1/integrations", json=DEFINITION).status_code == 201
    port = upstream.url.rsplit(":", 1)[1]
    body = {"integration_id": "acme-repos", "scheme": "NO_AUTH", "data": {"host": f"localhost:{port}"}}
    created = tenant.client.post("/v1/connections", json=body)
    assert created.status_code == 201, created.text
    caplog.set_level(logging.WARNING, logger="plughub.netguard")
    response = tenant.client.post(
        f"/v1/connections/{created.json()['id']}/actions/{GET}/run", json={"inputs": {"owner": "o", "repo": "r"}}
    )
    result = response.json()
    assert result["error_code"] == "outbound_blocked"
    assert "the host localhost is not allowed" in result["error_message"]
    assert "PLUGHUB_ALLOW_PRIVATE_NETWORKS" in result["error_message"]
    assert "127.0.0.1" not in response.text and "::1" not in response.text
    assert any("localhost: it resolves to" in r.getMessage() for r in caplog.records)
    assert_no_canary(response.text)
    assert upstream.seen == []

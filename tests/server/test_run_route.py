"""The run-action route's fast lane (plain ASGI) answers exactly as the FastAPI route does.

Each comparison sends the same request to the hub and to a second server over the same engine
whose application has no fast lane, so that the FastAPI route answers it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plughub.sandbox import SandboxServer
from plughub.server import create_app
from plughub.server.run_route import RunRoute
from tests.server.conftest import Hub, Tenant, assert_error, assert_no_canary, connect_sandbox
from tests.servers import serve_app


@pytest.fixture
def routed(hub: Hub) -> Iterator[str]:
    """The URL of a server over the hub's engine whose application has no fast lane."""
    app = create_app(hub.engine, hub.settings)
    layers = app.outer  # type: ignore[attr-defined]
    assert RunRoute in [layer for layer, _options in layers]
    app.outer = [(layer, options) for layer, options in layers if layer is not RunRoute]  # type: ignore[attr-defined]
    with serve_app(app) as url:
        yield url


def _both(tenant: Tenant, routed: str, path: str, body: dict[str, Any]) -> tuple[httpx.Response, httpx.Response]:
    fast = tenant.client.post(path, json=body)
    other = httpx.post(routed + path, json=body, headers={"Authorization": f"Bearer {tenant.key}"}, timeout=20)
    return fast, other


def _comparable(response: httpx.Response) -> tuple[int, Any]:
    body = response.json()
    body.pop("run_time", None)
    if isinstance(body.get("data"), dict):
        body["data"].pop("id", None)  # the sandbox numbers the notes it stores
    return response.status_code, body


@pytest.mark.parametrize(
    ("action", "inputs", "status"),
    [
        ("SANDBOX_WHOAMI", {}, 200),
        ("SANDBOX_CREATE_NOTE", {"text": "hello"}, 200),
        ("SANDBOX_CREATE_NOTE", {"text": 3}, 422),
        ("SANDBOX_CREATE_NOTE", {}, 422),
        ("SANDBOX_CREATE_NOTE", {"text": "hi", "colour": "red"}, 422),
        ("SANDBOX_FLY", {}, 404),
    ],
)
def test_the_fast_lane_answers_as_the_route(
    team_a: Tenant, routed: str, sandbox: SandboxServer, action: str, inputs: dict[str, Any], status: int
) -> None:
    connection = connect_sandbox(team_a.client, sandbox)
    path = f"/v1/connections/{connection}/actions/{action}/run"
    fast, other = _both(team_a, routed, path, {"inputs": inputs})
    assert fast.status_code == status, fast.text
    assert _comparable(fast) == _comparable(other)
    assert fast.headers["content-type"] == other.headers["content-type"] == "application/json"
    assert fast.headers["x-request-id"] and fast.headers["x-request-id"] != other.headers["x-request-id"]
    assert_no_canary(fast.text)


def test_an_unknown_or_foreign_connection_is_404_in_both(
    team_a: Tenant, team_b: Tenant, routed: str, sandbox: SandboxServer
) -> None:
    foreign = connect_sandbox(team_b.client, sandbox)
    for connection in ("nope", foreign):
        fast, other = _both(team_a, routed, f"/v1/connections/{connection}/actions/SANDBOX_WHOAMI/run", {})
        assert_error(fast, 404, "connection_not_found")
        assert _comparable(fast) == _comparable(other)


def test_a_revoked_key_stops_at_once(hub: Hub, team_a: Tenant, sandbox: SandboxServer) -> None:
    connection = connect_sandbox(team_a.client, sandbox)
    path = f"/v1/connections/{connection}/actions/SANDBOX_WHOAMI/run"
    assert team_a.client.post(path, json={}).status_code == 200
    assert hub.engine.teams.revoke_api_key(team_a.key_id)
    body = assert_error(team_a.client.post(path, json={}), 401, "unauthorized")
    assert body["message"] == "the API key is unknown or revoked"
    missing = assert_error(hub.client().post(path, json={}), 401, "unauthorized")
    assert "an API key is required" in missing["message"]


def test_an_unexpected_failure_is_the_json_error_without_its_text(
    hub: Hub, team_a: Tenant, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = connect_sandbox(team_a.client, sandbox)

    async def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("an unexpected failure with a secret: s3cr3t")

    monkeypatch.setattr(hub.engine.actions, "finish", explode)
    response = team_a.client.post(f"/v1/connections/{connection}/actions/SANDBOX_WHOAMI/run", json={})
    body = assert_error(response, 500, "internal_error")
    assert "s3cr3t" not in response.text
    assert body["details"]["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-request-id"] in body["message"]

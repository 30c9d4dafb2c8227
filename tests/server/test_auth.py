"""API keys: every /v1 route but health and readiness needs a live key of some team."""

from __future__ import annotations

import httpx
import pytest

from tests.server.conftest import Hub, Tenant, assert_error


def test_health_and_ready_need_no_key(hub: Hub) -> None:
    client = hub.client()
    assert client.get("/v1/health").json() == {"status": "ok"}
    ready = client.get("/v1/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearerphk_glued"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Token phk_something"},
        {"X-Api-Key": ""},
    ],
    ids=["none", "bearer-without-key", "bearer-glued", "basic", "other-scheme", "empty-x-api-key"],
)
def test_missing_or_malformed_key_is_401(hub: Hub, team_a: Tenant, headers: dict[str, str]) -> None:
    response = httpx.get(f"{hub.url}/v1/integrations", headers=headers)
    body = assert_error(response, 401, "unauthorized")
    assert "API key is required" in body["message"]


def test_unknown_key_is_401(hub: Hub, team_a: Tenant) -> None:
    for headers in ({"Authorization": "Bearer phk_not-a-real-key"}, {"X-Api-Key": team_a.key + "x"}):
        response = httpx.get(f"{hub.url}/v1/connections", headers=headers)
        body = assert_error(response, 401, "unauthorized")
        assert "unknown or revoked" in body["message"]


def test_bearer_and_x_api_key_both_work(hub: Hub, team_a: Tenant) -> None:
    for headers in (
        {"Authorization": f"Bearer {team_a.key}"},
        {"Authorization": f"bearer {team_a.key}"},
        {"X-Api-Key": team_a.key},
    ):
        response = httpx.get(f"{hub.url}/v1/connections", headers=headers)
        assert response.status_code == 200, (headers, response.text)
        assert response.json()["results"] == []


def test_revoked_key_is_401(hub: Hub, team_a: Tenant) -> None:
    assert team_a.client.get("/v1/integrations/sandbox").status_code == 200
    assert hub.engine.teams.revoke_api_key(team_a.key_id)
    for headers in ({"Authorization": f"Bearer {team_a.key}"}, {"X-Api-Key": team_a.key}):
        response = httpx.get(f"{hub.url}/v1/integrations/sandbox", headers=headers)
        body = assert_error(response, 401, "unauthorized")
        assert "unknown or revoked" in body["message"]
    # Another key of the same team still works.
    _record, other = hub.engine.teams.create_api_key(team_a.id, "second")
    assert hub.client(other).get("/v1/integrations/sandbox").status_code == 200


def test_every_v1_route_needs_a_key(hub: Hub, team_a: Tenant) -> None:
    anonymous = hub.client()
    calls = [
        ("GET", "/v1/integrations"),
        ("POST", "/v1/integrations"),
        ("GET", "/v1/integrations/sandbox"),
        ("PUT", "/v1/integrations/sandbox/oauth-app"),
        ("GET", "/v1/integrations/sandbox/oauth-app"),
        ("DELETE", "/v1/integrations/sandbox/oauth-app"),
        ("GET", "/v1/connections"),
        ("POST", "/v1/connections"),
        ("GET", "/v1/connections/x"),
        ("GET", "/v1/connections/x/status"),
        ("POST", "/v1/connections/x/reconnect"),
        ("DELETE", "/v1/connections/x"),
        ("GET", "/v1/connections/x/runs"),
        ("GET", "/v1/connections/x/actions"),
        ("GET", "/v1/connections/x/actions/A"),
        ("POST", "/v1/connections/x/actions/A/run"),
        ("POST", "/v1/oauth/complete"),
        ("POST", "/v1/connect-sessions"),
    ]
    for method, path in calls:
        response = anonymous.request(method, path, json={})
        assert_error(response, 401, "unauthorized")

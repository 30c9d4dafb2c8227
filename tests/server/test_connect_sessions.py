"""`/v1/connect-sessions`: single-use connect pages under the server's base URL."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from tests.server.conftest import NOTES_DEFINITION, Hub, Tenant, assert_error


def _expires(body: dict[str, str]) -> datetime:
    return datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))


def test_a_session_url_lives_under_the_base_url_for_30_minutes(hub: Hub, team_a: Tenant) -> None:
    response = team_a.client.post(
        "/v1/connect-sessions", json={"integration_id": "sandbox", "schemes": ["API_KEY"], "end_user_id": "u-1"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"url", "expires_at"}
    assert body["url"].startswith(f"{hub.url}/connect/")
    token = body["url"].removeprefix(f"{hub.url}/connect/")
    assert len(token) >= 40
    assert "/" not in token
    remaining = _expires(body) - datetime.now(timezone.utc)
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)

    page = hub.client().get(body["url"].removeprefix(hub.url))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Connect plughub Sandbox" in page.text
    assert "form-API_KEY" in page.text
    assert "form-BASIC" not in page.text
    # The token is a capability, never stored as is.
    assert hub.engine.store.get_connect_session(token) is None


def test_every_scheme_by_default_and_team_integrations(hub: Hub, team_a: Tenant) -> None:
    everything = team_a.client.post("/v1/connect-sessions", json={"integration_id": "plughub Sandbox"})
    assert everything.status_code == 201, everything.text
    page = hub.client().get(everything.json()["url"].removeprefix(hub.url))
    for scheme in ("API_KEY", "BEARER_TOKEN", "BASIC", "NO_AUTH", "OAUTH2", "OAUTH1"):
        assert f"form-{scheme}" in page.text
    assert team_a.client.post("/v1/integrations", json=NOTES_DEFINITION).status_code == 201
    own = team_a.client.post("/v1/connect-sessions", json={"integration_id": "team-notes"})
    assert own.status_code == 201
    assert "Connect Team Notes" in hub.client().get(own.json()["url"].removeprefix(hub.url)).text


def test_unsupported_scheme_and_unknown_integration(team_a: Tenant) -> None:
    refused = team_a.client.post("/v1/connect-sessions", json={"integration_id": "hacker-news", "schemes": ["OAUTH2"]})
    body = assert_error(refused, 422, "unsupported_scheme")
    assert "OAUTH2" in body["message"]
    assert body["details"]["supported"]
    assert_error(
        team_a.client.post("/v1/connect-sessions", json={"integration_id": "no-such-integration"}),
        404,
        "integration_not_found",
    )
    assert_error(team_a.client.post("/v1/connect-sessions", json={}), 422, "invalid_input")


def test_an_unknown_token_is_a_404_page(hub: Hub) -> None:
    page = hub.client().get(f"/connect/{secrets.token_urlsafe(32)}")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "This connect link is not valid." in page.text

"""`/v1/connect-sessions`: single-use connect pages under the server's base URL."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from plughub.server.pages_html import CONTENT_SECURITY_POLICY
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
    assert hub.engine.store.tenancy.get_connect_session(token) is None


def _page(hub: Hub, team: Tenant, **body: object) -> httpx.Response:
    created = team.client.post("/v1/connect-sessions", json=body)
    assert created.status_code == 201, created.text
    return hub.client().get(created.json()["url"].removeprefix(hub.url))


def test_every_scheme_by_default_and_team_integrations(hub: Hub, team_a: Tenant) -> None:
    app = {"client_id": "sandbox-client", "client_secret": "sandbox-client-secret-1234"}
    assert team_a.client.put("/v1/integrations/sandbox/oauth-app", json=app).status_code == 200
    page = _page(hub, team_a, integration_id="plughub Sandbox")
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


def test_a_sign_in_is_offered_only_with_an_oauth_app(
    hub: Hub, team_a: Tenant, team_b: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No OAuth app anywhere: the schemes that need none, and no sign-in that would end on an
    # operator's message.
    page = _page(hub, team_a, integration_id="sandbox")
    assert page.status_code == 200
    assert "form-API_KEY" in page.text and "form-NO_AUTH" in page.text
    assert "form-OAUTH2" not in page.text and "form-OAUTH1" not in page.text
    assert "set_oauth_app" not in page.text
    # One from the environment serves every team.
    monkeypatch.setenv("PLUGHUB_OAUTH_SANDBOX_CLIENT_ID", "env-client")
    monkeypatch.setenv("PLUGHUB_OAUTH_SANDBOX_CLIENT_SECRET", "env-client-secret-5678")
    page = _page(hub, team_b, integration_id="sandbox", schemes=["OAUTH2"])
    assert page.status_code == 200
    assert "form-OAUTH2" in page.text


def test_no_scheme_that_can_complete_is_an_end_users_message(
    hub: Hub, team_a: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    created = team_a.client.post("/v1/connect-sessions", json={"integration_id": "sandbox", "schemes": ["OAUTH2"]})
    assert created.status_code == 201, created.text
    path = created.json()["url"].removeprefix(hub.url)
    with caplog.at_level(logging.WARNING, logger="plughub.server"):
        page = hub.client().get(path)
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "This connection isn&#39;t available yet; contact the application&#39;s owner." in page.text
    assert "set_oauth_app" not in page.text and "PLUGHUB_OAUTH" not in page.text
    assert "form-" not in page.text
    # The operator's reason is in the server log.
    assert any("OAUTH2" in r.getMessage() and "set_oauth_app" in r.getMessage() for r in caplog.records)
    # A form posted anyway (the page of an app deleted since) is refused the same way.
    session = hub.engine.teams.connect_session(path.removeprefix("/connect/"))
    assert session is not None
    browser = hub.client(Cookie=f"plughub_csrf={session.csrf_token}")
    posted = browser.post(path, data={"csrf_token": session.csrf_token, "scheme": "OAUTH2"})
    assert posted.status_code == 503
    assert "available yet" in posted.text
    assert team_a.client.get("/v1/connections").json()["total"] == 0


def test_pages_send_the_security_headers(hub: Hub, team_a: Tenant) -> None:
    page = _page(hub, team_a, integration_id="sandbox", schemes=["API_KEY"])
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert CONTENT_SECURITY_POLICY.startswith("default-src 'none'; ")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    for other in (hub.client().get(f"/connect/{secrets.token_urlsafe(32)}"), hub.client().get("/oauth/callback")):
        assert other.headers["content-type"].startswith("text/html")
        assert other.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert other.headers["x-frame-options"] == "DENY"
    # FastAPI's own documentation page keeps its scripts, and is never framed either.
    docs = hub.client().get("/docs")
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert (docs.headers["x-frame-options"], docs.headers["referrer-policy"]) == ("DENY", "no-referrer")
    # JSON answers are not sniffed either.
    health = hub.client().get("/v1/health")
    assert health.headers["x-content-type-options"] == "nosniff"
    assert "x-frame-options" not in health.headers

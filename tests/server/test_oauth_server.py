"""OAuth 2.0 through the live server: consent at the sandbox, the browser back at /oauth/callback."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from plughub.sandbox import SandboxServer, give_consent
from tests.server.conftest import Hub, Tenant, assert_error, assert_no_canary, run

CLIENT_ID = "server-client"
CLIENT_SECRET = "server-client-secret-8d1f3b5a7c9e"


@pytest.fixture
def oauth_team(hub: Hub, team_a: Tenant, sandbox: SandboxServer) -> Tenant:
    assert hub.settings.callback_url == f"{hub.url}/oauth/callback"
    sandbox.register_oauth_client(CLIENT_ID, CLIENT_SECRET, f"{hub.url}/oauth/callback")
    put = team_a.client.put(
        "/v1/integrations/sandbox/oauth-app", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )
    assert put.status_code == 200, put.text
    assert put.json()["redirect_uri"] == f"{hub.url}/oauth/callback"
    return team_a


def _start(team: Tenant, sandbox: SandboxServer) -> tuple[str, str]:
    response = team.client.post(
        "/v1/connections",
        json={"integration_id": "sandbox", "scheme": "OAUTH2", "data": {"port": sandbox.port}, "end_user_id": "eve"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["redirect_url"].startswith(f"{sandbox.url}/oauth2/authorize?")
    return body["id"], body["redirect_url"]


def test_the_callback_route_completes_the_flow(
    hub: Hub, oauth_team: Tenant, team_b: Tenant, sandbox: SandboxServer
) -> None:
    connection_id, redirect_url = _start(oauth_team, sandbox)
    assert oauth_team.client.get(f"/v1/connections/{connection_id}/status").json() == {
        "id": connection_id,
        "status": "pending",
        "error": None,
    }
    assert_error(run(oauth_team.client, connection_id, "SANDBOX_WHOAMI"), 409, "connection_not_active")

    callback = give_consent(redirect_url)
    assert callback.startswith(f"{hub.url}/oauth/callback?")
    browser = hub.client()  # the end user's browser: no API key
    page = browser.get(callback.removeprefix(hub.url))
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "Connected" in page.text
    assert "plughub Sandbox is connected" in page.text

    info = oauth_team.client.get(f"/v1/connections/{connection_id}")
    assert info.json()["status"] == "active"
    assert info.json()["end_user_id"] == "eve"
    assert info.json()["scopes"] == ["notes:read", "notes:write"]
    whoami = run(oauth_team.client, connection_id, "SANDBOX_WHOAMI")
    assert whoami.json()["data"] == {"scheme": "OAUTH2", "user": "demo"}
    tokens = [*sandbox.oauth2._access, *sandbox.oauth2._refresh]
    assert tokens
    for response in (info, whoami, page):
        assert not any(token in response.text for token in tokens)
        assert CLIENT_SECRET not in response.text
    # Still team A's alone.
    assert_error(team_b.client.get(f"/v1/connections/{connection_id}"), 404, "connection_not_found")

    replay = browser.get(callback.removeprefix(hub.url))
    assert replay.status_code == 400
    assert replay.headers["content-type"].startswith("text/html")
    assert "The connection failed" in replay.text
    assert "Connected" not in replay.text.replace("connected", "")
    assert oauth_team.client.get(f"/v1/connections/{connection_id}").json()["status"] == "active"

    deleted = oauth_team.client.delete(f"/v1/connections/{connection_id}")
    assert deleted.status_code == 200
    assert deleted.json()["revoked"] is True


def test_a_denied_consent_shows_a_failure_and_fails_the_connection(
    hub: Hub, oauth_team: Tenant, sandbox: SandboxServer
) -> None:
    connection_id, redirect_url = _start(oauth_team, sandbox)
    callback = give_consent(redirect_url, approve=False)
    page = hub.client().get(callback.removeprefix(hub.url))
    assert page.status_code >= 400
    assert "The connection failed" in page.text
    status = oauth_team.client.get(f"/v1/connections/{connection_id}/status").json()
    assert status["status"] == "failed"
    assert status["error"]


def test_the_v1_callback_and_the_api_twin(hub: Hub, oauth_team: Tenant, sandbox: SandboxServer) -> None:
    first_id, first_url = _start(oauth_team, sandbox)
    location = give_consent(first_url)
    page = hub.client().get("/v1/oauth/callback", params=dict(parse_qsl(urlsplit(location).query)))
    assert page.status_code == 200
    assert "Connected" in page.text

    second_id, second_url = _start(oauth_team, sandbox)
    params = dict(parse_qsl(urlsplit(give_consent(second_url)).query))
    assert_error(hub.client().post("/v1/oauth/complete", json={"params": params}), 401, "unauthorized")
    completed = oauth_team.client.post("/v1/oauth/complete", json={"params": params})
    assert completed.status_code == 200, completed.text
    assert completed.json()["id"] == second_id
    assert completed.json()["status"] == "active"
    again = oauth_team.client.post("/v1/oauth/complete", json={"params": params})
    assert_error(again, 400, "oauth_state_invalid")
    assert_error(oauth_team.client.post("/v1/oauth/complete", json={"params": {}}), 400, "oauth_state_invalid")
    assert_error(oauth_team.client.post("/v1/oauth/complete", json={"params": {"state": 1}}), 422, "invalid_input")
    assert {first_id, second_id} == {
        c["id"] for c in oauth_team.client.get("/v1/connections", params={"end_user_id": "eve"}).json()["results"]
    }


def test_reconnect_through_the_server(hub: Hub, oauth_team: Tenant, team_b: Tenant, sandbox: SandboxServer) -> None:
    connection_id, redirect_url = _start(oauth_team, sandbox)
    assert hub.client().get(give_consent(redirect_url).removeprefix(hub.url)).status_code == 200
    again = oauth_team.client.post(f"/v1/connections/{connection_id}/reconnect", json={"scopes": ["notes:read"]})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == connection_id
    assert again.json()["status"] == "active"
    assert "scope=notes%3Aread" in again.json()["redirect_url"]
    page = hub.client().get(give_consent(again.json()["redirect_url"]).removeprefix(hub.url))
    assert page.status_code == 200
    assert oauth_team.client.get(f"/v1/connections/{connection_id}").json()["scopes"] == ["notes:read"]
    assert_no_canary(page.text)


def test_another_team_cannot_complete_an_authorization(
    hub: Hub, oauth_team: Tenant, team_b: Tenant, sandbox: SandboxServer
) -> None:
    connection_id, redirect_url = _start(oauth_team, sandbox)
    params = dict(parse_qsl(urlsplit(give_consent(redirect_url)).query))
    refused = team_b.client.post("/v1/oauth/complete", json={"params": params})
    assert_error(refused, 404, "connection_not_found")
    # Nothing changed: still pending, and the owner completes it with the same, unused, state.
    status = oauth_team.client.get(f"/v1/connections/{connection_id}/status").json()
    assert (status["status"], status["error"]) == ("pending", None)
    completed = oauth_team.client.post("/v1/oauth/complete", json={"params": params})
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "active"
    # An unknown state is refused as before, whoever asks.
    assert_error(team_b.client.post("/v1/oauth/complete", json={"params": {"state": "x"}}), 400, "oauth_state_invalid")

"""A connect session's `redirect_url`, checked against the team's allow-list (REST, CLI and Python)."""

from __future__ import annotations

from pathlib import Path

import httpx
from click.testing import CliRunner

from plughub.cli import cli
from plughub.engine import Engine
from tests.conftest import CANARY_API_KEY
from tests.server.conftest import Hub, Tenant, assert_error


def test_the_team_sets_its_list_over_rest(team_a: Tenant, team_b: Tenant) -> None:
    assert team_a.client.get("/v1/team/redirect-urls").json() == {"redirect_urls": []}
    answer = team_a.client.put("/v1/team/redirect-urls", json={"redirect_urls": ["https://app.example/back"]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"redirect_urls": ["https://app.example/back"]}
    assert team_a.client.get("/v1/team/redirect-urls").json() == {"redirect_urls": ["https://app.example/back"]}
    assert team_b.client.get("/v1/team/redirect-urls").json() == {"redirect_urls": []}  # per team
    refused = team_a.client.put("/v1/team/redirect-urls", json={"redirect_urls": ["https://ok.example/", "ftp://x/"]})
    body = assert_error(refused, 422, "invalid_input")
    assert "ftp://x/" in body["message"]
    assert team_a.client.get("/v1/team/redirect-urls").json() == {"redirect_urls": ["https://app.example/back"]}
    assert_error(team_a.client.put("/v1/team/redirect-urls", json={"urls": []}), 422, "invalid_input")
    assert httpx.get(str(team_a.client.base_url).rstrip("/") + "/v1/team/redirect-urls").status_code == 401


def test_a_redirect_url_off_the_list_is_refused_when_the_session_is_created(hub: Hub, team_a: Tenant) -> None:
    body = {"integration_id": "sandbox", "schemes": ["API_KEY"], "redirect_url": "https://app.example/back"}
    refused = assert_error(team_a.client.post("/v1/connect-sessions", json=body), 422, "invalid_input")
    assert "not on the team's allowed redirect URLs" in refused["message"]
    assert "set-redirect-urls" in refused["message"] and refused["details"] == {"allowed": []}
    team_a.client.put("/v1/team/redirect-urls", json={"redirect_urls": ["https://app.example/back"]})
    for url in ("https://app.example/elsewhere", "https://evil.example/back", "http://app.example/back"):
        assert_error(
            team_a.client.post("/v1/connect-sessions", json={**body, "redirect_url": url}), 422, "invalid_input"
        )
    ok = team_a.client.post("/v1/connect-sessions", json={**body, "redirect_url": "https://app.example/back?u=1"})
    assert ok.status_code == 201, ok.text


def test_the_end_user_lands_on_the_redirect_url(hub: Hub, team_a: Tenant, sandbox: object) -> None:
    team_a.client.put("/v1/team/redirect-urls", json={"redirect_urls": ["https://app.example/back"]})
    created = team_a.client.post(
        "/v1/connect-sessions",
        json={
            "integration_id": "sandbox",
            "schemes": ["API_KEY"],
            "end_user_id": "u1",
            "redirect_url": "https://app.example/back?u=1",
        },
    )
    path = httpx.URL(created.json()["url"]).path
    visitor = hub.client()
    page = visitor.get(path)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = visitor.post(path, data={"csrf_token": token, "scheme": "API_KEY", "api_key": CANARY_API_KEY, "port": "9"})
    assert answer.status_code == 303, answer.text
    landed = httpx.URL(answer.headers["location"])
    assert (landed.host, landed.path, landed.params["u"], landed.params["status"]) == (
        "app.example",
        "/back",
        "1",
        "active",
    )
    made = team_a.client.get(f"/v1/connections/{landed.params['connection_id']}").json()
    assert made["end_user_id"] == "u1"


def test_the_cli_sets_the_list(home: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["teams", "create", "acme"]).exit_code == 0
    done = runner.invoke(cli, ["teams", "set-redirect-urls", "acme", "https://app.example/back"])
    assert done.exit_code == 0, done.output
    assert "https://app.example/back" in done.output
    bad = runner.invoke(cli, ["teams", "set-redirect-urls", "acme", "app.example"])
    assert bad.exit_code == 1 and "absolute http" in bad.output
    assert runner.invoke(cli, ["teams", "set-redirect-urls", "acme"]).exit_code == 2
    assert runner.invoke(cli, ["teams", "set-redirect-urls", "nobody", "https://a.example/"]).exit_code == 1
    engine = Engine()
    try:
        team = engine.teams.find_team("acme")
        assert team is not None
        assert engine.teams.redirect_urls(team.id) == ["https://app.example/back"]
        cleared = runner.invoke(cli, ["teams", "set-redirect-urls", "acme", "--clear"])
        assert cleared.exit_code == 0 and "none" in cleared.output
        assert engine.teams.redirect_urls(team.id) == []
    finally:
        engine.close()

"""No response carries a secret; the outbound guard keeps a multi-tenant server off private networks."""

from __future__ import annotations

import httpx

from plughub.sandbox import SandboxServer
from tests.conftest import CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN
from tests.server.conftest import (
    NOTES_DEFINITION,
    Hub,
    HubFactory,
    Tenant,
    assert_no_canary,
    connect_sandbox,
    run,
)


def test_secrets_never_come_back(hub: Hub, team_a: Tenant, sandbox: SandboxServer) -> None:
    responses: list[httpx.Response] = []
    connection_id = connect_sandbox(team_a.client, sandbox)
    basic = team_a.client.post(
        "/v1/connections",
        json={
            "integration_id": "sandbox",
            "scheme": "BASIC",
            "data": {"username": "demo", "password": CANARY_PASSWORD, "port": sandbox.port},
        },
    )
    bearer = team_a.client.post(
        "/v1/connections",
        json={
            "integration_id": "sandbox",
            "scheme": "BEARER_TOKEN",
            "data": {"token": CANARY_TOKEN, "port": sandbox.port},
        },
    )
    responses += [basic, bearer]
    ids = [connection_id, basic.json()["id"], bearer.json()["id"]]

    shown = team_a.client.get(f"/v1/connections/{connection_id}")
    assert shown.status_code == 200
    assert shown.json()["credentials"]["api_key"] != CANARY_API_KEY
    assert set(shown.json()["credentials"]) == {"api_key"}
    assert shown.json()["config"] == {"port": sandbox.port}

    for cid in ids:
        whoami = run(team_a.client, cid, "SANDBOX_WHOAMI")
        assert whoami.status_code == 200
        assert whoami.json()["status"] == "SUCCESS", whoami.text
        responses += [
            whoami,
            team_a.client.get(f"/v1/connections/{cid}"),
            team_a.client.get(f"/v1/connections/{cid}/status"),
            team_a.client.get(f"/v1/connections/{cid}/actions"),
            team_a.client.get(f"/v1/connections/{cid}/runs"),
            # An upstream refusal: the sandbox's 404 excerpt must not echo anything secret either.
            run(team_a.client, cid, "SANDBOX_GET_NOTE", {"note_id": 404}),
            # Bad input: the engine names fields, never values of secret ones.
            run(team_a.client, cid, "SANDBOX_CREATE_NOTE", {"text": ""}),
        ]
    schemes = [r.json()["data"]["scheme"] for r in responses if r.url.path.endswith("SANDBOX_WHOAMI/run")]
    assert schemes == ["API_KEY", "BASIC", "BEARER_TOKEN"]
    # Bad connect data with a secret in it: the refusal does not echo it.
    responses.append(
        team_a.client.post(
            "/v1/connections",
            json={"integration_id": "sandbox", "scheme": "API_KEY", "data": {"api_key": CANARY_API_KEY, "porty": 1}},
        )
    )
    responses.append(
        team_a.client.post(
            "/v1/connections",
            json={"integration_id": "sandbox", "scheme": "API_KEY", "data": {"api_key": 7, "port": CANARY_TOKEN}},
        )
    )
    responses.append(team_a.client.get("/v1/connections", params={"page_size": 100}))
    for cid in ids:
        responses.append(team_a.client.delete(f"/v1/connections/{cid}"))
    for response in responses:
        assert response.status_code < 500, response.text
        assert_no_canary(response.text)
        assert_no_canary(str(response.headers))


def test_secrets_are_not_in_the_database_file(hub: Hub, team_a: Tenant, sandbox: SandboxServer) -> None:
    connect_sandbox(team_a.client, sandbox)
    raw = b"".join(p.read_bytes() for p in hub.settings.home.rglob("*") if p.is_file())
    assert CANARY_API_KEY.encode() not in raw
    assert team_a.key.encode() not in raw


def test_a_guarded_engine_without_the_allowlist_refuses_the_sandbox(
    make_hub: HubFactory, sandbox: SandboxServer
) -> None:
    guarded = make_hub(allow=None)
    tenant = guarded.team("guarded")
    connection_id = connect_sandbox(tenant.client, sandbox)
    response = run(tenant.client, connection_id, "SANDBOX_WHOAMI")
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "FAILED"
    assert result["error_code"] == "outbound_blocked"
    assert result["details"] == {"host": "127.0.0.1"}
    assert "PLUGHUB_ALLOW_PRIVATE_NETWORKS" in result["error_message"]
    assert_no_canary(response.text)
    assert sandbox.received == []
    runs = tenant.client.get(f"/v1/connections/{connection_id}/runs").json()
    assert [(r["status"], r["error_code"], r["upstream_status"]) for r in runs] == [
        ("FAILED", "outbound_blocked", None)
    ]


def test_a_base_url_override_to_loopback_is_refused(make_hub: HubFactory, sandbox: SandboxServer) -> None:
    guarded = make_hub(allow=None)
    tenant = guarded.team("guarded")
    assert tenant.client.post("/v1/integrations", json=NOTES_DEFINITION).status_code == 201
    for base_url in (sandbox.url, f"http://localhost:{sandbox.port}", f"http://[::ffff:127.0.0.1]:{sandbox.port}"):
        created = tenant.client.post(
            "/v1/connections",
            json={
                "integration_id": "team-notes",
                "scheme": "BEARER_TOKEN",
                "data": {"token": CANARY_TOKEN, "base_url": base_url},
            },
        )
        assert created.status_code == 201, created.text
        shown = tenant.client.get(f"/v1/connections/{created.json()['id']}").json()
        assert shown["base_url"] == base_url
        response = run(tenant.client, created.json()["id"], "TEAM_NOTES_WHOAMI")
        assert response.status_code == 200
        assert response.json()["status"] == "FAILED", (base_url, response.text)
        assert response.json()["error_code"] == "outbound_blocked", (base_url, response.text)
        assert_no_canary(response.text)
    assert sandbox.received == []


def test_the_allowlist_lets_the_server_reach_loopback(hub: Hub, team_a: Tenant, sandbox: SandboxServer) -> None:
    assert team_a.client.post("/v1/integrations", json=NOTES_DEFINITION).status_code == 201
    created = team_a.client.post(
        "/v1/connections",
        json={
            "integration_id": "team-notes",
            "scheme": "BEARER_TOKEN",
            "data": {"token": CANARY_TOKEN, "base_url": sandbox.url},
        },
    )
    response = run(team_a.client, created.json()["id"], "TEAM_NOTES_WHOAMI")
    assert response.json()["status"] == "SUCCESS", response.text
    assert response.json()["data"] == {"scheme": "BEARER_TOKEN", "user": "demo"}
    assert [r.path for r in sandbox.received] == ["/whoami"]

"""Teams see only their own connections, integrations and OAuth apps; end users filter listings."""

from __future__ import annotations

from typing import Any

from plughub.sandbox import SandboxServer
from tests.server.conftest import NOTES_DEFINITION, Hub, Tenant, assert_error, connect_sandbox, run


def _connection_routes(connection_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/v1/connections/{connection_id}"
    return [
        ("GET", base, None),
        ("GET", f"{base}/status", None),
        ("POST", f"{base}/reconnect", {"scopes": None}),
        ("DELETE", base, None),
        ("GET", f"{base}/actions", None),
        ("GET", f"{base}/actions/SANDBOX_WHOAMI", None),
        ("POST", f"{base}/actions/SANDBOX_WHOAMI/run", {"inputs": {}}),
        ("GET", f"{base}/runs", None),
    ]


def test_another_teams_connection_is_not_found_on_every_route(
    hub: Hub, team_a: Tenant, team_b: Tenant, sandbox: SandboxServer
) -> None:
    connection_id = connect_sandbox(team_a.client, sandbox)
    assert run(team_a.client, connection_id, "SANDBOX_WHOAMI").json()["status"] == "SUCCESS"
    seen = len(sandbox.received)
    for method, path, body in _connection_routes(connection_id):
        response = team_b.client.request(method, path, json=body)
        found = assert_error(response, 404, "connection_not_found")
        # Exactly what a missing id answers: nothing tells B that the id exists.
        missing = team_b.client.request(method, path.replace(connection_id, "0" * 24), json=body)
        assert assert_error(missing, 404, "connection_not_found")["message"] == found["message"].replace(
            connection_id, "0" * 24
        )
    assert len(sandbox.received) == seen  # B's run sent nothing
    # Nothing B did changed A's connection.
    mine = team_a.client.get(f"/v1/connections/{connection_id}")
    assert mine.status_code == 200
    assert mine.json()["status"] == "active"
    runs = team_a.client.get(f"/v1/connections/{connection_id}/runs").json()
    assert len(runs) == 1
    assert team_a.client.delete(f"/v1/connections/{connection_id}").status_code == 200


def test_lists_hold_only_the_teams_own_connections(team_a: Tenant, team_b: Tenant, sandbox: SandboxServer) -> None:
    a_ids = {connect_sandbox(team_a.client, sandbox) for _ in range(2)}
    b_id = connect_sandbox(team_b.client, sandbox)
    a_list = team_a.client.get("/v1/connections").json()
    b_list = team_b.client.get("/v1/connections").json()
    assert {c["id"] for c in a_list["results"]} == a_ids
    assert a_list["total"] == 2
    assert [c["id"] for c in b_list["results"]] == [b_id]
    assert b_list["total"] == 1
    for query in ({"query": "sandbox"}, {"integration_id": "sandbox"}, {"page_size": 1000}):
        listed = team_b.client.get("/v1/connections", params=query).json()
        assert [c["id"] for c in listed["results"]] == [b_id]


def test_connections_filter_by_end_user(team_a: Tenant, team_b: Tenant, sandbox: SandboxServer) -> None:
    alice = {connect_sandbox(team_a.client, sandbox, end_user_id="alice", name=f"alice {i}") for i in range(2)}
    bob = connect_sandbox(team_a.client, sandbox, end_user_id="bob")
    nobody = connect_sandbox(team_a.client, sandbox)
    connect_sandbox(team_b.client, sandbox, end_user_id="alice")

    listed = team_a.client.get("/v1/connections", params={"end_user_id": "alice"}).json()
    assert {c["id"] for c in listed["results"]} == alice
    assert listed["total"] == 2
    assert {c["end_user_id"] for c in listed["results"]} == {"alice"}
    only_bob = team_a.client.get("/v1/connections", params={"end_user_id": "bob"}).json()
    assert [c["id"] for c in only_bob["results"]] == [bob]
    assert team_a.client.get("/v1/connections", params={"end_user_id": "carol"}).json()["results"] == []
    everyone = team_a.client.get("/v1/connections").json()
    assert {c["id"] for c in everyone["results"]} == alice | {bob, nobody}
    assert team_a.client.get(f"/v1/connections/{bob}").json()["end_user_id"] == "bob"
    # B's alice is B's.
    assert team_b.client.get("/v1/connections", params={"end_user_id": "alice"}).json()["total"] == 1


def test_integrations_are_per_team(team_a: Tenant, team_b: Tenant) -> None:
    created = team_a.client.post("/v1/integrations", json=NOTES_DEFINITION)
    assert created.status_code == 201, created.text
    assert created.json()["id"] == "team-notes"
    assert created.json()["source"] == "user"

    for id_or_name in ("team-notes", "Team Notes"):
        assert team_a.client.get(f"/v1/integrations/{id_or_name}").json()["id"] == "team-notes"
        body = assert_error(team_b.client.get(f"/v1/integrations/{id_or_name}"), 404, "integration_not_found")
        assert "Team Notes" not in body["message"].replace(id_or_name, "")

    a_ids = {i["id"] for i in team_a.client.get("/v1/integrations", params={"page_size": 1000}).json()["results"]}
    b_ids = {i["id"] for i in team_b.client.get("/v1/integrations", params={"page_size": 1000}).json()["results"]}
    assert "team-notes" in a_ids
    assert "team-notes" not in b_ids
    assert "sandbox" in a_ids & b_ids
    found = team_b.client.get("/v1/integrations", params={"query": "Team Notes"}).json()["results"]
    assert "team-notes" not in {i["id"] for i in found}

    connect = {"integration_id": "team-notes", "scheme": "BEARER_TOKEN", "data": {"token": "t"}}
    assert_error(team_b.client.post("/v1/connections", json=connect), 404, "integration_not_found")
    assert_error(
        team_b.client.put("/v1/integrations/team-notes/oauth-app", json={"client_id": "c", "client_secret": "s"}),
        404,
        "integration_not_found",
    )
    assert_error(
        team_b.client.post("/v1/connect-sessions", json={"integration_id": "team-notes"}),
        404,
        "integration_not_found",
    )
    assert team_a.client.post("/v1/connections", json=connect).status_code == 201


def test_teams_may_define_the_same_integration_id_independently(team_a: Tenant, team_b: Tenant) -> None:
    assert team_a.client.post("/v1/integrations", json=NOTES_DEFINITION).status_code == 201
    theirs = {**NOTES_DEFINITION, "display_name": "B Notes"}
    response = team_b.client.post("/v1/integrations", json=theirs)
    assert response.status_code == 201, response.text
    assert team_a.client.get("/v1/integrations/team-notes").json()["name"] == "Team Notes"
    assert team_b.client.get("/v1/integrations/team-notes").json()["name"] == "B Notes"


def test_bundled_integration_ids_cannot_be_taken(team_a: Tenant) -> None:
    actions = {"SANDBOX_WHOAMI": {"display_name": "Who am I", "method": "GET", "path": "/whoami"}}
    response = team_a.client.post("/v1/integrations", json={**NOTES_DEFINITION, "id": "sandbox", "actions": actions})
    assert_error(response, 409, "conflict")


def test_oauth_apps_are_per_team(team_a: Tenant, team_b: Tenant) -> None:
    put = team_a.client.put(
        "/v1/integrations/sandbox/oauth-app", json={"client_id": "a-client", "client_secret": "a-secret-value"}
    )
    assert put.status_code == 200, put.text
    assert put.json()["client_id"] == "a-client"
    assert "a-secret-value" not in put.text

    got = team_a.client.get("/v1/integrations/sandbox/oauth-app")
    assert got.status_code == 200
    assert got.json()["client_id"] == "a-client"
    assert "a-secret-value" not in got.text
    assert_error(team_b.client.get("/v1/integrations/sandbox/oauth-app"), 422, "oauth_app_missing")
    assert_error(team_b.client.delete("/v1/integrations/sandbox/oauth-app"), 404, "not_found")
    # B's OAuth connect fails for want of B's own app.
    oauth = {"integration_id": "sandbox", "scheme": "OAUTH2", "data": {"port": 9}}
    assert_error(team_b.client.post("/v1/connections", json=oauth), 422, "oauth_app_missing")

    assert (
        team_b.client.put(
            "/v1/integrations/sandbox/oauth-app", json={"client_id": "b-client", "client_secret": "b-secret-value"}
        ).status_code
        == 200
    )
    assert team_b.client.get("/v1/integrations/sandbox/oauth-app").json()["client_id"] == "b-client"
    assert team_a.client.get("/v1/integrations/sandbox/oauth-app").json()["client_id"] == "a-client"
    delete = team_b.client.delete("/v1/integrations/sandbox/oauth-app")
    assert delete.status_code == 204
    assert team_a.client.get("/v1/integrations/sandbox/oauth-app").json()["client_id"] == "a-client"

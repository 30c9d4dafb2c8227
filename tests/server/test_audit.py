"""Every action run is audited: action, status, upstream status, duration; never inputs or outputs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from plughub.sandbox import SandboxServer
from tests.server.conftest import Hub, HubFactory, Tenant, connect_sandbox, run

SECRET_NOTE = "note-text-that-must-not-be-audited-5c1d"
RUN_KEYS = {"action", "status", "upstream_status", "error_code", "duration_ms", "created_at"}


def test_runs_are_listed_newest_first_without_inputs_or_outputs(
    hub: Hub, team_a: Tenant, sandbox: SandboxServer
) -> None:
    assert hub.engine.actions.audited  # a guarded engine audits by default
    connection_id = connect_sandbox(team_a.client, sandbox)
    started = datetime.now(timezone.utc)
    assert run(team_a.client, connection_id, "SANDBOX_WHOAMI").json()["status"] == "SUCCESS"
    created = run(team_a.client, connection_id, "SANDBOX_CREATE_NOTE", {"text": SECRET_NOTE, "tags": ["t"]})
    assert created.json()["status"] == "SUCCESS"
    missing = run(team_a.client, connection_id, "GET_NOTE", {"note_id": 999})  # prefix left out
    assert missing.json()["status"] == "FAILED"
    # Refused before anything is sent: not a run.
    assert run(team_a.client, connection_id, "SANDBOX_CREATE_NOTE", {}).status_code == 422
    assert run(team_a.client, connection_id, "LIST_NOTES", {"limit": 5}).json()["status"] == "SUCCESS"

    response = team_a.client.get(f"/v1/connections/{connection_id}/runs")
    assert response.status_code == 200
    runs = response.json()
    assert SECRET_NOTE not in response.text
    assert [(r["action"], r["status"], r["upstream_status"]) for r in runs] == [
        ("SANDBOX_LIST_NOTES", "SUCCESS", 200),
        ("SANDBOX_GET_NOTE", "FAILED", 404),
        ("SANDBOX_CREATE_NOTE", "SUCCESS", 201),
        ("SANDBOX_WHOAMI", "SUCCESS", 200),
    ]
    for entry in runs:
        assert set(entry) == RUN_KEYS
        assert isinstance(entry["duration_ms"], (int, float))
        assert 0 <= entry["duration_ms"] < 10_000
        when = datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00"))
        assert started - timedelta(seconds=5) <= when <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert runs[1]["error_code"] == "upstream_status"
    assert runs[0]["error_code"] is None
    stamps = [r["created_at"] for r in runs]
    assert stamps == sorted(stamps, reverse=True)

    limited = team_a.client.get(f"/v1/connections/{connection_id}/runs", params={"limit": 2}).json()
    assert [r["action"] for r in limited] == ["SANDBOX_LIST_NOTES", "SANDBOX_GET_NOTE"]
    assert team_a.client.get(f"/v1/connections/{connection_id}/runs", params={"limit": 0}).status_code == 422


def test_runs_are_per_connection(team_a: Tenant, sandbox: SandboxServer) -> None:
    first = connect_sandbox(team_a.client, sandbox)
    second = connect_sandbox(team_a.client, sandbox)
    run(team_a.client, first, "SANDBOX_WHOAMI")
    assert len(team_a.client.get(f"/v1/connections/{first}/runs").json()) == 1
    assert team_a.client.get(f"/v1/connections/{second}/runs").json() == []


def test_audit_can_be_turned_on_or_off_explicitly(make_hub: HubFactory, sandbox: SandboxServer) -> None:
    quiet = make_hub(audit=False)
    tenant = quiet.team("quiet")
    connection_id = connect_sandbox(tenant.client, sandbox)
    assert run(tenant.client, connection_id, "SANDBOX_WHOAMI").json()["status"] == "SUCCESS"
    assert tenant.client.get(f"/v1/connections/{connection_id}/runs").json() == []

    unguarded = make_hub(guard=False, audit=True)
    tenant = unguarded.team("unguarded")
    connection_id = connect_sandbox(tenant.client, sandbox)
    assert run(tenant.client, connection_id, "SANDBOX_WHOAMI").json()["status"] == "SUCCESS"
    assert [r["action"] for r in tenant.client.get(f"/v1/connections/{connection_id}/runs").json()] == [
        "SANDBOX_WHOAMI"
    ]

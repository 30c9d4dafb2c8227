"""The same server on PostgreSQL (skipped without it, except under CI=true)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner

from plughub.cli import cli
from plughub.engine.store import HEAD_REVISION
from plughub.sandbox import SandboxServer
from tests.conftest import CANARY_API_KEY
from tests.server.conftest import Hub, HubFactory, assert_error, assert_no_canary, connect_sandbox, run
from tests.servers import postgres_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def pg_hub(pg_url: str, make_hub: HubFactory) -> Hub:
    # pg_url first: the hub closes before the database is dropped.
    return make_hub(database_url=pg_url)


def test_db_upgrade_on_postgres(pg_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "upgrade", "--database-url", pg_url])
    assert result.exit_code == 0, result.output
    assert f"revision {HEAD_REVISION}" in result.stdout
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql")) as db:
        version = db.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert version == (HEAD_REVISION,)
    assert {"teams", "api_keys", "connections", "credentials", "runs", "connect_sessions"} <= tables
    assert runner.invoke(cli, ["db", "upgrade", "--database-url", pg_url]).exit_code == 0


def test_connect_run_list_delete_and_tenancy_on_postgres(pg_hub: Hub, sandbox: SandboxServer) -> None:
    a, b = pg_hub.team("pg-a"), pg_hub.team("pg-b")
    connection_id = connect_sandbox(a.client, sandbox, end_user_id="u1")
    other = connect_sandbox(b.client, sandbox)

    whoami = run(a.client, connection_id, "SANDBOX_WHOAMI")
    assert whoami.json()["data"] == {"scheme": "API_KEY", "user": "demo"}
    note = run(a.client, connection_id, "SANDBOX_CREATE_NOTE", {"text": "on postgres"})
    assert note.json()["status"] == "SUCCESS"
    runs = a.client.get(f"/v1/connections/{connection_id}/runs").json()
    assert [r["action"] for r in runs] == ["SANDBOX_CREATE_NOTE", "SANDBOX_WHOAMI"]

    listed = a.client.get("/v1/connections", params={"end_user_id": "u1"}).json()
    assert [c["id"] for c in listed["results"]] == [connection_id]
    assert [c["id"] for c in b.client.get("/v1/connections").json()["results"]] == [other]
    shown = a.client.get(f"/v1/connections/{connection_id}")
    assert shown.json()["status"] == "active"
    assert_no_canary(shown.text)

    for method, path in (
        ("GET", f"/v1/connections/{connection_id}"),
        ("GET", f"/v1/connections/{connection_id}/runs"),
        ("POST", f"/v1/connections/{connection_id}/actions/SANDBOX_WHOAMI/run"),
        ("DELETE", f"/v1/connections/{connection_id}"),
    ):
        assert_error(b.client.request(method, path, json={"inputs": {}}), 404, "connection_not_found")
    assert_error(b.client.get(f"/v1/connections/{connection_id}/actions"), 404, "connection_not_found")

    assert a.client.delete(f"/v1/connections/{connection_id}").status_code == 200
    assert_error(a.client.get(f"/v1/connections/{connection_id}"), 404, "connection_not_found")
    assert a.client.get("/v1/connections").json()["total"] == 0
    assert b.client.get(f"/v1/connections/{other}").status_code == 200
    assert pg_hub.client().get("/v1/ready").json() == {"status": "ready"}


def test_cli_admin_on_postgres(pg_url: str, make_hub: HubFactory) -> None:
    runner = CliRunner()
    team = runner.invoke(cli, ["teams", "create", "acme", "--database-url", pg_url, "--json"])
    assert team.exit_code == 0, team.output
    made = runner.invoke(cli, ["api-keys", "create", "--team", "acme", "--database-url", pg_url, "--json"])
    assert made.exit_code == 0, made.output
    key = json.loads(made.stdout)["key"]
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql")) as db:
        dumped = json.dumps([list(map(str, r)) for r in db.execute("SELECT * FROM api_keys").fetchall()])
    assert key not in dumped
    assert key[:10] in dumped

    hub = make_hub(database_url=pg_url)
    client = hub.client(key)
    definition = {
        "id": "acme-ping",
        "display_name": "Acme Ping",
        "base_url": "https://ping.example",
        "auth": [{"mode": "NO_AUTH"}],
    }
    assert client.post("/v1/integrations", json=definition).status_code == 201
    assert client.get("/v1/integrations/acme-ping").status_code == 200
    assert CANARY_API_KEY not in client.get("/v1/connections").text
    key_id = json.loads(made.stdout)["id"]
    assert runner.invoke(cli, ["api-keys", "revoke", key_id, "--database-url", pg_url]).exit_code == 0
    assert_error(client.get("/v1/connections"), 401, "unauthorized")

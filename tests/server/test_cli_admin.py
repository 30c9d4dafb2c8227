"""`plughub teams ...`, `plughub api-keys ...` and `plughub db upgrade` against the server's database."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from plughub.cli import cli
from plughub.engine.store import HEAD_REVISION
from tests.server.conftest import HubFactory, assert_error

WIDE = {"COLUMNS": "200"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env=WIDE)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "server.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args))


def _db_bytes(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(db_path.parent.glob(db_path.name + "*")))


def test_db_upgrade_says_the_revision(runner: CliRunner, db_url: str, db_path: Path) -> None:
    result = invoke(runner, "db", "upgrade", "--database-url", db_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"The database is at revision {HEAD_REVISION}."
    assert db_path.exists()
    again = invoke(runner, "db", "upgrade", "--database-url", db_url)
    assert again.exit_code == 0
    assert HEAD_REVISION in again.stdout


def test_teams_and_keys_end_to_end(runner: CliRunner, db_url: str, db_path: Path, make_hub: HubFactory) -> None:
    created = invoke(runner, "teams", "create", "acme", "--database-url", db_url)
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("Created team acme (team_")
    as_json = invoke(runner, "teams", "create", "globex", "--database-url", db_url, "--json")
    assert as_json.exit_code == 0, as_json.output
    globex = json.loads(as_json.stdout)
    assert globex["name"] == "globex"
    assert globex["id"].startswith("team_")
    duplicate = invoke(runner, "teams", "create", "acme", "--database-url", db_url)
    assert duplicate.exit_code == 1
    assert "exists already" in duplicate.output

    listed = invoke(runner, "teams", "list", "--database-url", db_url)
    assert listed.exit_code == 0
    assert "acme" in listed.stdout
    assert globex["id"] in listed.stdout

    made = invoke(runner, "api-keys", "create", "--team", "acme", "--name", "ci", "--database-url", db_url, "--json")
    assert made.exit_code == 0, made.output
    record = json.loads(made.stdout)
    key = record["key"]
    assert key.startswith("phk_")
    assert record["name"] == "ci"
    assert set(record) == {"id", "team_id", "name", "key"}
    plain = invoke(runner, "api-keys", "create", "--team", globex["id"], "--database-url", db_url)
    assert plain.exit_code == 0
    assert "it is not shown again" in plain.stdout
    assert plain.stdout.strip().splitlines()[-1].startswith("phk_")

    # Stored hashed: the hash is in the database, the key nowhere.
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT id, team_id, prefix, key_hash FROM api_keys WHERE id = ?", (record["id"],)).fetchall()
    assert rows == [(record["id"], record["team_id"], key[:10], hashlib.sha256(key.encode()).hexdigest())]
    assert key.encode() not in _db_bytes(db_path)
    assert key[10:].encode() not in _db_bytes(db_path)

    shown = invoke(runner, "api-keys", "list", "--team", "acme", "--database-url", db_url)
    assert shown.exit_code == 0
    assert record["id"] in shown.stdout
    assert key[:10] + "..." in shown.stdout
    assert key not in shown.stdout

    hub = make_hub(database_url=db_url)
    client = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {key}"})
    try:
        assert client.get("/v1/connections").status_code == 200
        revoked = invoke(runner, "api-keys", "revoke", record["id"], "--database-url", db_url)
        assert revoked.exit_code == 0, revoked.output
        assert revoked.stdout.strip() == f"Revoked key {record['id']}"
        assert_error(client.get("/v1/connections"), 401, "unauthorized")
    finally:
        client.close()
    twice = invoke(runner, "api-keys", "revoke", record["id"], "--database-url", db_url)
    assert twice.exit_code == 1
    assert "no active key" in twice.output
    after = invoke(runner, "api-keys", "list", "--team", "acme", "--database-url", db_url)
    row = next(line for line in after.stdout.splitlines() if record["id"] in line)
    assert row.count("20") >= 2  # created and revoked dates


@pytest.mark.parametrize(
    "args",
    [
        ("api-keys", "create", "--team", "nobody"),
        ("api-keys", "create", "--team", "nobody", "--json"),
        ("api-keys", "list", "--team", "nobody"),
    ],
)
def test_an_unknown_team_is_a_one_line_error(runner: CliRunner, db_url: str, args: tuple[str, ...]) -> None:
    result = invoke(runner, *args, "--database-url", db_url)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no team 'nobody'" in lines[0]
    assert "plughub teams create nobody" in lines[0]
    assert "Traceback" not in result.output

"""The store: migrations, SQLite settings, and transactions that write all rows or none."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

import plughub.engine.store
from plughub.engine.store import (
    HEAD_REVISION,
    ConnectionRecord,
    Database,
    Sealed,
    StaleKeyError,
    Store,
    open_database,
    sqlite_url,
    utcnow,
)
from plughub.engine.store.database import MIGRATIONS_DIR
from plughub.engine.store.tables import metadata


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    s = Store(Database(open_database(sqlite_url(home))))
    _active_keys(s, "k1", "k2")
    yield s
    s.close()


def _active_keys(store: Store, *kids: str) -> None:
    """Register data keys so that the store accepts ciphertexts sealed with them."""
    from plughub.engine.store.tables import vault_keys

    with store.db.transaction() as db:
        for kid in kids:
            db.execute(
                vault_keys.insert().values(kid=kid, wrapped=b"w", master_kid="m", active=True, created_at=utcnow())
            )


def _record(connection_id: str = "c1", **kwargs: object) -> ConnectionRecord:
    values: dict[str, object] = {
        "integration_id": "sandbox",
        "name": "Sandbox",
        "scheme": "API_KEY",
        "status": "active",
        "config": {"port": 1},
    }
    values.update(kwargs)
    return ConnectionRecord(id=connection_id, **values)  # type: ignore[arg-type]


def test_head_revision_is_alembics_head() -> None:
    location = Path(plughub.engine.store.__file__).parent / "migrations"
    assert location == MIGRATIONS_DIR
    config = Config()
    config.set_main_option("script_location", str(location))
    script = ScriptDirectory.from_config(config)
    assert script.get_current_head() == HEAD_REVISION, "update HEAD_REVISION in plughub/engine/store/database.py"
    assert script.get_heads() == [HEAD_REVISION]


def test_new_database_is_at_head_with_every_table(store: Store) -> None:
    with store.db.sql_engine.connect() as db:
        assert db.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
        inspector = inspect(db)
        for table in metadata.sorted_tables:
            assert inspector.has_table(table.name), table.name
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert columns == set(table.columns.keys()), table.name


def _migrated_by_alembic(url: str, revision: str = "head") -> None:
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def _schema_difference(url: str) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), metadata))
    finally:
        engine.dispose()


def test_the_migrations_make_exactly_the_tables_of_the_metadata(tmp_path: Path) -> None:
    # A new database gets `metadata.create_all` (no Alembic loaded): both must be the same schema.
    url = sqlite_url(tmp_path)
    _migrated_by_alembic(url)
    assert _schema_difference(url) == []


def test_the_migrations_make_exactly_the_tables_of_the_metadata_on_postgresql() -> None:
    from tests.servers import postgres_database

    with postgres_database() as url:
        _migrated_by_alembic(url)
        assert _schema_difference(url) == []


def test_a_new_database_is_created_without_loading_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from plughub.engine.store import open_database, sqlite_url; "
        f"open_database(sqlite_url(Path({str(tmp_path)!r}))); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
    store = Store(Database(open_database(sqlite_url(tmp_path))))  # opened again: at head, nothing to do
    try:
        with store.db.sql_engine.connect() as db:
            assert db.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
    finally:
        store.close()
    assert _schema_difference(sqlite_url(tmp_path)) == []


def test_an_older_database_is_migrated_by_alembic(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    _migrated_by_alembic(url, "0003")
    Store(Database(open_database(url))).close()
    assert _schema_difference(url) == []


def test_new_database_uses_wal_and_foreign_keys(store: Store, home: Path) -> None:
    with store.db.sql_engine.connect() as db:
        assert db.execute(text("PRAGMA journal_mode")).scalar().lower() == "wal"
        assert db.execute(text("PRAGMA foreign_keys")).scalar() == 1
    # WAL is a property of the file: another client sees it too.
    raw = sqlite3.connect(home / "plughub.db")
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    finally:
        raw.close()


def test_database_file_is_private(store: Store, home: Path) -> None:
    assert stat.S_IMODE((home / "plughub.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_wal_and_shm_files_are_private_too(store: Store, home: Path) -> None:
    store.connections.insert(_record(), Sealed("k1", b"sealed"))
    sidecars = [home / "plughub.db-wal", home / "plughub.db-shm"]
    assert all(p.exists() for p in sidecars)
    for path in sidecars:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_opening_twice_is_idempotent(home: Path) -> None:
    first = Store(Database(open_database(sqlite_url(home))))
    _active_keys(first, "k1")
    first.connections.insert(_record(), Sealed("k1", b"sealed"))
    first.close()
    second = Store(Database(open_database(sqlite_url(home))))
    try:
        assert second.connections.get("c1") == second.connections.get("c1") is not None
        assert second.credentials.get("c1") == b"sealed"
        with second.db.sql_engine.connect() as db:
            assert db.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            assert db.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
    finally:
        second.close()
    third = Store(Database(open_database(sqlite_url(home))))
    try:
        assert third.connections.list(team_id="local")[1] == 1
    finally:
        third.close()


def test_connection_round_trip(store: Store) -> None:
    record = _record(description="desc", base_url="http://127.0.0.1:1")
    store.connections.insert(record, None)
    found = store.connections.get("c1")
    assert found is not None
    assert found.id == "c1"
    assert found.config == {"port": 1}
    assert found.base_url == "http://127.0.0.1:1"
    assert found.created_at.tzinfo is not None
    assert store.credentials.get("c1") is None


def test_deleting_a_connection_deletes_its_credentials(store: Store) -> None:
    store.connections.insert(_record("c1"), Sealed("k1", b"sealed-1"))
    store.connections.insert(_record("c2"), Sealed("k1", b"sealed-2"))
    store.credentials.put("extra:c1", Sealed("k1", b"sealed-extra"), connection_id="c1")
    store.credentials.put("oauth-app:sandbox", Sealed("k1", b"sealed-app"))
    assert store.credentials.get("c1") == b"sealed-1"

    assert store.connections.delete("c1") is True
    assert store.connections.get("c1") is None
    assert store.credentials.get("c1") is None
    assert store.credentials.get("extra:c1") is None
    # Other records are untouched.
    assert store.credentials.get("c2") == b"sealed-2"
    assert store.credentials.get("oauth-app:sandbox") == b"sealed-app"
    assert store.connections.delete("c1") is False


def test_insert_connection_is_atomic(store: Store) -> None:
    with pytest.raises(IntegrityError):
        store.connections.insert(_record("c1"), Sealed("k1", None))  # type: ignore[arg-type]
    assert store.connections.get("c1") is None
    assert store.credentials.get("c1") is None
    assert store.connections.list(team_id="local") == ([], 0)


def test_insert_connection_with_a_duplicate_id_keeps_the_first(store: Store) -> None:
    store.connections.insert(_record("c1", name="first"), Sealed("k1", b"sealed-1"))
    with pytest.raises(IntegrityError):
        store.connections.insert(_record("c1", name="second"), Sealed("k1", b"sealed-2"))
    found = store.connections.get("c1")
    assert found is not None and found.name == "first"
    assert store.credentials.get("c1") == b"sealed-1"


def test_put_credentials_replaces(store: Store) -> None:
    store.connections.insert(_record("c1"), Sealed("k1", b"old"))
    store.credentials.put("c1", Sealed("k2", b"new"), connection_id="c1")
    assert store.credentials.get("c1") == b"new"
    with store.db.sql_engine.connect() as db:
        rows = db.execute(text("SELECT key_id FROM credentials WHERE record_id = 'c1'")).all()
    assert [r[0] for r in rows] == ["k2"]


def test_a_ciphertext_sealed_with_a_retired_key_is_refused(store: Store) -> None:
    # Another process rotated the keys: a stale engine must seal again, not store a dead ciphertext.
    with pytest.raises(StaleKeyError):
        store.connections.insert(_record("c1"), Sealed("k-retired", b"sealed"))
    with pytest.raises(StaleKeyError):
        store.credentials.put("oauth-app:x", Sealed("k-retired", b"sealed"))
    assert store.connections.get("c1") is None


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, home: Path) -> Iterator[Store]:
    """A store on SQLite, and one on a PostgreSQL database of its own."""
    if request.param == "sqlite":
        s = Store(Database(open_database(sqlite_url(home))))
        yield s
        s.close()
        return
    from tests.servers import postgres_database

    with postgres_database() as url:
        s = Store(Database(open_database(url)))
        yield s
        s.close()


def test_audit_batches_of_any_size_are_written_whole(any_store: Store) -> None:
    from plughub.engine.store import RunRecord

    team = any_store.tenancy.create_team("acme")
    assert team is not None
    created = utcnow()
    # 300 rows: past the 124 rows that fit in one SQLite statement of 999 values.
    runs = [
        RunRecord(
            team_id=team.id,
            connection_id="c1",
            action=f"A{i}",
            status="SUCCESS" if i % 2 else "FAILED",
            upstream_status=200 if i % 2 else None,
            error_code=None if i % 2 else "upstream_unreachable",
            duration_ms=i / 4,
            created_at=created,
        )
        for i in range(300)
    ]
    any_store.runs.record_many(runs)
    any_store.runs.record_many([])
    stored = any_store.runs.list("c1", limit=1000)
    assert sorted(stored, key=lambda r: int(r.action[1:])) == runs


def test_audited_values_come_back_as_written(any_store: Store) -> None:
    from plughub.engine.store import RunRecord

    # Tabs, line breaks, backslashes and quotes: COPY's text format must escape them (PostgreSQL).
    odd = RunRecord("t1", "c2", 'A\t"B"\\N\nC\r', "FAILED", None, "upstream_status", 0.001, utcnow())
    any_store.runs.record_many([odd])
    assert any_store.runs.list("c2") == [odd]


def test_a_key_is_read_as_stored_and_a_revoked_one_is_not(any_store: Store) -> None:
    team = any_store.tenancy.create_team("acme")
    assert team is not None
    record, key = any_store.tenancy.create_api_key(team.id, "ci")
    assert any_store.tenancy.authenticate(key) == record
    assert any_store.tenancy.key_team(key) == team.id
    assert any_store.tenancy.authenticate(key + "x") is None
    assert any_store.tenancy.key_team(key + "x") is None
    assert any_store.tenancy.revoke_api_key(record.id)
    assert any_store.tenancy.authenticate(key) is None
    assert any_store.tenancy.key_team(key) is None

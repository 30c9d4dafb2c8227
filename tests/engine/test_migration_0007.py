"""Migration 0007: the subscribe and unsubscribe jobs' values move out of the poll columns (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Integer, String, column, create_engine, insert, select, table, text

from plughub.engine.store import Database, Store, open_database, sqlite_url
from plughub.engine.store.database import MIGRATIONS_DIR

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
WHEN = DateTime(timezone=True)
# The table as 0006 left it, and the columns 0007 adds (typed, so that SQLite's values read as datetimes).
SUBSCRIPTIONS = table(
    "subscriptions",
    *(column(name, String) for name in ("id", "team_id", "connection_id", "integration_id", "trigger", "kind")),
    *(column(name, String) for name in ("config", "status", "token_hash")),
    column("next_poll_at", WHEN),
    column("poll_failures", Integer),
    column("lease_until", WHEN),
    column("created_at", WHEN),
    column("updated_at", WHEN),
)
JOB_COLUMNS = (column("job_due_at", WHEN), column("job_attempts", Integer), column("job_lease_until", WHEN))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    from tests.servers import postgres_database

    with postgres_database() as made:
        yield made


def _alembic(url: str, action: str, revision: str) -> None:
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
    finally:
        engine.dispose()


def _subscription(db: object, sid: str, kind: str, status: str, attempts: int) -> None:
    values = {
        "id": sid,
        "team_id": "local",
        "connection_id": "c1",
        "integration_id": "github",
        "trigger": "GITHUB_PUSH",
        "kind": kind,
        "config": "{}",
        "status": status,
        "token_hash": sid * 4,
        "next_poll_at": NOW,
        "poll_failures": attempts,
        "lease_until": NOW + timedelta(minutes=2),
        "created_at": NOW,
        "updated_at": NOW,
    }
    db.execute(insert(SUBSCRIPTIONS), values)  # type: ignore[attr-defined]


def _rows(url: str) -> dict[str, tuple[object, ...]]:
    c = SUBSCRIPTIONS.c
    query = select(c.id, c.next_poll_at, c.poll_failures, c.lease_until, *JOB_COLUMNS).select_from(SUBSCRIPTIONS)
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            found = db.execute(query.order_by(c.id)).all()
    finally:
        engine.dispose()
    return {row[0]: tuple(_utc(v) for v in row[1:]) for row in found}


def _utc(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)  # SQLite hands datetimes back naive
    return value


def test_existing_jobs_move_to_their_own_columns_and_back(url: str) -> None:
    _alembic(url, "upgrade", "0006")
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO connections (id, integration_id, name, description, scheme, status, config, team_id, "
                "created_at, updated_at) VALUES ('c1', 'github', 'GitHub', '', 'BEARER_TOKEN', 'active', '{}', "
                "'local', :now, :now)"
            ),
            {"now": NOW},
        )
        _subscription(db, "sub_pending", "webhook", "pending", 2)
        _subscription(db, "sub_deleting", "webhook", "deleting", 1)
        _subscription(db, "sub_poll", "poll", "failing", 3)
    engine.dispose()

    Store(Database(open_database(url))).close()  # migrates to the head, as any process does

    lease = NOW + timedelta(minutes=2)
    rows = _rows(url)
    assert rows["sub_pending"] == (None, 0, None, NOW, 2, lease)
    assert rows["sub_deleting"] == (None, 0, None, NOW, 1, lease)
    assert rows["sub_poll"] == (NOW, 3, lease, None, 0, None)  # a poll's columns stay its own

    _alembic(url, "downgrade", "0006")
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            c = SUBSCRIPTIONS.c
            back = db.execute(select(c.id, c.next_poll_at, c.poll_failures).order_by(c.id)).all()
    finally:
        engine.dispose()
    assert [(r[0], _utc(r[1]), r[2]) for r in back] == [
        ("sub_deleting", NOW, 1),
        ("sub_pending", NOW, 2),
        ("sub_poll", NOW, 3),
    ]


def test_a_migrated_pending_subscription_is_found_due(url: str) -> None:
    _alembic(url, "upgrade", "0006")
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO connections (id, integration_id, name, description, scheme, status, config, team_id, "
                "created_at, updated_at) VALUES ('c1', 'github', 'GitHub', '', 'BEARER_TOKEN', 'active', '{}', "
                "'local', :now, :now)"
            ),
            {"now": NOW},
        )
        _subscription(db, "sub_pending", "webhook", "pending", 0)
        db.execute(text("UPDATE subscriptions SET lease_until = NULL"))
    engine.dispose()
    store = Store(Database(open_database(url)))
    try:
        assert store.subscriptions.due_jobs(NOW + timedelta(seconds=1)) == [("sub_pending", "pending")]
        assert store.subscriptions.due_polls(NOW + timedelta(seconds=1)) == []
    finally:
        store.close()

"""A locking SQLite transaction takes the write lock at once: a read, then a write, never meets 'database is locked'."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from plughub.engine.store import Store
from plughub.engine.store.database import open_database, sqlite_url
from plughub.engine.store.db import Database
from plughub.engine.store.tables import teams


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(Database(open_database(sqlite_url(tmp_path))))
    yield s
    s.close()


def _team(name: str) -> dict[str, object]:
    return {"id": f"team_{name}", "name": name, "created_at": datetime.now(timezone.utc)}


def test_a_commit_between_a_read_and_a_write_waits_for_the_transaction(store: Store) -> None:
    read, other_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other() -> None:  # commits while the first transaction is between its read and its write
        read.wait(10)
        try:
            with store.db.transaction() as connection:
                connection.execute(insert(teams).values(**_team("other")))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        other_done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with store.db.transaction(lock=True) as connection:
        assert connection.execute(select(teams.c.id)).first() is None
        read.set()
        # A deferred transaction would let the other commit now, and the write below would fail
        # at once with 'database is locked'; this one holds the write lock, so the other waits.
        assert not other_done.wait(0.5)
        connection.execute(insert(teams).values(**_team("first")))
    thread.join(10)
    assert errors == []
    with store.db.connect() as connection:
        assert {row[0] for row in connection.execute(select(teams.c.name))} == {"first", "other"}

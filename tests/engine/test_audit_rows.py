"""The audit's batches on SQLite go through sqlite3 as multi-row INSERTs: the rows stored are SQLAlchemy's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from plughub.engine.store import RunRecord, Store
from plughub.engine.store.database import open_database, sqlite_url
from plughub.engine.store.db import Database
from plughub.engine.store.tables import runs


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(Database(open_database(sqlite_url(tmp_path))))
    yield s
    s.close()


def _run(connection_id: str, **changes: object) -> RunRecord:
    values: dict[str, object] = {
        "team_id": "team_1",
        "connection_id": connection_id,
        "action": "ACME_GET",
        "status": "SUCCESS",
        "upstream_status": 200,
        "error_code": None,
        "duration_ms": 12.345,
        "created_at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
    }
    values.update(changes)
    return RunRecord(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"status": "FAILED", "upstream_status": None, "error_code": "upstream_unreachable", "duration_ms": 0.0},
        {"created_at": datetime(2026, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))},
        {"created_at": datetime(2026, 5, 6, 7, 8, 9, 0, tzinfo=timezone.utc), "action": "ACME_ÉTÉ"},
    ],
)
def test_rows_are_stored_as_sqlalchemy_stores_them(store: Store, changes: dict[str, object]) -> None:
    fast, reference = _run("conn_fast", **changes), _run("conn_reference", **changes)
    store.runs.record_many([fast])
    with store.db.transaction(invalidates=False) as connection:
        connection.execute(insert(runs), [dict(vars(reference))])
    with store.db.connect() as connection:
        stored = {
            r.connection_id: r
            for r in connection.exec_driver_sql(
                "SELECT team_id, connection_id, action, status, upstream_status, error_code, duration_ms, created_at "
                "FROM runs"
            )
        }
    assert tuple(stored["conn_fast"])[2:] == tuple(stored["conn_reference"])[2:]
    read_back = store.runs.list("conn_fast", 1)[0]
    assert replace(read_back, connection_id="conn_reference") == store.runs.list("conn_reference", 1)[0]


@pytest.mark.parametrize("size", [1, 2, 50, 63, 64, 65, 127, 128, 200, 501])
def test_a_batch_is_stored_whole_in_order(store: Store, size: int) -> None:
    batch = [_run("conn_1", duration_ms=float(i)) for i in range(size)]
    store.runs.record_many(batch)
    with store.db.connect() as connection:
        durations = [r[0] for r in connection.execute(select(runs.c.duration_ms).order_by(runs.c.id))]
    assert durations == [float(i) for i in range(size)]


def test_a_batch_with_a_bad_row_stores_none_of_it(store: Store) -> None:
    batch = [_run("conn_1", duration_ms=float(i)) for i in range(100)]
    batch[70] = _run("conn_1", action=None)  # NOT NULL: the second INSERT of the batch fails
    with pytest.raises(Exception, match="NOT NULL"):
        store.runs.record_many(batch)
    with store.db.connect() as connection:
        assert connection.execute(select(runs.c.id)).first() is None

"""The store's read cache: fresh after this process's writes, bounded staleness for other processes'."""

from __future__ import annotations

import time
from pathlib import Path

from plughub.engine.store import ConnectionRecord, Database, Store, open_database, sqlite_url
from plughub.engine.store.cache import ReadCache


def _record(connection_id: str = "c1", name: str = "first") -> ConnectionRecord:
    return ConnectionRecord(
        id=connection_id, integration_id="sandbox", name=name, scheme="NO_AUTH", status="active", config={}
    )


def test_a_write_of_this_store_is_seen_at_once(home: Path) -> None:
    store = Store(Database(open_database(sqlite_url(home)), cache_ttl=60))
    try:
        store.connections.insert(_record(), None)
        assert store.connections.get("c1").status == "active"  # type: ignore[union-attr]
        store.connections.set_status("c1", "failed", "boom")
        assert store.connections.get("c1").status == "failed"  # type: ignore[union-attr]
        assert store.connections.delete("c1")
        assert store.connections.get("c1") is None
    finally:
        store.close()


def test_another_stores_write_is_seen_within_the_ttl(home: Path) -> None:
    reader = Store(Database(open_database(sqlite_url(home)), cache_ttl=0.3))
    writer = Store(Database(open_database(sqlite_url(home)), cache_ttl=0.3))
    try:
        writer.connections.insert(_record(), None)
        assert reader.connections.get("c1").status == "active"  # type: ignore[union-attr]
        writer.connections.set_status("c1", "expired", "gone")
        assert reader.connections.get("c1").status == "active"  # type: ignore[union-attr] # cached
        time.sleep(0.35)
        assert reader.connections.get("c1").status == "expired"  # type: ignore[union-attr]
    finally:
        reader.close()
        writer.close()


def test_a_ttl_of_zero_reads_the_database_every_time(home: Path) -> None:
    reader = Store(Database(open_database(sqlite_url(home)), cache_ttl=0))
    writer = Store(Database(open_database(sqlite_url(home)), cache_ttl=0))
    try:
        writer.connections.insert(_record(), None)
        assert reader.connections.get("c1") is not None
        writer.connections.delete("c1")
        assert reader.connections.get("c1") is None
    finally:
        reader.close()
        writer.close()


def test_a_read_that_raced_a_write_does_not_put_the_old_row_back() -> None:
    cache = ReadCache(ttl=60)

    def stale_read() -> str:
        cache.clear()  # a write commits while this read is in flight
        return "old"

    assert cache.get("k", stale_read) == "old"
    assert cache.get("k", lambda: "new") == "new"


def test_the_cache_is_bounded() -> None:
    cache = ReadCache(ttl=60, size=3)
    for key in "abcd":
        cache.get(key, lambda k=key: k.upper())
    assert cache.get("a", lambda: "reloaded") == "reloaded"  # the oldest went first
    assert cache.get("d", lambda: "reloaded") == "D"

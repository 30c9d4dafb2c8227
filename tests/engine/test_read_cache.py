"""The store's read cache: fresh after this process's writes, bounded staleness for other processes'."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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


def _readers(cache: ReadCache, load: Callable[[], str], count: int) -> list[str | BaseException]:
    """`count` threads asking for the same row at once; what each got."""
    got: list[str | BaseException] = []

    def one() -> None:
        try:
            got.append(cache.get("k", load) or "")
        except Exception as exc:
            got.append(exc)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return got


def test_callers_that_miss_together_wait_for_one_read() -> None:
    cache = ReadCache(ttl=60)
    reads: list[int] = []
    release = threading.Event()

    def slow_read() -> str:
        reads.append(1)
        release.wait(10)  # the others arrive while this read is under way
        return "row"

    first = threading.Thread(target=lambda: cache.get("k", slow_read))
    first.start()
    while not reads:
        time.sleep(0.001)
    waiting = threading.Thread(target=lambda: got.extend(_readers(cache, slow_read, 8)))
    got: list[str | BaseException] = []
    waiting.start()
    time.sleep(0.05)
    release.set()
    first.join(10)
    waiting.join(10)
    assert got == ["row"] * 8
    assert len(reads) == 1


def test_a_caller_that_may_not_wait_reads_for_itself() -> None:
    cache = ReadCache(ttl=60, may_wait=lambda: False)
    release = threading.Event()
    started = threading.Event()

    def slow_read() -> str:
        started.set()
        release.wait(10)
        return "slow"

    first = threading.Thread(target=lambda: cache.get("k", slow_read))
    first.start()
    started.wait(10)
    assert cache.get("k", lambda: "own") == "own"  # did not wait for the read under way
    release.set()
    first.join(10)


def test_when_the_read_fails_each_waiting_caller_reads_for_itself() -> None:
    cache = ReadCache(ttl=60)
    release = threading.Event()
    reads: list[int] = []

    def failing_then_good() -> str:
        reads.append(1)
        if len(reads) == 1:
            release.wait(10)
            raise RuntimeError("the database went away")
        return "row"

    first = threading.Thread(target=lambda: _readers(cache, failing_then_good, 1))
    first.start()
    while not reads:
        time.sleep(0.001)
    got: list[str | BaseException] = []
    waiting = threading.Thread(target=lambda: got.extend(_readers(cache, failing_then_good, 4)))
    waiting.start()
    time.sleep(0.05)
    release.set()
    first.join(10)
    waiting.join(10)
    assert got == ["row"] * 4


def test_a_read_begun_before_a_write_is_not_joined_after_it() -> None:
    cache = ReadCache(ttl=60)
    release = threading.Event()
    started = threading.Event()

    def old_read() -> str:
        started.set()
        release.wait(10)
        return "old"

    first = threading.Thread(target=lambda: cache.get("k", old_read))
    first.start()
    started.wait(10)
    cache.clear()  # a write committed: a read begun before it may hold the old row
    assert cache.get("k", lambda: "new") == "new"
    release.set()
    first.join(10)
    assert cache.get("k", lambda: "again") == "new"

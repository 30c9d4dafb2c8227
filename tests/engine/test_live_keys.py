"""`LiveKeys`: API keys kept in memory only while no process revokes one (and never past the TTL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from plughub.engine.store import Database, Store, open_database
from plughub.engine.store.revocations import CHANNEL, LiveKeys, Revocations
from tests.servers import postgres_database


class Version(Revocations):
    def __init__(self) -> None:
        self.value: int | None = 1

    def version(self) -> int | None:
        return self.value


class Loads:
    def __init__(self, team: str | None = "team_a") -> None:
        self.team = team
        self.count = 0

    def __call__(self) -> str | None:
        self.count += 1
        return self.team


def test_a_live_key_is_read_once_while_the_version_stands_still() -> None:
    version, load = Version(), Loads()
    keys = LiveKeys(version, ttl=60)
    assert [keys.team("h1", load) for _ in range(5)] == ["team_a"] * 5
    assert load.count == 1
    version.value = 2  # some process revoked a key
    assert keys.team("h1", load) == "team_a"
    assert load.count == 2


def test_an_unknown_version_or_a_refused_key_is_never_kept() -> None:
    version, load = Version(), Loads()
    version.value = None  # the watch cannot tell (PostgreSQL's listener not connected)
    keys = LiveKeys(version, ttl=60)
    keys.team("h1", load)
    keys.team("h1", load)
    assert load.count == 2
    version.value = 1
    refused = Loads(team=None)
    assert keys.team("h2", refused) is None
    assert keys.team("h2", refused) is None
    assert refused.count == 2


def test_the_ttl_bounds_an_entry_and_zero_turns_keeping_off() -> None:
    load = Loads()
    keys = LiveKeys(Version(), ttl=0.05)
    keys.team("h1", load)
    time.sleep(0.1)
    keys.team("h1", load)
    assert load.count == 2
    off = LiveKeys(Version(), ttl=0)
    off.team("h1", load)
    off.team("h1", load)
    assert load.count == 4


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'plughub.db'}"
        return
    with postgres_database() as made:
        yield made


def _until(condition: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def test_a_revocation_by_another_process_is_seen(url: str) -> None:
    here, there = Store(Database(open_database(url))), Store(Database(open_database(url)))
    try:
        here.tenancy.create_team("acme", "team_x")
        record, key = here.tenancy.create_api_key("team_x", "k")
        _other, kept = here.tenancy.create_api_key("team_x", "kept")
        # Kept in memory once the watch is on (PostgreSQL's listener starts with the first check).
        assert _until(lambda: here.tenancy.key_team(key) == "team_x" and "entries=2" in repr(_live(here, key, kept)))
        assert there.tenancy.revoke_api_key(record.id)
        if here.db.dialect == "sqlite":
            assert here.tenancy.key_team(key) is None  # the very next check
        else:
            assert _until(lambda: here.tenancy.key_team(key) is None, 2.0)  # NOTIFY, as the revocation commits
        assert here.tenancy.key_team(kept) == "team_x"
    finally:
        here.close()
        there.close()


def test_a_revocation_by_a_process_that_keeps_no_keys_is_seen(url: str) -> None:
    here, there = Store(Database(open_database(url))), Store(Database(open_database(url), cache_ttl=0))
    try:
        here.tenancy.create_team("acme", "team_x")
        record, key = here.tenancy.create_api_key("team_x", "k")
        assert _until(lambda: "entries=1" in repr(_live(here, key)))
        assert there.tenancy.revoke_api_key(record.id)
        if here.db.dialect == "sqlite":
            assert here.tenancy.key_team(key) is None
        else:
            assert _until(lambda: here.tenancy.key_team(key) is None, 2.0)
    finally:
        here.close()
        there.close()


def test_on_sqlite_only_a_revocation_moves_the_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plughub.db'}"
    here, there = Store(Database(open_database(url))), Store(Database(open_database(url)))
    try:
        watch = here.db.revocations
        before = watch.version()
        there.tenancy.create_team("acme", "team_x")  # other writes, by another process
        record, _key = there.tenancy.create_api_key("team_x", "k")
        assert watch.version() == before
        assert not there.tenancy.revoke_api_key("key_unknown")  # nothing revoked: nothing announced
        assert watch.version() == before
        assert there.tenancy.revoke_api_key(record.id)
        assert watch.version() == before + 1
        assert (tmp_path / "plughub.db-revocations").stat().st_mode & 0o777 == 0o600
    finally:
        here.close()
        there.close()


def _live(store: Store, *keys: str) -> LiveKeys:
    for key in keys:
        store.tenancy.key_team(key)
    return store.tenancy._live


def test_this_process_revocation_is_seen_at_once(url: str) -> None:
    store = Store(Database(open_database(url)))
    try:
        store.tenancy.create_team("acme", "team_x")
        record, key = store.tenancy.create_api_key("team_x", "k")
        assert _until(lambda: "entries=1" in repr(_live(store, key)))
        assert store.tenancy.revoke_api_key(record.id)
        assert store.tenancy.key_team(key) is None
    finally:
        store.close()


def test_a_lost_listener_reads_keys_until_it_listens_again() -> None:
    with postgres_database() as url:
        store = Store(Database(open_database(url)))
        try:
            store.tenancy.create_team("acme", "team_x")
            record, key = store.tenancy.create_api_key("team_x", "k")
            watch = store.db.revocations
            assert _until(lambda: store.tenancy.key_team(key) == "team_x" and watch.version() is not None)
            with store.db.connect() as db:  # the database drops the listening session
                db.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = :q"),
                    {"q": f"LISTEN {CHANNEL}"},
                )
            assert _until(lambda: "listening=False" in repr(watch), 2.0)
            assert store.tenancy.key_team(key) == "team_x"  # read from the database meanwhile
            assert _until(lambda: "listening=True" in repr(watch), 10.0)
            # Listening again: another process's revocation reaches this one.
            other = Store(Database(open_database(url)))
            try:
                assert other.tenancy.revoke_api_key(record.id)
            finally:
                other.close()
            assert _until(lambda: store.tenancy.key_team(key) is None, 2.0)
        finally:
            store.close()


def test_requests_that_find_a_key_expired_together_read_it_once() -> None:
    release, started = threading.Event(), threading.Event()
    reads: list[int] = []

    def slow_load() -> str:
        reads.append(1)
        started.set()
        release.wait(10)
        return "team_a"

    keys = LiveKeys(Version(), ttl=60)
    got: list[str | None] = []
    threads = [threading.Thread(target=lambda: got.append(keys.team("h1", slow_load))) for _ in range(6)]
    threads[0].start()
    started.wait(10)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.05)
    release.set()
    for thread in threads:
        thread.join(10)
    assert got == ["team_a"] * 6
    assert len(reads) == 1

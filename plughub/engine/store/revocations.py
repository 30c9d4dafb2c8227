"""How a process learns at once that any process revoked an API key, so that live keys can be kept in memory.

`LiveKeys` keeps the team of each live key this process has checked, for at most the read cache's
TTL, and only while the database's *revocation version* has not moved since the key was read.
The version is read on every check, cheaply:

- SQLite: a counter in a small file beside the database (`plughub.db-revocations`), mapped into
  memory by every process: a check reads 8 bytes of shared memory (no system call, and the event
  loop keeps the GIL). Revoking a key adds one to it once the revocation has committed, so a
  check that sees the new count reads the key after the revocation: the next check of every
  process refuses the key. (`PRAGMA data_version` did the same from the database itself, but it
  moved with every commit, the audit's included, and cost a run ~10 % of its CPU under load: a
  system call that let go of the GIL.) Two processes that revoke at once may both write the same
  count; the count has moved all the same, after both revocations committed. A process that
  dies between a revocation's commit and the count leaves the key in other processes' memory
  until its entry expires (the read cache's TTL).
- PostgreSQL: a `LISTEN` on a connection of its own, in a background thread; revoking a key sends
  a `NOTIFY` in the same transaction, which PostgreSQL delivers to every listening process when it
  commits. While the listener is not connected (starting, or the database restarted), the version
  is unknown and every check reads the database, as before.
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from plughub.engine.store.cache import ReadCache

__all__ = ["CHANNEL", "LiveKeys", "PostgresRevocations", "Revocations", "SqliteRevocations", "revocations_for"]

logger = logging.getLogger("plughub.engine")

CHANNEL = "plughub_api_keys"
"""The PostgreSQL notification channel a key revocation is announced on."""

_COUNT = struct.Struct("<Q")  # the SQLite revocation count: 8 bytes, little-endian
_MASK = (1 << 64) - 1
_WAKE_SECONDS = 0.2  # how often the listener looks whether it should stop
_RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0)  # waits between attempts to listen again (the last repeats)


class Revocations:
    """The revocation version of a database: a number that moves when any process revokes an API key.

    This base class knows nothing (an in-memory database): `version` is None, so nothing is cached.
    """

    def version(self) -> int | None:
        """The current version, or None when it cannot be known now (then nothing may be cached).

        Returns:
            The version.
        """
        return None

    def announce(self, connection: Connection) -> None:
        """Announce a revocation, inside the transaction that makes it (delivered when it commits).

        Args:
            connection: The revoking transaction.
        """

    def committed(self) -> None:
        """Announce a revocation that has just committed (called after `announce`'s transaction)."""

    def close(self) -> None:
        """Release what watching needs (a connection, a thread)."""


class SqliteRevocations(Revocations):
    """A revocation count in a file beside the database, mapped into memory (see the module's notes).

    The file is made (empty: count 0) on first use, readable and writable by its owner only.

    Args:
        database: The path of the database file.
    """

    def __init__(self, database: str) -> None:
        self.path = Path(database + "-revocations")
        self._map: mmap.mmap | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteRevocations({str(self.path)!r})"

    def version(self) -> int | None:  # noqa: D102
        shared = self._map or self._open()
        return int(_COUNT.unpack_from(shared)[0])

    def committed(self) -> None:  # noqa: D102
        shared = self._map or self._open()
        _COUNT.pack_into(shared, 0, (_COUNT.unpack_from(shared)[0] + 1) & _MASK)

    def close(self) -> None:  # noqa: D102
        with self._lock:
            if self._map is not None:
                self._map.close()
            self._map = None

    def _open(self) -> mmap.mmap:
        with self._lock:
            if self._map is None:
                descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    if os.fstat(descriptor).st_size < _COUNT.size:
                        os.ftruncate(descriptor, _COUNT.size)  # zeros: count 0 (another process may do it too)
                    self._map = mmap.mmap(descriptor, _COUNT.size)
                finally:
                    os.close(descriptor)  # the mapping keeps the file
            return self._map


class PostgresRevocations(Revocations):
    """A `LISTEN` on `CHANNEL`, in a daemon thread started on the first `version`.

    Args:
        engine: The engine of the database (the listening connection is taken from its pool and
            detached from it).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._version = 0
        self._listening = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PostgresRevocations(listening={self._listening})"

    def version(self) -> int | None:  # noqa: D102
        if self._thread is None:
            self._start()
        return self._version if self._listening else None

    def announce(self, connection: Connection) -> None:  # noqa: D102
        connection.execute(text(f"NOTIFY {CHANNEL}"))

    def close(self) -> None:  # noqa: D102
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join(_WAKE_SECONDS * 5)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._listen, name="plughub-revocations", daemon=True)
                self._thread.start()

    def _listen(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._listen_once()
                failures = 0
            except Exception as exc:  # the database went away: keys are read again until it is back
                if failures == 0:
                    logger.warning("API keys are checked in the database until it is back (%s)", type(exc).__name__)
                failures += 1
            self._stopping.wait(_RETRY_SECONDS[min(failures, len(_RETRY_SECONDS)) - 1] if failures else 0)

    def _listen_once(self) -> None:
        raw = self._engine.raw_connection()
        connection: Any = raw.driver_connection  # a psycopg Connection
        raw.detach()  # it listens until it fails: closed then, never back in the pool
        try:
            connection.rollback()  # the pool's ping may have begun a transaction
            connection.autocommit = True
            connection.execute(f"LISTEN {CHANNEL}")
            self._moved(listening=True)  # what was read before listening may be stale
            while not self._stopping.is_set():
                for _notification in connection.notifies(timeout=_WAKE_SECONDS):
                    self._moved(listening=True)
        finally:
            self._moved(listening=False)
            raw.close()

    def _moved(self, *, listening: bool) -> None:
        with self._lock:
            self._version += 1
            self._listening = listening


def revocations_for(engine: Engine) -> Revocations:
    """The revocation watch for a database.

    Args:
        engine: The engine to read keys with (for SQLite, the reader of `open_reader`).

    Returns:
        `SqliteRevocations` for a file database, `PostgresRevocations` for PostgreSQL, and the base
        class (nothing cached) for an in-memory database.
    """
    if engine.dialect.name == "postgresql":
        return PostgresRevocations(engine)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
        return SqliteRevocations(database)
    return Revocations()


class LiveKeys:
    """The team of each live API key recently checked, valid while the revocation version stands still.

    Args:
        revocations: The database's revocation watch.
        ttl: Seconds an entry lives at most; 0 or less turns the cache off.
        size: The most keys kept (the least recently used go first).
        may_wait: Whether the calling thread may wait for another's read of the same key (see
            `ReadCache`): the requests in flight when a key's entry expires read it once.
    """

    def __init__(
        self, revocations: Revocations, ttl: float, size: int = 1024, *, may_wait: Callable[[], bool] | None = None
    ) -> None:
        self.revocations = revocations
        self.ttl = ttl
        self.size = size
        # Keyed by (key hash, version): a revocation anywhere moves the version, and so every key.
        self._entries = ReadCache(ttl, size, may_wait=may_wait)

    def __repr__(self) -> str:
        return f"LiveKeys(ttl={self.ttl}, entries={self._entries!r})"

    def team(self, key_hash: str, load: Callable[[], str | None]) -> str | None:
        """The team of a live key: remembered, or loaded (an unknown or revoked key is never kept).

        Args:
            key_hash: The key's digest.
            load: Reads the team of the live key from the database (None: unknown or revoked).

        Returns:
            The team's id, or None.
        """
        if self.ttl <= 0:
            return load()
        version = self.revocations.version()  # before the read: a revocation during it moves it
        if version is None:
            return load()
        return self._entries.get((key_hash, version), load)

    def forget(self) -> None:
        """Forget every key (this process revoked one)."""
        self._entries.clear()

"""The store's base: the SQLAlchemy engine and transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

from plughub.engine.store.cache import DEFAULT_TTL, ReadCache

__all__ = ["StoreBase"]


class StoreBase:
    """Transactions over a SQLAlchemy engine whose schema is migrated (see `open_database`).

    Args:
        engine: The engine.
        cache_ttl: Seconds the hot rows (connections, sealed credentials) are cached;
            every write transaction of this store empties the cache. 0 turns it off.
    """

    def __init__(self, engine: Engine, cache_ttl: float = DEFAULT_TTL) -> None:
        self.engine = engine
        self.cache = ReadCache(cache_ttl)

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, lock: bool = False, invalidates: bool = True) -> Iterator[Connection]:
        """Open a transaction.

        Args:
            lock: Take the write lock at once (SQLite `BEGIN IMMEDIATE`), for read-modify-write;
                PostgreSQL callers lock rows with `SELECT ... FOR UPDATE` instead.
            invalidates: Empty the read cache when it ends (False only for appends that change
                nothing cached, such as the audit).

        Yields:
            The connection; the transaction commits when the block ends without an exception.
        """
        try:
            with self.engine.connect() as connection:
                if lock and self.engine.dialect.name == "sqlite":
                    connection = connection.execution_options(sqlite_immediate=True)
                with connection.begin():
                    yield connection
        finally:
            if invalidates:
                self.cache.clear()

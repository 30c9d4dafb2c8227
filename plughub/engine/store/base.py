"""The store's base: the SQLAlchemy engine and transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

__all__ = ["StoreBase"]


class StoreBase:
    """Transactions over a SQLAlchemy engine whose schema is migrated (see `open_database`).

    Args:
        engine: The engine.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
    def transaction(self, *, lock: bool = False) -> Iterator[Connection]:
        """Open a transaction.

        Args:
            lock: Take the write lock at once (SQLite `BEGIN IMMEDIATE`), for read-modify-write;
                PostgreSQL callers lock rows with `SELECT ... FOR UPDATE` instead.

        Yields:
            The connection; the transaction commits when the block ends without an exception.
        """
        with self.engine.connect() as connection:
            if lock and self.engine.dialect.name == "sqlite":
                connection = connection.execution_options(sqlite_immediate=True)
            with connection.begin():
                yield connection

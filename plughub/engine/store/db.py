"""The database handle every repository shares: the SQLAlchemy engine, transactions, the read cache."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Executable, Row, Table, insert, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from plughub.engine.store.cache import DEFAULT_TTL, ReadCache
from plughub.engine.store.database import open_reader
from plughub.engine.store.outage import database_unavailable
from plughub.engine.store.revocations import Revocations, revocations_for

__all__ = ["Database"]

T = TypeVar("T")

# The most rows one sqlite3 INSERT carries (see `_sqlite_append`), and the most parameters any
# SQLite takes in one statement (999 before 3.32).
_ROWS_PER_INSERT = 64
_MAX_PARAMETERS = 999
# Set while `offload` tries a call on the event loop: reaching a network database then stops it.
_ON_LOOP: contextvars.ContextVar[bool] = contextvars.ContextVar("plughub_db_on_loop", default=False)


class _NeedsDatabase(BaseException):
    """Raised where a call tried on the event loop would reach a network database.

    A `BaseException`, so that no `except Exception` of the call on its way mistakes it for a failure.
    """


class Database:
    """A migrated database (see `open_database`): transactions, reads, and the rows they cache.

    Args:
        sql_engine: The SQLAlchemy engine.
        cache_ttl: Seconds the hot rows (connections, sealed credentials) are cached; every write
            transaction empties the cache. 0 turns it off.
        threads: The most worker threads `offload` uses for a network database.
    """

    def __init__(self, sql_engine: Engine, cache_ttl: float = DEFAULT_TTL, *, threads: int = 40) -> None:
        self.sql_engine = sql_engine
        # A thread waits for another's read of the same row; `offload`'s try on the loop does not.
        self.cache = ReadCache(cache_ttl, may_wait=self.may_wait)
        # One-statement reads need neither a transaction nor the engine's listeners (see open_reader).
        self._reader = open_reader(sql_engine)
        # API keys may be kept in memory while no process revokes one (see revocations.py).
        # (Watched only with the cache on; announced to the other processes whatever this one does.)
        self.revocations: Revocations = revocations_for(self._reader)
        self._plain: dict[tuple[str, ...], bool] = {}  # see `_copies`
        self._inserts: dict[tuple[Any, ...], str] = {}  # see `_sqlite_insert`
        self._bind_processors: dict[tuple[str, ...], list[tuple[str, Any]]] = {}
        # Threads start on first use only.
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="plughub-db")

    def __repr__(self) -> str:
        return f"Database({self.sql_engine.url.render_as_string(hide_password=True)!r})"

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.sql_engine.dialect.name

    def may_wait(self) -> bool:
        """Whether the calling thread may wait for another thread's read of a cached row.

        Returns:
            False while `offload` tries a call on the event loop (which must not block), else True.
        """
        return not _ON_LOOP.get()

    def close(self) -> None:
        """Stop `offload`'s threads and release the database connections."""
        self._pool.shutdown(wait=True)
        self.revocations.close()
        if self._reader.pool is not self.sql_engine.pool:
            self._reader.dispose()
        self.sql_engine.dispose()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads; what it reads is not cached and nothing it does is committed.

        Yields:
            The connection.
        """
        _not_on_loop()
        try:
            with self.sql_engine.connect() as connection:
                yield connection
        except sa_exc.TimeoutError as exc:  # the pool had no connection to give in time
            raise database_unavailable(exc) from exc

    def first(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Row[Any] | None:
        """Run a one-statement read outside any transaction and return its first row.

        For the reads that must see every other process's writes at once (the API key check).

        Args:
            statement: The SELECT.
            params: Its parameters.

        Returns:
            The first row, or None.
        """
        _not_on_loop()
        try:
            with self._reader.connect() as connection:
                return connection.execute(statement, params).first()
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as exc:
            raise database_unavailable(exc) from exc

    @contextmanager
    def transaction(self, *, lock: bool = False, invalidates: bool = True) -> Iterator[Connection]:
        """Open a transaction, for writes (reads go through `connect` or `first`).

        A block whose first statement writes needs no more: SQLite takes the write lock at that
        statement (waiting for it up to the busy timeout). A block that reads, then writes,
        passes `lock`: in a deferred SQLite transaction its first write would fail at once
        ("database is locked": the busy timeout does not apply) whenever another connection
        committed after its read, which a busy server's audit does many times a second.
        (Taking the lock at BEGIN in every block was measured too: it held the lock longer, and
        webhooks accepted on 2 workers fell by a tenth, their p99 rose by half.)

        Args:
            lock: Take the write lock at once (SQLite `BEGIN IMMEDIATE`), for a block that reads
                before it writes; on PostgreSQL such a block locks its rows with `SELECT ... FOR
                UPDATE` instead.
            invalidates: Empty the read cache when it ends (False only for appends that change
                nothing cached, such as the audit).

        Yields:
            The connection; the transaction commits when the block ends without an exception.
        """
        _not_on_loop()
        try:
            with self.sql_engine.connect() as connection:
                if lock and self.dialect == "sqlite":
                    connection = connection.execution_options(sqlite_immediate=True)
                with connection.begin():
                    yield connection
        except sa_exc.TimeoutError as exc:
            raise database_unavailable(exc) from exc
        finally:
            if invalidates:
                self.cache.clear()

    def append(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows in one transaction (the audit's batches): one executemany, or on PostgreSQL one COPY.

        psycopg's executemany sends a statement per row through its pipeline, in Python: about
        13 us of CPU per row, held under the GIL in batches of milliseconds that the server's
        event loop waits for. COPY (psycopg's `Cursor.copy`, in the same transaction) costs a
        quarter of that. It is used when every column's value goes to the driver as it is (no
        SQLAlchemy type converts it), which is so for the audit's columns.

        Args:
            table: The table.
            rows: The rows, each with the same keys.
        """
        if not rows:
            return
        columns = list(rows[0])
        with self.transaction(invalidates=False) as connection:
            if self.dialect == "postgresql" and self._copies(table, columns):
                dbapi = self.sql_engine.dialect.loaded_dbapi
                try:
                    _copy(connection, table.name, columns, rows)
                except (dbapi.OperationalError, dbapi.InterfaceError) as exc:
                    # What SQLAlchemy's statements do (see outage.py): the connection is dropped,
                    # and the caller sees the database as unavailable.
                    connection.invalidate(exc)
                    raise database_unavailable(exc) from exc
            elif self.dialect == "sqlite":
                self._sqlite_append(connection, table, columns, rows)
            else:
                connection.execute(insert(table), list(rows))

    def _copies(self, table: Table, columns: list[str]) -> bool:
        """Whether rows of these columns may go by COPY: no column's type converts its values."""
        key = (table.name, *columns)
        found = self._plain.get(key)
        if found is None:
            dialect = self.sql_engine.dialect
            found = self._plain[key] = all(
                table.c[name].type.dialect_impl(dialect).bind_processor(dialect) is None for name in columns
            )
        return found

    def _sqlite_append(
        self, connection: Connection, table: Table, columns: list[str], rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Insert rows with sqlite3 itself: many rows per INSERT, each value as its column's type binds it.

        SQLAlchemy's executemany costs ~10 us a row in Python (a compiled statement, a dict of
        bound values per row); sqlite3's own costs a fifth of that, but it steps the statement
        once per row, and sqlite3 lets go of the GIL around every step. On a busy server each
        let-go hands the GIL to the event loop and takes it back (two thread switches), which
        cost the loop more CPU than the rows themselves. So one INSERT carries up to
        `_ROWS_PER_INSERT` rows (a few statements of fixed sizes, which sqlite3 keeps prepared).
        """
        binds = self._binds(table, columns)
        values = [row[name] if bind is None else bind(row[name]) for row in rows for name, bind in binds]
        width, start = len(columns), 0
        most = _ROWS_PER_INSERT
        while most > 1 and most * width > _MAX_PARAMETERS:
            most //= 2
        while start < len(rows):
            count = most
            while count > len(rows) - start:  # the rest in halves: 32, 16, ... rows
                count //= 2
            statement = self._sqlite_insert(table, columns, count)
            connection.exec_driver_sql(statement, tuple(values[start * width : (start + count) * width]))
            start += count

    def _binds(self, table: Table, columns: list[str]) -> list[tuple[str, Any]]:
        """Each column's bind processor (None for a value that goes to the driver as it is)."""
        key = (table.name, *columns)
        found = self._bind_processors.get(key)
        if found is None:
            dialect = self.sql_engine.dialect
            found = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns]
            self._bind_processors[key] = found
        return found

    def _sqlite_insert(self, table: Table, columns: list[str], rows: int) -> str:
        """The INSERT of `rows` rows of these columns for sqlite3 (qmark parameters)."""
        key = (table.name, rows, *columns)
        found = self._inserts.get(key)
        if found is None:
            quote = self.sql_engine.dialect.identifier_preparer.quote
            names = ", ".join(quote(name) for name in columns)
            marks = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * rows)
            found = self._inserts[key] = f"INSERT INTO {quote(table.name)} ({names}) VALUES {marks}"  # noqa: S608
        return found

    def ping(self) -> None:
        """Run `SELECT 1`: the database answers (or `DatabaseUnavailable` is raised)."""
        with self.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def offload(self, work: Callable[..., T], *args: Any) -> T:
        """Run a call that reads the database from an event loop.

        SQLite is a local file read in microseconds: the call runs on the loop. A network database
        (PostgreSQL) may take a round trip or more: the call is tried on the loop first, and when
        it would reach the database (what it reads is not in memory: the read cache, the live API
        keys), it stops there and runs again, from the start, in one of this database's threads.
        So `work` must do nothing before its reads that it cannot do twice.

        Args:
            work: The call (a `functools.partial` for keyword arguments).
            *args: Its arguments.

        Returns:
            What it returns.
        """
        if self.dialect == "sqlite":
            return work(*args)
        on_loop = _ON_LOOP.set(True)
        try:
            return work(*args)  # a thread hop costs more than the whole call when nothing is read
        except _NeedsDatabase:
            pass
        finally:
            _ON_LOOP.reset(on_loop)
        # Its own threads: `run_in_executor` costs half the CPU of anyio's `to_thread` (35 against
        # 78 us a call, measured). The caller's context (the request id) goes along.
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._pool, context.run, partial(work, *args))


def _copy(connection: Connection, table: str, columns: list[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """COPY rows into a PostgreSQL table, in the connection's transaction (psycopg's `Cursor.copy`)."""
    from psycopg import sql  # PostgreSQL only

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    )
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[name] for name in columns])


def _not_on_loop() -> None:
    """Stop a call that `offload` tries on the event loop before it reaches the database."""
    if _ON_LOOP.get():
        raise _NeedsDatabase

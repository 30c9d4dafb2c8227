"""The store's base: the SQLAlchemy engine and transactions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Select, Table, bindparam, insert
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import PoolProxiedConnection

from plughub.engine.store.cache import DEFAULT_TTL, ReadCache
from plughub.engine.store.outage import database_unavailable, unavailable_errors

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
        self._compiled: dict[int, tuple[str, tuple[str, ...] | None, list[tuple[str, Any]]]] = {}
        self._compiled_inserts: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...] | None, Any]] = {}
        self._unavailable = unavailable_errors(engine)

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
        except sa_exc.TimeoutError as exc:  # the pool had no connection to give in time
            raise database_unavailable(exc) from exc
        finally:
            if invalidates:
                self.cache.clear()

    @contextmanager
    def _raw_connection(self) -> Iterator[PoolProxiedConnection]:
        """A pooled DBAPI connection; one the database broke never goes back to the pool.

        Past SQLAlchemy's connection layer, its `handle_error` event sees nothing: the driver's
        errors are translated here.
        """
        try:
            connection = self.engine.raw_connection()
        except self._unavailable as exc:
            raise database_unavailable(exc) from exc
        try:
            yield connection
        except self._unavailable as exc:
            connection.invalidate(exc)
            raise database_unavailable(exc) from exc
        finally:
            connection.close()

    def first_row(self, statement: Select[Any], **params: Any) -> dict[str, Any] | None:
        """Run a one-row read on a pooled DBAPI connection, past SQLAlchemy's connection layer.

        For the reads on every request (the API key): SQLAlchemy's `Connection` (begin, execute,
        result, rollback, with the SQLite BEGIN listener) costs ten times the query itself. The
        statement is compiled once per store (keep statements
        module-level: they are known by identity); the pool still resets the connection when it
        returns.

        Args:
            statement: A SELECT whose parameters are `bindparam`s named in `params`.
            **params: The parameter values.

        Returns:
            The first row by column name, or None.
        """
        compiled = self._compiled.get(id(statement))
        if compiled is None:
            dialect = self.engine.dialect
            done = statement.compile(dialect=dialect)
            columns: list[tuple[str, Any]] = [
                (str(column.key), column.type.dialect_impl(dialect).result_processor(dialect, None))
                for column in statement.selected_columns
            ]
            names = tuple(done.positiontup) if done.positiontup is not None else None  # None: named style
            compiled = self._compiled[id(statement)] = (str(done), names, columns)
        sql, names, columns = compiled
        values = tuple(params[name] for name in names) if names is not None else params
        with self._raw_connection() as connection:
            # A read opens no transaction on PostgreSQL in autocommit mode, so that the pool's
            # reset (a ROLLBACK) costs no round trip; the connection goes back as it came.
            driver = connection.driver_connection if self.engine.dialect.name == "postgresql" else None
            if driver is not None:
                driver.autocommit = True
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(sql, values)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            finally:
                if driver is not None:
                    driver.autocommit = False
        if row is None:
            return None
        return {key: process(value) if process else value for (key, process), value in zip(columns, row, strict=True)}

    def append_rows(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows in one transaction on a pooled DBAPI connection (the audit's batches).

        SQLAlchemy's executemany path costs about 30 us a row, on the audit thread, whose Python
        work competes with the server's event loop for the GIL; the driver's own executemany costs
        a few. Values go through the columns' bind processors, as SQLAlchemy would send them.

        Args:
            table: The table.
            rows: The rows, each with the same keys.
        """
        if not rows:
            return
        keys = tuple(rows[0])
        compiled = self._compiled_inserts.get((table.name, keys))
        if compiled is None:
            dialect = self.engine.dialect
            done = insert(table).values({key: bindparam(key) for key in keys}).compile(dialect=dialect)
            order = tuple(done.positiontup) if done.positiontup is not None else None
            processors = {key: table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys}
            compiled = self._compiled_inserts[(table.name, keys)] = (str(done), order, processors)
        sql, order, processors = compiled
        processed = [{key: (p(row[key]) if (p := processors[key]) else row[key]) for key in keys} for row in rows]
        values = [tuple(row[key] for key in order) for row in processed] if order is not None else processed
        with self._raw_connection() as connection:
            try:
                _insert_many(connection, self.engine.dialect.name, sql, order, values)
                connection.commit()
            except self._unavailable:
                raise  # the connection is broken: invalidated, not rolled back
            except BaseException:
                connection.rollback()
                raise


def _insert_many(connection: Any, dialect: str, sql: str, order: tuple[str, ...] | None, values: list[Any]) -> None:
    cursor = connection.cursor()
    try:
        if dialect == "sqlite" and order is not None:
            # Multi-row statements: pysqlite's executemany gives up and takes back the GIL for
            # every row, each time waiting on the server's event loop. At most 999 values a
            # statement (SQLite's oldest limit); BEGIN, as the connections run in autocommit
            # mode (see open_database).
            head, _, row_marks = sql.partition(" VALUES ")
            step = max(1, 999 // len(order))
            cursor.execute("BEGIN")
            for start in range(0, len(values), step):
                chunk = values[start : start + step]
                cursor.execute(
                    f"{head} VALUES {', '.join([row_marks] * len(chunk))}", [v for row in chunk for v in row]
                )
        else:
            cursor.executemany(sql, values)
    finally:
        cursor.close()

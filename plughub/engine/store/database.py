"""Open a database and bring its schema to the current revision (Alembic)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from plughub.engine.store.outage import report_unavailable
from plughub.exceptions import ConfigurationError, DatabaseUnavailable

__all__ = ["HEAD_REVISION", "MIGRATIONS_DIR", "open_database", "open_reader", "sqlite_url", "upgrade"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The newest migration; a test checks it equals Alembic's head. Knowing it here lets a process
# that finds the schema current skip importing Alembic at all.
HEAD_REVISION = "0007"


def sqlite_url(home: Path) -> str:
    """Return the URL of the embedded database under a plughub home.

    Args:
        home: `PLUGHUB_HOME`.

    Returns:
        A `sqlite:///` URL.
    """
    return f"sqlite:///{home / 'plughub.db'}"


def open_database(url: str) -> Engine:
    """Create an engine for a database URL and migrate its schema to the head revision.

    SQLite runs in WAL mode with foreign keys on and a busy timeout, and transactions are begun by
    plughub itself so that `BEGIN IMMEDIATE` can be asked for where a block reads before it writes.

    Args:
        url: A SQLAlchemy URL (`sqlite:///...`, `postgresql+psycopg://...`).

    Returns:
        The engine.

    Raises:
        ConfigurationError: The database cannot be opened or migrated.
    """
    # The server runs sync routes on up to 40 threads: a pool smaller than that opens and closes
    # overflow connections on every request (for SQLite, with its PRAGMAs; for PostgreSQL, a login).
    kwargs: dict[str, Any] = {"pool_size": 20, "max_overflow": 30}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        kwargs["pool_use_lifo"] = True
        _create_private_file(url)
    else:
        # A network database may restart: every connection of the pool is then dead. Each is
        # tested when taken (a round trip) and replaced if it is, and the pool hands them out in
        # turn, so that none lingers unused (and dead) at the bottom of a stack.
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    report_unavailable(engine)
    try:
        upgrade(engine)
    except (OperationalError, DatabaseUnavailable) as exc:
        engine.dispose()
        cause = exc.__cause__ or exc.__context__ or exc
        reason = getattr(cause, "orig", None) or cause
        raise ConfigurationError(f"cannot open the database {engine.url!r}: {reason}") from None
    return engine


def open_reader(engine: Engine) -> Engine:
    """An engine for one-statement reads outside any transaction (the API key check on every request).

    SQLAlchemy's event dispatch (the engine's BEGIN and outage listeners) costs more than such a
    read itself; a file database gets an engine of its own without them (its connections still
    take the PRAGMAs). A network database's read is a round trip anyway: the engine itself, in
    autocommit, which also spares the pool's ROLLBACK when the connection goes back.

    Args:
        engine: The engine `open_database` returned.

    Returns:
        The engine to read with; the caller disposes it (unless it is `engine`).
    """
    if engine.dialect.name != "sqlite":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    if engine.url.database in (None, "", ":memory:"):
        return engine  # another engine would open another, empty, database
    reader = create_engine(
        engine.url,
        pool_size=20,
        max_overflow=30,
        pool_use_lifo=True,
        connect_args={"check_same_thread": False, "timeout": 30},
    )
    event.listen(reader, "connect", _sqlite_connection)
    return reader


def upgrade(engine: Engine) -> None:
    """Apply every pending migration.

    Args:
        engine: The database.
    """
    with engine.connect() as connection:
        current = None
        tables = inspect(connection).get_table_names()
        if "alembic_version" in tables:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if current == HEAD_REVISION:
        return
    if not tables:
        # A new database: create the head schema at once and stamp it, without loading Alembic
        # (10 MB of a process's memory). A test keeps the tables equal to what the migrations make.
        from plughub.engine.store.tables import metadata

        with engine.begin() as connection:
            metadata.create_all(connection)
            connection.execute(
                text(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
                )
            )
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD_REVISION})
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _create_private_file(url: str) -> None:
    # Only ciphertext is stored, but metadata (names, config) is nobody else's business either.
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:" and not os.path.exists(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's begin event issue BEGIN, instead of pysqlite's implicit transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _configure_sqlite(engine: Engine) -> None:
    event.listen(engine, "connect", _sqlite_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

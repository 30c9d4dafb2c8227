"""A database that cannot be reached is one exception, `DatabaseUnavailable`, whichever layer saw it.

SQLAlchemy reports an unreachable database as `OperationalError` or `InterfaceError` (wrapping the
driver's), and a lost connection as a disconnect; a pool with no connection to spare raises
`TimeoutError`. All of them become `DatabaseUnavailable`, which
the server answers 503 with `Retry-After`. What the driver said (host, port, reason) is for the
operator: it goes to the log, at most every few seconds, and never into the error's message.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from plughub.exceptions import DatabaseUnavailable

__all__ = ["database_unavailable", "report_unavailable"]

logger = logging.getLogger("plughub.engine")

_QUIET_SECONDS = 5.0  # one warning per this many seconds of an outage, not one per request
_last_warning = 0.0
_lock = threading.Lock()


def database_unavailable(cause: BaseException) -> DatabaseUnavailable:
    """The `DatabaseUnavailable` to raise for a driver's or SQLAlchemy's error, logged for the operator.

    Args:
        cause: What the driver or the pool raised.

    Returns:
        The exception (its message says nothing of the database's address).
    """
    global _last_warning
    original = getattr(cause, "orig", None) or cause
    now = time.monotonic()
    with _lock:
        due = now - _last_warning >= _QUIET_SECONDS
        if due:
            _last_warning = now
    if due:
        # The driver's first line (no SQL, no parameters): "connection refused", "server closed".
        detail = (str(original).strip().splitlines() or [""])[0]
        logger.warning("the database is unavailable: %s: %s", type(original).__name__, detail)
    return DatabaseUnavailable("the database is unavailable; try again in a few seconds")


def report_unavailable(engine: Engine) -> None:
    """Make every statement an engine runs raise `DatabaseUnavailable` when the database cannot be reached.

    SQLAlchemy's `handle_error` event sees each failed statement and connection attempt after it
    has invalidated what a disconnect broke; raising from it replaces SQLAlchemy's exception. The
    pool's own test of a connection (`pool_pre_ping`) is left alone: it reconnects on a failure.

    Args:
        engine: The SQLAlchemy engine.
    """
    dbapi = engine.dialect.loaded_dbapi
    driver_errors = (dbapi.OperationalError, dbapi.InterfaceError)

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        if context.is_pre_ping:  # a pooled connection found dead when taken: the pool replaces it
            return
        if context.is_disconnect or isinstance(context.original_exception, driver_errors):
            raise database_unavailable(context.original_exception)

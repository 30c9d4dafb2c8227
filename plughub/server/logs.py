"""Structured JSON logs with request ids; query strings masked like the engine's own logs."""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import IO

__all__ = ["BatchingStreamHandler", "JsonFormatter", "configure_json_logs", "request_id_var", "write_through"]

request_id_var: ContextVar[str | None] = ContextVar("plughub_request_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id.

    A line is what `json.dumps` makes of `{"time", "level", "logger", "message", "request_id",
    "error"}` (the time as `datetime.isoformat` in UTC), written piece by piece: the server logs a
    line per request, and encoding the dictionary, and the date, cost more than the rest of it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._date = ""
        self._names: dict[tuple[str, str], str] = {}

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        error = None
        if record.exc_info:
            error = record.exc_info[1].__class__.__name__ if record.exc_info[1] else "error"
        return self.line(record.created, record.levelname, record.name, record.getMessage(), error)

    def line(self, created: float, level: str, name: str, message: str, error: str | None = None) -> str:
        """The line of a record with these fields (the request id is the current one).

        Args:
            created: When it was logged (`time.time()`).
            level: The level's name (`INFO`).
            name: The logger's name.
            message: The message, its arguments merged.
            error: The class name of the exception logged with it, if any.

        Returns:
            The JSON line, without its line break.
        """
        names = self._names.get((level, name))
        if names is None:
            names = self._names[(level, name)] = f'"level": {_json_text(level.lower())}, "logger": {_json_text(name)}'
        line = f'{{"time": "{self._time(created)}", {names}, "message": {_json_text(message)}'
        request_id = request_id_var.get()
        if request_id:
            line += f', "request_id": {_json_text(request_id)}'
        if error is not None:
            line += f', "error": {_json_text(error)}'
        return line + "}"

    def _time(self, created: float) -> str:
        """`datetime.fromtimestamp(created, timezone.utc).isoformat()`, the date part made once a second."""
        second = math.floor(created)
        micro = round((created - second) * 1e6)  # rounded half to even, as datetime does
        if micro >= 1_000_000:
            second, micro = second + 1, micro - 1_000_000
        if second != self._second:
            self._date = datetime.fromtimestamp(second, timezone.utc).isoformat()[:19]
            self._second = second
        return f"{self._date}.{micro:06d}+00:00" if micro else f"{self._date}+00:00"


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes its lines in batches: one write for many requests.

    Each record is formatted when it is logged (inside its request, for the request id) and kept;
    the lines go out together at most `linger` seconds later, at once when `capacity` characters
    are waiting, and at once with any WARNING or worse (after the lines before it). A busy server
    thus makes a few writes a second instead of one per request. `flush` and `close` (called by
    `logging.shutdown` at exit) write what is waiting.

    Args:
        stream: Where lines go (stderr by default).
        linger: The longest a line waits, in seconds.
        capacity: Characters waiting that trigger a write.
    """

    def __init__(self, stream: IO[str] | None = None, linger: float = 0.2, capacity: int = 65_536) -> None:
        super().__init__(stream)
        self.linger = linger
        self.capacity = capacity
        self._waiting: list[str] = []
        self._size = 0
        self._due = threading.Event()
        self._writer: threading.Thread | None = None
        self._direct = False

    def write_through(self) -> None:
        """Write what waits, and from now on every line at once (the process is stopping)."""
        self.acquire()
        try:
            self._direct = True
            self._write()
        finally:
            self.release()

    def emit(self, record: logging.LogRecord) -> None:  # noqa: D102 - called under the handler's lock
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._add(line, at_once=record.levelno >= logging.WARNING)

    def write_line(self, line: str) -> None:
        """Write a line made already (an INFO record's, by this handler's formatter), as `emit` would.

        Args:
            line: The line, without its line break.
        """
        self.acquire()
        try:
            self._add(line, at_once=False)
        finally:
            self.release()

    def _add(self, line: str, *, at_once: bool) -> None:  # under the handler's lock
        self._waiting.append(line)
        self._size += len(line) + 1
        if self._direct or at_once or self._size >= self.capacity:
            self._write()
        elif len(self._waiting) == 1:
            if self._writer is None or not self._writer.is_alive():  # none yet, or lost in a fork
                self._due = threading.Event()
                self._writer = threading.Thread(target=self._work, args=(self._due,), name="plughub-log", daemon=True)
                self._writer.start()
            self._due.set()

    def flush(self) -> None:  # noqa: D102
        self.acquire()
        try:
            self._write()
        finally:
            self.release()

    def close(self) -> None:  # noqa: D102
        self.flush()
        super().close()

    def _write(self) -> None:
        if not self._waiting:
            return
        text = "\n".join(self._waiting) + "\n"
        lines = len(self._waiting)
        self._waiting.clear()
        self._size = 0
        try:
            self.stream.write(text)
            super().flush()
        except Exception:  # as logging does for one record: reported on stderr, never raised
            self.handleError(logging.makeLogRecord({"msg": f"{lines} log lines were not written"}))

    def _work(self, due: threading.Event) -> None:
        while True:
            due.wait()
            time.sleep(self.linger)  # gather what comes meanwhile
            due.clear()
            self.flush()


# Printable ASCII but the quote and the backslash: `json.dumps` writes such text as it is, in quotes.
_PLAIN_TEXT = re.compile(r"[ !#-\[\]-~]*")


def _json_text(text: str) -> str:
    """`json.dumps(text)`, without the encoder's call for text that needs no escape (a request's line)."""
    return f'"{text}"' if _PLAIN_TEXT.fullmatch(text) else json.dumps(text)


def write_through() -> None:
    """Make the process's batching log handlers write every line at once from now on.

    A server calls this when it starts stopping: a worker process that its supervisor stops
    with SIGTERM ends with that signal, and nothing runs after it to write a last batch.
    """
    for handler in logging.getLogger().handlers:
        if isinstance(handler, BatchingStreamHandler):
            handler.write_through()


def configure_json_logs(level: int = logging.INFO) -> None:
    """Send the process's logs to stderr as JSON lines, in batches (see `BatchingStreamHandler`).

    Args:
        level: The lowest level written.
    """
    handler = BatchingStreamHandler()
    handler.setFormatter(JsonFormatter())
    # The lines never show a record's thread or process: the logging HOWTO's "Optimization" advice
    # spares each record (one per request) looking them up.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log repeats what the request middleware logs, with the full query string.
    logging.getLogger("uvicorn.access").disabled = True
    # One line per request is the request log's; httpx's own line per upstream call would double it.
    logging.getLogger("httpx").setLevel(logging.WARNING)

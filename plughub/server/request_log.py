"""The request log: one JSON line per HTTP request, handed straight to plughub's own log handler when it is in use."""

from __future__ import annotations

import logging
import time

from plughub.server.logs import BatchingStreamHandler, JsonFormatter

__all__ = ["RequestLog"]

_FORMAT = "%s %s -> %s in %.1f ms"


class RequestLog:
    """Writes each request's line (`POST /v1/... -> 200 in 3.1 ms`) to a logger, at INFO.

    When the process logs as `plughub serve` sets it up (`configure_json_logs`: one
    `BatchingStreamHandler` with its `JsonFormatter` on the root logger, and nothing else on the
    way there), the line is made by that formatter and handed to that handler: the line
    `logger.info` would write, without a `LogRecord`, the look-up of the caller's frame and the
    walk over the loggers (measured: about half of the line's cost, ~16 us of a run's CPU under
    load). With any other set-up (other handlers or filters, pytest's `caplog`), `logger.info`
    writes it.

    Args:
        logger: The logger the lines belong to.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def __repr__(self) -> str:
        return f"RequestLog({self.logger.name!r})"

    def write(self, method: str, path: str, status: int, milliseconds: float) -> None:
        """Log a request's line.

        Args:
            method: The request's method.
            path: Its path as the logs may show it (secret tokens masked, no query).
            status: The answer's status.
            milliseconds: How long it took.
        """
        handler = self._handler()
        if handler is None:
            self.logger.info(_FORMAT, method, path, status, milliseconds)
            return
        formatter = handler.formatter
        assert isinstance(formatter, JsonFormatter)  # noqa: S101 - `_handler` checked it
        message = _FORMAT % (method, path, status, milliseconds)
        handler.write_line(formatter.line(time.time(), "INFO", self.logger.name, message))

    def _handler(self) -> BatchingStreamHandler | None:
        """Plughub's handler, when a record of the logger at INFO would reach it alone and unfiltered."""
        logger = self.logger
        if logger.disabled or logger.filters or not logger.isEnabledFor(logging.INFO):
            return None
        current: logging.Logger | None = logger
        while current is not None and current.parent is not None:  # up to the root
            if current.handlers or not current.propagate:
                return None
            current = current.parent
        handlers = current.handlers if current is not None else []
        if len(handlers) != 1:
            return None
        handler = handlers[0]
        if (
            type(handler) is not BatchingStreamHandler
            or type(handler.formatter) is not JsonFormatter
            or handler.filters
            or handler.level > logging.INFO
        ):
            return None
        return handler

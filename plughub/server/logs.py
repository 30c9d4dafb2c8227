"""Structured JSON logs with request ids; query strings masked like the engine's own logs."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import datetime, timezone

__all__ = ["JsonFormatter", "configure_json_logs", "request_id_var"]

request_id_var: ContextVar[str | None] = ContextVar("plughub_request_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["error"] = record.exc_info[1].__class__.__name__ if record.exc_info[1] else "error"
        return json.dumps(entry)


def configure_json_logs(level: int = logging.INFO) -> None:
    """Send the process's logs to stderr as JSON lines.

    Args:
        level: The lowest level written.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log repeats what the request middleware logs, with the full query string.
    logging.getLogger("uvicorn.access").disabled = True
    # One line per request is the request log's; httpx's own line per upstream call would double it.
    logging.getLogger("httpx").setLevel(logging.WARNING)

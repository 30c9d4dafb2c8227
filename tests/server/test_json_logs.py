"""`JsonFormatter` writes what `json.dumps` makes of the entry, with the time as `datetime.isoformat` (UTC)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

import pytest

from plughub.server.logs import JsonFormatter, request_id_var

# Whole seconds, and fractions that round up into the next second or sit on a half microsecond.
MOMENTS = [0.0, 1.0, 1_765_000_000.0, 1_765_000_000.9999995, 1_765_000_000.0000005, 1_765_000_000.1234565, 12.5e-6]


def _expected(record: logging.LogRecord, request_id: str | None) -> str:
    entry = {
        "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": record.getMessage(),
    }
    if request_id:
        entry["request_id"] = request_id
    if record.exc_info:
        entry["error"] = type(record.exc_info[1]).__name__
    return json.dumps(entry)


@pytest.mark.parametrize("created", MOMENTS)
@pytest.mark.parametrize("request_id", [None, "req-1", 'odd "id"'])
def test_a_line_is_json_dumps_of_the_entry(created: float, request_id: str | None) -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord("plughub.server", logging.INFO, "x", 1, "%s %s -> %s", ("POST", '/v1/"é"\n', 200), None)
    record.created = created
    failing = logging.LogRecord('we"ird', logging.ERROR, "x", 1, "it failed \u2028 \x00", None, None)
    failing.created = created
    try:
        raise ValueError("not logged")
    except ValueError:
        failing.exc_info = sys.exc_info()
    token = request_id_var.set(request_id)
    try:
        for one in (record, failing, record):  # the second time from what the formatter remembers
            assert formatter.format(one) == _expected(one, request_id)
    finally:
        request_id_var.reset(token)

"""`RequestLog` hands plughub's own handler the line `logger.info` would write, and uses `logger.info` otherwise."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from plughub.server.logs import BatchingStreamHandler, JsonFormatter, request_id_var
from plughub.server.request_log import RequestLog


@contextmanager
def _plughub_logging() -> Iterator[BatchingStreamHandler]:
    """plughub's set-up (`configure_json_logs`) on the root logger, writing to a string.

    Made inside the test: pytest's own handlers are on the root logger while a test runs.
    """
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    made = BatchingStreamHandler(io.StringIO())
    made.setFormatter(JsonFormatter())
    root.handlers[:] = [made]
    root.setLevel(logging.INFO)
    try:
        yield made
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


def _lines(handler: BatchingStreamHandler) -> list[dict[str, object]]:
    handler.flush()
    stream = handler.stream
    assert isinstance(stream, io.StringIO)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("path", ["/v1/health", '/v1/odd "path"\\é', "/connect/***"])
def test_the_direct_line_is_the_line_logger_info_writes(path: str) -> None:
    logger = logging.getLogger("plughub.server")
    token = request_id_var.set("req_abc")
    try:
        with _plughub_logging() as handler:
            assert RequestLog(logger)._handler() is handler  # the direct way is taken
            RequestLog(logger).write("POST", path, 200, 3.14159)
            logger.info("%s %s -> %s in %.1f ms", "POST", path, 200, 3.14159)  # the reference
            direct, reference = _lines(handler)
    finally:
        request_id_var.reset(token)
    assert isinstance(direct.pop("time"), str)
    assert isinstance(reference.pop("time"), str)
    assert (
        direct
        == reference
        == {
            "level": "info",
            "logger": "plughub.server",
            "message": f"POST {path} -> 200 in 3.1 ms",
            "request_id": "req_abc",
        }
    )


class _Refuse(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def test_a_filter_on_the_way_is_honoured() -> None:
    logger = logging.getLogger("plughub.server")
    refuse = _Refuse()
    with _plughub_logging() as handler:
        logger.addFilter(refuse)
        try:
            RequestLog(logger).write("GET", "/v1/health", 200, 1.0)
        finally:
            logger.removeFilter(refuse)
        handler.addFilter(refuse)
        RequestLog(logger).write("GET", "/v1/health", 200, 1.0)
        handler.removeFilter(refuse)
        assert _lines(handler) == []


def test_a_level_above_info_writes_nothing() -> None:
    logger = logging.getLogger("plughub.server")
    with _plughub_logging() as handler:
        logger.setLevel(logging.WARNING)
        try:
            RequestLog(logger).write("GET", "/v1/health", 200, 1.0)
        finally:
            logger.setLevel(logging.NOTSET)
        assert _lines(handler) == []


def test_with_another_set_up_the_line_goes_through_logging(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("plughub.server")
    with caplog.at_level(logging.INFO, logger="plughub.server"):
        RequestLog(logger).write("DELETE", "/v1/connections/c1", 204, 2.0)
    assert [r.getMessage() for r in caplog.records] == ["DELETE /v1/connections/c1 -> 204 in 2.0 ms"]

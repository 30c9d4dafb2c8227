"""JSON logs with request ids, the X-Request-Id header, and the OpenAPI document."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator

import pytest

from plughub.server.logs import BatchingStreamHandler, JsonFormatter, request_id_var
from plughub.server.request_ids import loggable_path, new_request_id
from tests.server.conftest import Hub, HubFactory, Tenant, assert_error


class _Lines(logging.Handler):
    """Formats each record when it is emitted (in the server's thread, inside the request)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in list(self.lines)]


@pytest.fixture
def server_logs() -> Iterator[_Lines]:
    logger = logging.getLogger("plughub.server")
    handler = _Lines()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_json_formatter_outside_and_inside_a_request() -> None:
    record = logging.LogRecord("plughub.server", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    plain = json.loads(JsonFormatter().format(record))
    assert plain["message"] == "hello world"
    assert plain["level"] == "warning"
    assert plain["logger"] == "plughub.server"
    assert re.match(r"\d{4}-\d\d-\d\dT", plain["time"])
    assert "request_id" not in plain
    token = request_id_var.set("req-42")
    try:
        inside = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert inside["request_id"] == "req-42"
    try:
        raise KeyError("boom")
    except KeyError:
        failing = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert json.loads(JsonFormatter().format(failing))["error"] == "KeyError"


def test_requests_are_logged_as_json_with_their_request_id(hub: Hub, team_a: Tenant, server_logs: _Lines) -> None:
    answered = team_a.client.get(
        "/v1/connections", params={"query": "secret-query-text"}, headers={"X-Request-Id": "req-abc-1"}
    )
    assert answered.status_code == 200
    assert answered.headers["X-Request-Id"] == "req-abc-1"
    generated = hub.client().get("/v1/health")
    request_id = generated.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    refused = hub.client().get("/v1/connections", headers={"X-Request-Id": "req-abc-2"})
    assert_error(refused, 401, "unauthorized")
    assert refused.headers["X-Request-Id"] == "req-abc-2"

    entries = server_logs.entries()
    by_id = {e.get("request_id"): e for e in entries}
    first = by_id["req-abc-1"]
    assert re.fullmatch(r"GET /v1/connections -> 200 in \d+\.\d ms", str(first["message"]))
    assert first["logger"] == "plughub.server"
    assert first["level"] == "info"
    assert re.fullmatch(r"GET /v1/health -> 200 in \d+\.\d ms", str(by_id[request_id]["message"]))
    assert str(by_id["req-abc-2"]["message"]).startswith("GET /v1/connections -> 401")
    # The path is logged, not the query string, and never the key.
    assert not any("secret-query-text" in line or team_a.key in line for line in server_logs.lines)


@pytest.mark.parametrize(
    "sent",
    [
        "a" * 65,  # too long
        "req 1",  # a space
        "req-1\tlevel=error",  # a field forged after a tab
        "req-\u00e9",  # not ASCII
        "phk_" + "x" * 70,  # a key pasted by mistake (and too long)
        "",
    ],
)
def test_a_client_request_id_is_taken_only_as_a_short_safe_token(hub: Hub, sent: str) -> None:
    response = hub.client().get("/v1/health", headers={"X-Request-Id": sent.encode("utf-8")})
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])  # a new one instead
    for accepted in ("req-abc_1.2", "A" * 64):
        assert hub.client().get("/v1/health", headers={"X-Request-Id": accepted}).headers["X-Request-Id"] == accepted
    small = hub.client().post("/v1/connections", content=b"x" * 2_000_000, headers={"X-Request-Id": sent.encode()})
    assert re.fullmatch(r"[0-9a-f]{32}", small.headers["X-Request-Id"])  # the 413 answer too


def test_the_request_log_masks_a_connect_links_token(hub: Hub, team_a: Tenant, server_logs: _Lines) -> None:
    created = team_a.client.post("/v1/connect-sessions", json={"integration_id": "sandbox", "schemes": ["API_KEY"]})
    assert created.status_code == 201, created.text
    path = created.json()["url"].removeprefix(hub.url)
    token = path.removeprefix("/connect/")
    assert hub.client().get(path).status_code == 200
    assert hub.client().post(path, content=b"x" * 2_000_000).status_code == 413  # logged by the body limit
    assert not any(token in line for line in server_logs.lines)
    messages = [str(e["message"]) for e in server_logs.entries()]
    assert any(re.fullmatch(r"GET /connect/\*\*\* -> 200 in \d+\.\d ms", m) for m in messages), messages
    assert any(m.startswith("POST /connect/*** -> 413") for m in messages), messages
    assert loggable_path("/webhooks/whk_secret/extra") == "/webhooks/***/extra"
    assert loggable_path("/v1/connections/abc") == "/v1/connections/abc"
    assert loggable_path("/connections/x/connect/abc") == "/connections/x/connect/abc"


def test_each_request_gets_its_own_id(hub: Hub) -> None:
    client = hub.client()
    ids = {client.get("/v1/health").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_a_refused_oversized_body_still_carries_the_request_id(make_hub: HubFactory) -> None:
    small = make_hub(max_body_bytes=16)
    response = small.client().post("/v1/connections", content=b"x" * 64, headers={"X-Request-Id": "req-big"})
    assert_error(response, 413, "payload_too_large")
    assert response.headers.get("X-Request-Id") == "req-big"


def test_openapi_lists_the_v1_routes(hub: Hub) -> None:
    response = hub.client().get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "plughub"
    paths = document["paths"]
    expected = {
        "/v1/health": {"get"},
        "/v1/ready": {"get"},
        "/v1/integrations": {"get", "post"},
        "/v1/integrations/{id_or_name}": {"get"},
        "/v1/integrations/{integration_id}/oauth-app": {"get", "put", "delete"},
        "/v1/connections": {"get", "post"},
        "/v1/connections/{connection_id}": {"get", "delete"},
        "/v1/connections/{connection_id}/status": {"get"},
        "/v1/connections/{connection_id}/reconnect": {"post"},
        "/v1/connections/{connection_id}/runs": {"get"},
        "/v1/connections/{connection_id}/actions": {"get"},
        "/v1/connections/{connection_id}/actions/{action}": {"get"},
        "/v1/connections/{connection_id}/actions/{action}/run": {"post"},
        "/v1/oauth/callback": {"get"},
        "/v1/oauth/complete": {"post"},
        "/v1/connect-sessions": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, sorted(paths)
        assert methods <= set(paths[path]), (path, set(paths[path]))
    assert not any(p.startswith("/connect/") for p in paths)  # the hosted page is not API
    run = paths["/v1/connections/{connection_id}/actions/{action}/run"]["post"]
    assert run["requestBody"]["required"] is True


def test_docs_page_is_html(hub: Hub) -> None:
    response = hub.client().get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
    assert "swagger" in response.text.lower()


class _Writes(io.StringIO):
    """A stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _batching(linger: float = 60.0, capacity: int = 65_536) -> tuple[logging.Logger, BatchingStreamHandler, _Writes]:
    stream = _Writes()
    handler = BatchingStreamHandler(stream, linger=linger, capacity=capacity)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"plughub.test.batching.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers[:] = [handler]
    return logger, handler, stream


def _messages(stream: _Writes) -> list[object]:
    return [json.loads(line)["message"] for line in stream.getvalue().splitlines()]


def test_batched_lines_go_out_together_within_the_linger() -> None:
    logger, handler, stream = _batching(linger=0.05)
    for index in range(50):
        logger.info("request %d", index)
    assert stream.writes == 0  # held
    deadline = time.monotonic() + 10
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _messages(stream) == [f"request {index}" for index in range(50)]
    assert stream.writes == 1
    logger.info("later")  # the writer thread wakes again for the next batch
    while len(_messages(stream)) < 51 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _messages(stream)[-1] == "later"
    handler.close()


def test_a_warning_goes_out_at_once_after_the_lines_before_it() -> None:
    logger, handler, stream = _batching()
    logger.info("first")
    logger.warning("trouble")
    assert _messages(stream) == ["first", "trouble"]
    assert stream.writes == 1
    handler.close()


def test_a_full_batch_goes_out_at_once_and_close_writes_the_rest() -> None:
    logger, handler, stream = _batching(capacity=1_000)
    for index in range(20):
        logger.info("line %d", index)
    written = _messages(stream)
    assert stream.writes >= 1 and len(stream.getvalue()) >= 1_000 * stream.writes  # only full batches
    assert written == [f"line {index}" for index in range(len(written))]
    handler.close()
    assert _messages(stream) == [f"line {index}" for index in range(20)]


def test_a_batched_line_keeps_the_request_id_it_was_logged_under() -> None:
    logger, handler, stream = _batching()
    token = request_id_var.set("req-batched")
    logger.info("inside")
    request_id_var.reset(token)
    handler.flush()
    assert json.loads(stream.getvalue())["request_id"] == "req-batched"
    handler.close()


def test_a_stream_that_fails_never_breaks_the_caller(capsys: pytest.CaptureFixture[str]) -> None:
    logger, handler, stream = _batching()
    stream.close()
    logger.info("lost")
    logger.warning("also lost")  # the write fails here: reported, not raised
    assert "2 log lines were not written" in capsys.readouterr().err
    handler.close()


def test_request_ids_are_unique_and_a_forked_worker_has_its_own() -> None:
    ids = [new_request_id() for _ in range(1_000)]
    assert len(set(ids)) == 1_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len({i[:16] for i in ids}) == 1  # one process: one random half, then a counter
    if not hasattr(os, "fork"):
        return
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    forked = os.read(read, 64).decode()
    os.close(read)
    assert re.fullmatch(r"[0-9a-f]{32}", forked)
    assert forked[:16] != ids[0][:16]


def test_a_forked_process_batches_its_own_lines() -> None:
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    read, write = os.pipe()
    stream = os.fdopen(write, "w")
    handler = BatchingStreamHandler(stream, linger=0.05)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("plughub.test.batching.fork")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers[:] = [handler]
    logger.info("parent")  # starts the writer thread, which the child will not have
    handler.flush()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child logs, waits past the linger, exits without flushing
        logger.info("child")
        time.sleep(0.5)
        os._exit(0)
    os.waitpid(child, 0)
    handler.close()
    stream.close()
    with os.fdopen(read) as lines:
        assert [json.loads(line)["message"] for line in lines] == ["parent", "child"]

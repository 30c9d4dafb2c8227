"""A canary secret must not appear in any repr, any DEBUG log line, or any file under PLUGHUB_HOME."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory, ResponseStatus
from plughub.backends import get_backend
from plughub.config import Settings
from plughub.schemas import ConnectRequest
from tests.conftest import CANARIES, CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN
from tests.upstream import Reply, Upstream

pytestmark = pytest.mark.usefixtures("backend")

QUERY_KEY_API = {
    "id": "query-key",
    "display_name": "Query Key",
    "base_url": "http://127.0.0.1:1",
    "auth": [{"mode": "API_KEY", "apply": {"query": "appid"}}],
    "actions": {
        "QUERY_KEY_PING": {
            "display_name": "Ping",
            "method": "GET",
            "path": "/ping",
            "inputs": {"q": {"type": "string"}},
        }
    },
}


def _assert_clean(text: str, where: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"a secret leaked into {where}: {text[:300]}"


def _exercise(sandbox: Any, upstream: Upstream) -> list[Any]:
    """Connect with every static scheme and run actions that succeed and fail; return objects seen."""
    seen: list[Any] = []
    integration = IntegrationFactory.get("sandbox")
    for scheme, data in [
        (AuthenticationSchema.API_KEY, {"api_key": CANARY_API_KEY}),
        (AuthenticationSchema.BEARER_TOKEN, {"token": CANARY_TOKEN}),
        (AuthenticationSchema.BASIC, {"username": "demo", "password": CANARY_PASSWORD}),
    ]:
        response = integration.connect(scheme, data={**data, "port": sandbox.port})
        tool = ModelFactory.get(response.data["id"])
        ok = tool.run("SANDBOX_WHOAMI", {})
        assert ok.status is ResponseStatus.SUCCESS
        seen += [response, tool, ok, tool.connection, tool.actions, integration]
        try:
            tool.run("SANDBOX_GET_NOTE", {"note_id": "x"})
        except ValueError as exc:
            seen.append(exc)
    # A wrong key: the sandbox answers 401, the FAILED response must not echo what was sent.
    wrong = integration.connect(
        AuthenticationSchema.API_KEY, data={"api_key": CANARY_API_KEY + "x", "port": sandbox.port}
    )
    seen.append(ModelFactory.get(wrong.data["id"]).run("SANDBOX_WHOAMI", {}))
    # The key in the query string, against an upstream that echoes the query back in an error.
    upstream.route("GET", "/ping", lambda s: Reply(500, {"query": dict(s.query)}))
    query = IntegrationFactory.create(QUERY_KEY_API)
    tool = ModelFactory.get(
        query.connect(AuthenticationSchema.API_KEY, data={"api_key": CANARY_API_KEY, "base_url": upstream.url}).data[
            "id"
        ]
    )
    failed = tool.run("QUERY_KEY_PING", {"q": "weather"})
    assert failed.status is ResponseStatus.FAILED
    seen += [failed, failed.to_dict()]
    try:
        IntegrationFactory.get("zendesk").connect(
            AuthenticationSchema.BASIC, data={"email": "a@b.c", "api_token": CANARY_TOKEN, "subdomain": "bad domain"}
        )
    except ValueError as exc:
        seen.append(exc)
    seen += [
        ConnectRequest(integration_id="x", scheme=AuthenticationSchema.BASIC, data={"password": CANARY_PASSWORD}),
        Settings(secret_key=CANARY_TOKEN, api_key=CANARY_API_KEY),
        get_backend(),
    ]
    return seen


def test_no_secret_in_reprs_errors_or_responses(sandbox, upstream) -> None:  # type: ignore[no-untyped-def]
    for obj in _exercise(sandbox, upstream):
        _assert_clean(repr(obj), f"repr of {type(obj).__name__}")
        _assert_clean(str(obj), f"str of {type(obj).__name__}")
    engine = get_backend().engine  # type: ignore[attr-defined]
    _assert_clean(repr(engine.credentials), "the credentials' repr")


def test_no_secret_in_debug_logs(sandbox, upstream, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "plughub", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    _exercise(sandbox, upstream)
    assert caplog.records, "nothing was logged at DEBUG; the test would prove nothing"
    assert any("appid=***" in r.getMessage() for r in caplog.records), "httpx's request line was not seen"
    for record in caplog.records:
        _assert_clean(record.getMessage(), f"log record of {record.name}")
    _assert_clean(caplog.text, "formatted logs")


def test_no_secret_in_any_file_under_plughub_home(sandbox, upstream, home: Path) -> None:  # type: ignore[no-untyped-def]
    _exercise(sandbox, upstream)
    files = [p for p in home.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"plughub.db", "master.key"}
    for path in files:
        raw = path.read_bytes()
        for canary in CANARIES:
            assert canary.encode() not in raw, f"{canary} found in clear in {path}"

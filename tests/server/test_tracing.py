"""Traces (the `otel` extra): a span per API request and per run, `traceparent` in and out.

A live server (uvicorn on 127.0.0.1) built with an SDK `TracerProvider` whose spans go to the
SDK's `InMemorySpanExporter`; the sandbox records the headers it received, so the test reads the
`traceparent` the upstream really saw.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from plughub.config import Settings
from plughub.engine import Engine
from plughub.sandbox import SandboxServer
from plughub.server import create_app
from plughub.server.tracing import provider_from_env
from tests.conftest import CANARIES
from tests.server.conftest import LOOPBACK, connect_sandbox
from tests.servers import free_port, serve_app

RUN_ROUTE = "/v1/connections/{connection_id}/actions/{action}/run"


@dataclass
class TracedHub:
    url: str
    engine: Engine
    exporter: InMemorySpanExporter
    client: httpx.Client  # sends the team's key

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


def _hub(settings: Settings, provider: TracerProvider | None) -> Iterator[tuple[str, Engine, httpx.Client]]:
    port = free_port()
    configured = dataclasses.replace(
        settings, callback_url=f"http://127.0.0.1:{port}/oauth/callback", allow_private_networks=LOOPBACK
    )
    engine = Engine(configured, guard_outbound=True)
    try:
        with serve_app(create_app(engine, configured, tracer_provider=provider), port=port) as url:
            team = engine.teams.create_team("traced")
            assert team is not None
            _record, key = engine.teams.create_api_key(team.id, "tests")
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=20) as client:
                yield url, engine, client
    finally:
        engine.close()


@pytest.fixture
def traced(settings: Settings) -> Iterator[TracedHub]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for url, engine, client in _hub(settings, provider):
        yield TracedHub(url, engine, exporter, client)
    provider.shutdown()


def _traceparent(received: Any) -> str | None:
    return next((v for k, v in received.headers.items() if k.lower() == "traceparent"), None)


def _span_text(span: ReadableSpan) -> str:
    return (
        span.name
        + json.dumps(dict(span.attributes or {}))
        + json.dumps([dict(e.attributes or {}) for e in span.events])
    )


def test_the_caller_s_trace_reaches_the_upstream_through_a_run_span(traced: TracedHub, sandbox: SandboxServer) -> None:
    connection_id = connect_sandbox(traced.client, sandbox)
    traced.exporter.clear()
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    answer = traced.client.post(
        f"/v1/connections/{connection_id}/actions/SANDBOX_WHOAMI/run",
        json={"inputs": {}},
        headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
    )
    assert answer.json()["status"] == "SUCCESS"

    spans = traced.spans()
    server = next(s for s in spans if s.kind is SpanKind.SERVER)
    run = next(s for s in spans if s.name == "plughub.run")
    assert server.name == f"POST {RUN_ROUTE}"
    assert server.context is not None and run.context is not None
    assert format(server.context.trace_id, "032x") == trace_id  # the caller's trace, continued
    assert server.parent is not None and format(server.parent.span_id, "016x") == caller_span
    assert server.attributes is not None and server.attributes["http.route"] == RUN_ROUTE
    assert server.attributes["http.response.status_code"] == 200
    assert run.parent is not None and run.parent.span_id == server.context.span_id
    assert run.attributes is not None
    assert dict(run.attributes) == {
        "plughub.integration": "sandbox",
        "plughub.action": "SANDBOX_WHOAMI",
        "plughub.status": "SUCCESS",
        "http.response.status_code": 200,
    }

    upstream = _traceparent(sandbox.received[-1])
    assert upstream is not None
    version, seen_trace, seen_parent, flags = upstream.split("-")
    assert (version, seen_trace, flags) == ("00", trace_id, "01")
    assert seen_parent == format(run.context.span_id, "016x")  # the upstream's parent is the run span


def test_spans_hold_no_inputs_outputs_secrets_or_raw_paths(traced: TracedHub, sandbox: SandboxServer) -> None:
    connection_id = connect_sandbox(traced.client, sandbox)
    secret_input = "note-text-never-in-a-span-" + secrets.token_hex(6)
    created = traced.client.post(
        f"/v1/connections/{connection_id}/actions/SANDBOX_CREATE_NOTE/run", json={"inputs": {"text": secret_input}}
    )
    assert created.json()["status"] == "SUCCESS"
    note_id = str(created.json()["data"]["id"])
    missing = traced.client.post(
        f"/v1/connections/{connection_id}/actions/SANDBOX_GET_NOTE/run", json={"inputs": {"note_id": 98765}}
    )
    assert missing.json()["status"] == "FAILED"
    token = secrets.token_urlsafe(24)
    assert traced.client.get(f"/connect/{token}").status_code in (400, 404, 410)

    spans = traced.spans()
    text = "".join(_span_text(s) for s in spans)
    for forbidden in (secret_input, connection_id, token, *CANARIES):
        assert forbidden not in text
    assert f'"id": {note_id}' not in text
    failed = next(
        s for s in spans if s.name == "plughub.run" and s.attributes and s.attributes["plughub.status"] == "FAILED"
    )
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "upstream_status"
    assert failed.attributes["http.response.status_code"] == 404
    assert any(s.name == "GET /connect/{token}" for s in spans)


def test_without_a_caller_trace_the_request_starts_one(traced: TracedHub, sandbox: SandboxServer) -> None:
    connection_id = connect_sandbox(traced.client, sandbox)
    traced.exporter.clear()
    body = {"inputs": {"limit": 1}, "paginate": True, "max_pages": 1}  # a paginated run goes to a worker thread
    answer = traced.client.post(f"/v1/connections/{connection_id}/actions/SANDBOX_LIST_NOTES/run", json=body)
    assert answer.json()["status"] == "SUCCESS", answer.text
    spans = traced.spans()
    server = next(s for s in spans if s.kind is SpanKind.SERVER)
    run = next(s for s in spans if s.name == "plughub.run")
    assert server.parent is None
    assert server.context is not None and run.context is not None
    assert run.context.trace_id == server.context.trace_id
    upstream = _traceparent(sandbox.received[-1])
    assert upstream is not None and upstream.split("-")[1] == format(server.context.trace_id, "032x")
    # A malformed traceparent is ignored: a new trace, not an error.
    answer = traced.client.post(
        f"/v1/connections/{connection_id}/actions/SANDBOX_WHOAMI/run", json={}, headers={"traceparent": "garbage"}
    )
    assert answer.status_code == 200


def test_without_tracing_nothing_is_added_upstream(settings: Settings, sandbox: SandboxServer) -> None:
    for _url, _engine, client in _hub(settings, None):
        connection_id = connect_sandbox(client, sandbox)
        answer = client.post(
            f"/v1/connections/{connection_id}/actions/SANDBOX_WHOAMI/run",
            json={},
            headers={"traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"},
        )
        assert answer.json()["status"] == "SUCCESS"
        assert _traceparent(sandbox.received[-1]) is None


def test_the_environment_turns_otlp_export_on() -> None:
    assert provider_from_env({}) is None
    assert (
        provider_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}) is None
    )
    provider = provider_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert isinstance(provider, TracerProvider)
    assert provider.resource.attributes["service.name"] == "plughub"
    provider.shutdown()
    from plughub.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="http/protobuf"):
        provider_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"})

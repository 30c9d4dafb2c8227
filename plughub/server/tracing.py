"""OpenTelemetry traces of the server (the `otel` extra): a span per API request and per action run.

The request's span continues the caller's trace (a W3C `traceparent` header); each run's span is
its child, and the run's upstream requests carry the run span's `traceparent` (through the
sender's `outgoing` hook), so that the upstream service joins the same trace. Only W3C Trace
Context is read and written: the caller's `baggage` is not passed on to third-party services.

Spans carry the route template, the method, statuses, the integration and the action; never a raw
path (it may hold a token), inputs, outputs or credentials. This module imports OpenTelemetry; the
application imports it only when tracing is on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from plughub.enums import ResponseStatus
from plughub.exceptions import ConfigurationError
from plughub.schemas import ActionResult
from plughub.server.route_templates import RouteTemplates

__all__ = ["RequestSpans", "Tracing", "provider_from_env"]

_TRACE_HEADERS = (b"traceparent", b"tracestate")


def provider_from_env(env: Mapping[str, str] | None = None) -> TracerProvider | None:
    """A tracer provider exporting by OTLP, when the standard OpenTelemetry variables ask for one.

    Tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set
    and `OTEL_SDK_DISABLED` is not `true`. The exporter reads its own variables (endpoint, headers,
    timeout); `OTEL_EXPORTER_OTLP_PROTOCOL` picks `http/protobuf` (the default) or `grpc`. The
    service is `plughub` unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` names it.

    Args:
        env: The variables; `os.environ` by default.

    Returns:
        The provider (spans batched to the exporter), or None when tracing is off.

    Raises:
        ConfigurationError: `grpc` is asked and its exporter is not installed, or the protocol is unknown.
    """
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if not (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    )
    exporter: Any
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    elif protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter as GrpcSpanExporter,
            )
        except ImportError:
            raise ConfigurationError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs `pip install opentelemetry-exporter-otlp-proto-grpc`; "
                "or use http/protobuf (the default, installed with plughub[otel])"
            ) from None
        exporter = GrpcSpanExporter()
    else:
        raise ConfigurationError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: use http/protobuf or grpc"
        )
    named = env.get("OTEL_SERVICE_NAME") or "service.name=" in env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    provider = TracerProvider(resource=Resource.create({} if named else {"service.name": "plughub"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class _RunSpan:
    """The span of one run (see `plughub.engine.observers.RunSpan`)."""

    def __init__(self, span: Span) -> None:
        self._span = span

    def finished(self, result: ActionResult) -> None:
        """Record the run's status, upstream status and error code.

        Args:
            result: The run's result.
        """
        span = self._span
        span.set_attribute("plughub.status", result.status.value)
        if result.status_code is not None:
            span.set_attribute("http.response.status_code", result.status_code)
        if result.status is not ResponseStatus.SUCCESS:
            if result.error_code:
                span.set_attribute("error.type", result.error_code)
            span.set_status(Status(StatusCode.ERROR, result.error_code or None))


class Tracing:
    """The server's tracer: spans for runs (the engine's `RunTracer`) and for API requests.

    Args:
        provider: Where spans go (an SDK `TracerProvider`; tests give one with an in-memory exporter).
    """

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer("plughub")
        self._propagator = TraceContextTextMapPropagator()

    def __repr__(self) -> str:
        return "Tracing()"

    @contextmanager
    def run(self, integration: str, action: str) -> Iterator[_RunSpan]:
        """A span around one run, current while it lasts (its requests carry its `traceparent`).

        Args:
            integration: The integration id.
            action: The action code.

        Yields:
            The run's span.
        """
        attributes = {"plughub.integration": integration, "plughub.action": action}
        with self._tracer.start_as_current_span("plughub.run", kind=SpanKind.CLIENT, attributes=attributes) as span:
            yield _RunSpan(span)

    def inject(self, request: httpx.Request) -> None:
        """Add the current span's `traceparent` (and `tracestate`) to an upstream request.

        Args:
            request: The request.
        """
        self._propagator.inject(request.headers)

    def extract(self, headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...]) -> Any:
        """The caller's trace context, from a request's `traceparent` and `tracestate` headers.

        Args:
            headers: The request's ASGI headers.

        Returns:
            An OpenTelemetry context (empty when the caller sent none, or a malformed one).
        """
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in _TRACE_HEADERS}
        return self._propagator.extract(carrier)

    @property
    def tracer(self) -> Any:
        """The OpenTelemetry tracer of plughub's spans."""
        return self._tracer


class RequestSpans:
    """A server span per HTTP request (plain ASGI), continuing the caller's trace.

    Named `<METHOD> <route template>` once the application has routed the request; a 5xx answer
    marks it as an error.

    Args:
        app: The application.
        tracing: The tracer.
        templates: Finds the template of the route that served a request.
    """

    def __init__(self, app: Any, tracing: Tracing, templates: RouteTemplates) -> None:
        self.app = app
        self.tracing = tracing
        self.templates = templates

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        parent = self.tracing.extract(scope.get("headers") or ())
        attributes = {"http.request.method": method}
        with self.tracing.tracer.start_as_current_span(
            method, context=parent, kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            status = 500

            async def sending(message: dict[str, Any]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, sending)
            finally:
                route = self.templates.template(scope)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))

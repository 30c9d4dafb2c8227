"""`Front`: what every HTTP request passes first and last, in one plain ASGI layer."""

from __future__ import annotations

import logging
import time
from typing import Any

from plughub.server.limits import (
    MAX_JSON_DEPTH,
    Refusal,
    json_typed,
    nested_deeper_than,
    refusal_too_deep,
    refusal_too_large,
    refuse,
    replaying,
)
from plughub.server.logs import request_id_var
from plughub.server.metrics import Metrics
from plughub.server.metrics_http import UNMATCHED
from plughub.server.request_ids import loggable_path, request_id_from, with_standard_headers
from plughub.server.request_log import RequestLog
from plughub.server.route_templates import RouteTemplates

__all__ = ["Front"]

logger = logging.getLogger("plughub.server")


class Front:
    """The request's metrics, its body limit, its id, its log line and the headers every answer carries.

    In this order, as separate layers would do it, but in one pass over the headers and one
    wrapper of `send` (a run's CPU is what the server is measured by):

    1. Metrics: every HTTP request is counted by method, route template (never the path, which
       may hold a connect session's or a webhook's token) and status, and timed; a refused body
       is a request too.
    2. The body limit: a declared `Content-Length` above `max_body_bytes` is refused (413) before
       anything is read; a body sent without one is counted as it arrives and refused as soon as
       it passes the limit; a JSON body (or one without a type, which FastAPI reads as JSON)
       nested more than `max_depth` levels is refused as invalid input (422) before anything
       parses it. Nothing refused reaches the application; the refusal logs its own line.
    3. The request id (the client's `X-Request-Id` when it is a short safe token, else a new
       one), set for the logs of the request and echoed in the `X-Request-Id` header; the
       security headers `with_standard_headers` adds; one log line per request with the method,
       the path (never the query; secret tokens masked), the status and the time.

    Args:
        app: The application.
        max_body_bytes: The largest body accepted, in bytes.
        templates: Finds the template of the route that served a request (for the metrics).
        metrics: Where requests are counted; None counts nothing.
        max_depth: The deepest JSON nesting accepted.
    """

    def __init__(
        self,
        app: Any,
        *,
        max_body_bytes: int,
        templates: RouteTemplates,
        metrics: Metrics | None = None,
        max_depth: int = MAX_JSON_DEPTH,
    ) -> None:
        self.app = app
        self.limit = max_body_bytes
        self.max_depth = max_depth
        self.metrics = metrics
        self.templates = templates
        self.log = RequestLog(logger)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless an answer starts: the client went away, or the application failed
        declared = content_type = None
        sent_id = b""
        for name, value in scope["headers"]:  # as a dict of them would hold them, but the first id
            if name == b"content-length":
                declared = value
            elif name == b"content-type":
                content_type = value
            elif name == b"x-request-id" and not sent_id:
                sent_id = value
        request_id = request_id_from(sent_id)

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": with_standard_headers(message.get("headers", []), request_id)}
            await send(message)

        try:
            body = await self._body(declared, content_type, receive)
            if body is None:  # the client went away
                return
            if isinstance(body, Refusal):  # the answer logs itself
                status = body.status
                await refuse(scope, send, request_id, body)
                return
            token = request_id_var.set(request_id)
            try:
                await self.app(scope, replaying(body, receive), sending)
            finally:
                self.log.write(
                    scope["method"], loggable_path(scope["path"]), status, (time.perf_counter() - started) * 1000
                )
                request_id_var.reset(token)
        finally:
            if self.metrics is not None:
                route = self.templates.template(scope) or UNMATCHED
                self.metrics.request_finished(scope["method"], route, status, time.perf_counter() - started)

    async def _body(self, declared: bytes | None, content_type: bytes | None, receive: Any) -> bytes | Refusal | None:
        """The whole body; or the refusal to answer; or None when the client went away."""
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return refusal_too_large(self.limit)
        # Read the body first (it is small by definition), then replay it to the application.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                return refusal_too_large(self.limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if json_typed(content_type or b"") and nested_deeper_than(body, self.max_depth):
            return refusal_too_deep(self.max_depth)
        return body

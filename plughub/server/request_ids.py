"""Request ids and one log line per request, as plain ASGI (no per-request task or stream)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from plughub.server.logs import request_id_var

__all__ = ["RequestIds"]

logger = logging.getLogger("plughub.server")


class RequestIds:
    """Give every HTTP request an id (the client's `X-Request-Id`, else a new one).

    The id is set for the logs of the request, echoed in the `X-Request-Id` response header, and
    one line per request records the method, the path (never the query), the status and the time.

    Args:
        app: The application.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope.get("headers") or [] if k == b"x-request-id"), b"")
        request_id = sent.decode("latin-1") or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode("latin-1"))]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logger.info(
                "%s %s -> %s in %.1f ms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)

"""Request ids and one log line per request, as plain ASGI (no per-request task or stream)."""

from __future__ import annotations

import itertools
import logging
import os
import time
from typing import Any

from plughub.server.logs import request_id_var

__all__ = ["RequestIds", "new_request_id"]

logger = logging.getLogger("plughub.server")

_PROCESS = os.urandom(8).hex()  # tells this process's ids from every other's
_COUNTER = itertools.count()


def _forked() -> None:
    global _PROCESS, _COUNTER  # a forked worker (gunicorn --preload) needs its own
    _PROCESS, _COUNTER = os.urandom(8).hex(), itertools.count()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def new_request_id() -> str:
    """A request id unique across processes: 32 hex digits, a random per-process half and a counter.

    Ids correlate log lines; they are no secret, so the counter spares a system call per request.

    Returns:
        The id.
    """
    return f"{_PROCESS}{next(_COUNTER) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


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
        request_id = sent.decode("latin-1") or new_request_id()
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

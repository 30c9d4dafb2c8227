"""Refuse request bodies above a size, whether or not they declare a Content-Length."""

from __future__ import annotations

import json
import logging
from typing import Any

from plughub.server.request_ids import new_request_id

__all__ = ["BodyLimit", "replaying"]

logger = logging.getLogger("plughub.server")

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyLimit:
    """ASGI middleware answering 413 for bodies larger than `limit` bytes.

    A declared `Content-Length` is refused before anything is read; a chunked body is counted as
    it arrives and refused as soon as it passes the limit (nothing reaches the application).

    Args:
        app: The application to protect.
        limit: The largest body accepted, in bytes.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        # Read the body first (it is small by definition), then replay it to the application.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message: Message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, replaying(b"".join(chunks), receive), send)

    async def _refuse(self, scope: Scope, send: Any) -> None:
        # This answer bypasses the application, so it carries the request id and logs itself.
        sent_id = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent_id or new_request_id()
        body = json.dumps(
            {
                "error": "payload_too_large",
                "message": f"the body is larger than {self.limit} bytes",
                "details": {"limit": self.limit},
            }
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode("latin-1")),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        logger.info(
            "%s %s -> 413 (body over %d bytes) request_id=%s",
            scope.get("method"),
            scope.get("path"),
            self.limit,
            request_id,
        )


def replaying(body: bytes, receive: Any) -> Any:
    """An ASGI `receive` that hands out a body already read, then whatever `receive` brings.

    Args:
        body: The whole request body.
        receive: The server's `receive`.

    Returns:
        The `receive` to give the application.
    """
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        following: Message = await receive()
        return following

    return replay

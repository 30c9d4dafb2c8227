"""Refuse request bodies above a size (declared or not), and JSON bodies nested too deeply."""

from __future__ import annotations

import array
import itertools
import json
import logging
import re
from typing import Any

from plughub.server.request_ids import loggable_path, request_id_of, with_standard_headers

__all__ = ["MAX_JSON_DEPTH", "BodyLimit", "nested_deeper_than", "replaying"]

logger = logging.getLogger("plughub.server")

Scope = dict[str, Any]
Message = dict[str, Any]

# Twice the deepest of 43 public OpenAPI documents (31 levels); Python's JSON parser gives up
# near 1,000 levels with a RecursionError, and what reads a parsed body recurses too.
MAX_JSON_DEPTH = 64
# FastAPI parses a body as JSON when its type says JSON, and when it has no type at all.
_JSON_TYPE = re.compile(rb"\s*(application/([a-z0-9.+-]*\+)?json\b.*)?", re.IGNORECASE | re.DOTALL)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes


def nested_deeper_than(body: bytes, depth: int) -> bool:
    """Whether a JSON text nests arrays and objects more than `depth` levels deep.

    Brackets inside strings do not count. A body with no more opening brackets than `depth`
    is answered without scanning it (bytes.count runs at memory speed), so only bodies with many
    brackets pay for the exact count.

    Args:
        body: The JSON text.
        depth: The deepest nesting accepted.

    Returns:
        True when some value lies deeper.
    """
    if body.count(b"[") + body.count(b"{") <= depth:
        return False
    # Backslashes occur only in strings, as escapes read left to right: without them, every
    # remaining quote opens or closes a string, and every other piece lies outside one.
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(array.array("b", brackets.translate(_STEPS))), default=0) > depth


class BodyLimit:
    """ASGI middleware refusing bodies larger than `limit` bytes (413) or nested too deeply (422).

    A declared `Content-Length` is refused before anything is read; a chunked body is counted as
    it arrives and refused as soon as it passes the limit. A JSON body (or one without a type,
    which FastAPI reads as JSON) nested more than `max_depth` levels is refused as invalid input
    before anything parses it. Nothing refused reaches the application.

    Args:
        app: The application to protect.
        limit: The largest body accepted, in bytes.
        max_depth: The deepest JSON nesting accepted.
    """

    def __init__(self, app: Any, limit: int, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.limit = limit
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(scope, send)
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
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _JSON_TYPE.fullmatch(headers.get(b"content-type", b"")) and nested_deeper_than(body, self.max_depth):
            message_text = f"the JSON body is nested more than {self.max_depth} levels deep; send a flatter document"
            await _refuse(scope, send, 422, "invalid_input", message_text, {"max_depth": self.max_depth})
            return
        await self.app(scope, replaying(body, receive), send)

    async def _too_large(self, scope: Scope, send: Any) -> None:
        message = f"the body is larger than {self.limit} bytes"
        await _refuse(scope, send, 413, "payload_too_large", message, {"limit": self.limit})


async def _refuse(scope: Scope, send: Any, status: int, code: str, message: str, details: dict[str, Any]) -> None:
    # This answer bypasses the application, so it carries the request id and logs itself.
    request_id = request_id_of(scope.get("headers") or ())
    body = json.dumps({"error": code, "message": message, "details": details}).encode()
    headers = with_standard_headers(
        [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())], request_id
    )
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    logger.info(
        "%s %s -> %d (%s) request_id=%s",
        scope.get("method"),
        loggable_path(scope.get("path", "")),
        status,
        code,
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

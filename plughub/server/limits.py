"""The refusals of request bodies above a size (declared or not) and of JSON bodies nested too deeply (see `Front`)."""

from __future__ import annotations

import array
import itertools
import json
import logging
import re
from typing import Any, NamedTuple

from plughub.server.request_ids import loggable_path, with_standard_headers

__all__ = [
    "MAX_JSON_DEPTH",
    "Refusal",
    "json_typed",
    "nested_deeper_than",
    "refusal_too_deep",
    "refusal_too_large",
    "refuse",
    "replaying",
]

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


class Refusal(NamedTuple):
    """A refused body's answer: its status, its error code, its message and details."""

    status: int
    code: str
    message: str
    details: dict[str, Any]


def refusal_too_large(limit: int) -> Refusal:
    """The 413 answer of a body larger than `limit` bytes.

    Args:
        limit: The largest body accepted.

    Returns:
        What `refuse` sends.
    """
    return Refusal(413, "payload_too_large", f"the body is larger than {limit} bytes", {"limit": limit})


def refusal_too_deep(max_depth: int) -> Refusal:
    """The 422 answer of a JSON body nested more than `max_depth` levels.

    Args:
        max_depth: The deepest nesting accepted.

    Returns:
        What `refuse` sends.
    """
    message = f"the JSON body is nested more than {max_depth} levels deep; send a flatter document"
    return Refusal(422, "invalid_input", message, {"max_depth": max_depth})


def json_typed(content_type: bytes) -> bool:
    """Whether FastAPI reads a body of this type (or of none: `b""`) as JSON.

    Args:
        content_type: The request's `Content-Type` header.

    Returns:
        True for no type, `application/json` and `application/*+json`.
    """
    return _JSON_TYPE.fullmatch(content_type) is not None


async def refuse(scope: Scope, send: Any, request_id: str, refusal: Refusal) -> None:
    """Answer a refused body: `{"error", "message", "details"}` with the request id, and log it.

    The answer bypasses the application, so it carries the standard headers and logs itself.

    Args:
        scope: The request's ASGI scope.
        send: The server's `send`.
        request_id: The request's id.
        refusal: What `refusal_too_large` or `refusal_too_deep` gave.
    """
    status, code, message, details = refusal
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

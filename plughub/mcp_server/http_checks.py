"""What an MCP endpoint refuses before the SDK reads a request, with answers that say what to send instead.

- A JSON-RPC batch (a JSON array): MCP 2025-06-18 removed batching and the SDK takes one message per
  POST; left to it, a batch is a -32602 listing pydantic's validation errors. It is -32600 (Invalid
  Request) here, saying so.
- An `MCP-Protocol-Version` header this server does not speak: the SDK sends every value it does not
  know to its 2026-07-28 path, which answers that `params._meta` lacks that revision's envelope. It is
  400 here, naming the versions the server supports.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types import DEFAULT_NEGOTIATED_VERSION, INVALID_REQUEST, UNSUPPORTED_PROTOCOL_VERSION
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope

__all__ = ["SUPPORTED_VERSIONS", "batch_refusal", "version_refusal"]

SUPPORTED_VERSIONS: tuple[str, ...] = (*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS)
"""The protocol versions the MCP SDK serves: through the initialize handshake, then per request."""

_HEADER = MCP_PROTOCOL_VERSION_HEADER.lower().encode("latin-1")  # ASGI header names are lower case
_BLANK = b" \t\r\n"
_BATCH = (
    "Invalid Request: this server does not accept JSON-RPC batches (a JSON array), which MCP removed in "
    "2025-06-18; send each request in its own POST"
)


def _jsonrpc_error(code: int, message: str, data: Any = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    # No request id: the body was not read (JSON-RPC answers an unknown id with null).
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": error}, status_code=400)


def version_refusal(scope: Scope) -> Response | None:
    """Refuse an `MCP-Protocol-Version` header that names no version this server speaks.

    Args:
        scope: The request's ASGI scope.

    Returns:
        A 400 JSON-RPC error (UNSUPPORTED_PROTOCOL_VERSION, with `supported` and `requested` in its data,
        as the SDK's own refusal), or None when the header is absent or supported.
    """
    requested = next((v.decode("latin-1") for k, v in scope["headers"] if k == _HEADER), None)
    if requested is None or requested in SUPPORTED_VERSIONS:
        return None
    supported = ", ".join(SUPPORTED_VERSIONS)
    message = (
        f"Unsupported protocol version: the MCP-Protocol-Version header says {requested!r}; this server "
        f"supports {supported}. Send one of them (the version initialize negotiated), or no header for "
        f"{DEFAULT_NEGOTIATED_VERSION}"
    )
    return _jsonrpc_error(
        UNSUPPORTED_PROTOCOL_VERSION, message, {"supported": list(SUPPORTED_VERSIONS), "requested": requested}
    )


async def batch_refusal(scope: Scope, receive: Receive) -> tuple[Response | None, Receive]:
    """Refuse a POST whose body is a JSON array, reading no more of it than its first character.

    Args:
        scope: The request's ASGI scope.
        receive: The request's ASGI receive channel.

    Returns:
        A 400 JSON-RPC error (-32600) or None, and the receive channel to serve the request with: it gives
        again what was read here, then the rest of the body.
    """
    if scope.get("method") != "POST":
        return None, receive
    read: list[Message] = []
    first = None
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            break
        body = bytes(message.get("body", b"")).lstrip(_BLANK)
        if body:
            first = body[:1]
            break
        if not message.get("more_body", False):
            break

    async def replay() -> MutableMapping[str, Any]:
        return read.pop(0) if read else await receive()

    if first == b"[":
        return _jsonrpc_error(INVALID_REQUEST, _BATCH), replay
    return None, replay

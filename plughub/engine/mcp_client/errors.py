"""Why an MCP call failed, in one sentence that names the server's origin and what to check."""

from __future__ import annotations

import sys

import httpx2
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

from plughub.engine.redact import Redactor
from plughub.exceptions import (
    ActionError,
    McpProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamTransportError,
)

if sys.version_info < (3, 11):  # pragma: no cover - anyio brings the backport there
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

__all__ = ["describe_failure"]


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def describe_failure(exc: BaseException, origin: str, redactor: Redactor) -> ActionError:
    """Turn whatever the MCP SDK raised into a plughub error.

    Args:
        exc: The exception (task-group exception groups are unwrapped).
        origin: The server's `scheme://host:port` (its path may hold a key, so it is never shown).
        redactor: Masks the connection's secrets in any text taken from the exception.

    Returns:
        `UpstreamTransportError` (unreachable, refused by the network guard), `UpstreamTimeout`,
        `UpstreamStatusError` (an HTTP error status) or `McpProtocolError` (not MCP).
    """
    leaf = next((e for e in _leaves(exc) if not isinstance(e, BaseExceptionGroup)), exc)
    text = redactor.text(str(leaf).split("\n", 1)[0]) if redactor else str(leaf).split("\n", 1)[0]
    where = f"the MCP server at {origin}"
    if isinstance(leaf, httpx2.TimeoutException) or (isinstance(leaf, MCPError) and leaf.code == REQUEST_TIMEOUT):
        return UpstreamTimeout(f"{where} did not answer in time ({text}).")
    if isinstance(leaf, httpx2.HTTPStatusError):
        code = leaf.response.status_code
        return UpstreamStatusError(f"{where} answered HTTP {code}{_hint(code)}", details={"status_code": code})
    if isinstance(leaf, httpx2.SSEError):
        return McpProtocolError(f"{where} did not answer as an MCP server ({text}). Check the URL and the transport.")
    if isinstance(leaf, (httpx2.TransportError, OSError)):
        return UpstreamTransportError(
            f"could not reach {where}: {text.rstrip('.')}. Check the URL and that the server is up."
        )
    if isinstance(leaf, MCPError):
        if leaf.code == CONNECTION_CLOSED:
            return UpstreamTransportError(f"{where} closed the connection: {text}.")
        return McpProtocolError(
            f"{where} did not answer as an MCP server ({text}; JSON-RPC error {leaf.code}). "
            "Check the URL and the transport (streamable_http or sse)."
        )
    return McpProtocolError(f"{where} failed: {type(leaf).__name__}: {text}")


def _hint(status: int) -> str:
    if status in (401, 403):
        return ": it refused the credentials. Reconnect with a valid token or API key."
    if status == 508:  # what plughub's own MCP endpoints answer to a request that comes back (plughub.via)
        return (
            ": the request looped back to a plughub server it had passed through (an MCP connection that points at "
            "its own server's /mcp, directly or through other plughub servers). Point the connection at another MCP "
            "server."
        )
    if status in (404, 405):
        return ": no MCP endpoint there. Check the URL's path and the transport (streamable_http or sse)."
    return "."

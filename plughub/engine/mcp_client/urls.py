"""What may be shown of an MCP endpoint."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["origin_of", "uses_sse"]


def origin_of(url: str) -> str:
    """The scheme, host and port of a URL: what may be shown of an MCP endpoint.

    Args:
        url: The endpoint (its path or query may hold a key).

    Returns:
        `scheme://host[:port]`.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def uses_sse(url: str, transport: str) -> bool:
    """Whether an endpoint is spoken to over SSE rather than streamable HTTP.

    Args:
        url: The endpoint.
        transport: `streamable_http`, `sse` or `auto` (sse when the path ends in /sse).

    Returns:
        True for SSE.
    """
    if transport == "auto":
        return urlsplit(url).path.rstrip("/").endswith("/sse")
    return transport == "sse"

"""What may be shown of an MCP endpoint."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["origin_of"]


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

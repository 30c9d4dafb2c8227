"""Web origins (`scheme://host[:port]`): how `/mcp` tells a page of its own from another site's.

Browsers send `Origin` with every cross-site POST; the MCP specification asks servers to check it, so
that a page on another site (or a site whose name was rebound to this server's address) cannot drive
the endpoint. Clients that are not browsers send no `Origin`, and are not concerned.

Nothing here imports the rest of plughub: the settings (which read the allow-list) and `plughub.mcp_server`
(which checks) share it.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

__all__ = ["ANY_ORIGIN", "OriginPolicy", "normalize_origin"]

ANY_ORIGIN = "*"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(text: str) -> str | None:
    """An origin in one spelling: lower case, without the scheme's default port or a trailing slash.

    Args:
        text: `scheme://host[:port]`, as a browser sends it in `Origin` or an operator writes it.

    Returns:
        The origin, or None when the text is not an http(s) origin (a path, no host, `null`, ...).
    """
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username is not None:
        return None
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else "")


def _authority(origin: str) -> str:
    """`host[:port]` of a normalized origin."""
    return origin.split("://", 1)[1]


class OriginPolicy:
    """Which browser origins may use an endpoint: the server's own, and those the operator allows.

    Args:
        public_url: Where people reach the server (`PLUGHUB_PUBLIC_URL`), or None.
        allowed: More origins (`PLUGHUB_MCP_ALLOWED_ORIGINS`), normalized; `*` allows any.
    """

    def __init__(self, public_url: str | None = None, allowed: Collection[str] = ()) -> None:
        own = normalize_origin(public_url.rstrip("/")) if public_url else None
        self._any = ANY_ORIGIN in allowed
        self._allowed = frozenset({*(o for o in allowed if o != ANY_ORIGIN), *([own] if own else [])})

    def __repr__(self) -> str:
        return f"OriginPolicy(allowed={sorted(self._allowed)}, any={self._any})"

    def allows(self, origin: str | None, host: str | None) -> bool:
        """Whether a request with this `Origin` may be served.

        Args:
            origin: The `Origin` header, or None when there is none (not a browser).
            host: The `Host` header: a page served by this server under the name it was reached by is its own
                (behind a proxy that terminates TLS the scheme may differ, so only host and port count).

        Returns:
            True to serve the request.
        """
        if origin is None or self._any:
            return True
        normalized = normalize_origin(origin)
        if normalized is None:
            return False  # `null` (a sandboxed frame, a file) or garbage: no site to trust
        if normalized in self._allowed:
            return True
        if not host:
            return False
        scheme = normalized.split("://", 1)[0]
        reached = normalize_origin(f"{scheme}://{host}")
        return reached is not None and _authority(reached) == _authority(normalized)

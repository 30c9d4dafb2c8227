"""Where the browser lands after a reconnect the console started: back on the connection's console page.

The OAuth callback otherwise sends a connection made through a connect link to that link's
`redirect_url` (the end user's application). An operator who reconnects from the console is no
end user: the console leaves a cookie naming the connection in the operator's browser, and the
callback, seeing it for the connection it completed, sends the operator back to the console.

The cookie holds only the connection's id (no state, no token). It is SameSite=Lax, not Strict:
the provider's redirect back is a cross-site navigation, which carries Lax cookies only. Its path is
the callback's, and it lives as long as an authorization state.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from plughub.engine.oauth.flows import STATE_TTL

__all__ = ["console_return", "forget_return", "remember_return"]

_PREFIX = "plughub_reconnect_"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _path(request: Request) -> str:
    return urlsplit(request.app.state.engine.settings.callback_url).path or "/"


def remember_return(request: Request, response: Response, connection_id: str) -> None:
    """Mark, in the operator's browser, that this connection's consent was started from the console.

    Args:
        request: The console's request (its scheme decides Secure).
        response: The redirect to the provider's consent page.
        connection_id: The connection being reconnected.
    """
    if not _SAFE_ID.match(connection_id):
        return
    response.set_cookie(
        f"{_PREFIX}{connection_id}",
        "1",
        max_age=int(STATE_TTL.total_seconds()),
        path=_path(request),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def console_return(request: Request, connection_id: str) -> str | None:
    """The console page to send the browser to, when the console started this connection's consent.

    Args:
        request: The OAuth callback's request.
        connection_id: The connection the callback completed.

    Returns:
        `/console/connections/<id>?reconnected=1`, or None when the console did not start it.
    """
    if not _SAFE_ID.match(connection_id) or request.cookies.get(f"{_PREFIX}{connection_id}") != "1":
        return None
    return f"/console/connections/{connection_id}?reconnected=1"


def forget_return(request: Request, response: Response, connection_id: str) -> None:
    """Delete the mark once the callback has used it.

    Args:
        request: The callback's request.
        response: Its response.
        connection_id: The connection.
    """
    if _SAFE_ID.match(connection_id):
        response.delete_cookie(
            f"{_PREFIX}{connection_id}",
            path=_path(request),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

"""Complete OAuth authorizations: from a callback URL, or by listening on the callback address."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from plughub.backends import Backend, get_backend
from plughub.exceptions import PlughubError
from plughub.factories.builders import connection_tool
from plughub.modules.model.connection import ConnectionTool

__all__ = ["complete_authorization", "listen_for_callback"]


def complete_authorization(callback: str | Mapping[str, str], backend: Backend | None = None) -> ConnectionTool:
    """Complete an OAuth authorization from the provider's redirect.

    For an application that receives the redirect in its own web server: pass the full URL the
    browser was sent to (or its query parameters).

    Args:
        callback: The callback URL (`http://127.0.0.1:8765/oauth/callback?code=...&state=...`) or
            its query parameters.
        backend: The backend to use; the process default otherwise.

    Returns:
        The connection, now active.

    Raises:
        OAuthStateError: The state is missing, unknown, expired or already used.
        OAuthProviderError: The provider refused (the pending connection is marked failed).
    """
    params = (
        dict(parse_qsl(urlsplit(callback).query, keep_blank_values=True))
        if isinstance(callback, str)
        else dict(callback)
    )
    used = backend if backend is not None else get_backend()
    return connection_tool(used.complete_authorization(params), backend)


def _page(title: str, message: str, ok: bool) -> bytes:
    colour = "#1a7f37" if ok else "#cf222e"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>plughub</title></head>"
        f"<body style='font-family:sans-serif;max-width:40em;margin:4em auto'>"
        f"<h1 style='color:{colour}'>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
        "<p>You can close this window.</p></body></html>"
    ).encode()


def listen_for_callback(
    callback_url: str, timeout: float = 300.0, backend: Backend | None = None, ready: threading.Event | None = None
) -> ConnectionTool:
    """Serve the callback address until one authorization completes or the time runs out.

    The CLI's `plughub connect` uses this; the browser lands on a plain success or failure page.

    Args:
        callback_url: `PLUGHUB_CALLBACK_URL`; its host and port are listened on, its path answered.
        timeout: Seconds to wait.
        backend: The backend to use; the process default otherwise.
        ready: Set once the socket listens (tests start the browser then).

    Returns:
        The connection, now active.

    Raises:
        TimeoutError: No callback arrived in time.
        PlughubError: The callback arrived but the authorization failed (the reason is given).
    """
    from http.server import BaseHTTPRequestHandler, HTTPServer  # only the CLI's OAuth listener needs it

    parts = urlsplit(callback_url)
    outcome: dict[str, Any] = {}
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the CLI reports the outcome itself."""

        def do_GET(self) -> None:
            if urlsplit(self.path).path != (parts.path or "/"):
                self.send_error(404)
                return
            try:
                outcome["tool"] = complete_authorization(f"{callback_url}?{urlsplit(self.path).query}", backend)
                body, status = _page("Connected", f"Connection {outcome['tool'].id} is active.", True), 200
            except PlughubError as exc:
                outcome["error"] = exc
                body, status = _page("The connection failed", exc.message, False), 400
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            done.set()

    server = HTTPServer((parts.hostname or "127.0.0.1", parts.port or 80), Handler)
    server.timeout = 0.2
    if ready is not None:
        ready.set()
    deadline = time.monotonic() + timeout
    try:
        while not done.is_set() and time.monotonic() < deadline:
            server.handle_request()
    finally:
        server.server_close()
    if "tool" in outcome:
        return outcome["tool"]  # type: ignore[no-any-return]
    if "error" in outcome:
        raise outcome["error"]
    raise TimeoutError(f"no OAuth callback reached {callback_url} within {timeout:g} s")

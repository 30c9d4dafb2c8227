"""A real HTTP server on 127.0.0.1 whose answers each test scripts, and which records requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[Seen], Reply]


class Upstream:
    """Routes are `(METHOD, path) -> handler`; unknown routes answer 404."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.seen: list[Seen] = []
        upstream = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command, parts.path, parse_qsl(parts.query, keep_blank_values=True), dict(self.headers), body
                )
                upstream.seen.append(seen)
                handler = upstream.routes.get((self.command, parts.path))
                reply = handler(seen) if handler else Reply(404, {"error": "no route"})
                if reply.delay:
                    time.sleep(reply.delay)
                raw = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else (reply.body.encode() if isinstance(reply.body, str) else json.dumps(reply.body).encode())
                )
                if reply.status in (204, 304):
                    raw = b""  # HTTP allows no body here (a strict client refuses the whole answer)
                self.send_response(reply.status)
                if "Content-Type" not in reply.headers:
                    ctype = "text/plain" if isinstance(reply.body, (str, bytes)) else "application/json"
                    self.send_header("Content-Type", ctype)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.status not in (204, 304):
                    self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def route(self, method: str, path: str, handler: Handler | Reply) -> None:
        self.routes[(method, path)] = handler if callable(handler) else (lambda _seen, r=handler: r)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

"""A small HTTP API on 127.0.0.1 that demands each static scheme: the offline demo's upstream.

It checks credentials exactly as a real service would: an `X-Api-Key` header, an
`Authorization: Bearer` token (its own static one, or one its OAuth 2.0 provider issued), HTTP
Basic, or an OAuth 1.0a signature; `/public/*` needs none. Under `/oauth2/` and `/oauth1/` it
runs real OAuth providers built on Authlib's server side. It keeps notes in memory and records
every request it receives, so tests can check what plughub really sent.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from plughub.sandbox.oauth1_provider import OAuth1Provider
from plughub.sandbox.oauth2_provider import OAuth2Provider

__all__ = ["ReceivedRequest", "SandboxCredentials", "SandboxServer"]


@dataclass(frozen=True)
class SandboxCredentials:
    """The credentials the sandbox accepts."""

    api_key: str = field(repr=False)
    token: str = field(repr=False)
    username: str = "demo"
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as the sandbox received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the demo prints its own output."""

    def _scheme(self, raw: bytes) -> str | None:
        creds = self.server.credentials
        header = self.headers.get("Authorization", "")
        if self.headers.get("X-Api-Key") is not None:
            return "API_KEY" if _equal(self.headers["X-Api-Key"], creds.api_key) else None
        if header.startswith("Bearer "):
            if _equal(header[7:], creds.token):
                return "BEARER_TOKEN"
            return "OAUTH2" if self.server.oauth2.validate_bearer(header[7:]) else None
        if header.startswith("OAuth "):
            uri = f"http://{self.headers.get('Host', '127.0.0.1')}{self.path}"
            valid = self.server.oauth1.validate_request(self.command, uri, dict(self.headers), raw)
            return "OAUTH1" if valid else None
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return "BASIC" if _equal(user, creds.username) and _equal(password, creds.password) else None
        return None

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        self.server.received.append(ReceivedRequest(self.command, parts.path, query, dict(self.headers), raw))
        path = parts.path.rstrip("/") or "/"
        if path.startswith("/public/"):
            return self._public(path, query)
        for provider in (self.server.oauth2, self.server.oauth1):
            answer = provider.handle(self.command, parts.path, parts.query, dict(self.headers), raw)
            if answer is not None:
                return self._raw(*answer)
        scheme = self._scheme(raw)
        if scheme is None:
            return self._send(
                401,
                {"error": "unauthorized", "message": "missing or wrong credentials"},
                {"WWW-Authenticate": 'Bearer realm="sandbox"'},
            )
        try:
            if "application/x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
                body: dict[str, Any] = dict(parse_qsl(raw.decode()))
            else:
                body = json.loads(raw) if raw else {}
        except ValueError:
            return self._send(400, {"error": "bad_request", "message": "the body is neither JSON nor a form"})
        self._private(path, scheme, query, body)

    def _raw(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _public(self, path: str, query: dict[str, str]) -> None:
        if path == "/public/echo":
            return self._send(200, {"echo": query.get("message", ""), "authenticated": False})
        if path == "/public/status":
            return self._send(200, {"status": "ok", "notes": len(self.server.notes)})
        self._send(404, {"error": "not_found", "message": f"no route {path}"})

    def _private(self, path: str, scheme: str, query: dict[str, str], body: dict[str, Any]) -> None:
        notes = self.server.notes
        if path == "/whoami" and self.command == "GET":
            user = self.server.credentials.username if scheme == "BASIC" else "demo"
            return self._send(200, {"scheme": scheme, "user": user})
        if path == "/notes" and self.command == "GET":
            limit, offset = int(query.get("limit", "50")), int(query.get("offset", "0"))
            return self._send(200, {"notes": list(notes.values())[offset : offset + limit], "total": len(notes)})
        if path == "/notes/search" and self.command == "POST":
            words = str(body.get("q", "")).casefold()
            found = [n for n in notes.values() if words in n["text"].casefold()]
            return self._send(200, {"notes": found, "total": len(found), "scheme": scheme})
        if path == "/notes" and self.command == "POST":
            if not isinstance(body.get("text"), str):
                return self._send(422, {"error": "invalid", "message": "text is required"})
            with self.server.lock:
                self.server.next_id += 1
                note = {
                    "id": self.server.next_id,
                    "text": body["text"],
                    "tags": body.get("tags", []),
                    "created_by": scheme,
                }
                notes[note["id"]] = note
            return self._send(201, note)
        if path.startswith("/notes/"):
            try:
                note_id = int(path.rsplit("/", 1)[1])
            except ValueError:
                return self._send(404, {"error": "not_found", "message": "no such note"})
            if note_id not in notes:
                return self._send(404, {"error": "not_found", "message": f"no note {note_id}"})
            if self.command == "GET":
                return self._send(200, notes[note_id])
            if self.command == "DELETE":
                return self._send(200, {"deleted": notes.pop(note_id)["id"]})
        self._send(404, {"error": "not_found", "message": f"no route {self.command} {path}"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Tests and the refresh storm open many connections at once; the default backlog of 5 resets them.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], credentials: SandboxCredentials) -> None:
        super().__init__(address, _Handler)
        self.credentials = credentials
        self.oauth2 = OAuth2Provider()
        self.oauth1 = OAuth1Provider()
        self.notes: dict[int, dict[str, Any]] = {}
        self.next_id = 0
        self.lock = threading.Lock()
        self.received: list[ReceivedRequest] = []


class SandboxServer:
    """The sandbox API, served from a background thread.

    Args:
        credentials: What it accepts.
        port: The port on 127.0.0.1; 0 picks a free one.

    Example:
        ```python
        with SandboxServer(SandboxCredentials(api_key="k", token="t", password="p")) as sandbox:
            print(sandbox.url)
        ```
    """

    def __init__(self, credentials: SandboxCredentials, port: int = 0) -> None:
        self._server = _Server(("127.0.0.1", port), credentials)
        self._server.oauth2.issuer = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="plughub-sandbox", daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def oauth2(self) -> OAuth2Provider:
        """The OAuth 2.0 provider under `/oauth2/`."""
        return self._server.oauth2

    @property
    def oauth1(self) -> OAuth1Provider:
        """The OAuth 1.0a provider under `/oauth1/`."""
        return self._server.oauth1

    def register_oauth_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        token_endpoint_auth_method: str = "client_secret_basic",
    ) -> None:
        """Register one client with both OAuth providers.

        Args:
            client_id: The client id (consumer key).
            client_secret: The client secret (consumer secret).
            redirect_uri: The client's callback URL.
            token_endpoint_auth_method: How it authenticates at the OAuth 2.0 token endpoint.
        """
        self.oauth2.register_client(
            client_id,
            client_secret,
            [redirect_uri],
            ["notes:read", "notes:write"],
            token_endpoint_auth_method=token_endpoint_auth_method,
        )
        self.oauth1.register_client(client_id, client_secret, redirect_uri)

    @property
    def received(self) -> list[ReceivedRequest]:
        """Every request received so far."""
        return self._server.received

    def start(self) -> SandboxServer:
        """Start serving.

        Returns:
            The server itself.
        """
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

"""A real MCP server for the tests, built with the official `mcp` SDK, over streamable HTTP and SSE."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from plughub.sandbox.oauth2_provider import OAuth2Provider
from tests.servers import free_port, serve_app

__all__ = ["McpTestServer", "SandboxTokens", "bad_mcp_app", "mcp_oauth_server", "mcp_test_server"]


@dataclass
class McpTestServer:
    """The running server: its endpoints and what it saw."""

    http_url: str
    sse_url: str
    server: MCPServer
    requests: list[dict[str, str]] = field(default_factory=list)

    def url(self, transport: str) -> str:
        return self.sse_url if transport == "sse" else self.http_url

    def calls(self, method: str) -> int:
        """How many JSON-RPC requests of `method` arrived (tools/list, tools/call)."""
        return sum(1 for r in self.requests if r.get("method") == method)


def _build_server(**auth: Any) -> MCPServer:
    server = MCPServer("plughub-tests", **auth)

    @server.tool(title="Add numbers")
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    @server.tool()
    def profile(name: str, tags: list[str] | None = None) -> dict[str, Any]:
        """A structured answer."""
        return {"name": name, "tags": tags or []}

    @server.tool()
    def fail(reason: str) -> str:
        """Always fails with the reason."""
        raise ToolError(f"cannot do it: {reason}")

    return server


class _Recorder:
    """ASGI middleware: records each request's headers and JSON-RPC method; checks a credential."""

    def __init__(self, app: Any, seen: list[dict[str, str]], required: tuple[str, str] | None) -> None:
        self.app, self.seen, self.required = app, seen, required

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        entry = dict(headers, path=scope["path"])
        if body:
            import json

            try:
                parsed = json.loads(body)
                entry["method"] = parsed.get("method", "") if isinstance(parsed, dict) else ""
            except ValueError:
                pass
        self.seen.append(entry)
        if self.required and headers.get(self.required[0].lower()) != self.required[1]:
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


@contextmanager
def mcp_test_server(required_header: tuple[str, str] | None = None) -> Iterator[McpTestServer]:
    """Serve the test tools over streamable HTTP (`/mcp`) and SSE (`/sse`) on 127.0.0.1.

    Args:
        required_header: A header name and value every request must carry (else 401).

    Yields:
        The running server.
    """
    server = _build_server()
    seen: list[dict[str, str]] = []
    with ExitStack() as stack:
        http = stack.enter_context(serve_app(_Recorder(server.streamable_http_app(), seen, required_header)))
        sse = stack.enter_context(serve_app(_Recorder(server.sse_app(), seen, required_header)))
        yield McpTestServer(http_url=f"{http}/mcp", sse_url=f"{sse}/sse", server=server, requests=seen)


class SandboxTokens:
    """The MCP SDK's `TokenVerifier`: asks the sandbox's authorization server about each bearer token."""

    def __init__(self, provider: OAuth2Provider) -> None:
        self.provider = provider

    async def verify_token(self, token: str) -> AccessToken | None:
        info = self.provider.validate_bearer(token)
        if info is None:
            return None
        return AccessToken(
            token=token,
            client_id=info["client_id"],
            scopes=str(info["scope"]).split(),
            expires_at=int(info["expires_at"]),
            resource=info["resource"],
        )


@contextmanager
def mcp_oauth_server(
    provider: OAuth2Provider, issuer: str, *, scopes: tuple[str, ...] = ("notes:read",), wrap: Any = None
) -> Iterator[McpTestServer]:
    """The test tools behind OAuth, as the MCP SDK's auth support serves them, on 127.0.0.1.

    Each endpoint (streamable HTTP `/mcp`, SSE `/sse`) is its own resource server: it answers 401
    with `WWW-Authenticate: Bearer ... resource_metadata=...`, serves its protected resource metadata
    (RFC 9728) naming `issuer`, and takes only live tokens of `provider` issued for its own URL (RFC 8707).

    Args:
        provider: The authorization server that issues and checks the tokens.
        issuer: Its issuer identifier, as the metadata names it.
        scopes: The scopes every request's token needs (named in the metadata too).
        wrap: An ASGI middleware class wrapped around each app (`wrap(app)`), to bend its answers.

    Yields:
        The running server.
    """
    http_port, sse_port = free_port(), free_port()
    http_url, sse_url = f"http://127.0.0.1:{http_port}/mcp", f"http://127.0.0.1:{sse_port}/sse"

    def build(url: str) -> MCPServer:
        settings = AuthSettings(
            issuer_url=issuer,  # type: ignore[arg-type]
            resource_server_url=url,  # type: ignore[arg-type]
            required_scopes=list(scopes),
            validate_token_resource=True,
        )
        return _build_server(token_verifier=SandboxTokens(provider), auth=settings)

    seen: list[dict[str, str]] = []
    http_server = build(http_url)
    with ExitStack() as stack:
        apps = [(http_server.streamable_http_app(), http_port), (build(sse_url).sse_app(), sse_port)]
        for app, port in apps:
            recorded = _Recorder(app, seen, None)
            stack.enter_context(serve_app(wrap(recorded) if wrap else recorded, port=port))
        yield McpTestServer(http_url=http_url, sse_url=sse_url, server=http_server, requests=seen)


async def bad_mcp_app(scope: Any, receive: Any, send: Any) -> None:
    """Something that is not an MCP server: `/html` answers a page, `/json` JSON that is not JSON-RPC,
    anything else 404."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    path = scope["path"]
    body = {"/html": b"<html>hello</html>", "/json": b'{"hello": "world"}'}.get(path, b"not found")
    status = 200 if path in ("/html", "/json") else 404
    ctype = b"text/html" if path == "/html" else b"application/json"
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", ctype)]})
    await send({"type": "http.response.body", "body": body})

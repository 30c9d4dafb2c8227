"""The MCP server: the SDK's low-level server over a toolset, on stdio or streamable HTTP.

The low-level `Server` takes our tool definitions and JSON Schemas as they are (the high-level
`MCPServer` derives schemas from Python signatures, which dynamic actions do not have). Backend
calls are blocking, so they run in worker threads.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types.version import is_version_at_least
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from plughub import via
from plughub.exceptions import PlughubError
from plughub.mcp_server.http_checks import batch_refusal, version_refusal
from plughub.mcp_server.inflight import STDIN_CLOSED_GRACE, serve_until_answered
from plughub.mcp_server.toolset import Toolset

__all__ = ["SCOPE_KEY", "StreamableHTTPEndpoint", "build_server", "http_app", "loopback_security", "serve_stdio"]

logger = logging.getLogger("plughub.mcp_server")

SCOPE_KEY = "plughub.mcp_server.toolset"
"""Where an HTTP endpoint leaves the request's toolset in the ASGI scope for the handlers."""
_VIA_KEY = "plughub.mcp_server.via"  # the request's Plughub-Via chain, for the MCP requests its tools send
_STRUCTURED_SINCE = "2025-06-18"  # the first protocol version with structuredContent

_INSTRUCTIONS = (
    "Each tool runs one action of a plughub connection against the real service; plughub holds the "
    "credentials. A tool's description names its connection. A failed call returns isError with the reason."
)

Prepare = Callable[[Request], Awaitable["Toolset | Response"]]


def _scope(ctx: Any) -> dict[str, Any]:
    scope = getattr(getattr(ctx, "request", None), "scope", None)
    return scope if isinstance(scope, dict) else {}


def _toolset(ctx: Any, default: Toolset | None) -> Toolset:
    found = _scope(ctx).get(SCOPE_KEY)
    if isinstance(found, Toolset):
        return found
    if default is None:
        raise MCPError(types.INTERNAL_ERROR, "this request reached the MCP server without a toolset")
    return default


def _via(ctx: Any) -> tuple[str, ...]:
    chain = _scope(ctx).get(_VIA_KEY, ())
    return chain if isinstance(chain, tuple) else ()


def _no_header_params(_name: str) -> None:
    """No tool declares `Mcp-Param-*` headers, so there is nothing to check them against.

    Set so that the 2026-07-28 HTTP path does not run a whole tools/list before every call for it.
    """
    return None


def build_server(toolset: Toolset | None = None, *, name: str = "plughub") -> Server[Any]:
    """Build the MCP server.

    Args:
        toolset: The tools to serve; None when every request brings its own (an HTTP endpoint puts
            it at `SCOPE_KEY` in the ASGI scope, for a team's key, end user and chosen connections).
        name: The server name clients show.

    Returns:
        The SDK's low-level server, with `tools/list` and `tools/call`.
    """
    from plughub import __version__

    async def list_tools(ctx: Any, _params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        chosen = _toolset(ctx, toolset)
        try:
            tools = await anyio.to_thread.run_sync(via.running_after, _via(ctx), chosen.tools)
        except PlughubError as exc:
            raise MCPError(types.INTERNAL_ERROR, f"plughub could not list the tools: {exc.message}") from None
        except Exception as exc:
            # Only the class name: an unexpected exception's text may hold anything.
            logger.error("unexpected %s while listing tools", type(exc).__name__)
            raise MCPError(types.INTERNAL_ERROR, "plughub could not list the tools; see its log") from None
        return types.ListToolsResult(tools=[types.Tool.model_validate(t) for t in tools])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        chosen = _toolset(ctx, toolset)
        try:
            result = await anyio.to_thread.run_sync(
                via.running_after, _via(ctx), chosen.call, params.name, params.arguments
            )
        except Exception as exc:  # listing the tools failed (a database gone): still a tool error, not a crash
            logger.error("unexpected %s while calling tool %s", type(exc).__name__, params.name)
            message = exc.message if isinstance(exc, PlughubError) else f"{type(exc).__name__}; see plughub's log"
            result = {"content": [{"type": "text", "text": f"plughub could not run the tool: {message}"}]}
            result["isError"] = True
        if not is_version_at_least(str(getattr(ctx, "protocol_version", "")), _STRUCTURED_SINCE):
            result.pop("structuredContent", None)  # an older client would not expect it (the text has it all)
        return types.CallToolResult.model_validate(result)

    return Server(
        name,
        version=__version__,
        title="plughub",
        instructions=_INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        get_tool_input_schema=_no_header_params,
    )


async def serve_stdio(toolset: Toolset, *, grace: float = STDIN_CLOSED_GRACE) -> None:
    """Serve a toolset over stdio until the client closes stdin and the calls in flight are answered.

    The SDK diverts file descriptor 1 to stderr while it serves, so a stray print cannot corrupt
    the protocol; logs go to stderr.

    Args:
        toolset: The tools.
        grace: The longest wait, in seconds, for the answers in flight once stdin is closed.
    """
    from mcp.server.stdio import stdio_server

    server = build_server(toolset)
    async with stdio_server() as (read_stream, write_stream):
        await serve_until_answered(server, read_stream, write_stream, grace=grace)


def loopback_security(host: str) -> TransportSecuritySettings | None:
    """DNS-rebinding protection for a server bound to a loopback address, as the SDK sets up.

    Args:
        host: The address the server listens on.

    Returns:
        Settings that accept only loopback Host and Origin headers, or None for another address.
    """
    if host not in ("127.0.0.1", "localhost", "::1"):
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


class StreamableHTTPEndpoint:
    """An ASGI app serving MCP's streamable HTTP at one path, stateless, answering JSON.

    Stateless: every POST carries everything it needs (and, mounted in `plughub serve`, its API
    key), so any worker process or replica can answer any request; a stateful session would live in
    the memory of the one process that created it, and `--workers 4` would route its next request
    to another (answered 404 "Session not found"). plughub sends no server-to-client requests
    (sampling, elicitation), which are what sessions would add. JSON answers instead of SSE streams:
    each call has one answer, and proxies and middleware pass it whole.

    Before the SDK sees a request, a loop (a `Plughub-Via` header naming this process, see
    `plughub.via`) is refused (508), `prepare` runs, and a batch or an unknown protocol version is
    refused (`plughub.mcp_server.http_checks`). The tools' own MCP requests carry the request's chain.

    Args:
        toolset: The tools to serve, or None when `prepare` builds them per request.
        prepare: Called on each request before MCP sees it: returns the request's toolset, or a
            response to send instead (401, 404, ...).
        security: Host/Origin checks (DNS rebinding); None for none.
    """

    def __init__(
        self,
        toolset: Toolset | None = None,
        *,
        prepare: Prepare | None = None,
        security: TransportSecuritySettings | None = None,
    ) -> None:
        if (toolset is None) == (prepare is None):
            raise ValueError("give the endpoint either a toolset or a prepare function")
        self.server = build_server(toolset)
        self._prepare = prepare
        self._security = security
        self._manager: StreamableHTTPSessionManager | None = None

    def __repr__(self) -> str:
        return f"StreamableHTTPEndpoint(running={self._manager is not None})"

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run the SDK's session manager; enter it in the lifespan of the application that routes here.

        A new manager each time, so that an application can be served more than once.

        Yields:
            Nothing; requests are served while the context is open.
        """
        manager = StreamableHTTPSessionManager(
            app=self.server, stateless=True, json_response=True, security_settings=self._security
        )
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    def route(self, path: str = "/mcp") -> Route:
        """A route to this endpoint, for any HTTP method, kept out of OpenAPI documents.

        Args:
            path: The path.

        Returns:
            The route.
        """
        return Route(path, self, include_in_schema=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request.

        Args:
            scope: The ASGI scope.
            receive: The ASGI receive channel.
            send: The ASGI send channel.
        """
        if scope["type"] != "http":
            return
        manager = self._manager
        if manager is None:
            message = "the MCP endpoint is not running (its lifespan was not entered)"
            await JSONResponse({"error": "not_ready", "message": message, "details": {}}, 503)(scope, receive, send)
            return
        headers = Headers(scope=scope)
        chain = via.parse(headers.get(via.HEADER))
        loop = via.refusal(chain)
        if loop is not None:  # before anything else: a loop must not cost a database read per turn
            await JSONResponse({"error": "mcp_loop", "message": loop, "details": {}}, 508)(scope, receive, send)
            return
        if scope["method"] == "GET":
            # Stateless: no stream of server-initiated messages to offer, which the spec says with a 405
            # (the SDK's stateless manager would hold the request open until the client gives up).
            message = "this MCP endpoint offers no server-sent event stream: send requests with POST"
            answer = JSONResponse({"error": "method_not_allowed", "message": message, "details": {}}, 405)
            answer.headers["Allow"] = "POST"
            await answer(scope, receive, send)
            return
        if self._prepare is not None:
            prepared = await self._prepare(Request(scope, receive))
            if isinstance(prepared, Response):
                await prepared(scope, receive, send)
                return
            scope[SCOPE_KEY] = prepared
        refused, receive = await batch_refusal(scope, receive)
        refused = refused or version_refusal(scope)
        if refused is not None:
            await refused(scope, receive, send)
            return
        scope[_VIA_KEY] = chain
        await manager.handle_request(scope, receive, send)


def http_app(toolset: Toolset, *, host: str = "127.0.0.1", path: str = "/mcp") -> Starlette:
    """An application serving a toolset over streamable HTTP (what `plughub mcp serve --transport http` runs).

    Args:
        toolset: The tools.
        host: The address it will listen on; on a loopback address, Host and Origin headers must be
            loopback ones too (DNS-rebinding protection, as the SDK sets up).
        path: Where the endpoint answers.

    Returns:
        The ASGI application; its lifespan runs the endpoint's.
    """
    endpoint = StreamableHTTPEndpoint(toolset, security=loopback_security(host))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with endpoint.lifespan():
            yield

    return Starlette(routes=[endpoint.route(path)], lifespan=lifespan)

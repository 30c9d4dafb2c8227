"""One MCP session: open it over streamable HTTP or SSE with the official SDK, list or call tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, Tool

from plughub.engine.http.guard import Guard
from plughub.engine.mcp_client.transport import MASKED_URLS, build_async_client

__all__ = ["Endpoint", "call_tool", "list_tools"]

_MAX_PAGES = 100


@dataclass(frozen=True)
class Endpoint:
    """Where an MCP server is and how to reach it.

    Attributes:
        url: The endpoint (secret: it may carry a key).
        headers: Headers for every request (the credential among them; secret).
        transport: `streamable_http`, `sse` or `auto` (sse when the path ends in /sse).
        connect_timeout: Seconds to open a connection.
        read_timeout: Seconds to wait for an answer.
        guard: The network guard, or None when it is off.
    """

    url: str = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    transport: str = "auto"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    guard: Guard | None = None

    @property
    def uses_sse(self) -> bool:
        """Whether the SSE transport is used."""
        if self.transport == "auto":
            return urlsplit(self.url).path.rstrip("/").endswith("/sse")
        return self.transport == "sse"


class _LastError:
    """Keeps the last HTTP error response: the SDK turns a 401 into a bare JSON-RPC error."""

    def __init__(self) -> None:
        self.response: httpx2.Response | None = None

    async def __call__(self, response: httpx2.Response) -> None:
        self.response = response if response.status_code >= 400 else None


@asynccontextmanager
async def _session(endpoint: Endpoint) -> AsyncIterator[Client]:
    timeout = httpx2.Timeout(endpoint.read_timeout, connect=endpoint.connect_timeout)
    last_error = _LastError()
    with MASKED_URLS.registered(endpoint.url):
        try:
            async with _open(endpoint, timeout, last_error) as client:
                yield client
        except Exception as exc:
            if last_error.response is not None and not isinstance(exc, httpx2.HTTPStatusError):
                response = last_error.response
                raise httpx2.HTTPStatusError(
                    f"HTTP {response.status_code}", request=response.request, response=response
                ) from exc
            raise


@asynccontextmanager
async def _open(endpoint: Endpoint, timeout: httpx2.Timeout, last_error: _LastError) -> AsyncIterator[Client]:
    if endpoint.uses_sse:

        def factory(
            headers: dict[str, str] | None = None,
            timeout: httpx2.Timeout | None = None,
            auth: httpx2.Auth | None = None,
        ) -> httpx2.AsyncClient:
            return build_async_client(
                headers={**endpoint.headers, **(headers or {})},
                timeout=timeout or httpx2.Timeout(endpoint.read_timeout, connect=endpoint.connect_timeout),
                guard=endpoint.guard,
                auth=auth,
                on_response=last_error,
            )

        transport: Any = sse_client(
            endpoint.url,
            timeout=endpoint.connect_timeout,
            sse_read_timeout=endpoint.read_timeout,
            httpx_client_factory=factory,
        )
        async with Client(transport, mode="legacy", cache=None, read_timeout_seconds=endpoint.read_timeout) as c:
            yield c
    else:
        http = build_async_client(
            headers=endpoint.headers, timeout=timeout, guard=endpoint.guard, on_response=last_error
        )
        async with http:
            transport = streamable_http_client(endpoint.url, http_client=http)
            async with Client(transport, cache=None, read_timeout_seconds=endpoint.read_timeout) as client:
                yield client


async def list_tools(endpoint: Endpoint) -> list[Tool]:
    """Ask a server for its tools (every page).

    Args:
        endpoint: The server.

    Returns:
        The tools, in the server's order.
    """
    async with _session(endpoint) as client:
        tools: list[Tool] = []
        cursor: str | None = None
        for _page in range(_MAX_PAGES):
            result = await client.list_tools(cursor=cursor) if cursor else await client.list_tools()
            tools.extend(result.tools)
            cursor = result.next_cursor
            if not cursor:
                break
        return tools


async def call_tool(endpoint: Endpoint, name: str, arguments: dict[str, Any]) -> CallToolResult:
    """Call one tool.

    Args:
        endpoint: The server.
        name: The tool's name.
        arguments: Its arguments.

    Returns:
        The server's result (`is_error` set for a tool error).
    """
    async with _session(endpoint) as client:
        return await client.call_tool(name, arguments)

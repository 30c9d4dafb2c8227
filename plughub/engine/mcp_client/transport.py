"""HTTP for MCP sessions: the network guard for `httpx2` (the MCP SDK's client) and URL-safe logs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2

from plughub.engine.http.client import USER_AGENT
from plughub.engine.http.guard import Guard, GuardRefusal
from plughub.engine.mcp_client.urls import origin_of

__all__ = ["MASKED_URLS", "AsyncGuardedTransport", "MaskedUrls", "build_async_client"]


class AsyncGuardedTransport(httpx2.AsyncBaseTransport):
    """`GuardedTransport` for the MCP SDK's `httpx2` clients: the same guard resolves and checks.

    Each request's host is resolved once by the guard, and the request is pinned to the first
    address with the original Host header and TLS server name kept; redirects are new requests and
    are checked again. One pool per host name, so that a TLS connection verified for one name is
    never reused for another.

    Args:
        guard: The network guard.
        **transport_kwargs: Passed to each `httpx2.AsyncHTTPTransport`.
    """

    def __init__(self, guard: Guard, **transport_kwargs: Any) -> None:
        self.guard = guard
        self._kwargs = transport_kwargs
        self._by_host: dict[str, httpx2.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Resolve, check and send the request to the first permitted address.

        Args:
            request: The request.

        Returns:
            The response.

        Raises:
            httpx2.ConnectError: The host does not resolve, or resolves to a blocked address
                (the message says how to allow it).
        """
        host = request.url.raw_host.decode("ascii")
        try:
            addresses = await self.guard.resolve_async(host, request.url.port or 0)
        except GuardRefusal as exc:
            raise httpx2.ConnectError(str(exc), request=request) from None
        except (OSError, UnicodeError) as exc:
            raise httpx2.ConnectError(f"could not resolve host {host}: {exc}", request=request) from exc
        extensions = dict(request.extensions)
        if request.url.scheme == "https":
            extensions.setdefault("sni_hostname", host)
        pinned = httpx2.Request(
            request.method,
            request.url.copy_with(host=str(addresses[0].address)),
            headers=request.headers.copy(),
            stream=request.stream,
            extensions=extensions,
        )
        inner = self._by_host.get(host.lower())
        if inner is None:
            inner = self._by_host[host.lower()] = httpx2.AsyncHTTPTransport(**self._kwargs)
        return await inner.handle_async_request(pinned)

    async def aclose(self) -> None:
        """Close the pools."""
        for inner in self._by_host.values():
            await inner.aclose()
        self._by_host.clear()


def build_async_client(
    *,
    headers: dict[str, str] | None,
    timeout: httpx2.Timeout,
    guard: Guard | None,
    auth: httpx2.Auth | None = None,
    on_response: Any = None,
) -> httpx2.AsyncClient:
    """Build the client one MCP session talks through.

    Args:
        headers: Headers for every request (the credential among them).
        timeout: Timeouts.
        guard: The network guard, or None when it is off (embedded use).
        auth: An httpx2 auth flow, if any.
        on_response: An async hook called with every response.

    Returns:
        The client; proxies from the environment are ignored when the guard is on.
    """
    return httpx2.AsyncClient(
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=timeout,
        auth=auth,
        transport=AsyncGuardedTransport(guard) if guard is not None else None,
        trust_env=guard is None,
        follow_redirects=False,
        event_hooks={"response": [on_response]} if on_response else None,
    )


class MaskedUrls(logging.Filter):
    """Mask the MCP endpoints in use wherever httpx2 or the MCP SDK logs them.

    An MCP URL may carry a key in its path (`https://host/s/<key>/mcp`), so while a session is
    open its URL is registered here and every log line of those libraries shows only its origin.
    """

    def __init__(self) -> None:
        super().__init__()
        self._urls: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def registered(self, url: str) -> Iterator[None]:
        """Mask `url` in log lines while the block runs.

        Args:
            url: The endpoint.

        Yields:
            Nothing.
        """
        with self._lock:
            self._urls[url] = self._urls.get(url, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._urls[url] -= 1
                if not self._urls[url]:
                    del self._urls[url]

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102
        with self._lock:
            urls = sorted(self._urls, key=len, reverse=True)
        if not urls:
            return True
        message = record.getMessage()
        masked = message
        for url in urls:
            bare = url.split("?", 1)[0].split("#", 1)[0]
            for form in dict.fromkeys((url, bare)):
                masked = masked.replace(form, origin_of(url) + "/***")
        if masked != message:
            record.msg, record.args = masked, ()
        return True


MASKED_URLS = MaskedUrls()
for _name in ("httpx2", "mcp.client.streamable_http", "mcp.client.sse"):
    logging.getLogger(_name).addFilter(MASKED_URLS)

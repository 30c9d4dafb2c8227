"""The asynchronous HTTP transport of `plughub serve`: aiohttp behind one interface, `send`.

httpx's own `AsyncClient` costs about a millisecond of CPU per request (2.5 ms with 64 in flight,
measured against bench.upstream), more than everything else of an action together; aiohttp's client
costs 0.15 ms. `AsyncTransport.send` takes an `httpx.Request` and gives back a `Reply` (what an
`httpx.Response` would say, built only when asked for), so the sender's rules (auth flows,
retries, redirects, results) stay the ones the synchronous path runs, and aiohttp's errors come
back as the httpx errors the sender already knows. Nothing else of plughub sees aiohttp.

The network guard is `plughub.engine.http.guard`'s, as on every other path: aiohttp resolves host
names through it (so that it connects only to addresses the guard checked, and its DNS cache holds
checked answers only); a host given as an IP address never reaches a resolver, so `send` asks the
guard to check it first.
"""

from __future__ import annotations

import asyncio
import socket
import weakref
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from plughub.engine.http.guard import Guard, GuardRefusal
from plughub.engine.http.reply import Reply

__all__ = ["AsyncTransport", "GuardedResolver"]

# Computed again by aiohttp from the URL and the body.
_LEFT_TO_AIOHTTP = frozenset({b"host", b"content-length", b"transfer-encoding"})
# aiohttp's own User-Agent is never sent. Skipped only for a request that has none of ours: a
# request that skips an automatic header takes aiohttp's slower way through them.
_NO_AGENT = ("User-Agent",)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver: the guard resolves and checks (see `Guard.resolve_async`).

    Args:
        guard: The network guard.
    """

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve and check.

        Args:
            host: The host name.
            port: The port.
            family: The address family (aiohttp asks for every family).

        Returns:
            The addresses, every one of them permitted.

        Raises:
            GuardRefusal: An address is blocked and not allowed.
            OSError: The name does not resolve.
        """
        found = await self.guard.resolve_async(host, port, family=family)
        return [
            ResolveResult(
                hostname=host,
                host=r.host,
                port=port,
                family=r.family,
                proto=r.proto,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for r in found
        ]

    async def close(self) -> None:
        """Nothing to release: lookups run in the loop's threads."""


class AsyncTransport:
    """Send `httpx.Request`s with aiohttp, one pooled session per event loop.

    Args:
        connect_timeout: Seconds to open a connection.
        read_timeout: Seconds to wait for data.
        guard: The network guard of outbound requests; None sends anywhere.
        trust_env: Honour proxy variables (off behind the guard, which a proxy would bypass).
        max_connections: The most connections open at once, per event loop.
    """

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        guard: Guard | None = None,
        trust_env: bool = True,
        max_connections: int = 100,
    ) -> None:
        self.guard = guard
        self.trust_env = trust_env
        self.max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._totals: dict[float, aiohttp.ClientTimeout] = {}
        self._ssl = httpx.create_ssl_context(trust_env=trust_env)  # the CA store the synchronous path uses
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
            weakref.WeakKeyDictionary()
        )
        # The last loop's session, found without a weak-key lookup (which builds a weakref each time).
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], aiohttp.ClientSession] | None = None

    def __repr__(self) -> str:
        return f"AsyncTransport(guarded={self.guard is not None}, loops={len(self._sessions)})"

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop and not last[1].closed:
            return last[1]
        session = self._sessions.get(loop)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                ssl=self._ssl,
                resolver=GuardedResolver(self.guard) if self.guard is not None else None,
                keepalive_timeout=30,
            )
            session = self._sessions[loop] = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                trust_env=self.trust_env,
                auto_decompress=False,  # httpx decodes, as on the synchronous path
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        self._last = (weakref.ref(loop), session)
        return session

    async def send(self, request: httpx.Request) -> Reply | httpx.Response:
        """Send a request and read the whole answer.

        Args:
            request: The request (credentials already added).

        Returns:
            The answer, its body read: a `Reply`, or an `httpx.Response` when the body is encoded
            (`Content-Encoding`: httpx decodes it).

        Raises:
            GuardRefusal: The guard refused the host.
            httpx.ConnectError: No connection could be opened (nothing was sent).
            httpx.ConnectTimeout: Opening the connection took too long.
            httpx.ReadTimeout: The answer took too long.
            httpx.TransportError: The connection failed midway.
        """
        url = request.url
        if self.guard is not None:
            self.guard.check_literal(url.raw_host.decode("ascii"), url.host, request)
        headers = []  # as written (a few services read header names case-sensitively)
        encodings = agent = False
        for key, value in request.headers.raw:
            lowered = key.lower()
            if lowered not in _LEFT_TO_AIOHTTP:
                headers.append((key.decode("latin-1"), value.decode("latin-1")))
                encodings = encodings or lowered == b"accept-encoding"
                agent = agent or lowered == b"user-agent"
        if not encodings:
            headers.append(("Accept-Encoding", "gzip, deflate"))
        body = request.read()
        try:
            async with self._session().request(
                request.method,
                _yarl_of(url),  # exactly the URL built (and, for OAuth 1.0a, signed)
                headers=headers,
                data=body or None,
                allow_redirects=False,
                skip_auto_headers=None if agent else _NO_AGENT,
            ) as answer:
                content = await answer.read()
        except GuardRefusal as exc:
            raise GuardRefusal(str(exc), request=request) from None
        except Exception as exc:
            raise _translate(exc, request) from exc
        reply = Reply(answer.status, list(answer.raw_headers), content, answer.reason or "", request)
        # An encoded body is httpx's to decode, as on the synchronous path.
        return reply.response if answer.headers.get("Content-Encoding") else reply

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> int:
        """POST a body and give back the answer's status, its body read and dropped (event deliveries).

        No `httpx.Request` or `httpx.Response` is built (a third of such a call's CPU); the
        guard checks the host as `send` does, and errors come back as the same httpx errors.

        Args:
            url: The URL, sent as written.
            body: The body.
            headers: The headers (the host and the length are computed).
            timeout: Seconds the whole exchange may take.

        Returns:
            The status code.

        Raises:
            GuardRefusal: The guard refused the host.
            httpx.ConnectError: No connection could be opened (nothing was sent).
            httpx.ConnectTimeout: Opening the connection took too long.
            httpx.ReadTimeout: The answer took too long.
            httpx.TransportError: The connection failed midway.
        """
        if self.guard is not None:
            name, host = _hosts(url)
            self.guard.check_literal(name, host)
        try:
            async with self._session().request(
                "POST",
                _yarl(url),
                headers=headers,
                data=body,
                allow_redirects=False,
                skip_auto_headers=None if any(name.lower() == "user-agent" for name in headers) else _NO_AGENT,
                timeout=self._total(timeout),
            ) as answer:
                await answer.read()
                return answer.status
        except GuardRefusal as exc:
            raise GuardRefusal(str(exc), request=httpx.Request("POST", url)) from None
        except Exception as exc:
            raise _translate(exc, httpx.Request("POST", url)) from exc

    def _total(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._totals.get(seconds)
        if timeout is None:
            timeout = self._totals[seconds] = aiohttp.ClientTimeout(
                total=seconds, sock_connect=self._timeout.sock_connect, sock_read=self._timeout.sock_read
            )
        return timeout

    async def aclose(self) -> None:
        """Close the running loop's session."""
        self._last = None
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def close(self) -> None:
        """Close every session whose loop still runs (from outside those loops); forget the rest."""
        self._last = None
        sessions, self._sessions = list(self._sessions.items()), weakref.WeakKeyDictionary()
        for loop, session in sessions:
            if session.closed or loop.is_closed() or not loop.is_running():
                continue
            closing = asyncio.run_coroutine_threadsafe(session.close(), loop)
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                closing.result(timeout=5)


_seen: dict[int, tuple[httpx.URL, URL]] = {}


def _yarl_of(url: httpx.URL) -> URL:
    """`_yarl` of an httpx URL, remembered by the object (httpx URLs are immutable).

    The renderer gives the same `httpx.URL` to the runs of one URL; writing it out as text again
    (a microsecond) is skipped for them.
    """
    found = _seen.get(id(url))
    if found is not None and found[0] is url:
        return found[1]
    converted = _yarl(str(url))
    if len(_seen) >= 256:
        _seen.clear()
    _seen[id(url)] = (url, converted)
    return converted


@lru_cache(maxsize=256)
def _yarl(url: str) -> URL:
    """The URL aiohttp sends for a URL as httpx wrote it, taken as encoded; remembered (yarl URLs are immutable)."""
    return URL(url, encoded=True)


@lru_cache(maxsize=256)
def _hosts(url: str) -> tuple[str, str]:
    """The host of a URL as written (IPv6 in brackets) and without brackets, as the guard takes them."""
    parsed = httpx.URL(url)
    return parsed.raw_host.decode("ascii"), parsed.host


def _translate(exc: Exception, request: httpx.Request) -> Exception:
    """The httpx error the sender handles, for an error of aiohttp (or asyncio)."""
    reason = _reason(exc)
    kind: Any
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, (aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError  # nothing was sent: an idempotent request may be retried
    elif isinstance(exc, aiohttp.InvalidURL):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, (aiohttp.ClientError, OSError)):
        kind = httpx.ReadError
    else:
        return exc
    return kind(reason, request=request)  # type: ignore[no-any-return]


def _reason(exc: Exception) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return str(exc.os_error) or type(exc.os_error).__name__
    return str(exc) or type(exc).__name__

"""Send an action's request: retries with bounded backoff, same-origin redirects, results.

`Sender.send` (a thread) and `Sender.send_async` (`plughub serve`'s event loop) drive one exchange,
so the rules (the auth flow, retries, redirects, what a result says) are written once.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from plughub.engine.http.client import USER_AGENT, build_client
from plughub.engine.http.guard import Guard, GuardRefusal
from plughub.engine.http.reply import Reply
from plughub.engine.http.signing import SigningAuth
from plughub.engine.redact import Redactor
from plughub.enums import ResponseStatus
from plughub.exceptions import OutboundBlocked, UpstreamRedirect, UpstreamStatusError, UpstreamTransportError
from plughub.schemas import ActionResult

if TYPE_CHECKING:
    from plughub.engine.http.aio import AsyncTransport

__all__ = ["Answer", "Received", "RetryPolicy", "Sender"]

logger = logging.getLogger("plughub.http")

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_MAX_REDIRECTS = 5
_EXCERPT_CHARS = 300

Received = httpx.Response | Reply
"""An answer as a transport gives it: httpx's response (the synchronous path), or a `Reply` (the event loop's)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent requests are retried.

    Attributes:
        attempts: Tries in all, the first included.
        base_wait: The first backoff, doubled on each retry, with jitter.
        max_wait: The longest wait; a longer `Retry-After` ends the retries.
    """

    attempts: int = 3
    base_wait: float = 0.5
    max_wait: float = 10.0

    def wait(self, retry: int, response: Received | None) -> float | None:
        """Seconds to wait before retry number `retry` (0-based), or None to stop.

        Args:
            retry: How many retries were made so far.
            response: The response that asked for a retry, if any.

        Returns:
            The wait, or None when the server asks for longer than `max_wait`.
        """
        asked = _retry_after(response.headers.get("Retry-After")) if response is not None else None
        if asked is not None:
            return asked if asked <= self.max_wait else None
        backoff: float = min(self.max_wait, self.base_wait * 2**retry)
        return backoff * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not cryptography


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


@dataclass(frozen=True)
class Answer:
    """What one exchange gave: its result, and the final answer when the service answered.

    Attributes:
        result: SUCCESS or FAILED, as `Sender.send` describes it.
        received: The final answer (after same-origin redirects); None when nothing answered.
        body: The answer's body, parsed (JSON, else text) and cleaned of secrets, whatever its status.
    """

    result: ActionResult
    received: Received | None = field(default=None, repr=False)
    body: Any = None

    @property
    def headers(self) -> httpx.Headers:
        """The final answer's headers (empty when nothing answered).

        Values may hold secrets the service echoed: clean them before showing them.
        """
        return self.received.headers if self.received is not None else httpx.Headers()

    @property
    def url(self) -> httpx.URL | None:
        """The URL that gave the final answer (after same-origin redirects); None when nothing answered."""
        return self.received.request.url if self.received is not None else None


class Sender:
    """Sends requests through one pooled client and turns answers into `ActionResult`s.

    Args:
        connect_timeout: Seconds to open a connection.
        read_timeout: Seconds to wait for data.
        retry: The retry policy.
        transport: A transport to use instead of the network (tests, the network guard).
        trust_env: Honour proxy environment variables.
        asynchronous: Offer `send_async` over the network (aiohttp, from the `server` extra);
            off when `transport` stands in for the network, so that tests' transports see
            every request.
        guard: The network guard of `send_async`'s requests (None: no guard).

    Attributes:
        retry: The retry policy.
        outgoing: Called with each request before it goes out, to add headers (a tracer's
            `traceparent`); None by default (`Engine.instrument` sets it).
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        trust_env: bool = True,
        asynchronous: bool = False,
        guard: Guard | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.outgoing: Callable[[httpx.Request], None] | None = None
        self._timeouts = (connect_timeout, read_timeout)
        self._client = build_client(
            connect_timeout=connect_timeout, read_timeout=read_timeout, transport=transport, trust_env=trust_env
        )
        self._async_settings: dict[str, Any] | None = (
            {
                "connect_timeout": connect_timeout,
                "read_timeout": read_timeout,
                "guard": guard,
                "trust_env": trust_env,
            }
            if asynchronous
            else None
        )
        self._async_transport: AsyncTransport | None = None

    @property
    def client(self) -> httpx.Client:
        """The pooled client (OAuth token requests share it)."""
        return self._client

    @property
    def async_transport(self) -> AsyncTransport | None:
        """The transport of `send_async`, built on first use; None when unavailable.

        It is unavailable when the sender was built without `asynchronous`, or when aiohttp (the
        `server` extra) is not installed: callers then run `send` in a worker thread.
        """
        if self._async_transport is None and self._async_settings is not None:
            try:
                from plughub.engine.http.aio import AsyncTransport  # aiohttp: only where it is used
            except ImportError:  # pragma: no cover - the server extra is not installed
                self._async_settings = None
                return None
            self._async_transport = AsyncTransport(**self._async_settings)
        return self._async_transport

    async def aclose(self) -> None:
        """Close the running event loop's asynchronous connection pool."""
        if self._async_transport is not None:
            await self._async_transport.aclose()

    def close(self) -> None:
        """Close the connection pools."""
        self._client.close()
        if self._async_transport is not None:
            self._async_transport.close()

    def send(self, label: str, request: httpx.Request, auth: httpx.Auth | None, redactor: Redactor) -> ActionResult:
        """Send a request and describe the outcome.

        Args:
            label: Who is called, for messages ("GitHub GITHUB_GET_REPOSITORY").
            request: The request, without credentials.
            auth: The flow that adds credentials.
            redactor: Hides the connection's secrets from everything returned.

        Returns:
            SUCCESS with the parsed body, or FAILED with the upstream status and a sanitised
            excerpt, or FAILED with `upstream_unreachable` when no answer came.
        """
        return self.answer(label, request, auth, redactor).result

    def answer(self, label: str, request: httpx.Request, auth: httpx.Auth | None, redactor: Redactor) -> Answer:
        """`send`, with the answer's headers and URL too (a next page's link, a proxied answer).

        Args:
            label: Who is called, for messages.
            request: The request, without credentials.
            auth: The flow that adds credentials.
            redactor: Hides the connection's secrets from the result.

        Returns:
            The result, the answer's headers and its URL.
        """
        started = time.perf_counter()
        exchange = self._exchange(request, auth)
        try:
            step = next(exchange)
            while True:
                if isinstance(step, float):
                    time.sleep(step)
                    step = exchange.send(None)
                    continue
                try:
                    response = self._client.send(step)
                except httpx.HTTPError as exc:
                    step = exchange.throw(exc)
                else:
                    step = exchange.send(response)
        except StopIteration as done:
            return _outcome(label, request, done.value, redactor, started)
        except (httpx.TransportError, _CrossOriginRedirect) as exc:
            return Answer(_failure(label, request, exc, redactor, started, self._timeouts))

    async def send_async(
        self, label: str, request: httpx.Request, auth: httpx.Auth | None, redactor: Redactor
    ) -> ActionResult:
        """`send` on the running event loop, through the asynchronous transport (`plughub serve`).

        The same retries, redirects, auth flow and results as `send`; only the I/O differs.

        Args:
            label: Who is called, for messages.
            request: The request, without credentials.
            auth: The flow that adds credentials.
            redactor: Hides the connection's secrets from everything returned.

        Returns:
            The result, as `send` describes it.

        Raises:
            RuntimeError: The sender has no asynchronous transport (see `async_transport`).
        """
        return (await self.answer_async(label, request, auth, redactor)).result

    async def answer_async(
        self, label: str, request: httpx.Request, auth: httpx.Auth | None, redactor: Redactor
    ) -> Answer:
        """`answer` on the running event loop (see `send_async`).

        Args:
            label: Who is called, for messages.
            request: The request, without credentials.
            auth: The flow that adds credentials.
            redactor: Hides the connection's secrets from the result.

        Returns:
            The result, the answer's headers and its URL.

        Raises:
            RuntimeError: The sender has no asynchronous transport (see `async_transport`).
        """
        transport = self.async_transport
        if transport is None:
            raise RuntimeError("this sender has no asynchronous transport")
        started = time.perf_counter()
        exchange = self._exchange(request, auth)
        try:
            step = next(exchange)
            while True:
                if isinstance(step, float):
                    await asyncio.sleep(step)
                    step = exchange.send(None)
                    continue
                try:
                    response = await transport.send(step)
                except httpx.HTTPError as exc:
                    step = exchange.throw(exc)
                else:
                    step = exchange.send(response)
        except StopIteration as done:
            return _outcome(label, request, done.value, redactor, started)
        except (httpx.TransportError, _CrossOriginRedirect) as exc:
            return Answer(_failure(label, request, exc, redactor, started, self._timeouts))

    def _exchange(self, request: httpx.Request, auth: httpx.Auth | None) -> _Exchange:
        """What to send, and when to wait, for one action: retries around same-origin redirects.

        The exchange yields a request to send (and receives its response, or has the transport's
        error thrown in) or a float of seconds to wait; it returns the final response. Both `send`
        and `send_async` drive it, so the rules live here once.
        """
        # A request built outside the client does not get the client's default headers.
        if "user-agent" not in request.headers:
            request.headers["User-Agent"] = USER_AGENT
        if self.outgoing is not None:
            self.outgoing(request)  # before the auth flow and redirects, which copy the headers
        idempotent = request.method in _IDEMPOTENT
        attempts = self.retry.attempts if idempotent else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = yield from _following(request, auth)
            except httpx.ConnectError as exc:
                # Nothing reached the server; safe to try again for idempotent calls.
                if last or isinstance(exc, GuardRefusal):
                    raise
                delay = self.retry.wait(attempt, None)
            else:
                if response.status_code not in _RETRY_STATUSES or last:
                    return response
                delay = self.retry.wait(attempt, response)
                if delay is None:
                    return response
                response.close()
            yield float(delay or 0)
        raise AssertionError("unreachable")  # pragma: no cover


class _CrossOriginRedirect(Exception):
    def __init__(self, status_code: int, host: str) -> None:
        super().__init__(host)
        self.status_code = status_code
        self.host = host


_Exchange = Generator["httpx.Request | float", "Received | None", Received]


def _following(request: httpx.Request, auth: httpx.Auth | None) -> _Exchange:
    """Send through the auth flow, following redirects that stay on the same origin."""
    origin = None
    for _ in range(_MAX_REDIRECTS + 1):
        response = yield from _signed(request, auth)
        if not response.is_redirect:
            return response
        origin = origin or request.url.copy_with(path="/", query=None, fragment=None)
        target = request.url.join(response.headers["Location"])
        if target.copy_with(path="/", query=None, fragment=None) != origin:
            response.close()
            raise _CrossOriginRedirect(response.status_code, target.host)
        method = (
            "GET"
            if response.status_code == 303 or (response.status_code in (301, 302) and request.method == "POST")
            else request.method
        )
        response.close()
        content = request.content if method == request.method else b""
        headers = request.headers.copy()
        if method != request.method:
            for name in ("Content-Type", "Content-Length", "Transfer-Encoding"):
                headers.pop(name, None)
        request = httpx.Request(method, target, headers=headers, content=content or None)
    return response


def _signed(request: httpx.Request, auth: httpx.Auth | None) -> _Exchange:
    """Run the auth flow: it adds the credentials (and may answer a response with another request).

    A `SigningAuth` (plughub's static placements, OAuth 1.0a) signs its one request and reads no
    answer: it is called directly, and a `Reply` is not made an httpx response for it.
    """
    if auth is None or isinstance(auth, SigningAuth):
        if auth is not None:
            if auth.requires_request_body:
                request.read()
            request = auth.sign(request)
        response = yield request
        assert response is not None  # noqa: S101 - the drivers send a response for a request
        return response
    flow = auth.sync_auth_flow(request)
    outgoing = next(flow)
    while True:
        response = yield outgoing
        assert response is not None  # noqa: S101
        try:
            outgoing = flow.send(response.response if isinstance(response, Reply) else response)
        except StopIteration:
            return response
        response.close()


def _outcome(label: str, request: httpx.Request, response: Received, redactor: Redactor, started: float) -> Answer:
    elapsed = time.perf_counter() - started
    if logger.isEnabledFor(logging.DEBUG):  # the URL's path is decoded only for a line that is written
        logger.debug(
            "%s %s %s -> %s in %.0f ms", label, request.method, request.url.path, response.status_code, elapsed * 1000
        )
    body = _parse_body(response)
    if redactor and redactor.found_in_bytes(response.content):
        body = redactor.data(body)
    return Answer(_result(label, response, body, redactor, elapsed), response, body)


def _failure(
    label: str,
    request: httpx.Request,
    exc: Exception,
    redactor: Redactor,
    started: float,
    timeouts: tuple[float, float],
) -> ActionResult:
    """The FAILED result of a request that got no usable answer (`timeouts`: to connect, to read)."""
    elapsed = time.perf_counter() - started
    host = request.url.host
    if isinstance(exc, _CrossOriginRedirect):
        redirect = UpstreamRedirect(
            f"{label}: the service redirected to another host ({exc.host}); plughub does not follow it so that "
            "credentials stay with the service. Point the connection's base_url at it if it is expected."
        )
        return ActionResult.failure(redirect, status_code=exc.status_code, run_time=elapsed)
    if isinstance(exc, GuardRefusal):
        return ActionResult.failure(OutboundBlocked(f"{label}: {exc}", details={"host": host}), run_time=elapsed)
    if isinstance(exc, httpx.ReadTimeout):
        # Not a connection problem: the service took the request and is slow (or stuck).
        message = f"{host} accepted the connection but did not answer within {timeouts[1]:g} s (the read timeout)"
    elif isinstance(exc, httpx.ConnectTimeout):
        message = f"could not reach {host}: no connection within {timeouts[0]:g} s"
    elif isinstance(exc, httpx.TimeoutException):
        message = f"could not reach {host}: no answer in time ({type(exc).__name__})"
    else:
        message = f"could not reach {host}: {redactor.text(_transport_reason(exc))}"
    return ActionResult.failure(UpstreamTransportError(f"{label}: {message}", details={"host": host}), run_time=elapsed)


def _transport_reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _result(label: str, response: Received, body: Any, redactor: Redactor, elapsed: float) -> ActionResult:
    if response.is_success:
        return ActionResult(
            status=ResponseStatus.SUCCESS, data=body, status_code=response.status_code, run_time=elapsed
        )
    excerpt = " ".join(redactor.text(response.text).split())[:_EXCERPT_CHARS]
    reason = response.reason_phrase or ""
    message = f"{label}: the service answered {response.status_code} {reason}".rstrip()
    if excerpt:
        message += f": {excerpt}"
    details: dict[str, Any] = {"status_code": response.status_code, "body": excerpt}
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        details["retry_after"] = retry_after
    return ActionResult.failure(
        UpstreamStatusError(message, details=details),
        status_code=response.status_code,
        data=body if isinstance(body, (dict, list)) else None,
        run_time=elapsed,
    )


def _parse_body(response: Received) -> Any:
    if not response.content:
        return None
    found = response.header("Content-Type") if isinstance(response, Reply) else response.headers.get("Content-Type")
    content_type = found or ""
    if "json" in content_type:
        try:
            parsed: Any = response.json()
            return parsed
        except ValueError:
            pass
    return response.text

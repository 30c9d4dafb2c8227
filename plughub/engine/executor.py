"""Send an action's request: retries with bounded backoff, same-origin redirects, results."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from plughub.engine.http import USER_AGENT, build_client
from plughub.engine.netguard import OutboundBlocked
from plughub.engine.redact import Redactor
from plughub.enums import ResponseStatus
from plughub.schemas import ActionResult

__all__ = ["Executor", "RetryPolicy"]

logger = logging.getLogger("plughub.executor")

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_MAX_REDIRECTS = 5
_EXCERPT_CHARS = 300


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

    def wait(self, retry: int, response: httpx.Response | None) -> float | None:
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


class Executor:
    """Sends requests through one pooled client and turns answers into `ActionResult`s.

    Args:
        connect_timeout: Seconds to open a connection.
        read_timeout: Seconds to wait for data.
        retry: The retry policy.
        transport: A transport to use instead of the network (tests, the network guard).
        trust_env: Honour proxy environment variables.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        trust_env: bool = True,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._client = build_client(
            connect_timeout=connect_timeout, read_timeout=read_timeout, transport=transport, trust_env=trust_env
        )

    @property
    def client(self) -> httpx.Client:
        """The pooled client (OAuth token requests share it)."""
        return self._client

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

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
        started = time.perf_counter()
        # A request built outside the client does not get the client's default headers.
        request.headers.setdefault("User-Agent", USER_AGENT)
        try:
            response = self._send_with_retries(request, auth)
        except httpx.TimeoutException as exc:
            return self._unreachable(label, request, f"no answer in time ({type(exc).__name__})", started)
        except OutboundBlocked as exc:
            return ActionResult(
                status=ResponseStatus.FAILED,
                error_code="outbound_blocked",
                error_message=f"{label}: {exc}",
                details={"host": request.url.host},
                run_time=time.perf_counter() - started,
            )
        except httpx.TransportError as exc:
            return self._unreachable(label, request, redactor.text(_transport_reason(exc)), started)
        except _CrossOriginRedirect as exc:
            return ActionResult(
                status=ResponseStatus.FAILED,
                status_code=exc.status_code,
                error_code="upstream_redirect",
                error_message=f"{label}: the service redirected to another host ({exc.host}); plughub does not "
                "follow it so that credentials stay with the service. Point the connection's base_url at it "
                "if it is expected.",
                run_time=time.perf_counter() - started,
            )
        elapsed = time.perf_counter() - started
        logger.debug(
            "%s %s %s -> %s in %.0f ms", label, request.method, request.url.path, response.status_code, elapsed * 1000
        )
        return _result(label, response, redactor, elapsed)

    def _send_with_retries(self, request: httpx.Request, auth: httpx.Auth | None) -> httpx.Response:
        idempotent = request.method in _IDEMPOTENT
        attempts = self.retry.attempts if idempotent else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._send_following(request, auth)
            except httpx.ConnectError as exc:
                # Nothing reached the server; safe to try again for idempotent calls.
                if last or isinstance(exc, OutboundBlocked):
                    raise
                delay = self.retry.wait(attempt, None)
            else:
                if response.status_code not in _RETRY_STATUSES or last:
                    return response
                delay = self.retry.wait(attempt, response)
                if delay is None:
                    return response
                response.close()
            time.sleep(delay or 0)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_following(self, request: httpx.Request, auth: httpx.Auth | None) -> httpx.Response:
        origin = None
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._client.send(request, auth=auth)
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

    @staticmethod
    def _unreachable(label: str, request: httpx.Request, reason: str, started: float) -> ActionResult:
        host = request.url.host
        return ActionResult(
            status=ResponseStatus.FAILED,
            error_code="upstream_unreachable",
            error_message=f"{label}: could not reach {host}: {reason}",
            details={"host": host},
            run_time=time.perf_counter() - started,
        )


class _CrossOriginRedirect(Exception):
    def __init__(self, status_code: int, host: str) -> None:
        super().__init__(host)
        self.status_code = status_code
        self.host = host


def _transport_reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _result(label: str, response: httpx.Response, redactor: Redactor, elapsed: float) -> ActionResult:
    body = _parse_body(response)
    if redactor and redactor.found_in_bytes(response.content):
        body = redactor.data(body)
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
    return ActionResult(
        status=ResponseStatus.FAILED,
        data=body if isinstance(body, (dict, list)) else None,
        status_code=response.status_code,
        error_code="upstream_status",
        error_message=message,
        details=details,
        run_time=elapsed,
    )


def _parse_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type:
        try:
            parsed: Any = response.json()
            return parsed
        except ValueError:
            pass
    return response.text

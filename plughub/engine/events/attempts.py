"""What one delivery attempt sends, and what sends it.

The body is the payload of DESIGN.md §10, signed per Standard Webhooks (`webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the
subscription's `whsec_` secret). A `Poster` POSTs it and gives back the status: on the
asynchronous transport of `plughub serve` (aiohttp, through the outbound guard) when it is
installed and no test transport is given, else with httpx in a few threads.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from plughub.engine.events.signing import standard_signature
from plughub.engine.http.guard import Guard
from plughub.engine.store.events import ClaimedDelivery

__all__ = ["Attempt", "Poster", "Target", "payload", "poster", "signed_attempt"]

# Threads sending when there is no asynchronous transport (a test transport, no aiohttp).
_SYNC_THREADS = 16


def payload(delivery: ClaimedDelivery, *, trigger: str, connection_id: str, end_user_id: str | None) -> bytes:
    """The JSON body of a delivery (DESIGN.md §10).

    The event's data is spliced in as stored (compact JSON, as `json.dumps` writes it), so the
    bytes are those of `json.dumps(body, separators=(",", ":"))` without parsing it again.

    Args:
        delivery: The claimed delivery and its event.
        trigger: Its subscription's trigger code.
        connection_id: Its subscription's connection.
        end_user_id: The connection's end user, if any.

    Returns:
        The exact bytes sent (and signed): `{"id", "type", "trigger", "subscription_id",
        "connection_id", "end_user_id", "data", "received_at"}`.
    """
    head = {
        "id": delivery.event_id,
        "type": delivery.type,
        "trigger": trigger,
        "subscription_id": delivery.subscription_id,
        "connection_id": connection_id,
        "end_user_id": end_user_id,
    }
    received = json.dumps(delivery.received_at.isoformat())
    text = json.dumps(head, separators=(",", ":"))[:-1] + ',"data":' + delivery.data_json
    return (text + ',"received_at":' + received + "}").encode()


@dataclass(frozen=True)
class Target:
    """Where a subscription's deliveries go, and the key that signs them.

    Attributes:
        url: The subscription's `target_url`.
        trigger: Its trigger code.
        connection_id: Its connection.
        end_user_id: The connection's end user, if any.
        key: The HMAC key of its `whsec_` secret.
    """

    url: str
    trigger: str
    connection_id: str
    end_user_id: str | None
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class Attempt:
    """One signed request to send.

    Attributes:
        event_id: The event (the `webhook-id`).
        subscription_id: Its subscription.
        attempts: Attempts made before this one.
        url: Where to POST.
        body: The payload.
        headers: The signature headers, the content type and the user agent.
    """

    event_id: str
    subscription_id: str
    attempts: int
    url: str
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)


def signed_attempt(delivery: ClaimedDelivery, target: Target, timestamp: int) -> Attempt:
    """The request of an attempt at a delivery, signed now.

    Args:
        delivery: The claimed delivery.
        target: Its subscription's target.
        timestamp: The attempt's time (`webhook-timestamp`), in whole seconds since the epoch.

    Returns:
        The attempt.
    """
    body = payload(delivery, trigger=target.trigger, connection_id=target.connection_id, end_user_id=target.end_user_id)
    signature = standard_signature(target.key, delivery.event_id, timestamp, body)
    headers = {
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(signature).decode("ascii"),
        "content-type": "application/json",
        "user-agent": "plughub-webhooks/1",
    }
    return Attempt(delivery.event_id, delivery.subscription_id, delivery.attempts, target.url, body, headers)


@dataclass(frozen=True)
class Poster:
    """POSTs attempts (`post`, on the running loop: the status, or an `httpx.HTTPError`); `close` releases it.

    Attributes:
        post: Sends an attempt, bounded by the poster's timeout as a whole.
        close: Releases the connections (and threads), on the same loop.
    """

    post: Callable[[Attempt], Awaitable[int]]
    close: Callable[[], Awaitable[None]]


def poster(
    *, timeout: float, connections: int, transport: httpx.BaseTransport | None = None, guard: Guard | None = None
) -> Poster:
    """Build what POSTs attempts: aiohttp on the running loop when it can, else httpx in threads.

    Args:
        timeout: Seconds an attempt may take as a whole.
        connections: The most connections open at once.
        transport: A transport that stands in for the network (tests): httpx then, in threads.
        guard: The outbound guard every target passes; None sends anywhere.

    Returns:
        The poster.
    """
    if transport is None:
        try:
            from plughub.engine.http.aio import AsyncTransport  # aiohttp: only where it is used
        except ImportError:  # the server extra is not installed
            pass
        else:
            sender = AsyncTransport(
                connect_timeout=timeout, read_timeout=timeout, guard=guard, trust_env=False, max_connections=connections
            )

            async def post(attempt: Attempt) -> int:
                return await sender.post(attempt.url, attempt.body, attempt.headers, timeout=timeout)

            return Poster(post, sender.aclose)
    return _threaded(timeout=timeout, connections=connections, transport=transport, guard=guard)


def _threaded(
    *, timeout: float, connections: int, transport: httpx.BaseTransport | None, guard: Guard | None
) -> Poster:
    if transport is None and guard is not None:
        from plughub.engine.http.guard import GuardedTransport

        transport = GuardedTransport(guard)
    client = httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=50),
    )
    threads = concurrent.futures.ThreadPoolExecutor(max_workers=_SYNC_THREADS, thread_name_prefix="plughub-post")

    def post_sync(attempt: Attempt) -> int:
        return client.post(attempt.url, content=attempt.body, headers=attempt.headers).status_code

    async def post(attempt: Attempt) -> int:
        # httpx bounds each phase; the whole attempt is bounded here (its thread ends on its own).
        sent = asyncio.get_running_loop().run_in_executor(threads, post_sync, attempt)
        return await asyncio.wait_for(sent, timeout)

    def release() -> None:
        threads.shutdown(wait=True)  # attempts still in a thread end within the client's timeout
        client.close()

    async def close() -> None:
        await asyncio.get_running_loop().run_in_executor(None, release)

    return Poster(post, close)

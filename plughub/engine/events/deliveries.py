"""Push deliveries: each event POSTed to its subscription's `target_url`, signed per Standard Webhooks.

One attempt at a time per delivery, across every process: an attempt first claims the delivery
row for longer than an attempt can take (`EventRepository.finish_and_claim`); a process that dies
mid-attempt leaves a claim that runs out, and the delivery is taken again. A non-2xx answer, or
none, is retried after `PLUGHUB_DELIVERY_RETRY_DELAYS`; after the last the delivery is `failed`.

How a process sends them (`Deliverer`): one thread runs an event loop on which every attempt is a
task, bounded by `ATTEMPT_TIMEOUT`, so a slow target holds up only its own deliveries. The
database work goes in cycles, each one transaction (in a thread of its own): record the outcomes
of the attempts that ended since the last cycle, and claim the next deliveries (those this
process just stored, by id, and, when a scan or a job asks, due ones among everyone's). Under load
a cycle takes many deliveries at once; the subscription, its connection and its secret are read
once per subscription per cycle. Targets are reached through the engine's outbound guard: on the
asynchronous transport of `plughub serve` (aiohttp) when it is installed and no test transport is
given, else with httpx in a few threads.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from plughub.engine.credentials import Credentials
from plughub.engine.events.signing import decode_delivery_secret, standard_signature
from plughub.engine.http.guard import Guard
from plughub.engine.store import Store, utcnow
from plughub.engine.store.events import DELIVERED, FAILED, PENDING, ClaimedDelivery, DeliveryOutcome
from plughub.engine.store.subscriptions import DELETING, subscription_record_id

__all__ = ["ATTEMPT_TIMEOUT", "FRESH_GRACE", "IN_FLIGHT", "Deliverer", "payload"]

logger = logging.getLogger("plughub.events")

# Seconds one attempt may take (connect + answer); the claim lasts longer than that.
ATTEMPT_TIMEOUT = 10.0
_LEASE = ATTEMPT_TIMEOUT * 3
IN_FLIGHT = 256
"""Attempts a process makes at once at most; more wait (claimed only when there is room)."""
FRESH_GRACE = 2.0
"""Seconds a new event's first attempt is left to the process that stored it before others take it."""
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
class _Target:
    """Where a subscription's deliveries go, read once per cycle."""

    url: str
    trigger: str
    connection_id: str
    end_user_id: str | None
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class _Attempt:
    """One signed request to send."""

    event_id: str
    attempts: int  # made before this one
    url: str
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)


@dataclass
class _Requests:
    """What other threads asked for since the last cycle."""

    event_ids: list[str] = field(default_factory=list)
    due: int = 0
    waiters: list[concurrent.futures.Future[int]] = field(default_factory=list)


class Deliverer:
    """Sends deliveries from an event loop of its own (`start`), in batches.

    Args:
        store: Events, deliveries, subscriptions, connections.
        credentials: Opens the subscription's `whsec_` secret.
        delays: Seconds before each retry (`PLUGHUB_DELIVERY_RETRY_DELAYS`).
        transport: A transport that stands in for the network (tests); deliveries then go
            through it with httpx, in threads.
        guard: The outbound guard every target passes (`plughub serve`); None sends anywhere.
        finished: Told the status after each attempt (`delivered`, `pending` or `failed`).
    """

    def __init__(
        self,
        *,
        store: Store,
        credentials: Credentials,
        delays: Sequence[float],
        transport: httpx.BaseTransport | None = None,
        guard: Guard | None = None,
        finished: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._delays = tuple(delays)
        self._transport = transport
        self._guard = guard
        self._on_finished = finished
        self._lock = threading.Lock()
        self._requests = _Requests()
        self._signalled = False
        self._done: threading.Event | None = None  # set when the loop's work ends
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        # Set on the loop's thread only.
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[DeliveryOutcome] = []
        self._post: Callable[[_Attempt], Awaitable[int]] | None = None
        self._closers: list[Callable[[], Awaitable[None]]] = []

    def __repr__(self) -> str:
        return f"Deliverer(retries={len(self._delays)}, running={self.running})"

    @property
    def running(self) -> bool:
        """Whether this process sends deliveries."""
        return self._loop is not None and not self._stopping

    # Other threads

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start sending deliveries (idempotent).

        Args:
            loop: The running event loop to send from, when called on it (`plughub serve`'s: no
                second thread then contends with the server's); None for a thread of its own.
        """
        with self._lock:
            if self._done is not None and not self._done.is_set():
                return
            self._stopping = False
            done = self._done = threading.Event()
            if loop is not None:
                self._loop, self._loop_thread, self._wake = loop, threading.get_ident(), asyncio.Event()
                loop.create_task(self._main(done))
                return
            ready = threading.Event()
            threading.Thread(target=self._run, args=(ready, done), name="plughub-deliveries", daemon=True).start()
        ready.wait(30)

    def stop(self) -> None:
        """Stop taking deliveries; the attempts under way end (within their timeout) and are recorded.

        Waits for that, unless called on the loop the deliveries are sent from (which must then
        keep running until they are: `plughub serve` calls this in a thread).
        """
        with self._lock:
            loop, done = self._loop, self._done
            self._stopping = True
        if loop is None or done is None:
            return
        self._poke(loop)
        if threading.get_ident() != self._loop_thread:
            done.wait(ATTEMPT_TIMEOUT * 3)

    def close(self) -> None:
        """Stop (see `stop`)."""
        self.stop()

    def submit(self, event_ids: Iterable[str]) -> bool:
        """Deliver these events' pending deliveries now (they were just stored by this process).

        Args:
            event_ids: The events.

        Returns:
            False when this process does not send deliveries (the caller defers them elsewhere).
        """
        with self._lock:
            if not self.running:
                return False
            self._requests.event_ids.extend(event_ids)
            loop = self._wake_loop()
        if loop is not None:
            self._poke(loop)
        return True

    def take_due(self, limit: int) -> int:
        """Claim due deliveries of any process, up to `limit` and the room left, and start sending them.

        Waits until the claim is made (not for the attempts); not to be called on the loop itself.

        Args:
            limit: The most to take.

        Returns:
            How many were taken (0 when this process does not send deliveries).
        """
        waiter: concurrent.futures.Future[int] = concurrent.futures.Future()
        with self._lock:
            if not self.running:
                return 0
            self._requests.due += limit
            self._requests.waiters.append(waiter)
            loop = self._wake_loop()
        if loop is not None:
            self._poke(loop)
        try:
            return waiter.result(timeout=60)
        except concurrent.futures.TimeoutError:
            return 0

    def _wake_loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop to wake, unless it was woken already (under `_lock`)."""
        if self._signalled:
            return None
        self._signalled = True
        return self._loop

    def _poke(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake the loop's cycle: at once on its own thread, else through the loop (a write to its pipe)."""
        if threading.get_ident() == self._loop_thread:
            self._signal()
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._signal)

    # The loop's thread

    def _signal(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _run(self, ready: threading.Event, done: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        with self._lock:
            self._loop, self._loop_thread, self._wake = loop, threading.get_ident(), asyncio.Event()
        ready.set()
        try:
            loop.run_until_complete(self._main(done))
        finally:
            loop.close()

    async def _main(self, done: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        # SQLite is a local file: a cycle's transaction takes less than a hop to a thread and back.
        database = (
            None
            if self._store.db.dialect == "sqlite"
            else concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="plughub-deliveries-db")
        )
        try:
            self._post = self._poster()
            while True:
                assert self._wake is not None  # noqa: S101 - set by start
                await self._wake.wait()
                self._wake.clear()
                with self._lock:
                    self._signalled = False
                    stopping = self._stopping
                await self._cycle(loop, database, stopping)
                if stopping and not self._tasks and not self._outcomes:
                    break
        except Exception:  # pragma: no cover - a bug: the leases run out and other processes take over
            logger.exception("the delivery loop stopped")
        finally:
            for close in self._closers:
                with contextlib.suppress(Exception):
                    await close()
            self._closers = []
            with self._lock:
                self._loop, self._stopping = None, True
            for waiter in self._take_requests(0)[2]:
                waiter.set_result(0)
            if database is not None:
                database.shutdown(wait=False)
            done.set()

    def _take_requests(self, room: int) -> tuple[list[str], int, list[concurrent.futures.Future[int]]]:
        """The ids (as many as there is room for; the rest wait), the due wanted, the waiters."""
        with self._lock:
            asked = self._requests
            ids, asked.event_ids = asked.event_ids[:room], asked.event_ids[room:]
            due, waiters = asked.due, asked.waiters
            asked.due, asked.waiters = 0, []
        return ids, min(due, room - len(ids)), waiters

    async def _cycle(
        self, loop: asyncio.AbstractEventLoop, database: concurrent.futures.Executor | None, stopping: bool
    ) -> None:
        outcomes, self._outcomes = self._outcomes, []
        ids, due, waiters = self._take_requests(0 if stopping else IN_FLIGHT - len(self._tasks))
        taken: list[ClaimedDelivery] = []
        attempts: list[_Attempt] = []
        if outcomes or ids or due > 0:
            try:
                if database is None:
                    taken, attempts, failed = self._exchange(outcomes, ids, due)
                else:
                    taken, attempts, failed = await loop.run_in_executor(database, self._exchange, outcomes, ids, due)
            except Exception:  # the database is away: nothing was written; try again shortly
                logger.warning("could not record or claim deliveries; trying again", exc_info=True)
                self._outcomes = outcomes + self._outcomes  # the claimed rows stay leased meanwhile
                for waiter in waiters:
                    waiter.set_result(0)
                loop.call_later(1.0, self._signal)
                return
            self._outcomes += failed
            if failed:
                self._wake_self()
            self._report(outcomes)
        for waiter in waiters:
            waiter.set_result(len(taken))
        for attempt in attempts:
            task = loop.create_task(self._send(attempt))
            self._tasks.add(task)
        with self._lock:
            more = bool(self._requests.event_ids) and len(self._tasks) < IN_FLIGHT and not stopping
        if more:
            self._wake_self()

    def _wake_self(self) -> None:
        with self._lock:
            self._signalled = True
        self._signal()

    def _report(self, outcomes: list[DeliveryOutcome]) -> None:
        if self._on_finished is None:
            return
        for outcome in outcomes:
            try:
                self._on_finished(outcome.status)
            except Exception:  # metrics must not stop deliveries
                logger.debug("the delivery observer failed", exc_info=True)

    async def _send(self, attempt: _Attempt) -> None:
        status_code: int | None = None
        error: str | None = None
        try:
            assert self._post is not None  # noqa: S101 - set before any cycle
            status_code = await self._post(attempt)
            if not 200 <= status_code < 300:
                error = f"the target answered {status_code}"
        except asyncio.TimeoutError:
            error = f"the target could not be reached (no answer in {ATTEMPT_TIMEOUT:g} s)"
        except httpx.HTTPError as exc:
            error = f"the target could not be reached ({type(exc).__name__}: {exc})"[:500]
        except Exception as exc:  # an attempt must end in an outcome, or its delivery waits for the lease
            logger.exception("delivery of %s failed unexpectedly", attempt.event_id)
            error = f"the attempt failed ({type(exc).__name__})"
        self._outcomes.append(self._outcome(attempt, status_code, error))
        task = asyncio.current_task()
        if task is not None:
            self._tasks.discard(task)
        self._wake_self()

    def _outcome(self, attempt: _Attempt, status_code: int | None, error: str | None) -> DeliveryOutcome:
        made = attempt.attempts + 1
        if error is None:
            return DeliveryOutcome(attempt.event_id, DELIVERED, made, upstream_status=status_code)
        if made > len(self._delays):
            logger.warning("delivery of %s failed after %d attempts: %s", attempt.event_id, made, error)
            return DeliveryOutcome(attempt.event_id, FAILED, made, error=error, upstream_status=status_code)
        next_at = utcnow() + timedelta(seconds=self._delays[made - 1])
        return DeliveryOutcome(attempt.event_id, PENDING, made, next_at, error, status_code)

    # The database thread

    def _exchange(
        self, outcomes: list[DeliveryOutcome], ids: list[str], due: int
    ) -> tuple[list[ClaimedDelivery], list[_Attempt], list[DeliveryOutcome]]:
        """One cycle's transaction, then the requests of what it claimed (signed now)."""
        taken = self._store.events.finish_and_claim(
            outcomes,
            event_ids=ids,
            due=due,
            fresh_before=utcnow() - timedelta(seconds=FRESH_GRACE),
            lease=_LEASE,
        )
        attempts: list[_Attempt] = []
        failed: list[DeliveryOutcome] = []
        targets: dict[str, _Target | str | None] = {}
        now = int(time.time())
        for delivery in taken:
            if delivery.subscription_id not in targets:
                targets[delivery.subscription_id] = self._target(delivery.subscription_id)
            target = targets[delivery.subscription_id]
            if target is None:  # the subscription is being deleted: its deliveries go with it
                continue
            if isinstance(target, str):
                failed.append(DeliveryOutcome(delivery.event_id, FAILED, delivery.attempts, error=target))
                continue
            body = payload(
                delivery, trigger=target.trigger, connection_id=target.connection_id, end_user_id=target.end_user_id
            )
            signature = standard_signature(target.key, delivery.event_id, now, body)
            headers = {
                "webhook-id": delivery.event_id,
                "webhook-timestamp": str(now),
                "webhook-signature": "v1," + base64.b64encode(signature).decode("ascii"),
                "content-type": "application/json",
                "user-agent": "plughub-webhooks/1",
            }
            attempts.append(_Attempt(delivery.event_id, delivery.attempts, target.url, body, headers))
        return taken, attempts, failed

    def _target(self, subscription_id: str) -> _Target | str | None:
        """Where a subscription's deliveries go; a reason to fail them; None to leave them."""
        # Read through the short read cache: a deleted subscription empties it (its transaction invalidates).
        found = self._store.db.cache.get(
            ("subscription", subscription_id), lambda: self._store.subscriptions.get(subscription_id)
        )
        if found is None or not found.target_url:
            return "no target"
        if found.status == DELETING:
            return "the subscription is being deleted"
        secret = self._credentials.read(subscription_record_id(found.id)).get("secret")
        if not secret:  # the subscription is being deleted: its deliveries go with it
            return None
        connection = self._store.connections.get(found.connection_id)
        return _Target(
            found.target_url,
            found.trigger,
            found.connection_id,
            connection.end_user_id if connection else None,
            decode_delivery_secret(secret),
        )

    # Sending

    def _poster(self) -> Callable[[_Attempt], Awaitable[int]]:
        """The function that POSTs an attempt and gives the status: aiohttp on the loop, else httpx in threads."""
        if self._transport is None:
            try:
                from plughub.engine.http.aio import AsyncTransport  # aiohttp: only where it is used
            except ImportError:  # the server extra is not installed
                pass
            else:
                transport = AsyncTransport(
                    connect_timeout=ATTEMPT_TIMEOUT,
                    read_timeout=ATTEMPT_TIMEOUT,
                    guard=self._guard,
                    trust_env=False,
                    max_connections=IN_FLIGHT,
                )
                self._closers.append(transport.aclose)

                async def post(attempt: _Attempt) -> int:
                    return await transport.post(attempt.url, attempt.body, attempt.headers, timeout=ATTEMPT_TIMEOUT)

                return post
        return self._threaded_poster()

    def _threaded_poster(self) -> Callable[[_Attempt], Awaitable[int]]:
        transport = self._transport
        if transport is None and self._guard is not None:
            from plughub.engine.http.guard import GuardedTransport

            transport = GuardedTransport(self._guard)
        client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(ATTEMPT_TIMEOUT),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=50),
        )
        threads = concurrent.futures.ThreadPoolExecutor(max_workers=_SYNC_THREADS, thread_name_prefix="plughub-post")

        def post_sync(attempt: _Attempt) -> int:
            return client.post(attempt.url, content=attempt.body, headers=attempt.headers).status_code

        async def post(attempt: _Attempt) -> int:
            # httpx bounds each phase; the whole attempt is bounded here (its thread ends on its own).
            sent = asyncio.get_running_loop().run_in_executor(threads, post_sync, attempt)
            return await asyncio.wait_for(sent, ATTEMPT_TIMEOUT)

        def release() -> None:
            threads.shutdown(wait=True)  # attempts still in a thread end within the client's timeout
            client.close()

        async def close() -> None:
            await asyncio.get_running_loop().run_in_executor(None, release)

        self._closers.append(close)
        return post

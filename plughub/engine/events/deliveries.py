"""Push deliveries: each event POSTed to its subscription's `target_url`, signed per Standard Webhooks.

One attempt at a time per delivery, across every process: an attempt first claims the delivery
row for longer than an attempt can take (`EventRepository.finish_and_claim`); a process that dies
mid-attempt leaves a claim that runs out, and the delivery is taken again. A non-2xx answer, or
none, is retried after `PLUGHUB_DELIVERY_RETRY_DELAYS`; after the last the delivery is `failed`.

How a process sends them (`Deliverer`): from one event loop (the server's in `plughub serve`,
else a thread's of its own), on which every attempt is a task bounded by its timeout (`PLUGHUB_DELIVERY_TIMEOUT`). Each
subscription has a lane: at most `PER_TARGET` attempts at once to its target (no flood of
connections to one endpoint) and as many claimed next in line, so a slow target holds up only its
own deliveries, and nothing claimed waits long enough for its claim to run out. The database work
goes in cycles, each one transaction (on the loop for SQLite, a local file; in a thread for
PostgreSQL), at most one per `CYCLE_INTERVAL`: record the outcomes of the attempts that ended
since the last cycle, and claim the next deliveries (those this process just stored, by id, and,
when a scan or a job asks, due ones among everyone's). Under load a cycle takes many deliveries at
once, and the subscription, its connection and its secret are read once per subscription per
cycle. What an attempt sends, and what sends it, is `plughub.engine.events.attempts`'s.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from plughub.engine.credentials import Credentials
from plughub.engine.events.attempts import Attempt, Target, poster, signed_attempt
from plughub.engine.events.signing import decode_delivery_secret
from plughub.engine.http.guard import Guard
from plughub.engine.store import Store, utcnow
from plughub.engine.store.events import DELIVERED, FAILED, PENDING, DeliveryOutcome
from plughub.engine.store.subscriptions import DELETING, subscription_record_id

__all__ = ["ATTEMPT_TIMEOUT", "CYCLE_INTERVAL", "FRESH_GRACE", "IN_FLIGHT", "PER_TARGET", "Deliverer"]

logger = logging.getLogger("plughub.events")

# Seconds one attempt may take (connect + answer); the claim lasts longer than that.
ATTEMPT_TIMEOUT = 10.0
IN_FLIGHT = 256
"""Deliveries a process holds at once at most (under way, or claimed and next in line)."""
PER_TARGET = 32
"""Attempts a process makes at once to one subscription's target; as many more may be next in line."""
CYCLE_INTERVAL = 0.025
"""Seconds at least between two cycles (transactions) of a process: what comes meanwhile waits for the next."""
FRESH_GRACE = 2.0
"""Seconds a new event's first attempt is left to the process that stored it before others take it."""
# Events of one subscription waiting for room in its lane, at most (they are pending in the database).
_MOST_ASKED = 4096


@dataclass
class _Requests:
    """What other threads asked for since the last cycle (under the deliverer's lock)."""

    event_ids: dict[str, list[str]] = field(default_factory=dict)  # by subscription, not claimed yet
    due: set[str] = field(default_factory=set)  # subscriptions whose due deliveries to take
    waiters: list[concurrent.futures.Future[int]] = field(default_factory=list)


@dataclass
class _Lane:
    """One subscription's deliveries in this process: claimed and next in line, and under way."""

    waiting: deque[Attempt] = field(default_factory=deque)
    active: int = 0

    @property
    def held(self) -> int:
        return len(self.waiting) + self.active


class Deliverer:
    """Sends deliveries from an event loop (`start`), in batches.

    Args:
        store: Events, deliveries, subscriptions, connections.
        credentials: Opens the subscription's `whsec_` secret.
        delays: Seconds before each retry (`PLUGHUB_DELIVERY_RETRY_DELAYS`).
        transport: A transport that stands in for the network (tests); deliveries then go
            through it with httpx, in threads.
        guard: The outbound guard every target passes (`plughub serve`); None sends anywhere.
        finished: Told the status after each attempt (`delivered`, `pending` or `failed`).
        timeout: Seconds one attempt may take (`PLUGHUB_DELIVERY_TIMEOUT`); a claimed delivery
            is left to other processes after three times that.
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
        timeout: float = ATTEMPT_TIMEOUT,
    ) -> None:
        self._store = store
        self._timeout = timeout
        # A claim outlasts an attempt (and the wait for its turn at a busy target).
        self._lease = timeout * 3
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
        # On the loop's thread only.
        self._lanes: dict[str, _Lane] = {}
        self._held = 0  # in every lane
        self._outcomes: list[DeliveryOutcome] = []
        self._released: list[str] = []  # claimed, never tried (stopping): their claims go back
        self._backlog: set[str] = set()  # subscriptions whose due deliveries the lanes go on taking
        self._tasks: set[asyncio.Task[None]] = set()  # the loop's own and the attempts'
        self._post: Callable[[Attempt], Awaitable[int]] | None = None
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
                main = loop.create_task(self._main(done))
                self._tasks.add(main)
                main.add_done_callback(self._tasks.discard)
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
            done.wait(self._lease)

    def close(self) -> None:
        """Stop (see `stop`)."""
        self.stop()

    def submit(self, subscription_id: str, event_ids: Iterable[str]) -> bool:
        """Deliver these events' pending deliveries now (this process just stored them).

        Args:
            subscription_id: Their subscription.
            event_ids: The events.

        Returns:
            False when this process does not send deliveries (the caller defers them elsewhere).
        """
        with self._lock:
            if not self.running:
                return False
            wanted = self._requests.event_ids.setdefault(subscription_id, [])
            wanted.extend(event_ids)
            if len(wanted) > _MOST_ASKED:  # a target far behind: the oldest are left to the scans
                del wanted[: len(wanted) - _MOST_ASKED]
            loop = self._wake_loop()
        if loop is not None:
            self._poke(loop)
        return True

    def take_due(self, subscription_id: str) -> int:
        """Claim a subscription's due deliveries (any process's), as many as its lane has room for, and send them.

        The lane goes on taking them as room frees, until none is left. Waits until the first
        claim is made (not for the attempts); not to be called on the loop itself.

        Args:
            subscription_id: The subscription.

        Returns:
            How many the first claim took (0 when this process does not send deliveries).
        """
        waiter: concurrent.futures.Future[int] = concurrent.futures.Future()
        with self._lock:
            if not self.running:
                return 0
            self._requests.due.add(subscription_id)
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

    def _wake_self(self) -> None:
        with self._lock:
            self._signalled = True
        self._signal()

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
        last = 0.0
        try:
            sender = poster(timeout=self._timeout, connections=IN_FLIGHT, transport=self._transport, guard=self._guard)
            self._post = sender.post
            self._closers.append(sender.close)
            while True:
                assert self._wake is not None  # noqa: S101 - set by start
                await self._wake.wait()
                # What comes meanwhile joins this cycle: under load, many deliveries per transaction.
                pause = last + CYCLE_INTERVAL - loop.time()
                if pause > 0 and not self._stopping:
                    await asyncio.sleep(pause)
                last = loop.time()
                self._wake.clear()
                with self._lock:
                    self._signalled = False
                    stopping = self._stopping
                await self._cycle(loop, database, stopping)
                if stopping and not self._held and not self._outcomes and not self._released:
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
                waiters, self._requests.waiters = self._requests.waiters, []
            for waiter in waiters:
                waiter.set_result(0)
            if database is not None:
                database.shutdown(wait=False)
            done.set()

    def _take_requests(self, stopping: bool) -> tuple[list[str], dict[str, int], list[concurrent.futures.Future[int]]]:
        """What to claim: ids, and due ones by subscription, as many as the lanes have room for (the rest wait).

        Also returns the waiters of `take_due`.
        """
        room = 0 if stopping else IN_FLIGHT - self._held
        ids: list[str] = []
        taking: dict[str, int] = {}  # ids by subscription
        due: dict[str, int] = {}
        with self._lock:
            asked = self._requests
            for subscription_id, wanted in list(asked.event_ids.items()):
                count = min(len(wanted), room, self._room(subscription_id))
                if count > 0:
                    taking[subscription_id] = count
                    ids += wanted[:count]
                    del wanted[:count]
                    room -= count
                if not wanted:
                    del asked.event_ids[subscription_id]
            self._backlog |= asked.due
            waiters, asked.due, asked.waiters = asked.waiters, set(), []
        for subscription_id in self._backlog - taking.keys():  # one kind of claim per lane per cycle
            count = min(room, self._room(subscription_id))
            if count > 0:
                due[subscription_id] = count
                room -= count
        return ids, due, waiters

    def _room(self, subscription_id: str) -> int:
        lane = self._lanes.get(subscription_id)
        return 2 * PER_TARGET - (lane.held if lane else 0)

    async def _cycle(
        self, loop: asyncio.AbstractEventLoop, database: concurrent.futures.Executor | None, stopping: bool
    ) -> None:
        outcomes, self._outcomes = self._outcomes, []
        if stopping:  # what waits in the lanes goes back untried
            for lane in self._lanes.values():
                self._released += [attempt.event_id for attempt in lane.waiting]
                self._held -= len(lane.waiting)
                lane.waiting.clear()
        released, self._released = self._released, []
        ids, due, waiters = self._take_requests(stopping)
        taken = 0
        if outcomes or released or ids or due:
            work = (outcomes, released, ids, due)
            try:
                if database is None:
                    claimed, failed, counts = self._exchange(*work)
                else:
                    claimed, failed, counts = await loop.run_in_executor(database, self._exchange, *work)
            except Exception:  # the database is away: nothing was written; try again shortly
                logger.warning("could not record or claim deliveries; trying again", exc_info=True)
                self._outcomes, self._released = outcomes + self._outcomes, released + self._released
                for waiter in waiters:
                    waiter.set_result(0)
                loop.call_later(1.0, self._signal)
                return
            self._report(outcomes)
            self._outcomes += failed
            taken = sum(counts.values())
            for subscription_id, count in due.items():
                # Fewer than asked: none is left (for now); else the lane takes more as room frees.
                if counts.get(subscription_id, 0) < count:
                    self._backlog.discard(subscription_id)
            for attempt in claimed:
                self._line_up(loop, attempt)
            if failed:
                self._wake_self()
        for waiter in waiters:
            waiter.set_result(taken)

    def _line_up(self, loop: asyncio.AbstractEventLoop, attempt: Attempt) -> None:
        """Put a claimed attempt in its lane, and under way if the lane has room."""
        lane = self._lanes.setdefault(attempt.subscription_id, _Lane())
        lane.waiting.append(attempt)
        self._held += 1
        self._dispatch(loop, attempt.subscription_id, lane)

    def _dispatch(self, loop: asyncio.AbstractEventLoop, subscription_id: str, lane: _Lane) -> None:
        while lane.waiting and lane.active < PER_TARGET:
            lane.active += 1
            task = loop.create_task(self._send(lane.waiting.popleft()))
            self._tasks.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._tasks.discard)
        if not lane.held:
            del self._lanes[subscription_id]

    def _report(self, outcomes: list[DeliveryOutcome]) -> None:
        if self._on_finished is None:
            return
        for outcome in outcomes:
            try:
                self._on_finished(outcome.status)
            except Exception:  # metrics must not stop deliveries
                logger.debug("the delivery observer failed", exc_info=True)

    async def _send(self, attempt: Attempt) -> None:
        status_code: int | None = None
        error: str | None = None
        try:
            assert self._post is not None  # noqa: S101 - set before any cycle
            status_code = await self._post(attempt)
            if not 200 <= status_code < 300:
                error = f"the target answered {status_code}"
        except (asyncio.TimeoutError, httpx.TimeoutException):
            error = f"the target could not be reached (no answer in {self._timeout:g} s)"
        except httpx.HTTPError as exc:
            error = f"the target could not be reached ({type(exc).__name__}: {exc})"[:500]
        except Exception as exc:  # an attempt must end in an outcome, or its delivery waits for the lease
            logger.exception("delivery of %s failed unexpectedly", attempt.event_id)
            error = f"the attempt failed ({type(exc).__name__})"
        self._outcomes.append(self._outcome(attempt, status_code, error))
        lane = self._lanes[attempt.subscription_id]
        lane.active -= 1
        self._held -= 1
        self._dispatch(asyncio.get_running_loop(), attempt.subscription_id, lane)
        self._wake_self()

    def _outcome(self, attempt: Attempt, status_code: int | None, error: str | None) -> DeliveryOutcome:
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
        self, outcomes: list[DeliveryOutcome], released: list[str], ids: list[str], due: dict[str, int]
    ) -> tuple[list[Attempt], list[DeliveryOutcome], dict[str, int]]:
        """One cycle's transaction; then what it claimed: the requests (signed now), what fails at once, counts.

        The counts are of the deliveries claimed, by subscription.
        """
        taken = self._store.events.finish_and_claim(
            outcomes,
            released=released,
            event_ids=ids,
            due=due,
            fresh_before=utcnow() - timedelta(seconds=FRESH_GRACE),
            lease=self._lease,
        )
        attempts: list[Attempt] = []
        failed: list[DeliveryOutcome] = []
        targets: dict[str, Target | str | None] = {}
        counts: dict[str, int] = {}
        now = int(time.time())
        for delivery in taken:
            counts[delivery.subscription_id] = counts.get(delivery.subscription_id, 0) + 1
            if delivery.subscription_id not in targets:
                targets[delivery.subscription_id] = self._target(delivery.subscription_id)
            target = targets[delivery.subscription_id]
            if target is None:  # the subscription is being deleted: its deliveries go with it
                continue
            if isinstance(target, str):
                failed.append(DeliveryOutcome(delivery.event_id, FAILED, delivery.attempts, error=target))
                continue
            attempts.append(signed_attempt(delivery, target, now))
        return attempts, failed, counts

    def _target(self, subscription_id: str) -> Target | str | None:
        """Where a subscription's deliveries go; a reason to fail them; None to leave them."""
        # Read through the short read cache: a deleted subscription empties it (its transaction invalidates).
        found = self._store.db.cache.get(
            ("subscription", subscription_id), lambda: self._store.subscriptions.get(subscription_id)
        )
        if found is None or not found.target_url:
            return "no target"
        # A connection being deleted is gone for every read: its subscriptions go with it.
        connection = self._store.connections.get(found.connection_id)
        if found.status == DELETING or connection is None:
            return "the subscription is being deleted"
        secret = self._credentials.read(subscription_record_id(found.id)).get("secret")
        if not secret:  # the subscription is being deleted: its deliveries go with it
            return None
        return Target(
            found.target_url, found.trigger, found.connection_id, connection.end_user_id, decode_delivery_secret(secret)
        )

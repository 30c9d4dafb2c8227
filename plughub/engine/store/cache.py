"""A short-lived cache of the rows every action run reads, so that the hot path skips the database.

What it holds is what the database holds: connection rows and sealed credentials (never opened
ones; API keys are kept apart, by `revocations.LiveKeys`, until any process revokes one). Every write
transaction of this process empties it, and an entry lives at most `ttl` seconds, which bounds how
long another process's write (a deleted connection, a refreshed token) can go unseen here. A
generation counter keeps a read that raced a write from putting the old row back after the write
emptied the cache.

One read per row at a time: when an entry has expired, the first caller reads it and the threads
that ask for it meanwhile wait for that read instead of reading too. On a busy server every
request in flight asks for the same connection within a millisecond of its expiry; without this,
each of them went to a worker thread and to the database at once, once a second, and the queue
they made was the PostgreSQL p99.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["DEFAULT_TTL", "ReadCache"]

DEFAULT_TTL = 1.0
"""Seconds an entry lives (`PLUGHUB_CACHE_TTL`); 0 turns the cache off."""

T = TypeVar("T")


class _Read:
    """A read under way: callers that want the same row wait for it (see `ReadCache.get`)."""

    __slots__ = ("done", "generation", "ok", "thread", "value")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.thread = threading.get_ident()
        self.done = threading.Event()
        self.ok = False
        self.value: Any = None


class ReadCache:
    """Rows by key for at most `ttl` seconds; bounded in size (least recently used go first).

    Args:
        ttl: Seconds an entry lives; 0 or less turns the cache off.
        size: The most entries kept.
        may_wait: Whether the calling thread may wait for another's read of the same row (not
            an event loop's thread, which reads, or learns that it cannot, at once); None: always.
    """

    def __init__(
        self, ttl: float = DEFAULT_TTL, size: int = 4096, *, may_wait: Callable[[], bool] | None = None
    ) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()
        self._may_wait = may_wait
        self._reads: dict[Hashable, _Read] = {}

    def __repr__(self) -> str:
        return f"ReadCache(ttl={self.ttl}, entries={len(self._entries)})"

    def get(self, key: Hashable, load: Callable[[], T | None]) -> T | None:
        """Return the cached value of `key`, or load it (a None result is not cached).

        Args:
            key: What is read.
            load: Reads it from the database.

        Returns:
            The value.
        """
        if self.ttl <= 0:
            return load()
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(key)
                return entry[1]  # type: ignore[no-any-return]
            generation = self._generation
            under_way = self._reads.get(key)
            # A read begun before a write (another generation) may hold the old row: not joined.
            if under_way is None or under_way.generation != generation or under_way.thread == threading.get_ident():
                read = self._reads[key] = _Read(generation)
                under_way = None
        if under_way is not None:
            if self._may_wait is None or self._may_wait():
                under_way.done.wait()
                if under_way.ok:
                    return under_way.value  # type: ignore[no-any-return]
            # On an event loop (which reads at once, or learns that it cannot), or the read failed:
            # read for oneself (and meet the error oneself).
            return load()
        return self._lead(key, load, read, now)

    def _lead(self, key: Hashable, load: Callable[[], T | None], read: _Read, now: float) -> T | None:
        """Read a row for every caller waiting on `read`, and keep it."""
        try:
            value = load()
        except BaseException:
            self._finish(key, read)
            raise
        with self._lock:
            if value is not None and read.generation == self._generation:
                self._entries[key] = (now + self.ttl, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        self._finish(key, read, value)
        return value

    def _finish(self, key: Hashable, read: _Read, *value: Any) -> None:
        with self._lock:
            if self._reads.get(key) is read:
                del self._reads[key]
        if value:
            read.value, read.ok = value[0], True
        read.done.set()

    def clear(self) -> None:
        """Forget everything (a write happened)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

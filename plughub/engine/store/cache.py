"""A short-lived cache of the rows every action run reads, so that the hot path skips the database.

What it holds is what the database holds: connection rows and sealed credentials (never opened
ones; API keys are kept apart, by `revocations.LiveKeys`, until any process revokes one). Every write
transaction of this process empties it, and an entry lives at most `ttl` seconds, which bounds how
long another process's write (a deleted connection, a refreshed token) can go unseen here. A
generation counter keeps a read that raced a write from putting the old row back after the write
emptied the cache.
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


class ReadCache:
    """Rows by key for at most `ttl` seconds; bounded in size (least recently used go first).

    Args:
        ttl: Seconds an entry lives; 0 or less turns the cache off.
        size: The most entries kept.
    """

    def __init__(self, ttl: float = DEFAULT_TTL, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()

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
        value = load()
        if value is not None:
            with self._lock:
                if generation == self._generation:
                    self._entries[key] = (now + self.ttl, value)
                    self._entries.move_to_end(key)
                    while len(self._entries) > self.size:
                        self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything (a write happened)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

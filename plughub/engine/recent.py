"""What the jobs of this process ended with lately, for the call that started one and waits for it.

A job removes its row when it ends (an unsubscribe, a connection's deletion), so the row cannot
say how it went. The job notes it here; the waiting call takes the note when the job ran in this
process, and says it does not know otherwise.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["RecentOutcomes"]

T = TypeVar("T")


class RecentOutcomes(Generic[T]):
    """The latest outcomes by key, the oldest forgotten past `size`.

    Args:
        size: The most kept.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._entries: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RecentOutcomes(entries={len(self._entries)})"

    def note(self, key: str, outcome: T) -> None:
        """Keep an outcome.

        Args:
            key: What ended (a subscription or connection id).
            outcome: How.
        """
        with self._lock:
            self._entries[key] = outcome
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def take(self, key: str) -> T | None:
        """Take an outcome (it is forgotten).

        Args:
            key: What ended.

        Returns:
            The outcome, or None when none is kept (the job ran in another process, or long ago).
        """
        with self._lock:
            return self._entries.pop(key, None)

"""The audit of action runs, written in batches by a background thread off the hot path."""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime

from plughub.engine.store import RunRecord, Store
from plughub.exceptions import DatabaseUnavailable

__all__ = ["AuditLog"]

logger = logging.getLogger("plughub.engine")

# Seconds between attempts while the database is unavailable (the last one repeats).
_RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0)
# Attempts a closing log still makes before it gives up on what the database does not take.
_ATTEMPTS_WHEN_CLOSING = 3


class AuditLog:
    """Appends action runs to the store, many per transaction, from a daemon thread.

    A run is queued in microseconds; the thread gathers runs for `linger` seconds (up to
    `max_batch` rows) and writes them in one transaction, so a busy server pays one commit per
    batch instead of one per run. Readers call `flush` first, so that what this process ran is
    visible; another process's runs appear within a batch's time (milliseconds). `close` writes
    what is left.

    While the database is unavailable, the batch in hand is written again until it is taken, and
    new runs wait in the queue: up to `max_pending` runs not yet written (the batch in hand
    included), after which a run is dropped, counted in `dropped` and logged at warning. A batch
    the database refuses for another reason (a bug) is logged and dropped rather than retried
    forever.

    Args:
        store: Where runs go.
        max_batch: The most rows one transaction writes.
        linger: Seconds the thread waits for more runs after the first of a batch.
        max_pending: The most runs kept waiting while the database is unavailable.
    """

    def __init__(self, store: Store, max_batch: int = 500, linger: float = 0.05, max_pending: int = 100_000) -> None:
        self.store = store
        self.max_batch = max_batch
        self.linger = linger
        self.dropped = 0
        self.max_pending = max_pending
        # Unbounded: `record` bounds what is not yet written (queued or in hand) by `max_pending`.
        self._queue: queue.Queue[RunRecord | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Counters behind `flush`: runs accepted, runs settled (written or given up), failed writes.
        self._progress = threading.Condition()
        self._accepted = 0
        self._settled = 0
        self._failures = 0
        self._closing = False
        self._abandoned = False

    def __repr__(self) -> str:
        return f"AuditLog(pending={self._queue.qsize()}, dropped={self.dropped})"

    def record(self, run: RunRecord) -> None:
        """Queue a run for the audit (never blocks: beyond `max_pending` waiting runs, it is dropped).

        Args:
            run: The run.
        """
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._work, name="plughub-audit", daemon=True)
                    self._thread.start()
        with self._progress:
            if self._accepted - self._settled < self.max_pending:
                self._accepted += 1
                self._queue.put_nowait(run)
                return
            self.dropped += 1
            dropped = self.dropped
        if dropped == 1 or dropped % 1000 == 0:
            logger.warning("the audit queue is full (the database is unavailable); runs dropped so far: %d", dropped)

    def runs(self, connection_id: str, limit: int = 50) -> list[RunRecord]:
        """A connection's audited runs, newest first, this process's queued ones included.

        Args:
            connection_id: The connection.
            limit: The most runs returned.

        Returns:
            The runs.
        """
        self.flush()  # what this process ran is written before it is read
        return self.store.runs.list(connection_id, limit)

    def search(
        self,
        team_id: str,
        *,
        connection_id: str | None = None,
        action: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[RunRecord], int]:
        """A team's audited runs, newest first, filtered (the console's runs page).

        Args:
            team_id: The team.
            connection_id: Only this connection's runs.
            action: Only this action's runs.
            status: Only runs that ended so (`SUCCESS`, `FAILED`).
            since: Only runs at or after this time.
            until: Only runs before this time.
            offset: Runs to skip.
            limit: The most runs returned.

        Returns:
            The runs and how many match in all.
        """
        self.flush()
        return self.store.runs.search(
            team_id,
            connection_id=connection_id,
            action=action,
            status=status,
            since=since,
            until=until,
            offset=offset,
            limit=limit,
        )

    def last_used(self, connection_ids: list[str]) -> dict[str, datetime]:
        """When each connection last ran an action (those never run are left out).

        Args:
            connection_ids: The connections.

        Returns:
            The time of each one's latest audited run.
        """
        self.flush()
        return self.store.runs.last_used(connection_ids)

    def flush(self) -> None:
        """Wait until every run queued so far is written, or until a write fails (the database is down)."""
        with self._progress:
            target, failures = self._accepted, self._failures
            self._progress.wait_for(
                lambda: self._settled >= target or self._failures > failures or self._thread is None
            )

    def close(self) -> None:
        """Write what is queued (a few attempts if the database is unavailable) and stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._closing = True
        self._queue.put(None)
        thread.join(10)
        with self._progress:
            self._progress.notify_all()

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            if batch[0] is not None:
                # Sleep, then take what came: waiting on the queue instead would wake this thread
                # for every run, and each wake-up takes the GIL from the server's event loop.
                time.sleep(self.linger)
            while batch[-1] is not None and len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            runs = [run for run in batch if run is not None]
            if runs:
                self._write(runs)
            if None in batch:
                return

    def _write(self, runs: list[RunRecord]) -> None:
        """Write a batch, again and again while the database is unavailable."""
        attempt = 0
        lost = 0
        while True:
            try:
                self.store.runs.record_many(runs)
            except DatabaseUnavailable:
                attempt += 1
                if attempt == 1:
                    logger.warning("the database is unavailable: %d audited runs are kept until it is back", len(runs))
                with self._progress:
                    self._failures += 1
                    self._progress.notify_all()
                # Closing: a few attempts for the first batch, then one for each of the rest.
                if not self._closing or attempt < (1 if self._abandoned else _ATTEMPTS_WHEN_CLOSING):
                    time.sleep(_RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS)) - 1])
                    continue
                self._abandoned = True
                logger.warning("closing with the database unavailable: %d audited runs are lost", len(runs))
                lost = len(runs)
            except Exception:  # the audit must never take the server down; say so loudly
                logger.exception("could not write %d audited runs", len(runs))
                lost = len(runs)
            else:
                if attempt:
                    logger.warning("the database is back: %d audited runs written", len(runs))
            with self._progress:
                self.dropped += lost
                self._settled += len(runs)
                self._progress.notify_all()
            return

"""The audit of action runs, written in batches by a background thread off the hot path."""

from __future__ import annotations

import logging
import queue
import threading
import time

from plughub.engine.store import RunRecord, Store

__all__ = ["AuditLog"]

logger = logging.getLogger("plughub.engine")


class AuditLog:
    """Appends action runs to the store, many per transaction, from a daemon thread.

    A run is queued in microseconds; the thread gathers runs for `linger` seconds (up to
    `max_batch` rows) and writes them in one transaction, so a busy server pays one commit per
    batch instead of one per run. Readers
    call `flush` first, so that what this process ran is visible; another process's runs appear
    within a batch's time (milliseconds). `close` writes what is left.

    Args:
        store: Where runs go.
        max_batch: The most rows one transaction writes.
        linger: Seconds the thread waits for more runs after the first of a batch.
    """

    def __init__(self, store: Store, max_batch: int = 500, linger: float = 0.05) -> None:
        self.store = store
        self.max_batch = max_batch
        self.linger = linger
        self._queue: queue.Queue[RunRecord | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AuditLog(pending={self._queue.qsize()})"

    def record(self, run: RunRecord) -> None:
        """Queue a run for the audit.

        Args:
            run: The run.
        """
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._work, name="plughub-audit", daemon=True)
                    self._thread.start()
        self._queue.put(run)

    def flush(self) -> None:
        """Wait until every queued run is written."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(10)

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
            try:
                if runs:
                    self.store.record_runs(runs)
            except Exception:  # the audit must never take the server down; say so loudly
                logger.exception("could not write %d audited runs", len(runs))
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                return

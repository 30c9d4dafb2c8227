"""The job runner's interface, and the in-process runner the embedded SQLite store uses.

Jobs are `deliver(subscription_id)` (this process's `Deliverer` takes the subscription's due
deliveries), `poll(subscription_id)`, `subscribe(subscription_id)`,
`unsubscribe(subscription_id)`, `delete_connection(connection_id)` and `scan()` (which finds the
deliveries, polls, subscribe or unsubscribe attempts and connection deletions that are due and
defers them). The database rows are the truth: a delivery is pending
until an attempt records otherwise, and every attempt claims its row first, so that however
many processes run jobs, none makes the same attempt twice at once, and a job of a process that
died is taken again when its claim runs out. PostgreSQL runs the jobs on procrastinate
(`plughub.engine.events.queue`); SQLite runs the same job functions in a thread of this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

__all__ = ["InProcessJobs", "Jobs", "TaskFunctions"]

logger = logging.getLogger("plughub.jobs")

TaskFunctions = Mapping[str, Callable[..., Any]]
"""The job functions by task name (`deliver`, `poll`, `subscribe`, `unsubscribe`, `delete_connection`, `scan`)."""


class Jobs(Protocol):
    """Where jobs are deferred, and the worker that runs them."""

    def defer(self, task: str, *, delay: float = 0, **arguments: Any) -> None:
        """Ask for a job to run (after `delay` seconds)."""
        ...

    def start(self) -> None:
        """Start running jobs in this process (a worker)."""
        ...

    def stop(self) -> None:
        """Stop running jobs; the jobs under way finish first."""
        ...

    @property
    def running(self) -> bool:
        """Whether this process runs jobs."""
        ...


class InProcessJobs:
    """Runs jobs in this process: a scan thread and a pool of worker threads.

    Deferred jobs are submitted at once when the worker runs; when it does not (an SDK process),
    they are left to the scan of whatever process runs one, since the database says what is due.

    Args:
        tasks: The job functions.
        scan_interval: Seconds between scans for due deliveries and polls.
        threads: Jobs run side by side at most.
    """

    def __init__(self, tasks: TaskFunctions, *, scan_interval: float = 0.5, threads: int = 16) -> None:
        self._tasks = tasks
        self._scan_interval = scan_interval
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[tuple[str, tuple[tuple[str, Any], ...]]] = set()

    def __repr__(self) -> str:
        return f"InProcessJobs(running={self.running})"

    @property
    def running(self) -> bool:
        """Whether the worker runs in this process."""
        return self._thread is not None and self._thread.is_alive()

    def defer(self, task: str, *, delay: float = 0, **arguments: Any) -> None:
        """Run a job now (on the worker's threads), or leave it to the scan.

        Args:
            task: The task name.
            delay: Seconds to wait first; a delayed job is left to the scan.
            **arguments: The job's arguments.
        """
        if task not in self._tasks:
            raise ValueError(f"unknown task {task!r}")
        if delay <= 0 and self.running:
            self._submit(task, arguments)

    def start(self) -> None:
        """Start the scan thread and the worker threads."""
        with self._lock:
            if self.running:
                return
            self._stopping.clear()
            self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="plughub-job")
            self._thread = threading.Thread(target=self._loop, name="plughub-jobs", daemon=True)
            self._thread.start()
        logger.info("jobs run in this process (%d threads)", self._threads)

    def stop(self) -> None:
        """Stop scanning and wait for the jobs under way."""
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tasks["scan"]()
            except Exception:  # a scan that fails (database away) is tried again
                logger.exception("the job scan failed")
            self._wake.wait(self._scan_interval)
            self._wake.clear()

    def _submit(self, task: str, arguments: Mapping[str, Any]) -> None:
        key = (task, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in arguments.items())))
        with self._lock:
            pool = self._pool
            if pool is None or key in self._in_flight:
                return
            self._in_flight.add(key)
        try:
            future = pool.submit(self._tasks[task], **arguments)
        except RuntimeError:  # shutting down: the scan of the next worker takes it
            with self._lock:
                self._in_flight.discard(key)
            return
        future.add_done_callback(lambda done: self._done(key, done))

    def _done(self, key: tuple[str, tuple[tuple[str, Any], ...]], done: Future[Any]) -> None:
        with self._lock:
            self._in_flight.discard(key)
        exc = done.exception()
        if exc is not None:
            logger.error("job %s failed: %s", key[0], exc, exc_info=exc)

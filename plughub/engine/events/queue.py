"""Jobs on PostgreSQL: procrastinate, its tables in the `plughub_jobs` schema of plughub's database.

Why procrastinate (compared with pgqueuer, saq and chancy): the jobs live in the same PostgreSQL
as everything else (no broker to run), periodic tasks are deferred once however many workers run
(a queueing lock per period), a worker's heartbeat lets another retry the jobs of one that died,
and it is maintained. Its tables sit in a schema of their own: its connections set `search_path`
to it, so its DDL (which names no schema) creates and finds them there. The schema is applied
when a process first needs it, under an advisory lock, and only when its tables are missing.

Tasks: `plughub.deliver` (a subscription's due deliveries, claimed by the worker's `Deliverer`,
which sends them from its event loop and goes on taking them while any are due; or given events,
deferred by a process that does not send deliveries itself), `plughub.poll`, `plughub.subscribe`,
`plughub.unsubscribe`, `plughub.delete_connection` (each deferred with a queueing lock of its own,
so that one is queued at a time), `plughub.scan` (every second: a delivery job per subscription
with due deliveries, and the due polls, subscribe or unsubscribe attempts and connection
deletions, deferred) and `plughub.recover` (every few seconds: the jobs of workers whose
heartbeat stopped, retried).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from plughub.engine.events.jobs import TaskFunctions

__all__ = ["JOBS_SCHEMA", "ProcrastinateJobs", "libpq_dsn"]

logger = logging.getLogger("plughub.jobs")

JOBS_SCHEMA = "plughub_jobs"
QUEUE = "plughub"
HEARTBEAT = 2.0
# A worker whose heartbeat is older than this is taken for dead: its jobs are retried.
STALLED_AFTER = 15.0
# Any number less than 2**63 that no other application on the database uses as an advisory lock.
_SCHEMA_LOCK = 0x706C7567687562  # "plughub"


def libpq_dsn(sqlalchemy_url: Any) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL.

    Args:
        sqlalchemy_url: The engine's `url` (`postgresql+psycopg://...`).

    Returns:
        `postgresql://...` with the password kept.
    """
    return str(sqlalchemy_url.set(drivername="postgresql").render_as_string(hide_password=False))


class ProcrastinateJobs:
    """Jobs deferred to procrastinate; `start` runs a procrastinate worker in a thread of this process.

    Args:
        dsn: The libpq connection string of plughub's database.
        tasks: The job functions (`deliver`, `poll`, `scan`).
        concurrency: Jobs a worker runs side by side (each sync job in a thread).
        name: The worker's name (in procrastinate's tables and logs).
    """

    def __init__(self, dsn: str, tasks: TaskFunctions, *, concurrency: int = 16, name: str = "plughub") -> None:
        self._dsn = dsn
        self._tasks = tasks
        self._concurrency = concurrency
        self._name = name
        self._deferrer: Any = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task[None] | None = None
        self._schema_ready = False
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        return f"ProcrastinateJobs(running={self.running})"

    @property
    def running(self) -> bool:
        """Whether a worker runs in this process."""
        return self._thread is not None and self._thread.is_alive()

    def _connect_kwargs(self) -> dict[str, Any]:
        return {"options": f"-c search_path={JOBS_SCHEMA}"}

    def _app(self, *, sync: bool) -> Any:
        import procrastinate

        connector: Any
        if sync:
            connector = procrastinate.SyncPsycopgConnector(conninfo=self._dsn, kwargs=self._connect_kwargs())
        else:
            connector = procrastinate.PsycopgConnector(conninfo=self._dsn, kwargs=self._connect_kwargs())
        app = procrastinate.App(connector=connector)
        tasks = self._tasks

        @app.task(name="plughub.deliver", queue=QUEUE)
        def deliver(
            subscription_id: str | None = None, event_ids: list[str] | None = None, event_id: str | None = None
        ) -> None:
            # `event_id`: a job deferred by an earlier release (one job per event).
            tasks["deliver"](subscription_id=subscription_id, event_ids=event_ids, event_id=event_id)

        @app.task(name="plughub.poll", queue=QUEUE)
        def poll(subscription_id: str) -> None:
            tasks["poll"](subscription_id=subscription_id)

        @app.task(name="plughub.subscribe", queue=QUEUE)
        def subscribe(subscription_id: str) -> None:
            tasks["subscribe"](subscription_id=subscription_id)

        @app.task(name="plughub.unsubscribe", queue=QUEUE)
        def unsubscribe(subscription_id: str) -> None:
            tasks["unsubscribe"](subscription_id=subscription_id)

        @app.task(name="plughub.delete_connection", queue=QUEUE)
        def delete_connection(connection_id: str) -> None:
            tasks["delete_connection"](connection_id=connection_id)

        @app.periodic(cron="* * * * * *", periodic_id="scan")
        @app.task(name="plughub.scan", queue=QUEUE, queueing_lock="plughub.scan")
        def scan(timestamp: int) -> None:
            tasks["scan"]()

        @app.periodic(cron="*/5 * * * * *", periodic_id="recover")
        @app.task(name="plughub.recover", queue=QUEUE, queueing_lock="plughub.recover", pass_context=True)
        async def recover(context: procrastinate.JobContext, timestamp: int) -> None:
            manager = context.app.job_manager
            for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER):
                logger.warning("job %s of a worker that stopped is taken again", job.id)
                await manager.retry_job(job)

        return app

    def ensure_schema(self) -> None:
        """Create procrastinate's schema and tables if they are missing (idempotent, any number of processes)."""
        if self._schema_ready:
            return
        import psycopg
        from procrastinate.schema import SchemaManager

        with psycopg.connect(self._dsn, autocommit=True) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {JOBS_SCHEMA}")
            exists = conn.execute("SELECT to_regclass(%s)", (f"{JOBS_SCHEMA}.procrastinate_jobs",)).fetchone()
            if exists is None or exists[0] is None:
                conn.execute(f"SET LOCAL search_path TO {JOBS_SCHEMA}")
                conn.execute(SchemaManager.get_schema())
        self._schema_ready = True

    def defer(self, task: str, *, delay: float = 0, **arguments: Any) -> None:
        """Defer a job (one queued per task and argument: a repeat while one waits is dropped).

        Args:
            task: `deliver`, `poll`, `subscribe`, `unsubscribe` (each with `subscription_id=...`;
                `deliver` with `event_ids=[...]` too: these events, queued however many wait) or
                `delete_connection`.
            delay: Seconds to wait first.
            **arguments: The job's arguments.
        """
        from procrastinate import exceptions

        if task not in ("deliver", "poll", "subscribe", "unsubscribe", "delete_connection"):
            raise ValueError(f"unknown task {task!r}")
        deferrer = self._deferring_app()
        options: dict[str, Any] = {}
        if "event_ids" not in arguments:  # given events are deferred by the process that stored them, once
            key = next(iter(arguments.values()), "")
            options["queueing_lock"] = f"{task}:{key}"
        if delay > 0:
            options["schedule_in"] = {"seconds": delay}
        with contextlib.suppress(exceptions.AlreadyEnqueued):  # one is queued already: enough
            deferrer.configure_task(f"plughub.{task}", **options).defer(**arguments)

    def _deferring_app(self) -> Any:
        if self._deferrer is None:
            with self._lock:
                if self._deferrer is None:
                    self.ensure_schema()
                    app = self._app(sync=True)
                    app.open()
                    self._deferrer = app
        return self._deferrer

    def start(self) -> None:
        """Run a procrastinate worker in a thread with its own event loop."""
        with self._lock:
            if self.running:
                return
            self.ensure_schema()
            self._stopping.clear()
            ready = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(ready,), name="plughub-jobs", daemon=True)
            self._thread.start()
        ready.wait(30)
        logger.info("jobs run in this process on procrastinate (%d at once)", self._concurrency)

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = self._app(sync=False)

        async def main() -> None:
            async with app.open_async():
                self._worker = asyncio.current_task()
                ready.set()
                await app.run_worker_async(
                    queues=[QUEUE],
                    name=self._name,
                    concurrency=self._concurrency,
                    install_signal_handlers=False,
                    update_heartbeat_interval=HEARTBEAT,
                    stalled_worker_timeout=STALLED_AFTER,
                    fetch_job_polling_interval=1.0,
                    delete_jobs="successful",
                )

        # A database that goes away (a restart, a failover) ends the worker: start it again when
        # it is back, until this process stops it.
        wait = 1.0
        try:
            while not self._stopping.is_set():
                try:
                    loop.run_until_complete(main())
                    return
                except asyncio.CancelledError:
                    return
                except Exception as exc:  # logged; the process goes on serving
                    logger.warning("the job worker stopped (%s); starting it again in %g s", type(exc).__name__, wait)
                ready.set()
                if self._stopping.wait(wait):
                    return
                wait = min(wait * 2, 30.0)
        finally:
            ready.set()
            loop.close()

    def stop(self) -> None:
        """Stop the worker (the jobs under way finish first) and close the deferring pool."""
        self._stopping.set()
        thread, loop, worker = self._thread, self._loop, self._worker
        if thread is not None and loop is not None and worker is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(worker.cancel)
        if thread is not None:
            thread.join(60)
        self._thread = None
        if self._deferrer is not None:
            self._deferrer.close()
            self._deferrer = None

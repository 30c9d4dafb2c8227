"""The job-queue spike (issue 17 §4): procrastinate's app, tasks and a worker process.

Run as `python -m tests.events.jobqueue_spike DSN SCHEMA NAME` to start one worker. Procrastinate's
tables live in SCHEMA: its DDL names no schema, so a connection whose search_path is SCHEMA puts
and finds everything there (libpq `options=-c search_path=...`, passed to psycopg's pool).

Tasks record what they do in `spike_runs` (marker, worker, phase) through their own connection, so
the test reads progress from the database. `spike.block` never finishes on its first run; a later
run (the job taken up again) finishes at once. `spike.recover` is the documented procrastinate
recipe for stalled jobs: each second one worker (periodic defers are deduplicated across workers)
retries the `doing` jobs of workers whose heartbeat is older than STALE_AFTER seconds.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import procrastinate
import psycopg

HEARTBEAT = 0.5
STALE_AFTER = 3


def connect_kwargs(schema: str) -> dict[str, Any]:
    """What psycopg needs to use only SCHEMA."""
    return {"options": f"-c search_path={schema}"}


def make_app(dsn: str, schema: str, *, sync: bool = False) -> procrastinate.App:
    """Build the spike's app: the sync connector for a web process, the async one for workers."""
    connector: Any
    if sync:
        connector = procrastinate.SyncPsycopgConnector(conninfo=dsn, kwargs=connect_kwargs(schema))
    else:
        connector = procrastinate.PsycopgConnector(conninfo=dsn, kwargs=connect_kwargs(schema))
    app = procrastinate.App(connector=connector)

    def note(marker: str, phase: str) -> int:
        with psycopg.connect(dsn, autocommit=True, **connect_kwargs(schema)) as conn:
            conn.execute(
                "INSERT INTO spike_runs (marker, worker, phase) VALUES (%s, %s, %s)",
                (marker, os.environ.get("SPIKE_WORKER", "?"), phase),
            )
            row = conn.execute("SELECT count(*) FROM spike_runs WHERE marker = %s AND phase = 'started'", (marker,))
            return int(row.fetchone()[0])  # type: ignore[index]

    @app.task(name="spike.record", queue="spike")
    def record(marker: str) -> None:
        note(marker, "started")
        note(marker, "done")

    @app.task(name="spike.block", queue="spike")
    def block(marker: str) -> None:
        if note(marker, "started") == 1:
            time.sleep(3600)  # the first run never ends: its worker is killed meanwhile
        note(marker, "done")

    @app.periodic(cron="* * * * * *", periodic_id="recover")
    @app.task(name="spike.recover", queue="spike", queueing_lock="spike.recover", pass_context=True)
    async def recover(context: procrastinate.JobContext, timestamp: int) -> None:
        manager = context.app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALE_AFTER):
            await manager.retry_job(job)

    return app


def main(dsn: str, schema: str, name: str) -> None:
    """Run one worker until it is stopped."""
    os.environ["SPIKE_WORKER"] = name
    make_app(dsn, schema).run_worker(
        queues=["spike"],
        name=name,
        concurrency=4,
        update_heartbeat_interval=HEARTBEAT,
        stalled_worker_timeout=STALE_AFTER,
        fetch_job_polling_interval=0.2,
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])

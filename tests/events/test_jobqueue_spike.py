"""The job-queue spike on the local PostgreSQL: a job done by a worker process, and a job whose
worker was killed with SIGKILL taken up again by another worker (see /work/notes/jobqueue.md).

Each test has a database of its own (dropped afterwards) and puts procrastinate's tables in a
schema of their own inside it. Skips without PostgreSQL on 127.0.0.1:5432, except under CI=true.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.events.jobqueue_spike import connect_kwargs, make_app
from tests.servers import postgres_database

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "plughub_jobs"


@pytest.fixture
def queue_db() -> Iterator[str]:
    """A fresh database with procrastinate's schema applied in SCHEMA; yields a libpq DSN."""
    with postgres_database() as url:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {SCHEMA}")
            conn.execute(
                f"CREATE TABLE {SCHEMA}.spike_runs (marker text, worker text, phase text, at timestamptz DEFAULT now())"
            )
        app = make_app(dsn, SCHEMA, sync=True)
        with app.open():
            app.schema_manager.apply_schema()
        yield dsn


class Workers:
    """Worker processes of the spike, stopped (or killed) at the end."""

    def __init__(self, dsn: str, logs: Path) -> None:
        self.dsn = dsn
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.events.jobqueue_spike", self.dsn, SCHEMA, name],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        return proc

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def workers(queue_db: str, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(queue_db, tmp_path)
    yield started
    started.stop()


def _rows(dsn: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True, **connect_kwargs(SCHEMA)) as conn:
        return conn.execute(sql, args).fetchall()


def _wait_for(what: str, check: Callable[[], Any], workers: Workers, seconds: float = 90) -> Any:
    """Poll until `check` returns something truthy (a generous bound, not a speed assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    logs = {p.name: p.read_text(errors="replace")[-2000:] for p in workers.logs.glob("*.log")}
    pytest.fail(f"{what} did not happen; worker logs: {logs}")


def test_a_deferred_job_is_done_by_a_worker_process(queue_db: str, workers: Workers) -> None:
    app = make_app(queue_db, SCHEMA, sync=True)
    with app.open():
        job_id = app.tasks["spike.record"].defer(marker="hello")
    workers.start("w1")
    _wait_for(
        "the job",
        lambda: _rows(queue_db, "SELECT worker FROM spike_runs WHERE marker = 'hello' AND phase = 'done'"),
        workers,
    )
    status = _wait_for(
        "the job's status",
        lambda: _rows(queue_db, "SELECT status FROM procrastinate_jobs WHERE id = %s AND status = 'succeeded'", job_id),
        workers,
    )
    assert status == [("succeeded",)]
    assert _rows(queue_db, "SELECT worker, phase FROM spike_runs WHERE marker = 'hello' ORDER BY at") == [
        ("w1", "started"),
        ("w1", "done"),
    ]
    # Everything procrastinate made is in its own schema, nothing in public.
    assert _rows(queue_db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
    assert _rows(queue_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'procrastinate_jobs'") == [(1,)]


def test_a_job_whose_worker_was_killed_is_taken_up_by_another(queue_db: str, workers: Workers) -> None:
    app = make_app(queue_db, SCHEMA, sync=True)
    with app.open():
        job_id = app.tasks["spike.block"].defer(marker="stuck")
    first = workers.start("w1")
    _wait_for("the first run", lambda: _rows(queue_db, "SELECT 1 FROM spike_runs WHERE marker = 'stuck'"), workers)
    first.send_signal(signal.SIGKILL)  # mid-job: no cleanup, no goodbye to the database
    first.wait(10)
    assert _rows(queue_db, "SELECT status FROM procrastinate_jobs WHERE id = %s", job_id) == [("doing",)]
    workers.start("w2")
    done = _wait_for(
        "the job taken up again",
        lambda: _rows(queue_db, "SELECT worker FROM spike_runs WHERE marker = 'stuck' AND phase = 'done'"),
        workers,
    )
    assert done == [("w2",)]
    runs = _rows(queue_db, "SELECT worker, phase FROM spike_runs WHERE marker = 'stuck' ORDER BY at")
    assert runs == [("w1", "started"), ("w2", "started"), ("w2", "done")]
    _wait_for(
        "the job's status",
        lambda: _rows(queue_db, "SELECT 1 FROM procrastinate_jobs WHERE id = %s AND status = 'succeeded'", job_id),
        workers,
    )

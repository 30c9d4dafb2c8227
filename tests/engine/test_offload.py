"""`Engine.offload`: SQLite reads run on the event loop, a network database's in the engine's threads."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from plughub.config import Settings
from plughub.engine import Engine
from tests.servers import postgres_database

request_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_var", default="none")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        opened = Engine(Settings(home=tmp_path))
        yield opened
        opened.close()
        return
    with postgres_database() as url:
        opened = Engine(Settings(home=tmp_path), database_url=url)
        yield opened
        opened.close()


def _where(suffix: str) -> tuple[str, str]:
    return threading.current_thread().name, request_var.get() + suffix


def _reads(engine: Engine, suffix: str) -> tuple[str, str]:
    engine.store.db.ping()
    return _where(suffix)


def test_offload_runs_where_the_database_wants_it_with_the_callers_context(engine: Engine) -> None:
    calls: list[str] = []

    def counted(suffix: str) -> tuple[str, str]:
        calls.append(suffix)
        return _reads(engine, suffix)

    async def call() -> tuple[str, str]:
        request_var.set("req-7")
        return await engine.store.db.offload(counted, "!")

    thread, seen = asyncio.run(call())
    assert seen == "req-7!"  # the request's context travels (its id, for the logs)
    if engine.store.db.dialect == "sqlite":
        assert thread == threading.current_thread().name  # a local file: on the loop
        assert calls == ["!"]
    else:
        assert thread.startswith("plughub-db")  # a round trip: in the engine's threads
        assert calls == ["!", "!"]  # tried on the loop, stopped before the database, run again


def test_offload_keeps_a_call_that_reads_nothing_on_the_loop(engine: Engine) -> None:
    async def call() -> tuple[str, str]:
        request_var.set("req-8")
        return await engine.store.db.offload(_where, "?")

    thread, seen = asyncio.run(call())
    assert (thread, seen) == (threading.current_thread().name, "req-8?")  # no thread hop for nothing


def test_offload_is_not_fooled_by_a_broad_except(engine: Engine) -> None:
    def careless() -> str:
        try:
            engine.store.db.ping()
        except Exception:  # the call's own error handling must not swallow the hand-over
            return "swallowed"
        return threading.current_thread().name

    thread = asyncio.run(engine.store.db.offload(careless))
    if engine.store.db.dialect == "sqlite":
        assert thread == threading.current_thread().name
    else:
        assert thread.startswith("plughub-db")


def test_offload_raises_what_the_work_raises(engine: Engine) -> None:
    def refuse() -> None:
        raise LookupError("no such row")

    with pytest.raises(LookupError, match="no such row"):
        asyncio.run(engine.store.db.offload(refuse))


def test_close_stops_the_threads(tmp_path: Path) -> None:
    with postgres_database() as url:
        before = set(threading.enumerate())  # other engines of the test session may have theirs
        opened = Engine(Settings(home=tmp_path), database_url=url)
        asyncio.run(opened.store.db.offload(_reads, opened, ""))
        started = [t for t in threading.enumerate() if t not in before and t.name.startswith("plughub-db")]
        assert started
        opened.close()
        assert not [t for t in started if t.is_alive()]

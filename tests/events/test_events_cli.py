"""The events commands (`triggers`, `subscribe`, `subscriptions`, `events tail`, `worker`).

The commands run through click's CliRunner over the embedded engine; `plughub worker` runs as a
real process on the same PLUGHUB_HOME and delivers an event stored by this process to a loopback
target (the in-process job runner of the SQLite store).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import standardwebhooks
from click.testing import CliRunner, Result

from plughub import AuthenticationSchema, IntegrationFactory
from plughub.backends import reset_backend
from plughub.cli import cli
from tests.events.test_events_engine import POLLING, Paged, wait_for
from tests.upstream import Reply, Upstream

WIDE = {"COLUMNS": "200"}
ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> Result:
    return CliRunner(env=WIDE).invoke(cli, list(args))


@pytest.fixture
def feed() -> Iterator[Paged]:
    paged = Paged()
    yield paged
    paged.server.close()


def _connect(feed: Paged) -> str:
    IntegrationFactory.create(POLLING)
    connected = IntegrationFactory.get("acme-feed").connect(
        AuthenticationSchema.NO_AUTH, data={"base_url": feed.server.url}
    )
    return str(connected.data["id"])


def test_triggers_subscribe_tail_and_delete(feed: Paged) -> None:
    conn = _connect(feed)
    listed = invoke("triggers", conn)
    assert listed.exit_code == 0, listed.output
    assert "ACME_FEED_NEW_ITEM" in listed.output and "poll" in listed.output
    created = invoke("subscribe", conn, "ACME_FEED_NEW_ITEM", "--json")
    assert created.exit_code == 0, created.output
    sub = json.loads(created.output)
    assert sub["secret"].startswith("whsec_")
    shown = invoke("subscriptions", "list")
    assert sub["id"] in shown.output and sub["secret"] not in shown.output
    detail = invoke("subscriptions", "show", sub["id"])
    assert detail.exit_code == 0 and sub["secret"] not in detail.output
    from plughub.backends import get_backend

    backend = get_backend()
    backend.poll_subscription(sub["id"])
    feed.items.append({"id": 42, "title": "the answer"})
    backend.poll_subscription(sub["id"])
    tailed = invoke("events", "tail", sub["id"], "--no-follow", "--json")
    assert tailed.exit_code == 0, tailed.output
    (line,) = tailed.output.strip().splitlines()
    assert json.loads(line)["data"] == {"id": 42, "title": "the answer"}
    bad = invoke("subscribe", conn, "ACME_FEED_NOPE")
    assert bad.exit_code == 1 and "no trigger" in bad.output and "Traceback" not in bad.output
    unknown = invoke("subscriptions", "delete", "sub_nope")
    assert unknown.exit_code == 1 and "No subscription" in unknown.output
    gone = invoke("subscriptions", "delete", sub["id"])
    assert gone.exit_code == 0 and "Deleted subscription" in gone.output
    assert "Subscriptions" in invoke("subscriptions", "list").output


def test_subscribe_config_is_typed_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.providers.double import ProviderDouble

    double = ProviderDouble("github")
    try:
        connected = IntegrationFactory.get("github").connect(
            AuthenticationSchema.BEARER_TOKEN, data={"token": "ghp_t", "base_url": double.url}
        )
        conn = str(connected.data["id"])
        missing = invoke("subscribe", conn, "GITHUB_PUSH", "--config", "owner=o")
        assert missing.exit_code == 1 and "repo" in missing.output
        made = invoke("subscribe", conn, "GITHUB_PUSH", "-c", "owner=o", "-c", "repo=r")
        assert made.exit_code == 0, made.output
        assert "registered at the provider" in made.output and "whsec_" in made.output
        assert len(double.hooks) == 1
    finally:
        double.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """No URL (SQLite under PLUGHUB_HOME), or a fresh PostgreSQL database (procrastinate runs the jobs)."""
    if request.param == "sqlite":
        yield None
        return
    from tests.servers import postgres_database

    with postgres_database() as url:
        monkeypatch.setenv("PLUGHUB_DATABASE_URL", url)
        yield url


def test_plughub_worker_delivers_what_another_process_stored(feed: Paged, home: Path, database_url: str | None) -> None:
    from plughub.backends import EmbeddedBackend, set_backend
    from plughub.config import Settings
    from plughub.engine import Engine
    from plughub.schemas import SubscribeRequest

    target = Upstream()
    target.route("POST", "/hook", Reply(200, {}))
    engine = Engine(Settings.from_env(), database_url=database_url)
    set_backend(EmbeddedBackend(engine=engine))
    try:
        conn = _connect(feed)
        subs = engine.events.subscriptions
        sub = subs.subscribe(conn, SubscribeRequest(trigger="ACME_FEED_NEW_ITEM", target_url=f"{target.url}/hook"))
        engine.events.poll_now(sub.id)
        feed.items.append({"id": 99, "title": "late"})
        (event,) = engine.events.poll_now(sub.id)  # stored, pending: no worker runs in this process
        assert subs.deliveries(sub.id, "pending")
    finally:
        reset_backend()
        engine.close()
    env = {**os.environ, "PLUGHUB_HOME": str(home), "PLUGHUB_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "plughub.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        seen = wait_for(lambda: target.seen[0] if target.seen else None, timeout=60)
        assert sub.secret is not None
        message = standardwebhooks.Webhook(sub.secret).verify(seen.body, seen.headers)
        assert message["id"] == event.id and message["data"] == {"id": 99, "title": "late"}
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=90)[0].decode()
        target.close()
    assert proc.returncode == 0, output
    assert "worker stopped" in output

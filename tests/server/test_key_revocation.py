"""A revoked API key is refused at once by every worker, although live keys are kept in memory.

`plughub serve --workers 2` runs as a real process on SQLite and on PostgreSQL, with
`PLUGHUB_CACHE_TTL=600` so that only the revocation watch (not the TTL) can make a worker forget a
key. Many keep-alive clients warm both workers' memory of the key on the run route (the one that
keeps keys), `plughub api-keys revoke` runs as its own process, and then each client, on the
connection it already holds, must get 401 on its very next request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.server.test_workers import _held, _listening, _workers, linux
from tests.servers import free_port, postgres_database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 24  # over two SO_REUSEPORT sockets: both workers get some (checked below)
RUN = "/v1/connections/conn_missing/actions/ANY/run"


def _env(home: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGHUB_")}
    env.update(PLUGHUB_HOME=str(home), PLUGHUB_CACHE_TTL="600")
    if database_url:
        env["PLUGHUB_DATABASE_URL"] = database_url
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "plughub.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def _serving(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[int, list[int]]]:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "plughub.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(process.pid, port, 2):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"plughub serve did not start:\n{(tmp_path / 'serve.log').read_text()[-3000:]}")
            time.sleep(0.1)
        yield port, _workers(process.pid)
    finally:
        process.terminate()
        process.wait(30)
        log.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    with postgres_database() as url:
        yield url


@linux
def test_a_revoked_key_is_refused_at_once_by_every_worker(tmp_path: Path, database_url: str | None) -> None:
    env = _env(tmp_path / "home", database_url)
    team = json.loads(_cli(env, "teams", "create", "acme", "--json"))["id"]
    made = json.loads(_cli(env, "api-keys", "create", "--team", team, "--json"))
    other = json.loads(_cli(env, "api-keys", "create", "--team", team, "--name", "other", "--json"))
    with _serving(env, tmp_path) as (port, pids), ExitStack() as stack:
        clients = [
            stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)) for _ in range(CLIENTS)
        ]
        key = {"Authorization": f"Bearer {made['key']}"}
        for _round in range(3):  # the key is known (and kept) by whichever worker holds each connection
            for client in clients:
                answer = client.post(RUN, json={"inputs": {}}, headers=key)
                assert answer.status_code == 404, answer.text  # past the key check: no such connection
        assert all(_held(pids, port).values()), "both workers must hold some of the clients' connections"

        _cli(env, "api-keys", "revoke", made["id"])

        for client in clients:  # each on the connection (and so the worker) that kept the key
            answer = client.post(RUN, json={"inputs": {}}, headers=key)
            assert answer.status_code == 401, answer.text
            assert answer.json()["error"] == "unauthorized"
        # Another key of the team is not affected.
        assert clients[0].post(RUN, json={}, headers={"X-Api-Key": other["key"]}).status_code == 404

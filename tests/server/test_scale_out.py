"""Two server processes on one PostgreSQL database behave as one server.

Replicas A and B are real `uvicorn plughub.server.app:app_from_env --factory` processes sharing
PLUGHUB_HOME (its master.key) and PLUGHUB_DATABASE_URL; the OAuth callback URL is B's. An OAuth
flow started on A completes on B, and a storm of calls split across both refreshes a stale token
once (the row lock of `lock_credentials`, `SELECT ... FOR UPDATE`). The replicas are started once
for the module; each test brings its own sandbox and connection.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from plughub.config import Settings
from plughub.engine import Engine
from plughub.sandbox import SandboxServer, give_consent
from tests.servers import free_port, postgres_database

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "scale-out-client"
CLIENT_SECRET = "secret-scale-out-client-8d6b4f2a0c9e"
CALLS = 100


@dataclass
class Replica:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    handle: IO[bytes]

    def tail(self) -> str:
        self.handle.flush()
        return self.log.read_text(errors="replace")[-3000:]


def _start(name: str, port: int, env: dict[str, str], logs: Path) -> Replica:
    log = logs / f"replica-{name}.log"
    handle = log.open("wb")
    command = [sys.executable, "-m", "uvicorn", "plughub.server.app:app_from_env", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    return Replica(name, f"http://127.0.0.1:{port}", process, log, handle)


def _wait_healthy(replica: Replica, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            pytest.fail(f"replica {replica.name} exited with {replica.process.returncode}:\n{replica.tail()}")
        try:
            if httpx.get(f"{replica.url}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"replica {replica.name} did not answer /v1/health in {timeout} s:\n{replica.tail()}")


def _stop(replica: Replica) -> None:
    if replica.process.poll() is None:
        replica.process.terminate()
        try:
            replica.process.wait(15)
        except subprocess.TimeoutExpired:
            replica.process.kill()
            replica.process.wait(5)
    replica.handle.close()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replicas") / "home"


@pytest.fixture(scope="module")
def team_key(shared_home: Path, database: str) -> str:
    """A team and its API key, made directly in the shared database; also creates <home>/master.key."""
    engine = Engine(Settings(home=shared_home), database_url=database)
    try:
        engine.credentials.active_key_id  # noqa: B018 - creates the master key file and the first data key
        engine.teams.create_team("Acme", team_id="acme")
        _record, key = engine.teams.create_api_key("acme", "scale-out tests")
    finally:
        engine.close()
    assert (shared_home / "master.key").is_file()
    return key


@pytest.fixture(scope="module")
def replicas(shared_home: Path, database: str, team_key: str) -> Iterator[tuple[Replica, Replica]]:
    port_a, port_b = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGHUB_")}
    env.update(
        PLUGHUB_HOME=str(shared_home),
        PLUGHUB_DATABASE_URL=database,
        PLUGHUB_CALLBACK_URL=f"http://127.0.0.1:{port_b}/oauth/callback",
        PLUGHUB_ALLOW_PRIVATE_NETWORKS="127.0.0.0/8",
        PLUGHUB_RETRY_MAX_WAIT="0.2",
    )
    started: list[Replica] = []
    try:
        for name, port in (("A", port_a), ("B", port_b)):
            started.append(_start(name, port, env, shared_home.parent))
        for replica in started:
            _wait_healthy(replica)
        yield started[0], started[1]
    finally:
        for replica in started:
            _stop(replica)


@pytest.fixture
def clients(
    replicas: tuple[Replica, Replica], team_key: str, sandbox: SandboxServer
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """API clients of A and B; the sandbox knows the OAuth client, whose callback is B's."""
    a, b = replicas
    sandbox.register_oauth_client(CLIENT_ID, CLIENT_SECRET, f"{b.url}/oauth/callback")
    with _client(a, team_key) as api_a, _client(b, team_key) as api_b:
        stored = api_a.put(
            "/v1/integrations/sandbox/oauth-app", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        )
        assert stored.status_code == 200, stored.text
        assert api_b.get("/v1/integrations/sandbox/oauth-app").json()["client_id"] == CLIENT_ID
        yield api_a, api_b
    for replica in (a, b):
        assert replica.process.poll() is None, replica.tail()


def _client(replica: Replica, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=replica.url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
        limits=httpx.Limits(max_connections=CALLS, max_keepalive_connections=CALLS),
    )


def _whoami(api: httpx.Client, connection_id: str) -> httpx.Response:
    return api.post(f"/v1/connections/{connection_id}/actions/SANDBOX_WHOAMI/run", json={"inputs": {}})


def _authorize_on_a_complete_on_b(
    api_a: httpx.Client, b: Replica, sandbox: SandboxServer, end_user: str
) -> tuple[str, str]:
    started = api_a.post(
        "/v1/connections",
        json={"integration_id": "sandbox", "scheme": "OAUTH2", "end_user_id": end_user, "data": {"port": sandbox.port}},
    )
    assert started.status_code == 201, started.text
    assert started.json()["status"] == "pending"
    location = give_consent(started.json()["redirect_url"])
    assert location.startswith(f"{b.url}/oauth/callback?"), location
    callback = httpx.get(location, timeout=15)
    assert callback.status_code == 200, callback.text
    assert "Connected" in callback.text
    return str(started.json()["id"]), location


def test_an_oauth_flow_started_on_a_completes_on_b(
    replicas: tuple[Replica, Replica], clients: tuple[httpx.Client, httpx.Client], sandbox: SandboxServer
) -> None:
    a, b = replicas
    api_a, api_b = clients
    connection_id, location = _authorize_on_a_complete_on_b(api_a, b, sandbox, "user-7")
    seen_from_a = api_a.get(f"/v1/connections/{connection_id}")
    assert seen_from_a.status_code == 200
    assert seen_from_a.json()["status"] == "active"
    assert seen_from_a.json()["end_user_id"] == "user-7"
    assert CLIENT_SECRET not in seen_from_a.text
    for api in (api_a, api_b):
        answer = _whoami(api, connection_id)
        assert answer.json()["data"] == {"scheme": "OAUTH2", "user": "demo"}, answer.text
    assert sandbox.oauth2.token_requests == {"authorization_code": 1}

    # The state is single use on every replica: replaying the callback on A fails without harm.
    replayed = httpx.get(location.replace(b.url, a.url, 1), timeout=15)
    assert replayed.status_code == 400, replayed.text
    assert "already completed" in replayed.text
    assert api_a.get(f"/v1/connections/{connection_id}").json()["status"] == "active"
    assert sandbox.oauth2.token_requests == {"authorization_code": 1}
    listed = api_a.get("/v1/connections", params={"end_user_id": "user-7"}).json()
    assert [c["id"] for c in listed["results"]] == [connection_id]


def test_a_stale_token_is_refreshed_once_across_replicas(
    replicas: tuple[Replica, Replica], clients: tuple[httpx.Client, httpx.Client], sandbox: SandboxServer
) -> None:
    _a, b = replicas
    api_a, api_b = clients
    connection_id, _location = _authorize_on_a_complete_on_b(api_a, b, sandbox, "user-8")
    assert _whoami(api_b, connection_id).json()["status"] == "SUCCESS"

    sandbox.oauth2.revoke_all_access_tokens()  # every call gets a 401 with the old token
    barrier = threading.Barrier(CALLS)
    results: list[Any] = [None] * CALLS

    def call(index: int) -> None:
        api = api_a if index % 2 == 0 else api_b
        barrier.wait()
        try:
            answer = _whoami(api, connection_id)
            results[index] = (answer.status_code, answer.json())
        except Exception as exc:
            results[index] = (0, f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)

    requests = dict(sandbox.oauth2.token_requests)
    problems = [r for r in results if r is None or r[0] != 200 or r[1].get("status") != "SUCCESS"]
    assert problems == [], f"{len(problems)} of {CALLS} failed, e.g. {problems[:2]}; token requests {requests}"
    assert all(r[1]["data"] == {"scheme": "OAUTH2", "user": "demo"} for r in results)
    assert requests["refresh_token"] == 1, requests
    assert requests == {"authorization_code": 1, "refresh_token": 1}
    assert api_b.get(f"/v1/connections/{connection_id}").json()["status"] == "active"

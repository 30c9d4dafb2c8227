"""`plughub serve --workers 2`: `/metrics` shows one view whichever worker answers, dead workers included.

The server is a real process (`python -m plughub.cli serve`); PROMETHEUS_MULTIPROC_DIR is set to a
directory of the test's, under which the server makes the fresh directory of this start, so the
test can read each worker's own file (with prometheus-client's collector, one file at a time)
and see the directory removed when the server stops.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from plughub.config import Settings
from plughub.engine import Engine
from plughub.sandbox import SandboxServer
from plughub.server.workers import reuse_port_spreads
from tests.conftest import CANARIES, CANARY_API_KEY
from tests.server.test_metrics import samples, value
from tests.server.test_workers import _wait_until, _workers
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
RUNS = 24
RUNS_TOTAL = "plughub_action_runs_total"


def _serve(tmp_path: Path, home: Path, parent: Path, token: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGHUB_")}
    env.update(
        PLUGHUB_HOME=str(home),
        PLUGHUB_ALLOW_PRIVATE_NETWORKS="127.0.0.0/8",
        PLUGHUB_METRICS_TOKEN=token,
        PROMETHEUS_MULTIPROC_DIR=str(parent),
    )
    log = (tmp_path / "serve.log").open("wb")
    command = [sys.executable, "-m", "plughub.cli", "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return process, f"http://127.0.0.1:{port}"


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, str, str, Path]]:
    if not reuse_port_spreads():
        pytest.skip("the supervisor of `--workers 2` runs on Linux (SO_REUSEPORT)")
    home = tmp_path / "home"
    engine = Engine(Settings(home=home))
    try:
        team = engine.teams.create_team("metrics")
        assert team is not None
        _record, key = engine.teams.create_api_key(team.id, "tests")
    finally:
        engine.close()
    parent = tmp_path / "multiproc"
    parent.mkdir()
    token = "metrics-" + secrets.token_urlsafe(16)
    process, url = _serve(tmp_path, home, parent, token)
    try:
        _wait_until(lambda: len(_workers(process.pid)) == 2 and _healthy(url), process, tmp_path)
        yield process, url, key, token, parent
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


def _run(url: str, key: str, connection_id: str) -> None:
    # A new connection each time, so that the kernel spreads the runs over both workers.
    answer = httpx.post(
        f"{url}/v1/connections/{connection_id}/actions/SANDBOX_WHOAMI/run",
        json={"inputs": {}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=20,
    )
    assert answer.json()["status"] == "SUCCESS", answer.text


def _scrape(url: str, token: str) -> str:
    answer = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=20)
    assert answer.status_code == 200, answer.text
    return answer.text


def _per_worker(directory: Path, tmp_path: Path) -> dict[str, float]:
    """Each worker's own count of SANDBOX_WHOAMI runs, read from its file alone."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        alone = tmp_path / f"alone-{path.stem}"
        alone.mkdir()
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts[path.stem] = sum(
            s.value
            for family in registry.collect()
            for s in family.samples
            if s.name == RUNS_TOTAL and s.labels.get("action") == "SANDBOX_WHOAMI"
        )
    return counts


def test_counts_add_up_across_workers_and_survive_a_dead_one(
    served: tuple[subprocess.Popen[bytes], str, str, str, Path], sandbox: SandboxServer, tmp_path: Path
) -> None:
    process, url, key, token, parent = served
    body = {"integration_id": "sandbox", "scheme": "API_KEY", "data": {"api_key": CANARY_API_KEY, "port": sandbox.port}}
    created = httpx.post(f"{url}/v1/connections", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=20)
    assert created.status_code == 201, created.text
    connection_id = created.json()["id"]
    for _ in range(RUNS):
        _run(url, key, connection_id)

    (directory,) = parent.iterdir()  # the fresh directory of this start
    assert directory.name.startswith("plughub-metrics-")
    per_worker = _per_worker(directory, tmp_path)
    assert sum(per_worker.values()) == RUNS
    assert len([c for c in per_worker.values() if c > 0]) == 2, per_worker  # both workers ran some

    # Whichever worker answers the scrape, it reports every worker's runs.
    for _ in range(8):
        text = _scrape(url, token)
        found = samples(text)
        assert value(found, RUNS_TOTAL, integration="sandbox", action="SANDBOX_WHOAMI", status="SUCCESS") == RUNS
        count = value(found, "plughub_upstream_latency_seconds_count", integration="sandbox", action="SANDBOX_WHOAMI")
        assert count == RUNS
        assert value(found, "plughub_connections", integration="sandbox", status="active") == 1
        assert connection_id not in text and key not in text and token not in text
        for canary in CANARIES:
            assert canary not in text
    assert httpx.get(f"{url}/metrics", timeout=20).status_code == 401

    # A worker killed: its runs still count, and its replacement's add to them.
    victim = _workers(process.pid)[0]
    os.kill(victim, signal.SIGKILL)
    _wait_until(lambda: victim not in _workers(process.pid) and len(_workers(process.pid)) == 2, process, tmp_path)
    deadline = time.monotonic() + 30
    while not _healthy(url) and time.monotonic() < deadline:
        time.sleep(0.1)
    for _ in range(RUNS):
        _run(url, key, connection_id)
    for _ in range(4):
        found = samples(_scrape(url, token))
        assert value(found, RUNS_TOTAL, integration="sandbox", action="SANDBOX_WHOAMI", status="SUCCESS") == 2 * RUNS

    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    assert not directory.exists()  # removed when the server stopped
    assert parent.exists()  # the operator's directory stays

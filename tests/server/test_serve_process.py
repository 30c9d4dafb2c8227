"""`plughub serve` as a process: a busy port, the links it gives, and how it stops.

Each test runs `python -m plughub.cli serve` on a free loopback port with its own PLUGHUB_HOME,
and reads what the process writes on stderr.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from plughub.cli import cli
from tests.servers import free_port

pytestmark = pytest.mark.slow


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    stderr: Path

    def output(self) -> str:
        return self.stderr.read_text(errors="replace")

    def lines(self) -> list[str]:
        return self.output().splitlines()

    def log_messages(self) -> list[str]:
        return [json.loads(line)["message"] for line in self.lines() if line.startswith("{")]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(30)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGHUB_")}
    env.update(PLUGHUB_HOME=str(home), **extra)
    return env


def _serve(home: Path, tmp: Path, *args: str, **env: str) -> Served:
    port = free_port()
    stderr = tmp / f"serve-{port}.log"
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "plughub.cli", "serve", "--port", str(port), *args],
            env=_env(home, **env),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    served = Served(f"http://127.0.0.1:{port}", process, stderr)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, served.output()
        try:
            if httpx.get(f"{served.url}/v1/health", timeout=1).status_code == 200:
                return served
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"plughub serve did not answer in 60 s:\n{served.output()}")


@pytest.fixture
def started(home: Path, tmp_path: Path) -> Iterator[list[Served]]:
    processes: list[Served] = []
    yield processes
    for served in processes:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(10)


def _team_key(home: Path) -> str:
    runner = CliRunner()
    assert runner.invoke(cli, ["teams", "create", "acme"]).exit_code == 0
    made = runner.invoke(cli, ["api-keys", "create", "--team", "acme", "--json"])
    assert made.exit_code == 0, made.output
    return str(json.loads(made.stdout)["key"])


def test_a_busy_port_is_one_error_line(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "plughub.cli", "serve", "--port", str(port)],
            env=_env(home),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: address already in use; stop what uses it, or choose another --port"
    ]
    assert done.stdout == ""


def test_links_use_the_bound_port_and_sigterm_stops_cleanly(home: Path, tmp_path: Path, started: list[Served]) -> None:
    key = _team_key(home)
    served = _serve(home, tmp_path)
    started.append(served)
    assert served.lines()[:2] == [
        f"plughub serving on {served.url} (API docs at /docs)",
        f"Connect links and OAuth callbacks use {served.url}, which only this machine can open; "
        "set PLUGHUB_PUBLIC_URL to the address people reach the server at.",
    ]
    created = httpx.post(
        f"{served.url}/v1/connect-sessions",
        json={"integration_id": "sandbox", "schemes": ["API_KEY"]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["url"].startswith(f"{served.url}/connect/")
    assert httpx.get(f"{served.url}/v1/health", headers={"X-Request-Id": "last-one"}).status_code == 200
    # At once: the request's log line is still in its batch when the signal comes.
    assert served.stop(signal.SIGTERM) == 0, served.output()
    assert "GET /v1/health -> 200" in " ".join(served.log_messages()), served.output()
    assert served.log_messages()[-1].startswith("Finished server process"), served.output()
    assert "Traceback" not in served.output()


def test_a_public_url_is_used_as_given(home: Path, tmp_path: Path, started: list[Served]) -> None:
    key = _team_key(home)
    served = _serve(home, tmp_path, PLUGHUB_PUBLIC_URL="https://hub.example.com")
    started.append(served)
    assert not any("only this machine" in line for line in served.lines())
    created = httpx.post(
        f"{served.url}/v1/connect-sessions",
        json={"integration_id": "sandbox"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert created.json()["url"].startswith("https://hub.example.com/connect/")
    assert served.stop(signal.SIGINT) == 0


def test_sigterm_with_workers_loses_no_log_line(home: Path, tmp_path: Path, started: list[Served]) -> None:
    served = _serve(home, tmp_path, "--workers", "2")
    started.append(served)
    for index in range(5):
        assert httpx.get(f"{served.url}/v1/health", headers={"X-Request-Id": f"req-{index}"}).status_code == 200
    assert served.stop(signal.SIGTERM) == 0, served.output()
    ids = {json.loads(line).get("request_id") for line in served.lines() if line.startswith("{")}
    assert {f"req-{index}" for index in range(5)} <= ids, served.output()
    # Each worker's last lines, logged just before its supervisor's SIGTERM ends it.
    finished = [m for m in served.log_messages() if m.startswith("Finished server process")]
    assert len(finished) == 2, served.output()

"""`plughub serve` and `plughub worker` as real processes on one database, for the durability tests.

A `Hub` has its own PLUGHUB_HOME (SQLite there, or the PostgreSQL database it is given), a team
and an API key made with the CLI, and starts, kills and restarts its processes by name. Every
process writes its output to a log under the hub's directory; a failure shows its end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
# Deliveries to a target that is down are tried again after a second, many times over, so that
# a test waits on the target coming back and never on the default schedule (5 s, 30 s, ...).
FAST_RETRIES = ",".join(["1"] * 40)


class Hub:
    """Processes of one plughub deployment; `api` talks to the last `serve` started."""

    def __init__(self, root: Path, database_url: str | None = None, **env: str) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGHUB_")}
        self.env.update(
            PLUGHUB_HOME=str(self.home),
            PLUGHUB_ALLOW_PRIVATE_NETWORKS="127.0.0.1/32",
            PLUGHUB_DELIVERY_RETRY_DELAYS=FAST_RETRIES,
            # A killed process's claimed deliveries are taken again after 3 x this (9 s, not 30 s).
            PLUGHUB_DELIVERY_TIMEOUT="3",
        )
        if database_url:
            self.env["PLUGHUB_DATABASE_URL"] = database_url
        self.env.update(env)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # One port for the life of the hub: webhook URLs (PLUGHUB_PUBLIC_URL) stay valid across restarts.
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env.setdefault("PLUGHUB_PUBLIC_URL", self.url)
        self.key = ""
        self._api: httpx.Client | None = None

    # --- the CLI --------------------------------------------------------------------------------

    def cli(self, *args: str) -> dict[str, Any]:
        """Run `plughub ARGS --json` and return what it printed."""
        done = subprocess.run(
            [sys.executable, "-m", "plughub.cli", *args, "--json"],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise AssertionError(f"plughub {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return dict(json.loads(done.stdout))

    def make_team(self) -> str:
        """Create a team and an API key for it; return the key (also kept for `api`)."""
        team = self.cli("teams", "create", "durability")
        self.key = str(self.cli("api-keys", "create", "--team", team["id"])["key"])
        return self.key

    # --- processes ------------------------------------------------------------------------------

    def _start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "plughub.cli", *command],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group, so that kill() reaches its children too
        )
        log.close()
        self.processes[name] = process
        return process

    def serve(self, name: str = "serve", *options: str) -> str:
        """Start `plughub serve` on the hub's port and wait until it answers."""
        process = self._start(name, ["serve", "--port", str(self.port), *options])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{self.log(name)}")
            with suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return self.url
            time.sleep(0.1)
        raise AssertionError(f"{name} did not answer in 90 s:\n{self.log(name)}")

    def worker(self, name: str = "worker", *options: str) -> subprocess.Popen[bytes]:
        """Start `plughub worker`."""
        return self._start(name, ["worker", *options])

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Send `sig` (SIGKILL by default: no clean-up at all) and wait for the process to end."""
        process = self.processes[name]
        with suppress(ProcessLookupError):
            # The whole group: `serve --workers N` has children that a SIGKILL of the parent orphans.
            os.killpg(process.pid, sig)
        code = process.wait(60)
        if self._api is not None and name.startswith("serve"):
            self._api.close()
            self._api = None
        return code

    def alive(self, name: str) -> bool:
        """Whether the process still runs."""
        return self.processes[name].poll() is None

    def log(self, name: str) -> str:
        """The end of a process's log."""
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"

    def close(self) -> None:
        """Kill whatever still runs."""
        if self._api is not None:
            self._api.close()
        for process in self.processes.values():
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)

    # --- the REST API ---------------------------------------------------------------------------

    @property
    def api(self) -> httpx.Client:
        """A client of the running server, with the team's key."""
        if self._api is None:
            self._api = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30)
        return self._api

    def call(self, method: str, path: str, expect: int | tuple[int, ...] = (200, 201), **kwargs: Any) -> Any:
        """Call the API and check the status (one of `expect`); return the JSON answer."""
        answer = self.api.request(method, path, **kwargs)
        if answer.status_code not in ((expect,) if isinstance(expect, int) else expect):
            raise AssertionError(f"{method} {path}: {answer.status_code} (wanted {expect}): {answer.text[:1000]}")
        return answer.json() if answer.content else None

    def events(self, subscription: str) -> list[dict[str, Any]]:
        """Every stored event of a subscription, through `GET /v1/subscriptions/{id}/events` (all pages)."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["after"] = after
            page = _results(self.call("GET", f"/v1/subscriptions/{subscription}/events", params=params))
            found += page
            if len(page) < 100:
                return found
            after = page[-1]["id"]

    def deliveries(self, subscription: str) -> list[dict[str, Any]]:
        """The deliveries of a subscription, through `GET /v1/subscriptions/{id}/deliveries`."""
        return _results(self.call("GET", f"/v1/subscriptions/{subscription}/deliveries", params={"limit": 1000}))

    def wait_for(self, condition: Callable[[], bool], what: str, deadline: float = 180.0) -> None:
        """Wait until `condition()` holds, or fail after `deadline` seconds with the processes' logs."""
        until = time.monotonic() + deadline
        while not condition():
            if time.monotonic() > until:
                logs = "\n".join(f"--- {n}:\n{self.log(n)}" for n in self.processes)
                raise AssertionError(f"gave up after {deadline:g} s waiting for {what}\n{logs}")
            time.sleep(0.2)


def _results(answer: Any) -> list[dict[str, Any]]:
    """A list answer, bare or as `{"results": [...]}`."""
    if isinstance(answer, dict):
        for key in ("results", "events", "deliveries", "data"):
            if isinstance(answer.get(key), list):
                return list(answer[key])
    return list(answer)


@contextmanager
def hub(root: Path, database_url: str | None = None, **env: str) -> Iterator[Hub]:
    """A `Hub` with a team and key made, whose processes are killed at the end."""
    made = Hub(root, database_url, **env)
    try:
        made.make_team()
        yield made
    finally:
        made.close()

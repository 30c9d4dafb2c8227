"""B3: refresh storm, 100 callers in 2 processes on an expired OAuth 2.0 token.

The sandbox (plughub.sandbox.SandboxServer, whose OAuth 2.0 provider is built on Authlib's server
side) issues a token through a real consent; the stored token is then marked expired (as the
tests do: the provider still accepts it, plughub believes it must refresh). Two fresh processes
open their own engine on the same PLUGHUB_HOME, start 50 threads each on a barrier, and each
thread runs `SANDBOX_WHOAMI` once. Reported: refresh requests at the provider per storm (must be
1) and the time from "go" until every call has succeeded; the baseline is the same storm on a
token that is still valid (no refresh).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bench.common import ROOT, Result, child_env

NAME = "refresh"
PROCESSES = 2
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-client-secret-4e6a8c0b2d"

_CHILD = """
import json, sys, threading, time
from plughub.engine import Engine
from plughub.enums import ResponseStatus

connection_id, threads = sys.argv[1], int(sys.argv[2])
engine = Engine()
engine.credentials.active_key_id
engine.oauth_apps.app("sandbox")
engine.connections.get(connection_id)
print("ready", flush=True)
sys.stdin.readline()
started = time.perf_counter()
barrier = threading.Barrier(threads)
ok, problems = [], []

def call():
    barrier.wait()
    try:
        result = engine.actions.run(connection_id, "SANDBOX_WHOAMI")
    except Exception as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
        return
    if result.status is ResponseStatus.SUCCESS and result.data.get("scheme") == "OAUTH2":
        ok.append(1)
    else:
        problems.append(f"{result.error_code}: {result.error_message}")

workers = [threading.Thread(target=call) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
elapsed = time.perf_counter() - started
engine.close()
print(json.dumps({"ok": len(ok), "problems": problems[:5], "seconds": elapsed}), flush=True)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _storm(connection_id: str, threads: int, env: dict[str, str]) -> float:
    """Run one storm in fresh processes; return the seconds until the last call succeeded."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, connection_id, str(threads)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(
                    f"a storm process did not start: {process.stderr.read() if process.stderr else line}"
                )
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _err in outputs]
    problems = [p for r in reports for p in r["problems"]]
    if problems or sum(r["ok"] for r in reports) != PROCESSES * threads:
        raise RuntimeError(f"not every call succeeded: {problems[:5]}")
    return float(max(r["seconds"] for r in reports))


def _authorize(engine: Any, sandbox_port: int) -> str:
    from plughub.enums import AuthenticationSchema
    from plughub.sandbox import give_consent
    from plughub.schemas import ConnectRequest

    engine.oauth_apps.set("sandbox", CLIENT_ID, CLIENT_SECRET)
    started = engine.connections.create(
        ConnectRequest(integration_id="sandbox", scheme=AuthenticationSchema.OAUTH2, data={"port": sandbox_port})
    )
    location = give_consent(started.redirect_url)
    return str(engine.connections.complete_authorization(dict(parse_qsl(urlsplit(location).query))).id)


def _expire(engine: Any, connection_id: str) -> None:
    """Mark the stored access token expired (the provider still accepts it), as tests/oauth do."""
    data = {**engine.credentials.read(connection_id), "expires_at": time.time() - 30}
    engine.credentials.write(
        lambda seal: engine.store.credentials.put(connection_id, seal(connection_id, data), connection_id=connection_id)
    )


def run(quick: bool) -> Result:
    from plughub.config import Settings
    from plughub.engine import Engine
    from plughub.sandbox import SandboxCredentials, SandboxServer

    threads = 50
    repeat = 1 if quick else 5
    result = Result(
        "B3 refresh storm (100 callers, 2 processes, expired OAuth 2.0 token)", command="python -m bench refresh"
    )
    callback = f"http://127.0.0.1:{_free_port()}/oauth/callback"
    credentials = SandboxCredentials(api_key="bench-key", token="bench-token", password="bench-password")
    with tempfile.TemporaryDirectory() as home, SandboxServer(credentials) as sandbox:
        sandbox.register_oauth_client(CLIENT_ID, CLIENT_SECRET, callback)
        engine = Engine(Settings(home=Path(home), callback_url=callback))
        env = child_env(PLUGHUB_HOME=home, PLUGHUB_CALLBACK_URL=callback)
        try:
            connection_id = _authorize(engine, sandbox.port)
            storms, calm, refreshes = [], [], []
            for _ in range(repeat):
                calm.append(_storm(connection_id, threads, env))
                before = sandbox.oauth2.token_requests.get("refresh_token", 0)
                _expire(engine, connection_id)
                storms.append(_storm(connection_id, threads, env))
                refreshes.append(sandbox.oauth2.token_requests.get("refresh_token", 0) - before)
        finally:
            engine.close()
    storm, base = statistics.median(storms), statistics.median(calm)
    result.add("callers", f"{PROCESSES} processes x {threads} threads, {repeat} storm(s) and as many calm runs")
    result.add("refresh requests at the provider per storm", ", ".join(str(r) for r in refreshes))
    result.add("expired token: time until all 100 calls succeeded", f"{storm * 1000:8.0f} ms")
    result.add("valid token (baseline): time until all 100 calls succeeded", f"{base * 1000:8.0f} ms")
    result.ratio("storm / valid-token time", storm / base)
    result.check("B3 refresh requests per storm (most seen)", max(refreshes), 1, "requests")
    if any(r != 1 for r in refreshes):
        raise RuntimeError(f"a storm made {refreshes} refresh requests; exactly 1 each is required")
    result.note("the sandbox upstream is http.server (one thread per connection), so both times include its cost")
    return result

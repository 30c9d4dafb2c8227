"""One refresh for a storm of callers: 2 processes x 50 threads on the same PLUGHUB_HOME."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from plughub.engine import Engine
from plughub.enums import AuthenticationSchema
from plughub.modules.model.integration import Integration
from plughub.sandbox import SandboxServer
from tests.oauth.conftest import authorize, expire_stored_token, stored_credentials

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 2
THREADS = 50

# Each process opens its own engine from the environment (PLUGHUB_HOME, the shared master.key),
# warms up, says "ready", and waits for "go" on stdin; then its threads start together.
SCRIPT = """
import json, sys, threading
from plughub.engine import Engine
from plughub.enums import ResponseStatus

connection_id, threads = sys.argv[1], int(sys.argv[2])
engine = Engine()
engine.credentials.active_key_id
engine.oauth_apps.app("sandbox")
engine.connections.get(connection_id)
print("ready", flush=True)
sys.stdin.readline()
barrier = threading.Barrier(threads)
ok, problems = [], []

def call():
    barrier.wait()
    try:
        result = engine.actions.run(connection_id, "SANDBOX_WHOAMI")
    except Exception as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
        return
    if result.status is ResponseStatus.SUCCESS and result.data == {"scheme": "OAUTH2", "user": "demo"}:
        ok.append(1)
    else:
        problems.append(f"{result.error_code}: {result.error_message}")

workers = [threading.Thread(target=call) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
engine.close()
print(json.dumps({"ok": len(ok), "problems": problems[:5]}), flush=True)
"""


@pytest.mark.parametrize("why", ["expired", "401"])
def test_a_hundred_callers_in_two_processes_refresh_once(
    engine: Engine, integ: Integration, sb: SandboxServer, why: str
) -> None:
    tool = authorize(integ, AuthenticationSchema.OAUTH2, port=sb.port)
    old = stored_credentials(engine, tool.id)
    if why == "expired":
        expire_stored_token(engine, tool.id)  # plughub refreshes before calling
    else:
        sb.oauth2.revoke_all_access_tokens()  # every caller gets a 401 with the old token
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, tool.id, str(THREADS)],
            cwd=ROOT,
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
            assert line == "ready", process.stderr.read() if process.stderr else line
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=60) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    reports = []
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["problems"] for r in reports] == [[]] * PROCESSES
    assert sum(r["ok"] for r in reports) == PROCESSES * THREADS
    assert sb.oauth2.token_requests == {"authorization_code": 1, "refresh_token": 1}
    new = stored_credentials(engine, tool.id)
    assert new["access_token"] != old["access_token"]
    assert new["refresh_token"] != old["refresh_token"]  # the rotated one was stored
    assert tool.run("SANDBOX_WHOAMI").data["scheme"] == "OAUTH2"
    assert sb.oauth2.token_requests["refresh_token"] == 1

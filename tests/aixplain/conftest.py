"""The official aiXplain SDK against a live `plughub serve`.

The SDK reads its environment at import, logs request headers and writes `./.cache`, so it runs in
subprocesses: each test writes a small script, runs it with this interpreter from a temporary
directory, and asserts on the JSON the script prints. Several SDK calls share one script because
importing `aixplain` takes a second or more.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import plughub
from plughub.config import Settings
from plughub.engine import Engine
from plughub.sandbox import SandboxServer
from tests.conftest import CANARIES
from tests.servers import free_port, serve_app
from tests.upstream import Upstream

SANDBOX_YAML = Path(plughub.__file__).parent / "engine" / "catalog" / "providers" / "sandbox.yaml"
CLIENT_ID = "wire-client"
CLIENT_SECRET = "wire-client-secret-6b2d8f0a4c1e3a5b"
SYNC_WAIT = 0.5
"""PLUGHUB_AIXPLAIN_SYNC_WAIT of the test hub: runs slower than this are answered through polling."""
SLOW = 1.5
"""How long the upstream takes to answer the slow action."""

# Prepended to every script: run SDK calls, record each outcome or exception, print them as JSON.
PRELUDE = '''
import json, sys, warnings
RESULTS = {}

def record(name, call):
    """Run a call; keep its value, or the exception's class and text."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = call()
        RESULTS[name] = {"ok": value, "warnings": [str(w.message) for w in caught if w.category is UserWarning]}
    except Exception as exc:
        RESULTS[name] = {"error": type(exc).__name__, "message": str(exc)}
    return RESULTS[name].get("ok")

def response(r):
    """A v1 ModelResponse as a dict."""
    return {"status": str(getattr(r.status, "value", r.status)), "data": r.data, "completed": r.completed,
            "error_message": r.error_message, "url": getattr(r, "url", None), "details": r.details}

def consent(redirect_url):
    """Play the user: approve at the sandbox, then follow its redirect to plughub's callback."""
    import httpx
    from plughub.sandbox import give_consent
    callback = give_consent(redirect_url)
    page = httpx.get(callback, timeout=20)
    return {"status": page.status_code, "connected": "Connected" in page.text}
'''
EPILOGUE = '\nprint("RESULT:" + json.dumps(RESULTS, default=str))\n'


@dataclass
class Team:
    """A team of the hub and its API key."""

    id: str
    key: str


@dataclass
class Wire:
    """A live `plughub serve` with two teams, for the SDK to talk to."""

    url: str
    engine: Engine
    settings: Settings
    team_a: Team
    team_b: Team
    workdir: Path

    def http(self, key: str | None = None, **headers: str) -> httpx.Client:
        """An HTTP client of the hub; `key` goes in `x-api-key`."""
        sent = {"x-api-key": key} if key else {}
        sent.update(headers)
        return httpx.Client(base_url=self.url, headers=sent, timeout=20)

    def sdk(
        self,
        script: str,
        *,
        key: str | None = None,
        run_url: str = "/api/v1/execute",
        extra_env: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """Run a script with the official SDK configured for this hub.

        Args:
            script: The body (the prelude's `record`, `response`, `consent` are defined).
            key: TEAM_API_KEY; team A's by default.
            run_url: The path of MODELS_RUN_URL.
            extra_env: More variables.

        Returns:
            The results the script recorded, and everything it wrote (stdout and stderr).
        """
        # Looked up, not imported: importing the SDK configures logging and reads the environment.
        if importlib.util.find_spec("aixplain") is None:
            if os.environ.get("CI") == "true":
                pytest.fail("the aiXplain SDK is not installed, and CI=true requires it (pip install -e '.[dev]')")
            pytest.skip("the aiXplain SDK is not installed (pip install -e '.[aixplain]')")
        cwd = self.workdir / f"run{len(list(self.workdir.iterdir()))}"
        cwd.mkdir()
        path = cwd / "scenario.py"
        path.write_text(PRELUDE + textwrap.dedent(script) + EPILOGUE, encoding="utf-8")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PLUGHUB_", "AIXPLAIN_", "SENTRY_", "TEAM_API_KEY", "BACKEND_URL", "MODELS_RUN_URL"))
        }
        env.update(
            BACKEND_URL=self.url,
            MODELS_RUN_URL=self.url + run_url,
            TEAM_API_KEY=key or self.team_a.key,
            AIXPLAIN_ALLOW_INSECURE_URLS="1",
            AIXPLAIN_SUPPRESS_V1_DEPRECATION="1",
            PYTHONWARNINGS="ignore::DeprecationWarning",
            **(extra_env or {}),
        )
        done = subprocess.run([sys.executable, str(path)], cwd=cwd, env=env, capture_output=True, text=True, timeout=90)
        output = done.stdout + done.stderr
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT:")]
        assert done.returncode == 0 and lines, output[-4000:]
        return json.loads(lines[-1].removeprefix("RESULT:")), output


@pytest.fixture
def wire(home: Path, tmp_path: Path) -> Iterator[Wire]:
    """A guarded, audited hub on a free port (its callback URL on itself) with teams A and B."""
    from plughub.server import create_app

    port = free_port()
    settings = dataclasses.replace(
        Settings.from_env(),
        callback_url=f"http://127.0.0.1:{port}/oauth/callback",
        allow_private_networks="127.0.0.0/8",
        aixplain_sync_wait=SYNC_WAIT,
    )
    engine = Engine(settings, guard_outbound=True)
    teams = []
    for name in ("team-a", "team-b"):
        team = engine.teams.create_team(name)
        assert team is not None
        _record, key = engine.teams.create_api_key(team.id, "aixplain tests")
        teams.append(Team(team.id, key))
    workdir = tmp_path / "sdk"
    workdir.mkdir()
    try:
        with serve_app(create_app(engine, settings), port=port) as url:
            yield Wire(url, engine, settings, teams[0], teams[1], workdir)
    finally:
        engine.close()


def sandbox_definition(sandbox: SandboxServer, new_id: str = "wire-sandbox") -> dict[str, Any]:
    """The bundled sandbox definition, fixed to this sandbox's port (v1 sends no data for OAuth)."""
    text = SANDBOX_YAML.read_text(encoding="utf-8").replace("${connection_config.port}", str(sandbox.port))
    definition = copy.deepcopy(yaml.safe_load(text))
    definition.pop("connection_config")
    prefix = new_id.upper().replace("-", "_") + "_"
    definition["id"] = new_id
    definition["display_name"] = "Wire Sandbox"
    definition["actions"] = {
        prefix + code.removeprefix("SANDBOX_"): action for code, action in definition["actions"].items()
    }
    return definition


@pytest.fixture
def wire_sandbox(wire: Wire, sandbox: SandboxServer) -> SandboxServer:
    """The sandbox as team A's integration `wire-sandbox`, with team A's OAuth app at both providers."""
    wire.engine.integrations.create(sandbox_definition(sandbox), team=wire.team_a.id)
    sandbox.register_oauth_client(CLIENT_ID, CLIENT_SECRET, wire.settings.callback_url)
    wire.engine.oauth_apps.set("wire-sandbox", CLIENT_ID, CLIENT_SECRET, team=wire.team_a.id)
    return sandbox


def upstream_definition(upstream: Upstream) -> dict[str, Any]:
    """Team A's `wire-upstream` integration: a chat API on the recording upstream."""
    return {
        "id": "wire-upstream",
        "display_name": "Wire Upstream",
        "description": "A chat API that records what it receives.",
        "supplier": "Upstream Inc.",
        "base_url": upstream.url,
        "auth": [{"mode": "BEARER_TOKEN"}],
        "actions": {
            "WIRE_UPSTREAM_SEND_MESSAGE": {
                "display_name": "Send message",
                "description": "Post a message to a channel.",
                "method": "POST",
                "path": "/channels/${inputs.channel}/messages",
                "inputs": {
                    "channel": {"type": "string", "required": True, "description": "Channel id"},
                    "text": {"type": "string", "in": "body", "required": True, "minLength": 1},
                    "priority": {"type": "integer", "in": "body", "default": 1, "enum": [1, 2, 3]},
                },
            },
            "WIRE_UPSTREAM_SLOW": {
                "display_name": "Slow report",
                "description": "A report the service takes a while to build.",
                "method": "GET",
                "path": "/slow",
            },
            "WIRE_UPSTREAM_BROKEN": {
                "display_name": "Broken",
                "description": "An endpoint that fails.",
                "method": "GET",
                "path": "/broken",
            },
        },
    }


def assert_clean(text: str) -> None:
    """No canary secret in what the SDK printed or logged (v1 logs every answer at INFO)."""
    for canary in CANARIES:
        assert canary not in text, text[-2000:]

"""Fixtures for plughub as an MCP server: a user-defined integration on the real `upstream`, connected.

The upstream echoes the Authorization header it receives, so every test can check both that the
stored credential reached the service and that it never came back to the MCP client.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp.shared.tool_name_validation import TOOL_NAME_REGEX

from plughub.config import Settings
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema
from plughub.schemas import ConnectRequest
from tests.conftest import CANARIES, CANARY_API_KEY, CANARY_TOKEN
from tests.servers import free_port, serve_app
from tests.upstream import Reply, Seen, Upstream

ROOT = Path(__file__).resolve().parents[2]

DEFINITION: dict[str, Any] = {
    "id": "acme-issues",
    "display_name": "Acme Issues",
    "description": "Acme's issue tracker.",
    "base_url": "https://issues.acme.example",
    "auth": [{"mode": "BEARER_TOKEN"}],
    "actions": {
        "ACME_ISSUES_WHOAMI": {
            "display_name": "Who am I",
            "description": "Show the authenticated account.",
            "method": "GET",
            "path": "/whoami",
        },
        "ACME_ISSUES_CREATE_ISSUE": {
            "display_name": "Create issue",
            "description": "Open an issue.",
            "method": "POST",
            "path": "/issues",
            "inputs": {
                "title": {"type": "string", "required": True, "minLength": 1, "description": "The title"},
                "labels": {"type": "array", "items": {"type": "string"}, "description": "Labels"},
                "priority": {"type": "integer", "minimum": 1, "maximum": 5},
            },
        },
        "ACME_ISSUES_LIST_ISSUES": {
            "display_name": "List issues",
            "description": "List open issues.",
            "method": "GET",
            "path": "/issues",
            "inputs": {"limit": {"type": "integer", "minimum": 1}},
        },
        "ACME_ISSUES_DELETE_ISSUE": {
            "display_name": "Delete issue",
            "description": "Delete an issue.",
            "method": "DELETE",
            "path": "/issues/${inputs.issue_id}",
            "inputs": {"issue_id": {"type": "integer", "required": True}},
        },
    },
}
CODES = list(DEFINITION["actions"])


def acme_routes(upstream: Upstream) -> None:
    """Answers of the Acme API: `whoami` echoes the Authorization header; the title "taken" is refused."""

    def whoami(seen: Seen) -> Reply:
        return Reply(200, {"login": "octo", "authorization": seen.header("Authorization")})

    def create(seen: Seen) -> Reply:
        body = seen.json()
        if body.get("title") == "taken":
            return Reply(422, {"message": "an issue with this title exists already"})
        return Reply(201, {"id": 7, **body})

    upstream.route("GET", "/whoami", whoami)
    upstream.route("POST", "/issues", create)
    upstream.route("GET", "/issues", Reply(200, [{"id": 7, "title": "First"}]))
    upstream.route("DELETE", "/issues/7", Reply(204, b""))


def connect_acme(
    engine: Engine,
    upstream: Upstream,
    *,
    name: str = "Work",
    token: str = CANARY_TOKEN,
    team: str = "local",
    end_user_id: str | None = None,
) -> str:
    """Connect the Acme integration (registered for `team` on first use) to the upstream; return the id."""
    if not engine.catalog.contains("acme-issues", team):
        engine.integrations.create(DEFINITION, team=team)
    request = ConnectRequest(
        integration_id="acme-issues",
        scheme=AuthenticationSchema.BEARER_TOKEN,
        name=name,
        end_user_id=end_user_id,
        data={"token": token, "base_url": upstream.url},
    )
    return engine.connections.create(request, team=team).id


@pytest.fixture
def acme(engine: Engine, upstream: Upstream) -> str:
    """A connection named "Work" to the Acme API on the upstream, with CANARY_TOKEN; its id."""
    acme_routes(upstream)
    return connect_acme(engine, upstream)


@dataclass
class Team:
    id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class Hub:
    url: str
    engine: Engine
    a: Team
    b: Team
    work: str  # team A's connection, CANARY_TOKEN
    beta: str  # team B's connection, CANARY_API_KEY


def _team(engine: Engine, name: str) -> Team:
    team = engine.teams.create_team(name)
    assert team is not None
    _record, key = engine.teams.create_api_key(team.id, "tests")
    return Team(team.id, key)


@pytest.fixture
def hub(home: Path, upstream: Upstream) -> Iterator[Hub]:
    """`plughub serve`, guarded but allowed the loopback upstream, with teams A and B, one connection each."""
    from plughub.server import create_app

    acme_routes(upstream)
    settings = dataclasses.replace(Settings.from_env(), allow_private_networks="127.0.0.0/8")
    with ExitStack() as stack:
        engine = Engine(settings, guard_outbound=True)
        stack.callback(engine.close)
        a, b = _team(engine, "team-a"), _team(engine, "team-b")
        work = connect_acme(engine, upstream, name="Work", team=a.id)
        beta = connect_acme(engine, upstream, name="Beta", token=CANARY_API_KEY, team=b.id)
        url = stack.enter_context(serve_app(create_app(engine, settings)))
        yield Hub(url, engine, a, b, work, beta)


def dump(value: Any) -> str:
    """Everything the client received, as text (pydantic models included)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json", by_alias=True)
    if isinstance(value, (list, tuple)):
        return "\n".join(dump(v) for v in value)
    return json.dumps(value, default=str)


def assert_no_canary(*received: Any) -> None:
    text = dump(list(received))
    for canary in CANARIES:
        assert canary not in text


STRICT_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # within MCP's [A-Za-z0-9._-]{1,128}, and model APIs' rule


def assert_valid_tools(tools: list[Any]) -> None:
    """Tools as a client received them meet MCP's constraints, and their schemas are JSON Schemas."""
    names = [t.name for t in tools]
    assert len(set(names)) == len(names), names
    for tool in tools:
        assert STRICT_NAME.match(tool.name) and TOOL_NAME_REGEX.match(tool.name), tool.name
        assert tool.input_schema["type"] == "object"
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        assert tool.description and len(tool.description) <= 4096
        assert tool.title


def cli_env(home: Path) -> dict[str, str]:
    """The environment of a `plughub` subprocess on the test's PLUGHUB_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGHUB_")}
    env["PLUGHUB_HOME"] = str(home)
    return env


def plughub_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "plughub.cli", *args]


@dataclass
class Spawned:
    url: str
    process: subprocess.Popen[str]


@pytest.fixture
def spawn_http(home: Path) -> Iterator[Any]:
    """Start `plughub mcp serve --transport http` in subprocesses; yields a starter returning the URL."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> Spawned:
        port = free_port()
        command = plughub_command("mcp", "serve", *args, "--transport", "http", "--port", str(port))
        process = subprocess.Popen(
            command, cwd=ROOT, env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started.append(process)
        deadline = time.monotonic() + 30
        import socket

        while True:
            if process.poll() is not None:
                raise RuntimeError(f"plughub mcp serve exited: {process.stderr.read() if process.stderr else ''}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("plughub mcp serve did not start listening") from None
                time.sleep(0.05)
        return Spawned(f"http://127.0.0.1:{port}/mcp", process)

    yield start
    for process in started:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()

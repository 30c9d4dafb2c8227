"""Fixtures for the server tests: a live `plughub serve` app under uvicorn, teams, keys and clients.

Every hub listens on a port chosen before its engine is built, so that the callback URL (and with
it the base URL of connect pages) points at the live server itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from plughub.config import Settings
from plughub.engine import Engine
from plughub.sandbox import SandboxServer
from tests.conftest import CANARIES, CANARY_API_KEY
from tests.servers import free_port, serve_app

LOOPBACK = "127.0.0.0/8"


@dataclass
class Tenant:
    """A team of the hub, with one API key and a client that sends it."""

    id: str
    name: str
    key: str
    key_id: str
    client: httpx.Client


@dataclass
class Hub:
    """A live server over one engine."""

    url: str
    engine: Engine
    settings: Settings
    stack: ExitStack

    def team(self, name: str) -> Tenant:
        """Create a team and a key for it; the client sends the key as a bearer token."""
        team = self.engine.teams.create_team(name)
        assert team is not None
        record, key = self.engine.teams.create_api_key(team.id, "tests")
        client = self.client(key)
        return Tenant(team.id, name, key, record.id, client)

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        """A client of the hub (closed with the hub)."""
        sent = {"Authorization": f"Bearer {key}"} if key else {}
        sent.update(headers)
        return self.stack.enter_context(httpx.Client(base_url=self.url, headers=sent, timeout=20))


HubFactory = Callable[..., Hub]


@pytest.fixture
def make_hub(home: Any) -> Iterator[HubFactory]:
    """Start hubs: `make_hub(allow=LOOPBACK, database_url=None, guard=True, audit=None, **settings)`."""
    with ExitStack() as outer:

        def start(
            *,
            allow: str | None = LOOPBACK,
            database_url: str | None = None,
            guard: bool = True,
            audit: bool | None = None,
            **overrides: Any,
        ) -> Hub:
            from plughub.server import create_app

            port = free_port()
            settings = dataclasses.replace(
                Settings.from_env(),
                callback_url=f"http://127.0.0.1:{port}/oauth/callback",
                allow_private_networks=allow,
                **overrides,
            )
            stack = outer.enter_context(ExitStack())
            engine = Engine(settings, database_url=database_url, guard_outbound=guard, audit=audit)
            stack.callback(engine.close)
            url = stack.enter_context(serve_app(create_app(engine, settings), port=port))
            return Hub(url, engine, settings, stack)

        yield start


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    """A guarded, audited hub that may call 127.0.0.0/8 (the sandbox)."""
    return make_hub()


@pytest.fixture
def team_a(hub: Hub) -> Tenant:
    return hub.team("team-a")


@pytest.fixture
def team_b(hub: Hub) -> Tenant:
    return hub.team("team-b")


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the JSON error shape with this status and code; return its body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "message", "details"}, body
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["details"], dict), body
    return body


def assert_no_canary(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text


def connect_sandbox(client: httpx.Client, sandbox: SandboxServer, **extra: Any) -> str:
    """Connect the sandbox with API_KEY through the API; return the connection id."""
    body = {
        "integration_id": "sandbox",
        "scheme": "API_KEY",
        "data": {"api_key": CANARY_API_KEY, "port": sandbox.port},
        **extra,
    }
    response = client.post("/v1/connections", json=body)
    assert response.status_code == 201, response.text
    assert_no_canary(response.text)
    assert response.json()["status"] == "active"
    return str(response.json()["id"])


def run(client: httpx.Client, connection_id: str, action: str, inputs: dict[str, Any] | None = None) -> httpx.Response:
    return client.post(f"/v1/connections/{connection_id}/actions/{action}/run", json={"inputs": inputs or {}})


# A team-owned definition whose catalog base URL is public; connections point it elsewhere.
NOTES_DEFINITION: dict[str, Any] = {
    "id": "team-notes",
    "display_name": "Team Notes",
    "description": "A team's own copy of the sandbox API.",
    "supplier": "Acme Inc.",
    "base_url": "https://notes.example.com",
    "auth": [{"mode": "BEARER_TOKEN"}],
    "actions": {"TEAM_NOTES_WHOAMI": {"display_name": "Who am I", "method": "GET", "path": "/whoami"}},
}

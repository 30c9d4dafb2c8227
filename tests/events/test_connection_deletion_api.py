"""Deleting a connection with subscriptions through REST (`?wait=`), the SDK and the CLI.

A GitHub API double on 127.0.0.1 registers repository webhooks and holds each removal until the
test lets it go, so the `deleting` state is seen without timing: the server answers at once,
the connection is a 404 for every read meanwhile, and so is its webhook URL; once the removal is
let go, the server's worker finishes the deletion. REST on SQLite and PostgreSQL (procrastinate).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner

from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory
from plughub.backends import get_backend
from plughub.cli import cli
from plughub.exceptions import NotFoundError
from plughub.modules.model.connection import ConnectionTool
from tests.events.test_events_engine import wait_for
from tests.server.conftest import Hub, HubFactory
from tests.server.conftest import make_hub as make_hub  # the fixture
from tests.servers import postgres_database
from tests.upstream import Reply, Seen, Upstream

PUSH = {"trigger": "GITHUB_PUSH", "config": {"owner": "o", "repo": "r"}}


class GitHubHooks:
    """GitHub's repository webhooks API: registers hooks; a removal waits for `release`."""

    def __init__(self) -> None:
        self.hooks: set[str] = set()
        self.release = threading.Event()
        self.server = Upstream()
        self.server.route("POST", "/repos/o/r/hooks", self._create)

    @property
    def url(self) -> str:
        return self.server.url

    def _create(self, _seen: Seen) -> Reply:
        hook_id = str(len(self.hooks) + 100)
        self.hooks.add(hook_id)
        self.server.route("DELETE", f"/repos/o/r/hooks/{hook_id}", lambda _s, i=hook_id: self._delete(i))
        return Reply(201, {"id": int(hook_id), "active": True})

    def _delete(self, hook_id: str) -> Reply:
        self.release.wait(30)
        self.hooks.discard(hook_id)
        return Reply(204, "")

    def close(self) -> None:
        self.release.set()
        self.server.close()


@pytest.fixture
def github() -> Iterator[GitHubHooks]:
    made = GitHubHooks()
    yield made
    made.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def events_hub(request: pytest.FixtureRequest, make_hub: HubFactory) -> Iterator[Hub]:
    if request.param == "sqlite":
        yield make_hub()
        return
    with postgres_database() as url:
        hub = make_hub(database_url=url)
        yield hub
        hub.stack.close()  # the server and its workers stop before the database goes


def _subscribed(client: httpx.Client, github: GitHubHooks) -> tuple[str, str]:
    body = {"integration_id": "github", "scheme": "BEARER_TOKEN", "data": {"token": "ghp_x", "base_url": github.url}}
    made = client.post("/v1/connections", json=body)
    assert made.status_code == 201, made.text
    conn = str(made.json()["id"])
    sub = client.post(f"/v1/connections/{conn}/subscriptions", params={"wait": 30}, json=PUSH)
    assert sub.status_code == 201 and sub.json()["status"] == "active", sub.text
    return conn, urlsplit(sub.json()["webhook_url"]).path


def test_rest_delete_answers_deleting_and_the_worker_finishes(events_hub: Hub, github: GitHubHooks) -> None:
    client = events_hub.team("acme").client
    conn, webhook_path = _subscribed(client, github)
    answer = client.delete(f"/v1/connections/{conn}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": conn, "status": "deleting", "revoked": None, "revocation_error": None}
    assert client.get(f"/v1/connections/{conn}").status_code == 404
    assert conn not in [c["id"] for c in client.get("/v1/connections").json()["results"]]
    assert client.get(f"/v1/connections/{conn}/subscriptions").status_code == 404
    assert client.get(f"/v1/connections/{conn}/runs").status_code == 404
    assert client.delete(f"/v1/connections/{conn}").status_code == 404
    assert httpx.post(events_hub.url + webhook_path, content=b"{}").status_code == 404
    assert github.hooks  # held by the double until released
    github.release.set()
    wait_for(lambda: events_hub.engine.store.connections.get(conn, include_deleting=True) is None)
    assert not github.hooks


def test_rest_delete_with_wait_answers_deleted(events_hub: Hub, github: GitHubHooks) -> None:
    github.release.set()
    client = events_hub.team("acme").client
    conn, _path = _subscribed(client, github)
    assert client.delete(f"/v1/connections/{conn}", params={"wait": 31}).status_code == 422
    answer = client.delete(f"/v1/connections/{conn}", params={"wait": 30})
    assert answer.status_code == 200 and answer.json()["status"] == "deleted", answer.text
    assert not github.hooks
    assert events_hub.engine.store.connections.get(conn, include_deleting=True) is None


@pytest.mark.usefixtures("any_backend")
def test_the_sdk_delete_waits_for_the_unsubscribe(github: GitHubHooks) -> None:
    github.release.set()
    connected = IntegrationFactory.get("github").connect(
        AuthenticationSchema.BEARER_TOKEN, data={"token": "ghp_t", "base_url": github.url}
    )
    tool = ModelFactory.get(connected.data["id"])
    assert isinstance(tool, ConnectionTool)
    tool.subscribe("GITHUB_PUSH", config={"owner": "o", "repo": "r"})
    assert github.hooks
    result = tool.delete()  # an existing caller's call: it waits (30 s at most) and says deleted
    assert result.status == "deleted" and not github.hooks
    with pytest.raises(NotFoundError):
        ModelFactory.get(tool.id)


@pytest.mark.usefixtures("backend")
def test_the_cli_deletes_with_wait_or_leaves_it_deleting(github: GitHubHooks) -> None:
    connections = []
    for _ in range(2):
        connected = IntegrationFactory.get("github").connect(
            AuthenticationSchema.BEARER_TOKEN, data={"token": "ghp_t", "base_url": github.url}
        )
        tool = ModelFactory.get(connected.data["id"])
        assert isinstance(tool, ConnectionTool)
        tool.subscribe("GITHUB_PUSH", config={"owner": "o", "repo": "r"})
        connections.append(tool.id)
    runner = CliRunner()
    left = runner.invoke(cli, ["connections", "delete", connections[0], "--yes", "--wait", "0"])
    assert left.exit_code == 0, left.output
    assert f"Deleting connection {connections[0]}" in left.output
    missing = runner.invoke(cli, ["connections", "show", connections[0]])
    assert missing.exit_code == 1 and "No connection" in missing.output
    github.release.set()
    done = runner.invoke(cli, ["connections", "delete", connections[1], "--yes"])
    assert done.exit_code == 0 and f"Deleted connection {connections[1]}" in done.output, done.output
    engine = get_backend().engine  # type: ignore[attr-defined]
    assert engine.store.connections.get(connections[1], include_deleting=True) is None
    assert engine.store.connections.get(connections[0], include_deleting=True) is not None  # no worker ran

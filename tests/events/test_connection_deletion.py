"""Deleting a connection unsubscribes its subscriptions at the provider as jobs, then revokes its token.

A sandbox copy (OAuth 2.0 against the sandbox's Authlib provider, which revokes per RFC 7009)
gets a webhook trigger whose subscribe and unsubscribe actions go to a provider double on
127.0.0.1. The double checks the bearer token with the sandbox's provider at each call, and
refuses the first unsubscribe. While the jobs run the connection is `deleting`: gone for every
read, its webhook URL answers 404. Then its token is revoked. A deletion left midway (rows left
`deleting`, as by a process killed) is finished by the scan. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from plughub.backends import EmbeddedBackend, set_backend
from plughub.config import Settings
from plughub.engine import Engine
from plughub.exceptions import ConnectionNotFound, InvalidInput
from plughub.factories import IntegrationFactory
from plughub.sandbox import SandboxServer
from plughub.schemas import SubscribeRequest
from tests.events.test_events_engine import wait_for
from tests.oauth.conftest import CLIENT_ID, CLIENT_SECRET, authorize, sandbox_copy, stored_credentials
from tests.oauth.conftest import callback_url as callback_url  # the fixtures
from tests.oauth.conftest import sb as sb
from tests.oauth.conftest import settings as settings
from tests.servers import postgres_database
from tests.upstream import Reply, Seen, Upstream

TRIGGER = "HOOKED_NOTE_CREATED"


def hooked_definition() -> dict[str, Any]:
    """The sandbox (OAuth 2.0 with revocation) with a webhook trigger registered through actions."""
    definition = sandbox_copy("hooked")
    definition["actions"].update(
        {
            "HOOKED_CREATE_HOOK": {
                "display_name": "Create hook",
                "method": "POST",
                "path": "/hooks",
                "inputs": {
                    "url": {"type": "string", "in": "body", "required": True},
                    "secret": {"type": "string", "in": "body", "required": True},
                },
            },
            "HOOKED_DELETE_HOOK": {
                "display_name": "Delete hook",
                "method": "DELETE",
                "path": "/hooks/${inputs.id}",
                "inputs": {"id": {"type": "string", "required": True}},
            },
        }
    )
    definition["webhooks"] = {
        "verify": {
            "method": "hmac-sha256",
            "header": "X-Signature",
            "encoding": "hex",
            "secret": "${subscription.webhook_secret}",
        },
        "event_type": {"header": "X-Event"},
        "delivery_id": {"header": "X-Delivery"},
    }
    definition["triggers"] = {
        TRIGGER: {
            "display_name": "Note created",
            "type": "webhook",
            "events": ["note.created"],
            "subscribe": {
                "action": "HOOKED_CREATE_HOOK",
                "inputs": {"url": "${subscription.webhook_url}", "secret": "${subscription.webhook_secret}"},
                "provider_id": "/id",
            },
            "unsubscribe": {"action": "HOOKED_DELETE_HOOK", "inputs": {"id": "${subscription.provider_id}"}},
        }
    }
    return definition


class HookProvider:
    """The provider's webhook API: registers hooks; refuses the first `failures` removals.

    Each call's bearer token is checked with the sandbox's OAuth provider when it arrives, and
    whether it was valid is recorded with the call.
    """

    def __init__(self, sandbox: SandboxServer, failures: int = 1) -> None:
        self.sandbox = sandbox
        self.failures = failures
        self.hooks: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, bool]] = []  # (method, token valid then)
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()
        self.server = Upstream()
        self.server.route("POST", "/hooks", self._create)

    def _valid(self, seen: Seen) -> bool:
        token = (seen.header("Authorization") or "").removeprefix("Bearer ")
        return self.sandbox.oauth2.validate_bearer(token) is not None

    def _create(self, seen: Seen) -> Reply:
        valid = self._valid(seen)
        with self._lock:
            self.calls.append(("POST", valid))
            if not valid:
                return Reply(401, {"message": "bad token"})
            hook_id = f"h{len(self.hooks) + 1}"
            self.hooks[hook_id] = seen.json()
            self.server.route("DELETE", f"/hooks/{hook_id}", lambda s, i=hook_id: self._delete(s, i))
        return Reply(201, {"id": hook_id})

    def _delete(self, seen: Seen, hook_id: str) -> Reply:
        self.release.wait(30)
        valid = self._valid(seen)
        with self._lock:
            self.calls.append(("DELETE", valid))
            if not valid:
                return Reply(401, {"message": "bad token"})
            if self.failures > 0:
                self.failures -= 1
                return Reply(500, {"message": "try again"})  # not retried by the sender: the job retries
            self.hooks.pop(hook_id, None)
        return Reply(204, "")

    def deletes(self) -> list[bool]:
        return [valid for method, valid in self.calls if method == "DELETE"]

    def close(self) -> None:
        self.release.set()
        self.server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def hooked(request: pytest.FixtureRequest, settings: Settings, sb: SandboxServer) -> Iterator[Engine]:
    """An engine (on SQLite or PostgreSQL, no worker) with the hooked definition and its OAuth app."""
    if request.param == "sqlite":
        engine = Engine(settings)
        yield from _with_definition(engine)
        return
    with postgres_database() as url:
        engine = Engine(settings, database_url=url)
        yield from _with_definition(engine)


def _with_definition(engine: Engine) -> Iterator[Engine]:
    try:
        set_backend(EmbeddedBackend(engine=engine))
        integration = IntegrationFactory.create(hooked_definition())
        integration.set_oauth_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        yield engine
    finally:
        engine.close()


@pytest.fixture
def provider(sb: SandboxServer) -> Iterator[HookProvider]:
    made = HookProvider(sb)
    yield made
    made.close()


def _subscribed(engine: Engine, sb: SandboxServer, provider: HookProvider) -> tuple[str, str, str, str]:
    """An active OAuth connection with a registered webhook: its id, access token, webhook URL and hook id."""
    tool = authorize(IntegrationFactory.get("hooked"), port=sb.port, base_url=provider.server.url)
    sub = engine.events.subscriptions.subscribe(tool.id, SubscribeRequest(trigger=TRIGGER), wait=30)
    assert sub.status == "active" and sub.provider_id in provider.hooks and sub.webhook_url
    token = stored_credentials(engine, tool.id)["access_token"]
    return tool.id, token, sub.webhook_url, sub.provider_id


def _signed(provider: HookProvider, hook_id: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"note": 1}).encode()
    secret = provider.hooks[hook_id]["secret"]
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Signature": signature, "X-Event": "note.created", "X-Delivery": "d-1"}


def test_deleting_waits_for_the_unsubscribe_jobs_then_revokes(
    hooked: Engine, sb: SandboxServer, provider: HookProvider
) -> None:
    engine = hooked
    conn, token, url, hook = _subscribed(engine, sb, provider)
    body, headers = _signed(provider, hook)
    webhook_token = url.rsplit("/", 1)[1]
    assert engine.events.receive(webhook_token, body, headers).status == 200  # live before the delete

    result = engine.connections.delete(conn)
    assert (result.status, result.revoked, result.revocation_error) == ("deleting", None, None)
    # Gone for every read meanwhile; the provider's webhook and the token stay until the jobs.
    with pytest.raises(ConnectionNotFound):
        engine.connections.get(conn)
    assert engine.connections.list().total == 0
    with pytest.raises(ConnectionNotFound):
        engine.actions.run(conn, "HOOKED_WHOAMI")
    with pytest.raises(ConnectionNotFound):
        engine.events.subscriptions.list(conn)
    with pytest.raises(ConnectionNotFound):
        engine.connections.delete(conn)
    assert engine.events.receive(webhook_token, body, headers).status == 404
    assert provider.hooks and sb.oauth2.revoked == [] and sb.oauth2.validate_bearer(token) is not None

    engine.events.start_worker()
    try:
        wait_for(lambda: engine.store.connections.get(conn, include_deleting=True) is None)
    finally:
        engine.events.stop_worker()
    assert provider.deletes() == [True, True]  # refused once, then removed: the token worked both times
    assert not provider.hooks
    assert token in sb.oauth2.revoked and sb.oauth2.validate_bearer(token) is None  # revoked after
    assert engine.store.subscriptions.of_connection(conn) == []
    assert engine.credentials.read(conn) == {}


def test_wait_runs_the_jobs_in_this_call(hooked: Engine, sb: SandboxServer, provider: HookProvider) -> None:
    engine = hooked
    conn, token, _url, _hook = _subscribed(engine, sb, provider)
    with pytest.raises(InvalidInput, match="wait"):
        engine.connections.delete(conn, wait=31)
    result = engine.connections.delete(conn, wait=30)  # no worker runs: the attempts are made here
    assert (result.status, result.revoked, result.revocation_error) == ("deleted", True, None)
    assert provider.deletes() == [True, True] and not provider.hooks
    assert token in sb.oauth2.revoked
    assert engine.store.connections.get(conn, include_deleting=True) is None


def test_an_unsubscribe_that_keeps_failing_still_ends_the_deletion(
    hooked: Engine, sb: SandboxServer, provider: HookProvider
) -> None:
    engine = hooked
    provider.failures = 100
    conn, token, _url, _hook = _subscribed(engine, sb, provider)
    result = engine.connections.delete(conn, wait=30)
    assert result.status == "deleted" and result.revoked is True
    assert provider.deletes() == [True, True, True]  # PLUGHUB_SUBSCRIBE_RETRY_DELAYS: 3 attempts
    assert provider.hooks and token in sb.oauth2.revoked


def test_a_deletion_left_midway_is_finished_by_the_scan(
    hooked: Engine, sb: SandboxServer, provider: HookProvider
) -> None:
    engine = hooked
    # Killed right after marking the connection: its subscription is still active, its claim runs out.
    conn, token, url, hook = _subscribed(engine, sb, provider)
    assert engine.store.connections.mark_deleting(conn, None, lease=0.0)
    assert engine.events.receive(url.rsplit("/", 1)[1], *_signed(provider, hook)).status == 404
    # Killed after its last subscription went (the hook removed), before the revocation: only the mark is left.
    second, second_token, _url, second_hook = _subscribed(engine, sb, provider)
    (sub,) = engine.store.subscriptions.of_connection(second)
    provider.failures = 0
    assert engine.store.subscriptions.mark_deleting(sub.id)
    engine.events.subscriptions.registrar.unsubscribe(sub.id)
    assert second_hook not in provider.hooks and engine.store.subscriptions.of_connection(second) == []
    assert engine.store.connections.mark_deleting(second, None, lease=0.0)
    assert second_token not in sb.oauth2.revoked

    engine.events.start_worker()
    try:
        wait_for(lambda: engine.store.connections.get(conn, include_deleting=True) is None)
        wait_for(lambda: engine.store.connections.get(second, include_deleting=True) is None)
    finally:
        engine.events.stop_worker()
    assert not provider.hooks
    assert token in sb.oauth2.revoked and second_token in sb.oauth2.revoked


def test_a_connection_with_nothing_to_unsubscribe_is_deleted_at_once(
    hooked: Engine, sb: SandboxServer, provider: HookProvider
) -> None:
    engine = hooked
    tool = authorize(IntegrationFactory.get("hooked"), port=sb.port, base_url=provider.server.url)
    token = stored_credentials(engine, tool.id)["access_token"]
    result = engine.connections.delete(tool.id)
    assert (result.status, result.revoked) == ("deleted", True)
    assert token in sb.oauth2.revoked and provider.calls == []

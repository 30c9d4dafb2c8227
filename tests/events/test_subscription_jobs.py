"""The subscribe and unsubscribe jobs over the embedded engine, with provider doubles (real sockets).

No worker runs unless a test starts one, so each step is seen: `pending` until the job, `deleting`
until the unsubscribe job (its webhook URL answering 404 meanwhile), an attempt of a process that
died taken again when its claim runs out, and an unsubscribe that keeps failing removed anyway
with a warning. The REST tests run the same jobs on procrastinate (PostgreSQL).
"""

from __future__ import annotations

import logging

import pytest

from plughub.engine import Engine
from plughub.schemas import ConnectRequest, SubscribeRequest
from tests.events.test_events_engine import wait_for
from tests.providers.double import ProviderDouble
from tests.upstream import Reply, Upstream


def _connect(engine: Engine, integration: str, scheme: str, data: dict[str, str], base_url: str) -> str:
    request = ConnectRequest(integration_id=integration, scheme=scheme, data={**data, "base_url": base_url})
    return engine.connections.create(request).id


def test_pending_until_the_worker_runs_the_job(engine: Engine) -> None:
    double = ProviderDouble("stripe")
    try:
        conn = _connect(engine, "stripe", "API_KEY", {"api_key": "sk_test_1"}, double.url + "/v1")
        sub = engine.events.subscriptions.subscribe(conn, SubscribeRequest(trigger="STRIPE_PAYMENT_INTENT_SUCCEEDED"))
        # Stripe chooses the secret: unknown until the job, so nothing posted meanwhile verifies.
        assert sub.status == "pending" and sub.webhook_secret is None and not double.hooks
        assert sub.webhook_url is not None
        forged = double.build("payment_intent.succeeded", {"id": "pi_1"}, url=sub.webhook_url, secret="whsec_guess")
        token = sub.webhook_url.rsplit("/", 1)[1]
        assert engine.events.receive(token, forged.body, forged.headers).status == 401
        engine.events.start_worker()
        try:
            wait_for(lambda: engine.events.subscriptions.get(sub.id).status == "active")
        finally:
            engine.events.stop_worker()
        (hook,) = double.hooks.values()
        assert engine.events.subscriptions.get(sub.id).provider_id == hook.id
        good = double.build("payment_intent.succeeded", {"id": "pi_1"}, url=sub.webhook_url, secret=hook.secret)
        assert engine.events.receive(token, good.body, good.headers).status == 200
        assert engine.events.subscriptions.secrets(engine.store.subscriptions.get(sub.id)).webhook_secret == hook.secret  # type: ignore[arg-type]
        assert engine.events.subscriptions.events(sub.id)[0].type == "payment_intent.succeeded"
    finally:
        double.close()


def test_an_attempt_of_a_dead_process_is_taken_again(engine: Engine) -> None:
    double = ProviderDouble("github")
    try:
        conn = _connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_t"}, double.url)
        subs = engine.events.subscriptions
        sub = subs.subscribe(conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": "r"}))
        # A process claims the attempt and dies: its claim runs out (here at once).
        assert engine.store.subscriptions.claim_job(sub.id, "pending", lease=0.0) is not None
        engine.events.start_worker()
        try:
            wait_for(lambda: subs.get(sub.id).status == "active")
        finally:
            engine.events.stop_worker()
        assert len(double.hooks) == 1 and subs.get(sub.id).provider_id is not None
    finally:
        double.close()


def test_deleting_refuses_events_then_the_job_unsubscribes(engine: Engine) -> None:
    double = ProviderDouble("github")
    try:
        conn = _connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_t"}, double.url)
        subs = engine.events.subscriptions
        sub = subs.subscribe(conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": "r"}), wait=30)
        (hook,) = double.hooks.values()
        deleted = subs.delete(sub.id)
        assert deleted.status == "deleting" and subs.get(sub.id).status == "deleting"
        assert double.hooks  # the provider's webhook stays until the job
        sent = double.build("push", {"ref": "refs/heads/main"}, url=hook.url, secret=hook.secret)
        assert engine.events.receive(hook.url.rsplit("/", 1)[1], sent.body, sent.headers).status == 404
        assert engine.store.events.after(sub.id, None, 10) == []
        assert subs.delete(sub.id).status == "deleting"  # a second delete changes nothing
        engine.events.start_worker()
        try:
            wait_for(lambda: engine.store.subscriptions.get(sub.id) is None)
        finally:
            engine.events.stop_worker()
        assert not double.hooks
    finally:
        double.close()


def test_an_unsubscribe_that_keeps_failing_is_removed_anyway(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    provider = Upstream()
    provider.route("POST", "/repos/o/r/hooks", Reply(201, {"id": 7, "active": True}))
    provider.route("DELETE", "/repos/o/r/hooks/7", Reply(500, {"message": "down"}))
    try:
        conn = _connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_secret_token"}, provider.url)
        subs = engine.events.subscriptions
        sub = subs.subscribe(conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": "r"}), wait=30)
        assert sub.status == "active" and sub.provider_id == "7"
        with caplog.at_level(logging.WARNING, logger="plughub.events"):
            result = subs.delete(sub.id, wait=30)
        assert result.status == "deleted" and not result.unsubscribed and result.unsubscribe_error
        assert engine.store.subscriptions.get(sub.id) is None
        assert len([s for s in provider.seen if s.method == "DELETE"]) == 3
        assert "could not be" in caplog.text and "ghp_secret_token" not in caplog.text
    finally:
        provider.close()


def test_deleting_the_connection_unsubscribes(engine: Engine) -> None:
    double = ProviderDouble("github")
    try:
        conn = _connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_t"}, double.url)
        subs = engine.events.subscriptions
        active = subs.subscribe(
            conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": "r"}), wait=30
        )
        assert active.status == "active" and len(double.hooks) == 1
        assert engine.connections.delete(conn, wait=30).status == "deleted"
        assert not double.hooks and engine.store.subscriptions.get(active.id) is None
    finally:
        double.close()

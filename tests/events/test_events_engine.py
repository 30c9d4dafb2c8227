"""The events services over the embedded engine, with provider doubles and loopback targets (real sockets).

GitHub: subscribe registers a repository webhook at the double with plughub's generated secret;
the double delivers an `issues` event signed as GitHub signs; plughub stores it and pushes it to
a loopback target, signed per Standard Webhooks (checked with the `standardwebhooks` package).
Stripe: the provider chooses the secret. Slack: the url_verification challenge is answered and
nothing is stored. A poll trigger across pages. Bad inputs leave nothing stored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import standardwebhooks

from plughub.engine import Engine
from plughub.exceptions import (
    ActionError,
    ConnectionNotFound,
    EventNotFound,
    InvalidInput,
    MissingInputs,
    SubscriptionNotFound,
    TriggerNotFound,
    UnknownInputs,
)
from plughub.schemas import ConnectRequest, SubscribeRequest
from tests.providers.double import ProviderDouble
from tests.upstream import Reply, Seen, Upstream


def wait_for(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Wait until `condition()` is truthy (no timed assertion: a generous deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the condition did not hold in time")


@pytest.fixture
def target() -> Iterator[Upstream]:
    server = Upstream()
    server.route("POST", "/hook", Reply(200, {"ok": True}))
    yield server
    server.close()


@pytest.fixture
def worker(engine: Engine) -> Iterator[Engine]:
    engine.events.start_worker()
    yield engine
    engine.events.stop_worker()


def connect(engine: Engine, integration: str, scheme: str, data: dict[str, Any], base_url: str) -> str:
    request = ConnectRequest(integration_id=integration, scheme=scheme, data={**data, "base_url": base_url})
    return engine.connections.create(request).id


def post(engine: Engine, url: str, body: bytes, headers: dict[str, str]) -> Any:
    token = url.rsplit("/", 1)[1].split("?", 1)[0]
    return engine.events.receive(token, body, headers)


def test_github_issue_opened_subscribed_received_and_delivered(worker: Engine, target: Upstream) -> None:
    engine = worker
    double = ProviderDouble("github")
    try:
        conn = connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_test"}, double.url)
        sub = engine.events.subscriptions.subscribe(
            conn,
            SubscribeRequest(
                trigger="GITHUB_ISSUE_OPENED",
                config={"owner": "octo", "repo": "hello"},
                target_url=f"{target.url}/hook",
            ),
            wait=30,
        )
        assert sub.status == "active"
        assert sub.webhook_secret and sub.secret and sub.secret.startswith("whsec_")
        assert sub.provider_id is not None
        (hook,) = double.hooks.values()
        assert hook.secret == sub.webhook_secret and hook.url == sub.webhook_url
        # The double posts to the webhook URL; an embedded engine has no server: hand it the request.
        payload = {"action": "opened", "issue": {"number": 7, "title": "Bug"}}
        delivery = double.build("issues", payload, url=hook.url, secret=hook.secret)
        answer = post(engine, hook.url, delivery.body, delivery.headers)
        assert answer.status == 200 and answer.body["received"] is True
        again = post(engine, hook.url, delivery.body, delivery.headers)
        assert again.status == 200 and again.body.get("duplicate") is True
        closed = double.build("issues", {"action": "closed", "issue": {"number": 7}}, url=hook.url, secret=hook.secret)
        assert post(engine, hook.url, closed.body, closed.headers).body["received"] is False  # filtered out
        seen: Seen = wait_for(lambda: target.seen[0] if target.seen else None)
        checked = standardwebhooks.Webhook(sub.secret).verify(seen.body, seen.headers)
        assert checked["type"] == "issues" and checked["trigger"] == "GITHUB_ISSUE_OPENED"
        assert checked["data"] == payload and checked["connection_id"] == conn
        assert set(checked) == {
            "id", "type", "trigger", "subscription_id", "connection_id", "end_user_id", "data", "received_at"
        }  # fmt: skip
        assert seen.header("webhook-id") == checked["id"]
        events = engine.events.subscriptions.events(sub.id)
        assert [e.id for e in events] == [checked["id"]]
        wait_for(lambda: engine.events.subscriptions.deliveries(sub.id, "delivered"))
        # A fresh read shows no secret; the webhook URL stays (to register by hand).
        shown = engine.events.subscriptions.get(sub.id)
        assert shown.webhook_secret is None and shown.secret is None and shown.webhook_url == sub.webhook_url
        assert sub.webhook_secret not in repr(sub) and sub.secret not in repr(sub)
        deleted = engine.events.subscriptions.delete(sub.id, wait=30)
        assert deleted.status == "deleted" and deleted.unsubscribed and not double.hooks
        with pytest.raises(SubscriptionNotFound):
            engine.events.subscriptions.get(sub.id)
    finally:
        double.close()


def test_bad_signature_and_bad_body_store_nothing(engine: Engine) -> None:
    double = ProviderDouble("github")
    try:
        conn = connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_test"}, double.url)
        sub = engine.events.subscriptions.subscribe(
            conn, SubscribeRequest(trigger="GITHUB_ISSUE_EVENT", config={"owner": "o", "repo": "r"}), wait=30
        )
        assert sub.webhook_url is not None and sub.webhook_secret is not None
        good = double.build("issues", {"action": "opened"}, url=sub.webhook_url, secret=sub.webhook_secret)
        wrong = double.build("issues", {"action": "opened"}, url=sub.webhook_url, secret="not-the-secret")
        assert post(engine, sub.webhook_url, wrong.body, wrong.headers).status == 401
        unsigned = {k: v for k, v in good.headers.items() if k.lower() != "x-hub-signature-256"}
        assert post(engine, sub.webhook_url, good.body, unsigned).status == 401
        tampered = good.body.replace(b"opened", b"closed")
        assert post(engine, sub.webhook_url, tampered, good.headers).status == 401
        not_json = double.build("issues", {}, url=sub.webhook_url, secret=sub.webhook_secret)
        raw = b"not json at all"
        import hashlib
        import hmac

        signature = "sha256=" + hmac.new(sub.webhook_secret.encode(), raw, hashlib.sha256).hexdigest()
        headers = {**not_json.headers, "X-Hub-Signature-256": signature}
        assert post(engine, sub.webhook_url, raw, headers).status == 400
        assert engine.events.receive("no-such-token", good.body, good.headers).status == 404
        assert engine.events.subscriptions.events(sub.id) == []
    finally:
        double.close()


def test_stripe_chooses_the_secret(engine: Engine) -> None:
    double = ProviderDouble("stripe")
    try:
        conn = connect(engine, "stripe", "API_KEY", {"api_key": "sk_test_1"}, double.url + "/v1")
        sub = engine.events.subscriptions.subscribe(
            conn, SubscribeRequest(trigger="STRIPE_PAYMENT_INTENT_SUCCEEDED"), wait=30
        )
        (hook,) = double.hooks.values()
        assert sub.webhook_secret == hook.secret and hook.secret.startswith("whsec_")
        assert sub.provider_id == hook.id
        sample = {"id": "pi_1", "object": "payment_intent", "amount": 2000}
        delivery = double.build("payment_intent.succeeded", sample, url=hook.url, secret=hook.secret)
        assert post(engine, hook.url, delivery.body, delivery.headers).body["received"] is True
        other = double.build("payment_intent.payment_failed", sample, url=hook.url, secret=hook.secret)
        assert post(engine, hook.url, other.body, other.headers).body["received"] is False
        stale = double.build("payment_intent.succeeded", sample, url=hook.url, secret=hook.secret, now=1_700_000_000)
        assert post(engine, hook.url, stale.body, stale.headers).status == 401
        (event,) = engine.events.subscriptions.events(sub.id)
        assert event.type == "payment_intent.succeeded" and event.data["data"]["object"] == sample
    finally:
        double.close()


def test_slack_challenge_answered_nothing_stored(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGHUB_OAUTH_SLACK_SIGNING_SECRET", "slack-signing-secret")
    double = ProviderDouble("slack")
    try:
        conn = connect(engine, "slack", "BEARER_TOKEN", {"token": "xoxb-1"}, double.url)
        sub = engine.events.subscriptions.subscribe(
            conn, SubscribeRequest(trigger="SLACK_CHANNEL_MESSAGE", config={"channel": "C0123"})
        )
        assert sub.webhook_url is not None
        challenge = double.build(
            "url_verification",
            {"challenge": "3eZbrw1aBm2rZgRNFdxV"},
            url=sub.webhook_url,
            secret="slack-signing-secret",
        )
        answer = post(engine, sub.webhook_url, challenge.body, challenge.headers)
        assert (answer.status, answer.body, answer.content_type) == (200, "3eZbrw1aBm2rZgRNFdxV", "text/plain")
        message = {"channel": "C0123", "user": "U1", "text": "hello", "ts": "1.2"}
        delivered = double.build("message", message, url=sub.webhook_url, secret="slack-signing-secret")
        assert post(engine, sub.webhook_url, delivered.body, delivered.headers).body["received"] is True
        elsewhere = double.build(
            "message", {**message, "channel": "C999"}, url=sub.webhook_url, secret="slack-signing-secret"
        )
        assert post(engine, sub.webhook_url, elsewhere.body, elsewhere.headers).body["received"] is False
        (event,) = engine.events.subscriptions.events(sub.id)
        assert event.type == "message" and event.data["event"]["text"] == "hello"
    finally:
        double.close()


def test_subscribe_bad_input_stores_nothing(engine: Engine) -> None:
    double = ProviderDouble("github")
    try:
        conn = connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_test"}, double.url)
        subs = engine.events.subscriptions
        with pytest.raises(TriggerNotFound, match="GITHUB_NOPE"):
            subs.subscribe(conn, SubscribeRequest(trigger="GITHUB_NOPE"))
        with pytest.raises(MissingInputs, match="repo"):
            subs.subscribe(conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o"}))
        with pytest.raises(UnknownInputs, match="colour"):
            subs.subscribe(
                conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": "r", "colour": 1})
            )
        with pytest.raises(InvalidInput, match="target_url"):
            subs.subscribe(
                conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": "r"}, target_url="ftp://x")
            )
        nowhere = Upstream()  # answers 404 to the webhook registration
        try:
            refused = connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_test"}, nowhere.url)
            with pytest.raises(ActionError, match="subscribe GITHUB_PUSH") as refusal:
                subs.subscribe(
                    refused, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": "r"}), wait=30
                )
            # The provider's refusal leaves a `failed` subscription, after 3 attempts.
            (failed,) = subs.list().results
            assert refusal.value.details["subscription_id"] == failed.id
            assert failed.status == "failed" and "subscribe GITHUB_PUSH" in (failed.last_error or "")
            assert len([s for s in nowhere.seen if s.method == "POST"]) == 3
            subs.delete(failed.id, wait=30)
        finally:
            nowhere.close()
        assert subs.list().total == 0 and not double.hooks
    finally:
        double.close()


class Paged:
    """A list API with two pages behind a `Link` header, whose items can be added to."""

    def __init__(self) -> None:
        self.items = [{"id": i, "title": f"item {i}"} for i in range(1, 6)]
        self.fail = False
        self.server = Upstream()
        self.server.route("GET", "/items", self._page)

    def _page(self, seen: Seen) -> Reply:
        if self.fail:
            return Reply(503, {"error": "down"})
        page = int(dict(seen.query).get("page", "1"))
        newest = sorted(self.items, key=lambda i: -i["id"])
        chunk = newest[(page - 1) * 3 : page * 3]
        headers = {}
        if page * 3 < len(newest):
            headers["Link"] = f'<{self.server.url}/items?page={page + 1}>; rel="next"'
        return Reply(200, chunk, headers=headers)


POLLING = {
    "id": "acme-feed",
    "display_name": "Acme feed",
    "base_url": "http://127.0.0.1",
    "auth": [{"mode": "NO_AUTH"}],
    "actions": {
        "ACME_FEED_LIST_ITEMS": {
            "display_name": "List items",
            "method": "GET",
            "path": "/items",
            "pagination": {"type": "link", "items": ""},
        }
    },
    "triggers": {
        "ACME_FEED_NEW_ITEM": {
            "display_name": "New item",
            "type": "poll",
            "action": "ACME_FEED_LIST_ITEMS",
            "id": "/id",
            "interval": 60,
        }
    },
}


def test_a_poll_trigger_across_pages(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = Paged()
    try:
        engine.integrations.create(POLLING)
        conn = connect(engine, "acme-feed", "NO_AUTH", {}, feed.server.url)
        sub = engine.events.subscriptions.subscribe(conn, SubscribeRequest(trigger="ACME_FEED_NEW_ITEM"))
        assert sub.type == "poll" and sub.webhook_url is None
        assert engine.events.poll_now(sub.id) == []  # the first poll records what exists
        feed.items += [{"id": 6, "title": "six"}, {"id": 7, "title": "seven"}]
        new = engine.events.poll_now(sub.id)
        assert [e.data["id"] for e in new] == [6, 7]
        assert engine.events.poll_now(sub.id) == []
        feed.fail = True
        with pytest.raises(ActionError, match="503|down|failed"):
            engine.events.poll_now(sub.id)
        shown = engine.events.subscriptions.get(sub.id)
        assert shown.status == "failing" and shown.last_error
        feed.fail = False
        feed.items.append({"id": 8, "title": "eight"})
        assert [e.data["id"] for e in engine.events.poll_now(sub.id)] == [8]
        assert engine.events.subscriptions.get(sub.id).status == "active"
        pulled = engine.events.subscriptions.events(sub.id)
        assert [e.data["id"] for e in pulled] == [6, 7, 8]
        after = engine.events.subscriptions.events(sub.id, after=pulled[0].id, limit=1)
        assert [e.data["id"] for e in after] == [7]
        with pytest.raises(EventNotFound):
            engine.events.subscriptions.events(sub.id, after="evt_nope")
    finally:
        feed.server.close()


def test_failed_delivery_retried_then_failed_and_redelivered(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, target: Upstream
) -> None:
    monkeypatch.setenv("PLUGHUB_DELIVERY_RETRY_DELAYS", "0.1,0.1")
    failing = Engine(engine.settings.__class__.from_env())
    failing.events.start_worker()
    feed = Paged()
    answers = {"status": 500}
    target.route("POST", "/flaky", lambda seen: Reply(answers["status"], {}))
    try:
        failing.integrations.create(POLLING)
        conn = connect(failing, "acme-feed", "NO_AUTH", {}, feed.server.url)
        sub = failing.events.subscriptions.subscribe(
            conn, SubscribeRequest(trigger="ACME_FEED_NEW_ITEM", target_url=f"{target.url}/flaky")
        )
        failing.events.poll_now(sub.id)
        feed.items.append({"id": 9, "title": "nine"})
        (event,) = failing.events.poll_now(sub.id)
        (failed,) = wait_for(lambda: failing.events.subscriptions.deliveries(sub.id, "failed"))
        assert failed.attempts == 3 and failed.last_status == 500
        tries = [s for s in target.seen if s.path == "/flaky"]
        assert len(tries) == 3 and len({s.header("webhook-id") for s in tries}) == 1
        answers["status"] = 204
        again = failing.events.redeliver(sub.id, event.id)
        assert again.status == "pending"
        wait_for(lambda: failing.events.subscriptions.deliveries(sub.id, "delivered"))
    finally:
        failing.close()
        feed.server.close()


def test_a_slow_target_does_not_hold_up_others(worker: Engine, target: Upstream) -> None:
    release = threading.Event()

    def slow(seen: Seen) -> Reply:
        release.wait(30)
        return Reply(200, {})

    target.route("POST", "/slow", slow)
    feed = Paged()
    try:
        worker.integrations.create(POLLING)
        conn = connect(worker, "acme-feed", "NO_AUTH", {}, feed.server.url)
        subs = worker.events.subscriptions
        slow_sub = subs.subscribe(conn, SubscribeRequest(trigger="ACME_FEED_NEW_ITEM", target_url=f"{target.url}/slow"))
        fast_sub = subs.subscribe(conn, SubscribeRequest(trigger="ACME_FEED_NEW_ITEM", target_url=f"{target.url}/hook"))
        for sub in (slow_sub, fast_sub):
            worker.events.poll_now(sub.id)
        feed.items += [{"id": n, "title": str(n)} for n in range(10, 14)]
        for sub in (slow_sub, fast_sub):
            worker.events.poll_now(sub.id)
        wait_for(lambda: len(subs.deliveries(fast_sub.id, "delivered")) == 4)
        assert not subs.deliveries(slow_sub.id, "delivered")
        release.set()
        wait_for(lambda: len(subs.deliveries(slow_sub.id, "delivered")) == 4)
    finally:
        release.set()
        feed.server.close()


def test_deleting_the_connection_unsubscribes_and_deletes(engine: Engine) -> None:
    double = ProviderDouble("github")
    try:
        conn = connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_test"}, double.url)
        sub = engine.events.subscriptions.subscribe(
            conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": "r"}), wait=30
        )
        assert double.hooks
        assert engine.connections.delete(conn, wait=30).status == "deleted"
        assert not double.hooks
        with pytest.raises(SubscriptionNotFound):
            engine.events.subscriptions.get(sub.id)
        assert engine.store.subscriptions.get(sub.id) is None
    finally:
        double.close()


def test_a_subscription_meets_a_deletion_marked_after_its_connection_was_read(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    double = ProviderDouble("github")
    try:
        conn = connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_test"}, double.url)
        store = engine.store
        insert = store.subscriptions.insert

        def marked_first(*args: Any) -> None:  # the deletion marks the connection between read and insert
            assert store.connections.mark_deleting(conn, None, lease=60)
            insert(*args)

        monkeypatch.setattr(store.subscriptions, "insert", marked_first)
        with pytest.raises(ConnectionNotFound, match="being deleted"):
            engine.events.subscriptions.subscribe(
                conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": "r"})
            )
        assert store.subscriptions.of_connection(conn) == []  # nothing the deletion would miss
        assert not double.hooks
    finally:
        double.close()


def test_pull_waits_for_an_event(engine: Engine) -> None:
    double = ProviderDouble("github")
    try:
        conn = connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_test"}, double.url)
        sub = engine.events.subscriptions.subscribe(
            conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": "r"}), wait=30
        )
        (hook,) = double.hooks.values()

        def later() -> None:
            time.sleep(0.3)
            d = double.build("push", {"ref": "refs/heads/main"}, url=hook.url, secret=hook.secret)
            post(engine, hook.url, d.body, d.headers)

        threading.Thread(target=later).start()
        (event,) = engine.events.subscriptions.events(sub.id, wait=20)
        assert event.data == {"ref": "refs/heads/main"}
        with pytest.raises(InvalidInput):
            engine.events.subscriptions.events(sub.id, wait=31)
        httpx  # noqa: B018 - imported for the type of the answers in other tests
        json  # noqa: B018
    finally:
        double.close()


def test_a_subscription_deleted_while_listed_is_left_out(engine: Engine) -> None:
    """A page read while a deletion removes the sealed values: that subscription is skipped, not a crash."""
    from plughub.engine.store.subscriptions import subscription_record_id

    double = ProviderDouble("github")
    try:
        conn = connect(engine, "github", "BEARER_TOKEN", {"token": "ghp_test"}, double.url)
        kept, going = (
            engine.events.subscriptions.subscribe(
                conn, SubscribeRequest(trigger="GITHUB_PUSH", config={"owner": "o", "repo": repo}), wait=30
            )
            for repo in ("a", "b")
        )
        # What a deletion finishing between the page's read and the opening of its values leaves.
        assert engine.store.credentials.delete(subscription_record_id(going.id))
        listed = engine.events.subscriptions.list(connection_id=conn)
        assert [info.id for info in listed.results] == [kept.id]
        with pytest.raises(SubscriptionNotFound):
            engine.events.subscriptions.get(going.id)
    finally:
        double.close()

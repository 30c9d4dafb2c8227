"""The events SDK (`tool.triggers`, `tool.subscribe`, `Subscription`, `Event`) on both backends.

The same calls run in process and against a real server; errors are the same classes; secrets
are shown by the creating call only, never in a repr, a later read, or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from plughub import AuthenticationSchema, FunctionType, IntegrationFactory, ModelFactory
from plughub.backends import Backend
from plughub.backends.remote import RemoteBackend
from plughub.exceptions import EventNotFound, InvalidInput, MissingInputs, SubscriptionNotFound, TriggerNotFound
from plughub.modules.model.connection import ConnectionTool
from plughub.modules.model.subscription import Event, Subscription
from tests.events.test_events_engine import POLLING, Paged
from tests.providers.double import ProviderDouble


@pytest.fixture
def feed() -> Iterator[Paged]:
    paged = Paged()
    yield paged
    paged.server.close()


def _tool(feed: Paged) -> ConnectionTool:
    IntegrationFactory.create(POLLING)
    connected = IntegrationFactory.get("acme-feed").connect(
        AuthenticationSchema.NO_AUTH, data={"base_url": feed.server.url}
    )
    tool = ModelFactory.get(connected.data["id"])
    assert isinstance(tool, ConnectionTool)
    return tool


def test_poll_subscription_through_the_sdk(any_backend: Backend, feed: Paged, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tool = _tool(feed)
    assert [t.code for t in tool.triggers] == ["ACME_FEED_NEW_ITEM"]
    sub = tool.subscribe("NEW_ITEM")  # the integration prefix may be left out
    assert isinstance(sub, Subscription) and sub.trigger == "ACME_FEED_NEW_ITEM" and sub.connection_id == tool.id
    assert sub.secret is not None and sub.secret.startswith("whsec_")
    assert sub.secret not in repr(sub) and sub.secret not in str(sub) and "***" in repr(sub)
    assert sub.poll_now() == []
    feed.items += [{"id": 20, "title": "twenty"}, {"id": 21, "title": "twenty-one"}]
    new = sub.poll_now()
    assert [e.data["id"] for e in new] == [20, 21] and all(isinstance(e, Event) for e in new)
    assert new[0].trigger == "ACME_FEED_NEW_ITEM" and new[0].connection_id == tool.id
    pulled = sub.events()
    assert [e.id for e in pulled] == [e.id for e in new]
    assert [e.id for e in sub.events(after=pulled[0])] == [pulled[1].id]
    assert sub.events(after=pulled[1].id, wait=0.3) == []
    with pytest.raises(EventNotFound):
        sub.events(after="evt_unknown")
    with pytest.raises(InvalidInput):
        sub.events(limit=0)
    listed = ModelFactory.list(function_type=FunctionType.SUBSCRIPTION)
    assert listed["total"] == 1
    (again,) = listed["results"]
    assert isinstance(again, Subscription) and again.id == sub.id and again.secret is None
    assert again.refresh().status == "active"
    deleted = sub.delete()
    assert deleted.id == sub.id
    with pytest.raises(SubscriptionNotFound):
        again.refresh()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert sub.secret not in logged


def test_sdk_errors_are_the_same_in_both_backends(any_backend: Backend, feed: Paged) -> None:
    tool = _tool(feed)
    with pytest.raises(TriggerNotFound, match="ACME_FEED_NOPE"):
        tool.subscribe("ACME_FEED_NOPE")
    with pytest.raises(InvalidInput, match="target_url"):
        tool.subscribe("ACME_FEED_NEW_ITEM", target_url="file:///etc/passwd")
    with pytest.raises(InvalidInput):
        tool.subscribe("ACME_FEED_NEW_ITEM", config={"nope": 1})
    assert ModelFactory.list(function_type=FunctionType.SUBSCRIPTION)["total"] == 0


def test_github_webhook_through_the_sdk(any_backend: Backend) -> None:
    double = ProviderDouble("github")
    try:
        connected = IntegrationFactory.get("github").connect(
            AuthenticationSchema.BEARER_TOKEN, data={"token": "ghp_t", "base_url": double.url}
        )
        tool = ModelFactory.get(connected.data["id"])
        assert isinstance(tool, ConnectionTool)
        with pytest.raises(MissingInputs, match="repo"):
            tool.subscribe("GITHUB_PUSH", config={"owner": "o"})
        sub = tool.subscribe("GITHUB_PUSH", config={"owner": "octo", "repo": "hello"})
        # The SDK waits for the subscribe job: registered at the provider when it returns.
        assert sub.status == "active" and sub.webhook_secret and sub.webhook_url and sub.provider_id
        assert sub.webhook_secret not in repr(sub)
        (hook,) = double.hooks.values()
        assert hook.secret == sub.webhook_secret
        sent = double.build("push", {"ref": "refs/heads/main"}, url=hook.url, secret=hook.secret)
        if isinstance(any_backend, RemoteBackend):
            # The webhook URL names PLUGHUB_PUBLIC_URL; the test's server listens elsewhere.
            path = urlsplit(hook.url).path
            answer = httpx.post(any_backend.base_url + path, content=sent.body, headers=sent.headers)
            assert answer.status_code == 200, answer.text
        else:
            from plughub.backends import get_backend

            embedded = get_backend()
            token = hook.url.rsplit("/", 1)[1]
            assert embedded.engine.events.receive(token, sent.body, sent.headers).status == 200  # type: ignore[attr-defined]
        (event,) = sub.events(wait=10)
        assert event.type == "push" and event.data == {"ref": "refs/heads/main"}
        with pytest.raises(InvalidInput, match="webhook trigger"):
            sub.poll_now()
        result = sub.delete()
        assert result.status == "deleted" and result.unsubscribed and not double.hooks
    finally:
        double.close()


def test_sdk_subscribe_without_waiting_then_refresh(any_backend: Backend) -> None:
    double = ProviderDouble("github")
    try:
        connected = IntegrationFactory.get("github").connect(
            AuthenticationSchema.BEARER_TOKEN, data={"token": "ghp_t", "base_url": double.url}
        )
        tool = ModelFactory.get(connected.data["id"])
        assert isinstance(tool, ConnectionTool)
        with pytest.raises(InvalidInput, match="wait"):
            tool.subscribe("GITHUB_PUSH", config={"owner": "o", "repo": "r"}, wait=60)
        sub = tool.subscribe("GITHUB_PUSH", config={"owner": "o", "repo": "r"}, wait=0)
        assert sub.status == "pending" and sub.provider_id is None and sub.webhook_secret
        # No worker runs here: a later call that waits makes the attempt itself.
        gone = sub.delete(wait=30)
        assert gone.status == "deleted" and not double.hooks
        with pytest.raises(SubscriptionNotFound):
            sub.refresh()
    finally:
        double.close()

"""The events REST API of §10 against a live server (uvicorn on 127.0.0.1), on SQLite and PostgreSQL.

A GitHub double registers the webhook and posts signed deliveries to the server's public
`/webhooks/{token}`; the server stores the event, answers, and pushes it to a loopback target
(checked with `standardwebhooks`). Bad inbound requests get the right 4xx with nothing stored;
another team's ids are 404; secrets appear only in the creating answer. PostgreSQL runs the jobs
on procrastinate (skipped locally without PostgreSQL, required under CI=true).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import standardwebhooks

from tests.providers.double import ProviderDouble
from tests.server.conftest import Hub, HubFactory, assert_error
from tests.server.conftest import make_hub as make_hub  # the fixture
from tests.servers import postgres_database
from tests.upstream import Reply, Upstream


def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the condition did not hold in time")


@pytest.fixture(params=["sqlite", "postgresql"])
def events_hub(request: pytest.FixtureRequest, make_hub: HubFactory) -> Iterator[Hub]:
    if request.param == "sqlite":
        yield make_hub(max_body_bytes=64_000)
        return
    with postgres_database() as url:
        hub = make_hub(database_url=url, max_body_bytes=64_000)
        yield hub
        hub.stack.close()  # the server and its workers stop before the database goes


@pytest.fixture
def target() -> Iterator[Upstream]:
    server = Upstream()
    server.route("POST", "/hook", Reply(200, {"ok": True}))
    yield server
    server.close()


@pytest.fixture
def github() -> Iterator[ProviderDouble]:
    double = ProviderDouble("github")
    yield double
    double.close()


class ProviderDoubleAt:
    """Stands for a provider double at another URL (one that refuses every call)."""

    def __init__(self, url: str) -> None:
        self.url = url


def connect_github(client: httpx.Client, double: ProviderDouble | ProviderDoubleAt) -> str:
    body = {"integration_id": "github", "scheme": "BEARER_TOKEN", "data": {"token": "ghp_x", "base_url": double.url}}
    response = client.post("/v1/connections", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_github_issue_to_a_target_through_the_server(events_hub: Hub, github: ProviderDouble, target: Upstream) -> None:
    a = events_hub.team("team-a")
    b = events_hub.team("team-b")
    conn = connect_github(a.client, github)
    triggers = a.client.get(f"/v1/connections/{conn}/triggers")
    assert triggers.status_code == 200 and "GITHUB_ISSUE_OPENED" in {t["code"] for t in triggers.json()}
    created = a.client.post(
        f"/v1/connections/{conn}/subscriptions",
        json={
            "trigger": "GITHUB_ISSUE_OPENED",
            "config": {"owner": "octo", "repo": "hello"},
            "target_url": f"{target.url}/hook",
        },
    )
    assert created.status_code == 201, created.text
    sub = created.json()
    # Answered at once: the webhook is registered at the provider by a job.
    assert sub["status"] == "pending" and sub["provider_id"] is None
    assert sub["webhook_url"].startswith(events_hub.url + "/webhooks/")
    assert sub["secret"].startswith("whsec_") and sub["webhook_secret"]
    wait_for(lambda: a.client.get(f"/v1/subscriptions/{sub['id']}").json()["status"] == "active")
    (hook,) = github.hooks.values()
    assert hook.secret == sub["webhook_secret"]

    # The provider posts to the server; duplicates are stored once.
    (sent,) = github.deliver("issues", {"action": "opened", "issue": {"number": 1}})
    replay = httpx.post(hook.url, content=sent.body, headers=sent.headers)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    seen = wait_for(lambda: target.seen[0] if target.seen else None)
    message = standardwebhooks.Webhook(sub["secret"]).verify(seen.body, seen.headers)
    assert message["data"]["issue"] == {"number": 1} and message["subscription_id"] == sub["id"]

    events = a.client.get(f"/v1/subscriptions/{sub['id']}/events").json()
    assert [e["id"] for e in events] == [message["id"]]
    deliveries = wait_for(lambda: a.client.get(f"/v1/subscriptions/{sub['id']}/deliveries?status=delivered").json())
    assert deliveries[0]["event_id"] == message["id"]

    # Secrets only in the creating answer; another team sees nothing.
    again = a.client.get(f"/v1/subscriptions/{sub['id']}").json()
    assert again["secret"] is None and again["webhook_secret"] is None
    for text in (
        a.client.get(f"/v1/connections/{conn}/subscriptions").text,
        a.client.get("/v1/subscriptions").text,
        a.client.get(f"/v1/subscriptions/{sub['id']}").text,
    ):
        assert sub["secret"] not in text and sub["webhook_secret"] not in text
    for method, path in (
        ("GET", f"/v1/subscriptions/{sub['id']}"),
        ("GET", f"/v1/subscriptions/{sub['id']}/events"),
        ("GET", f"/v1/subscriptions/{sub['id']}/deliveries"),
        ("POST", f"/v1/subscriptions/{sub['id']}/events/{message['id']}/redeliver"),
        ("DELETE", f"/v1/subscriptions/{sub['id']}"),
        ("GET", f"/v1/connections/{conn}/triggers"),
        ("GET", f"/v1/connections/{conn}/subscriptions"),
    ):
        assert b.client.request(method, path).status_code == 404, path
    assert b.client.get("/v1/subscriptions").json()["total"] == 0

    redelivered = a.client.post(f"/v1/subscriptions/{sub['id']}/events/{message['id']}/redeliver")
    assert redelivered.status_code == 202 and redelivered.json()["status"] == "pending"
    wait_for(lambda: len(target.seen) >= 2)
    assert {s.header("webhook-id") for s in target.seen} == {message["id"]}

    deleted = a.client.delete(f"/v1/subscriptions/{sub['id']}")
    assert deleted.status_code == 200 and deleted.json()["status"] in ("deleting", "deleted")
    wait_for(lambda: a.client.get(f"/v1/subscriptions/{sub['id']}").status_code == 404)
    assert not github.hooks
    assert_error(a.client.get(f"/v1/subscriptions/{sub['id']}"), 404, "subscription_not_found")


def test_subscribe_and_delete_wait_for_their_jobs(events_hub: Hub, github: ProviderDouble) -> None:
    a = events_hub.team("team-a")
    conn = connect_github(a.client, github)
    path = f"/v1/connections/{conn}/subscriptions"
    body = {"trigger": "GITHUB_PUSH", "config": {"owner": "o", "repo": "r"}}
    assert_error(a.client.post(path, json=body, params={"wait": 31}), 422, "invalid_input")
    assert a.client.get(path).json()["total"] == 0
    created = a.client.post(path, json=body, params={"wait": 30})
    assert created.status_code == 201, created.text
    sub = created.json()
    (hook,) = github.hooks.values()
    assert sub["status"] == "active" and sub["provider_id"] == str(hook.id) and hook.secret == sub["webhook_secret"]
    deleted = a.client.delete(f"/v1/subscriptions/{sub['id']}", params={"wait": 30})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": sub["id"], "status": "deleted", "unsubscribed": True, "unsubscribe_error": None}
    assert not github.hooks and a.client.get(path).json()["total"] == 0

    # A provider that refuses: `failed` after the last attempt, its message in `last_error`.
    nowhere = Upstream()
    try:
        refused = connect_github(a.client, ProviderDoubleAt(nowhere.url))
        answer = a.client.post(f"/v1/connections/{refused}/subscriptions", json=body, params={"wait": 30})
        assert answer.status_code >= 400 and answer.status_code != 500, answer.text
        assert "subscribe GITHUB_PUSH" in answer.json()["message"]
        (failed,) = a.client.get(f"/v1/connections/{refused}/subscriptions").json()["results"]
        assert failed["id"] == answer.json()["details"]["subscription_id"]
        assert failed["status"] == "failed" and "404" in failed["last_error"] and "ghp_x" not in answer.text
        assert len([s for s in nowhere.seen if s.method == "POST"]) == 3
    finally:
        nowhere.close()


def test_bad_inbound_requests_store_nothing(events_hub: Hub, github: ProviderDouble) -> None:
    a = events_hub.team("team-a")
    conn = connect_github(a.client, github)
    sub = a.client.post(
        f"/v1/connections/{conn}/subscriptions",
        json={"trigger": "GITHUB_ISSUE_EVENT", "config": {"owner": "o", "repo": "r"}},
    ).json()
    url, secret = sub["webhook_url"], sub["webhook_secret"]
    good = github.build("issues", {"action": "opened"}, url=url, secret=secret)
    wrong = github.build("issues", {"action": "opened"}, url=url, secret="wrong")
    refused = httpx.post(url, content=wrong.body, headers=wrong.headers)
    assert_error(refused, 401, "invalid_signature")
    # Served ahead of FastAPI, the route answers as every route does: its headers, a 405 for another method.
    assert refused.headers["x-request-id"] and refused.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(url).status_code == 405
    unsigned = {k: v for k, v in good.headers.items() if not k.lower().startswith("x-hub-signature")}
    assert_error(httpx.post(url, content=good.body, headers=unsigned), 401, "invalid_signature")
    raw = b"this is not json"
    signed = {
        **good.headers,
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
    }
    assert_error(httpx.post(url, content=raw, headers=signed), 400, "invalid_body")
    big = json.dumps({"action": "opened", "pad": "x" * 70_000}).encode()
    too_big = {
        **good.headers,
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), big, hashlib.sha256).hexdigest(),
    }
    assert httpx.post(url, content=big, headers=too_big).status_code == 413
    assert (
        httpx.post(url.rsplit("/", 1)[0] + "/not-a-token", content=good.body, headers=good.headers).status_code == 404
    )
    assert a.client.get(f"/v1/subscriptions/{sub['id']}/events").json() == []
    assert httpx.post(url, content=good.body, headers=good.headers).status_code == 200
    assert len(a.client.get(f"/v1/subscriptions/{sub['id']}/events").json()) == 1


def test_subscribe_bad_input_is_a_clear_4xx(events_hub: Hub, github: ProviderDouble) -> None:
    a = events_hub.team("team-a")
    conn = connect_github(a.client, github)
    path = f"/v1/connections/{conn}/subscriptions"
    assert_error(a.client.post(path, json={"trigger": "GITHUB_NOPE"}), 404, "trigger_not_found")
    assert_error(a.client.post(path, json={"trigger": "GITHUB_PUSH", "config": {"owner": "o"}}), 422, "missing_inputs")
    assert_error(
        a.client.post(path, json={"trigger": "GITHUB_PUSH", "config": {"owner": "o", "repo": "r"}, "target_url": "x"}),
        422,
        "invalid_input",
    )
    assert_error(
        a.client.post("/v1/connections/nope/subscriptions", json={"trigger": "GITHUB_PUSH"}),
        404,
        "connection_not_found",
    )
    assert a.client.get(path).json()["total"] == 0 and not github.hooks


def test_long_poll_answers_when_an_event_arrives(events_hub: Hub, github: ProviderDouble) -> None:
    import threading

    a = events_hub.team("team-a")
    conn = connect_github(a.client, github)
    sub = a.client.post(
        f"/v1/connections/{conn}/subscriptions", json={"trigger": "GITHUB_PUSH", "config": {"owner": "o", "repo": "r"}}
    ).json()

    def later() -> None:
        time.sleep(0.5)
        github.deliver("push", {"ref": "refs/heads/main"})

    threading.Thread(target=later).start()
    events = a.client.get(f"/v1/subscriptions/{sub['id']}/events", params={"wait": 20}).json()
    assert [e["data"]["ref"] for e in events] == ["refs/heads/main"]
    first = events[0]["id"]
    assert a.client.get(f"/v1/subscriptions/{sub['id']}/events", params={"after": first}).json() == []
    assert_error(
        a.client.get(f"/v1/subscriptions/{sub['id']}/events", params={"after": "evt_x"}), 404, "event_not_found"
    )
    assert a.client.get(f"/v1/subscriptions/{sub['id']}/events", params={"wait": 31}).status_code == 422

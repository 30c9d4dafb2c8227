"""`/metrics`: Prometheus text after known runs, label hygiene, and who may read it.

The hub is a live server (uvicorn on 127.0.0.1) whose engine talks to the sandbox; the text is
parsed with prometheus-client's own parser. Each hub has metrics of its own (no
PROMETHEUS_MULTIPROC_DIR here); `test_metrics_workers.py` runs `plughub serve --workers 2`.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from plughub.config import Settings
from plughub.engine import Engine
from plughub.sandbox import SandboxServer
from plughub.server import create_app
from plughub.server.metrics_http import is_loopback, metrics_refusal
from tests.conftest import CANARIES
from tests.events.test_events_engine import POLLING, wait_for
from tests.server.conftest import Hub, HubFactory, Tenant, connect_sandbox, run
from tests.upstream import Reply, Upstream

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, keyed by its name and labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def scrape(client: httpx.Client) -> tuple[str, Samples]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text, samples(response.text)


def test_runs_latency_requests_and_connections_after_known_runs(
    hub: Hub, team_a: Tenant, sandbox: SandboxServer
) -> None:
    connection_id = connect_sandbox(team_a.client, sandbox)
    for _ in range(3):
        assert run(team_a.client, connection_id, "SANDBOX_WHOAMI").json()["status"] == "SUCCESS"
    assert run(team_a.client, connection_id, "GET_NOTE", {"note_id": 999}).json()["status"] == "FAILED"  # a 404
    assert run(team_a.client, connection_id, "SANDBOX_CREATE_NOTE", {}).status_code == 422  # not a run
    assert team_a.client.get(f"/v1/connections/{connection_id}").status_code == 200

    text, found = scrape(hub.client())
    runs = "plughub_action_runs_total"
    assert value(found, runs, integration="sandbox", action="SANDBOX_WHOAMI", status="SUCCESS") == 3
    assert value(found, runs, integration="sandbox", action="SANDBOX_GET_NOTE", status="FAILED") == 1
    assert value(found, runs, integration="sandbox", action="SANDBOX_CREATE_NOTE", status="FAILED") == 0
    latency = "plughub_upstream_latency_seconds"
    assert value(found, f"{latency}_count", integration="sandbox", action="SANDBOX_WHOAMI") == 3
    assert value(found, f"{latency}_bucket", integration="sandbox", action="SANDBOX_WHOAMI", le="+Inf") == 3
    assert value(found, f"{latency}_sum", integration="sandbox", action="SANDBOX_WHOAMI") > 0
    assert value(found, "plughub_connections", integration="sandbox", status="active") == 1

    requests = "plughub_http_requests_total"
    run_route = "/v1/connections/{connection_id}/actions/{action}/run"
    assert value(found, requests, method="POST", route=run_route, status="200") == 4
    assert value(found, requests, method="POST", route=run_route, status="422") == 1
    assert value(found, requests, method="POST", route="/v1/connections", status="201") == 1
    assert value(found, requests, method="GET", route="/v1/connections/{connection_id}", status="200") == 1
    assert value(found, "plughub_http_request_duration_seconds_count", method="POST", route=run_route) == 5
    # Neither the connection id (it is in the paths), nor a key or credential, is in any label.
    assert connection_id not in text
    assert team_a.key not in text
    for canary in CANARIES:
        assert canary not in text

    # A second scrape sees the first one counted, under its template.
    _text, again = scrape(hub.client())
    assert value(again, requests, method="GET", route="/metrics", status="200") == 1


def test_paths_with_tokens_are_counted_under_their_template_never_as_sent(hub: Hub, team_a: Tenant) -> None:
    token = "tok" + secrets.token_urlsafe(24)
    assert hub.client().get(f"/connect/{token}").status_code in (400, 404, 410)
    assert hub.client().get(f"/no/such/{token}").status_code == 404
    assert hub.client().request("PROPFIND", "/v1/health").status_code in (400, 405)

    text, found = scrape(hub.client())
    assert token not in text
    connect_routes = {dict(labels)["route"] for (name, labels) in found if name == "plughub_http_requests_total"} - {
        "/metrics"
    }
    assert "/connect/{token}" in connect_routes
    assert value(found, "plughub_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert any(
        dict(labels).get("method") == "other" for (name, labels) in found if name == "plughub_http_requests_total"
    )


def test_an_unmatched_label_charset_never_reaches_a_label() -> None:
    from prometheus_client import CollectorRegistry

    from plughub.schemas import ActionResult
    from plughub.server.metrics import Metrics, exposition

    metrics = Metrics(CollectorRegistry())
    metrics.run_finished("acme", 'bad"action\nwith {braces}', ActionResult(status="SUCCESS", run_time=0.01))
    found = samples(exposition(metrics, {}).decode())
    assert value(found, "plughub_action_runs_total", integration="acme", action="other", status="SUCCESS") == 1


def test_the_connections_gauge_counts_every_team_by_status(
    hub: Hub, team_a: Tenant, team_b: Tenant, sandbox: SandboxServer
) -> None:
    first = connect_sandbox(team_a.client, sandbox)
    connect_sandbox(team_b.client, sandbox)
    hub.engine.store.connections.set_status(first, "expired", "test")
    _text, found = scrape(hub.client())
    assert value(found, "plughub_connections", integration="sandbox", status="active") == 1
    assert value(found, "plughub_connections", integration="sandbox", status="expired") == 1


# Who may read it


def test_with_a_token_metrics_want_it_as_a_bearer(make_hub: HubFactory) -> None:
    token = "metrics-" + secrets.token_urlsafe(16)
    hub = make_hub(metrics_token=token)
    missing = hub.client().get("/metrics")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "PLUGHUB_METRICS_TOKEN" in missing.json()["message"]
    wrong = hub.client("not-" + token).get("/metrics")
    assert wrong.status_code == 401
    assert token not in wrong.text
    assert "wrong" in wrong.json()["message"]
    right = hub.client(token).get("/metrics")
    assert right.status_code == 200
    assert "plughub_http_requests_total" in right.text
    assert token not in right.text


@pytest.fixture
def asgi_app(settings: Settings) -> Iterator[Any]:
    engine = Engine(settings, guard_outbound=True)
    try:
        yield create_app(engine, settings)
    finally:
        engine.close()


async def _get(app: Any, host: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.example") as client:
        return await client.get("/metrics", headers=headers)


def test_without_a_token_only_loopback_clients_may_read(asgi_app: Any) -> None:
    import asyncio

    remote = asyncio.run(_get(asgi_app, "203.0.113.7"))
    assert remote.status_code == 403
    body = remote.json()
    assert body["error"] == "forbidden"
    assert "PLUGHUB_METRICS_TOKEN" in body["message"]
    for host in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        assert asyncio.run(_get(asgi_app, host)).status_code == 200, host
    # A token the server does not want changes nothing for a remote client.
    assert asyncio.run(_get(asgi_app, "10.0.0.5", Authorization="Bearer anything")).status_code == 403


def test_with_a_token_a_remote_client_may_read(settings: Settings) -> None:
    import asyncio

    token = secrets.token_urlsafe(16)
    configured = dataclasses.replace(settings, metrics_token=token)
    engine = Engine(configured, guard_outbound=True)
    try:
        app = create_app(engine, configured)
        assert asyncio.run(_get(app, "203.0.113.7")).status_code == 401
        assert asyncio.run(_get(app, "203.0.113.7", Authorization=f"Bearer {token}")).status_code == 200
        assert asyncio.run(_get(app, "127.0.0.1")).status_code == 401  # the token holds for loopback too
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("client", "loopback"),
    [
        (("127.0.0.1", 1), True),
        (("::1", 1), True),
        (("::ffff:127.0.0.1", 1), True),
        (("192.168.1.2", 1), False),
        (("::ffff:10.0.0.1", 1), False),
        (("not-an-address", 1), False),
        (None, False),
    ],
)
def test_is_loopback(client: Any, loopback: bool) -> None:
    assert is_loopback(client) is loopback


def test_the_token_is_compared_whole() -> None:
    assert metrics_refusal("abc", "Bearer abc", None) is None
    assert metrics_refusal("abc", "bearer abc", None) is None
    for sent in ("Bearer ab", "Bearer abcd", "abc", "Basic abc", ""):
        refusal = metrics_refusal("abc", sent, ("127.0.0.1", 1))
        assert refusal is not None and refusal.status_code == 401, sent
    assert metrics_refusal("ünïcode", "Bearer ünïcode", None) is None


def test_event_deliveries_and_the_queue_depth_count_real_deliveries(make_hub: HubFactory) -> None:
    hub = make_hub(delivery_retry_delays=(0.05,))  # two attempts per delivery
    team = hub.team("team-events")
    release = threading.Event()
    target = Upstream()
    target.route("POST", "/ok", Reply(200, {}))
    target.route("POST", "/down", Reply(500, {}))
    target.route("POST", "/held", lambda _seen: (release.wait(30), Reply(200, {}))[1])
    feeds: dict[str, tuple[Upstream, list[dict[str, int]]]] = {}
    hub.engine.integrations.create(POLLING, team=team.id)

    def subscribed(path: str) -> str:
        feed, items = Upstream(), [{"id": 1}]  # a list API of its own for each subscription
        feed.route("GET", "/items", lambda _seen: Reply(200, items))
        made = team.client.post(
            "/v1/connections",
            json={"integration_id": "acme-feed", "scheme": "NO_AUTH", "data": {"base_url": feed.url}},
        )
        assert made.status_code == 201, made.text
        sub = team.client.post(
            f"/v1/connections/{made.json()['id']}/subscriptions",
            json={"trigger": "ACME_FEED_NEW_ITEM", "target_url": f"{target.url}{path}"},
        )
        assert sub.status_code == 201, sub.text
        feeds[sub.json()["id"]] = (feed, items)
        assert team.client.post(f"/v1/subscriptions/{sub.json()['id']}/poll").json() == []  # records what exists
        return str(sub.json()["id"])

    def poll(sub: str, *new: int) -> None:
        feeds[sub][1].extend({"id": n} for n in new)
        assert len(team.client.post(f"/v1/subscriptions/{sub}/poll").json()) == len(new)

    def deliveries(sub: str, status: str) -> list[Any]:
        return list(team.client.get(f"/v1/subscriptions/{sub}/deliveries", params={"status": status}).json())

    try:
        ok, down, held = subscribed("/ok"), subscribed("/down"), subscribed("/held")
        _, before = scrape(hub.client())
        assert value(before, "plughub_queue_depth", queue="deliveries") == 0
        poll(ok, 2, 3)
        poll(down, 4)
        wait_for(lambda: len(deliveries(ok, "delivered")) == 2 and len(deliveries(down, "failed")) == 1)
        poll(held, 5, 6, 7)  # the target holds them: they stay pending
        wait_for(lambda: any(s.path == "/held" for s in target.seen))
        _, during = scrape(hub.client())
        total = "plughub_event_deliveries_total"
        assert value(during, total, status="delivered") == 2
        assert value(during, total, status="pending") == 1  # the first attempt at /down; a retry followed
        assert value(during, total, status="failed") == 1
        assert value(during, "plughub_queue_depth", queue="deliveries") == 3
        release.set()
        wait_for(lambda: len(deliveries(held, "delivered")) == 3)
        _, after = scrape(hub.client())
        assert value(after, total, status="delivered") == 5
        assert value(after, total, status="failed") == 1
        assert value(after, "plughub_queue_depth", queue="deliveries") == 0
        # The failed one, sent again to a target now fixed, is counted once more as delivered.
        target.route("POST", "/down", Reply(200, {}))
        (event,) = deliveries(down, "failed")
        assert team.client.post(f"/v1/subscriptions/{down}/events/{event['event_id']}/redeliver").status_code == 202
        wait_for(lambda: len(deliveries(down, "delivered")) == 1)
        _, last = scrape(hub.client())
        assert value(last, total, status="delivered") == 6
        assert value(last, "plughub_queue_depth", queue="deliveries") == 0
    finally:
        release.set()
        target.close()
        for feed, _items in feeds.values():
            feed.close()

"""Nothing lost (issue 17 §5): events survive a kill -9, workers share deliveries, bad inbound stores nothing.

Integration tests on real processes: `plughub serve` and `plughub worker` run as subprocesses on
a loopback port with a PLUGHUB_HOME of their own (SQLite there, or a fresh PostgreSQL database
that is dropped afterwards). Webhooks come in as Clerk signs them (Standard Webhooks with the
`svix-*` headers and the endpoint's `whsec_` secret, `tests.providers.deliveries.clerk`), and go
out to `tests.events.receiver.Receiver`, which checks each delivery with the `standardwebhooks`
package and counts attempts per `webhook-id`. Everything is read through the REST API. No time
is asserted: each wait is on a condition, with a generous deadline.

PostgreSQL tests skip without PostgreSQL on 127.0.0.1:5432, except under CI=true.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.events.hub import Hub, hub
from tests.events.receiver import Receiver
from tests.providers.deliveries import Delivery, clerk
from tests.servers import postgres_database

pytestmark = pytest.mark.slow

TRIGGER = "CLERK_USER_CREATED"
EVENT = "user.created"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite under the hub's PLUGHUB_HOME, else the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def postgresql() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver()
    yield target
    target.close()


@dataclass
class Subscribed:
    """A Clerk subscription: where Clerk posts, what it signs with, where plughub delivers."""

    id: str
    webhook_path: str
    signing_secret: str


def subscribe(served: Hub, target: Receiver) -> Subscribed:
    """Connect to Clerk and subscribe to user.created with `target` as the target; give it the secret."""
    connection = served.call(
        "POST",
        "/v1/connections",
        json={"integration_id": "clerk", "scheme": "BEARER_TOKEN", "data": {"token": "sk_test_x"}},
    )["id"]
    signing_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    made = served.call(
        "POST",
        f"/v1/connections/{connection}/subscriptions",
        json={"trigger": TRIGGER, "config": {"signing_secret": signing_secret}, "target_url": target.url},
    )
    assert made["secret"].startswith("whsec_"), made
    target.secret = made["secret"]
    return Subscribed(made["id"], urlsplit(made["webhook_url"]).path, signing_secret)


def signed(sub: Subscribed, marker: str, *, now: int | None = None) -> Delivery:
    """A user.created delivery as Clerk signs it; `marker` is the user's id, to find it again."""
    return clerk(
        EVENT, {"id": marker, "object": "user"}, sub.signing_secret, "", int(time.time()) if now is None else now
    )


def post(served: Hub, sub: Subscribed, delivery: Delivery) -> httpx.Response:
    return httpx.post(served.url + sub.webhook_path, content=delivery.body, headers=delivery.headers, timeout=30)


def send_many(served: Hub, sub: Subscribed, count: int) -> list[str]:
    """Post `count` distinct, well-signed deliveries (each must be answered 2xx); return their markers."""
    markers = [f"user_{uuid.uuid4().hex[:12]}" for _ in range(count)]
    with httpx.Client(timeout=30) as client:
        for marker in markers:
            delivery = signed(sub, marker)
            answer = client.post(served.url + sub.webhook_path, content=delivery.body, headers=delivery.headers)
            assert answer.is_success, f"{answer.status_code}: {answer.text[:500]}"
    return markers


def marker_of(payload: dict[str, Any]) -> str:
    """The user id inside a delivered payload's `data` (wherever plughub keeps the body)."""
    text = json.dumps(payload["data"])
    start = text.find("user_")
    return text[start : start + 17] if start >= 0 else ""


def stored_ids(served: Hub, sub: Subscribed, count: int) -> set[str]:
    """The ids of the subscription's stored events, read through the REST API; there must be `count`."""
    stored = served.events(sub.id)
    assert len(stored) == count, f"{len(stored)} events stored for {count} sent"
    return {event["id"] for event in stored}


def check_all_delivered(target: Receiver, sub: Subscribed, ids: set[str], markers: list[str]) -> None:
    """Each stored event reached the target, whole and signed, under its own webhook-id."""
    target.wait_for(lambda: ids <= target.accepted_ids(), f"all {len(ids)} events to be delivered")
    assert set(target.seen) <= ids, "the target got a webhook-id that is no stored event"
    found = set()
    for event_id, seen in target.seen.items():
        # A repeat is the same message: same webhook-id (the key), same payload.
        assert all(p == seen.payloads[0] for p in seen.payloads), f"{event_id}: attempts differ"
        payload = seen.payloads[0]
        assert payload["id"] == event_id
        assert set(payload) >= {"id", "type", "trigger", "subscription_id", "connection_id", "data", "received_at"}
        assert (payload["type"], payload["trigger"], payload["subscription_id"]) == (EVENT, TRIGGER, sub.id)
        found.add(marker_of(payload))
    assert found == set(markers)
    assert target.bad_signatures == 0


def check_listed_delivered(served: Hub, sub: Subscribed, ids: set[str]) -> None:
    """`GET /v1/subscriptions/{id}/deliveries` lists each event as delivered."""

    def all_delivered() -> bool:
        listed = served.deliveries(sub.id)
        return {d["event_id"] for d in listed} == ids and all(d["status"] == "delivered" for d in listed)

    served.wait_for(all_delivered, "every delivery to be listed as delivered")


# --- kill -9 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target_state", ["down", "slow"])
def test_a_killed_server_leaves_each_stored_event_to_be_delivered(
    database: str | None, target_state: str, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.mode = "refuse" if target_state == "down" else "hold"
    with hub(tmp_path, database) as served:
        served.serve()
        sub = subscribe(served, receiver)
        markers = send_many(served, sub, 20)
        ids = stored_ids(served, sub, 20)  # stored before the answer
        if target_state == "down":
            receiver.wait_for(lambda: len(receiver.seen) >= 1, "a first refused attempt")
        else:
            receiver.wait_for(lambda: receiver.held >= 1, "a delivery held in flight")
        served.kill("serve")
        assert not receiver.accepted_ids(), "the target accepted nothing before the kill"
        receiver.mode = "accept"
        receiver.release()  # held requests now answer into closed sockets: their sender is dead
        served.serve("serve-again")
        check_all_delivered(receiver, sub, ids, markers)
        check_listed_delivered(served, sub, ids)
        if target_state == "slow":
            # What was in flight at the kill came again, under the same webhook-id.
            assert any(seen.attempts >= 2 for seen in receiver.seen.values()), receiver.summary()


def test_a_killed_worker_leaves_each_stored_event_to_be_delivered(
    postgresql: str, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.mode = "refuse"
    with hub(tmp_path, postgresql) as served:
        served.serve()
        sub = subscribe(served, receiver)
        markers = send_many(served, sub, 20)
        ids = stored_ids(served, sub, 20)
        # The server goes (cleanly): from now on only workers deliver.
        served.kill("serve", sig=15)
        receiver.mode = "hold"
        served.worker("worker")
        receiver.wait_for(lambda: receiver.held >= 1, "the worker to hold a delivery in flight")
        served.kill("worker")
        receiver.mode = "accept"
        receiver.release()
        served.worker("worker-again")
        check_all_delivered(receiver, sub, ids, markers)
        served.serve("serve-again")  # only now: to read the deliveries through the REST API
        check_listed_delivered(served, sub, ids)
        assert any(seen.attempts >= 2 for seen in receiver.seen.values()), receiver.summary()


def test_two_workers_share_200_deliveries_none_twice_at_once(
    postgresql: str, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.mode = "refuse"
    with hub(tmp_path, postgresql) as served:
        served.serve()
        sub = subscribe(served, receiver)
        markers = send_many(served, sub, 200)
        ids = stored_ids(served, sub, 200)
        served.kill("serve", sig=15)
        # Slow enough that a delivery taken twice would overlap with itself at the target: with
        # the claim's lease left out of the claim and the scan, this test fails (most_at_once 2).
        receiver.mode, receiver.delay = "accept", 0.3
        served.worker("worker-a")
        served.worker("worker-b")
        check_all_delivered(receiver, sub, ids, markers)
        assert max(seen.most_at_once for seen in receiver.seen.values()) == 1
        # Nobody died: what the target accepted once was never sent again.
        assert [k for k, seen in receiver.seen.items() if seen.accepted > 1] == []
        assert all(served.alive(name) for name in ("worker-a", "worker-b"))
        served.serve("serve-again")  # only now (a server runs jobs too): to read the deliveries
        check_listed_delivered(served, sub, ids)


# --- inbound: refused, and nothing stored -----------------------------------------------------


def test_bad_inbound_webhooks_are_refused_and_store_nothing(
    database: str | None, tmp_path: Path, receiver: Receiver
) -> None:
    with hub(tmp_path, database, PLUGHUB_MAX_BODY_BYTES="65536") as served:
        served.serve()
        sub = subscribe(served, receiver)

        def refused(delivery: Delivery, status: int) -> None:
            answer = post(served, sub, delivery)
            assert answer.status_code == status, f"wanted {status}, got {answer.status_code}: {answer.text[:300]}"
            assert answer.headers["content-type"].startswith("application/json")
            assert served.events(sub.id) == [], "a refused webhook was stored"

        good = signed(sub, "user_aaaaaaaaaaaa")
        # A bad signature: another endpoint's secret.
        other = Subscribed(sub.id, sub.webhook_path, "whsec_" + base64.b64encode(b"x" * 32).decode())
        refused(signed(other, "user_bbbbbbbbbbbb"), 401)
        # The signature of another body.
        refused(Delivery({**good.headers}, good.body.replace(b"user_aaaa", b"user_cccc")), 401)
        # No signature at all.
        refused(Delivery({k: v for k, v in good.headers.items() if k != "svix-signature"}, good.body), 401)
        # Well signed, but an hour old: a replay of a captured request.
        refused(signed(sub, "user_dddddddddddd", now=int(time.time()) - 3600), 401)
        # Well signed, over the size limit.
        big = clerk(EVENT, {"id": "user_eeeeeeeeeeee", "pad": "x" * 70_000}, sub.signing_secret, "", int(time.time()))
        refused(big, 413)
        # Well signed, not JSON.
        refused(_signed_raw(sub, b'{"type": "user.created", "data": {"id": "user_ffffffffffff"'), 400)
        # An unknown token.
        unknown = httpx.post(served.url + "/webhooks/not-a-token", content=good.body, headers=good.headers, timeout=30)
        assert unknown.status_code == 404
        assert receiver.seen == {}

        # The good one, twice (Clerk retries with the same svix-id): stored once, delivered once.
        assert post(served, sub, good).status_code == 200
        assert post(served, sub, good).status_code == 200
        again = clerk(EVENT, {"id": "user_aaaaaaaaaaaa", "object": "user"}, sub.signing_secret, "", int(time.time()))
        again.headers["svix-id"] = good.headers["svix-id"]  # a retry: same id, new timestamp, signed anew
        key = base64.b64decode(sub.signing_secret.removeprefix("whsec_"))
        again.headers["svix-signature"] = _svix_signature(
            key, again.headers["svix-id"], again.headers["svix-timestamp"], again.body
        )
        assert post(served, sub, again).status_code == 200
        ids = stored_ids(served, sub, 1)
        check_all_delivered(receiver, sub, ids, ["user_aaaaaaaaaaaa"])
        check_listed_delivered(served, sub, ids)
        assert sum(seen.accepted for seen in receiver.seen.values()) == 1


def _svix_signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    return (
        "v1,"
        + base64.b64encode(
            hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        ).decode()
    )


def _signed_raw(sub: Subscribed, body: bytes) -> Delivery:
    """Any body, signed as Clerk signs."""
    message_id, now = "msg_" + uuid.uuid4().hex[:27], str(int(time.time()))
    key = base64.b64decode(sub.signing_secret.removeprefix("whsec_"))
    headers = {
        "Content-Type": "application/json",
        "svix-id": message_id,
        "svix-timestamp": now,
        "svix-signature": _svix_signature(key, message_id, now, body),
    }
    return Delivery(headers, body)

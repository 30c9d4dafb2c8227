"""Deliveries in batches: the claim and the outcomes in one transaction, sent from an event loop.

Store tests run on SQLite and on a fresh PostgreSQL database (skipped without one, except under
CI=true): what `finish_and_claim` takes and leaves, and two processes' claims never sharing a
row. Engine tests run the embedded engine's worker against `tests.events.receiver.Receiver` (a
real loopback server that checks every signature with the `standardwebhooks` package and counts
attempts per `webhook-id`). No time is asserted: each wait is on a condition.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from plughub.config import Settings
from plughub.engine import Engine
from plughub.engine.events.attempts import payload
from plughub.engine.events.deliveries import PER_TARGET
from plughub.engine.store import utcnow
from plughub.engine.store.events import ClaimedDelivery, DeliveryOutcome, NewEvent
from plughub.schemas import ConnectRequest, SubscribeRequest
from tests.events.receiver import Receiver
from tests.events.test_events_engine import wait_for
from tests.providers.deliveries import clerk
from tests.servers import postgres_database

TRIGGER = "CLERK_USER_CREATED"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Engine]:
    """The embedded engine on SQLite, or on a fresh PostgreSQL database; no worker runs."""
    if request.param == "sqlite":
        engine = Engine(settings)
        yield engine
        engine.close()
        return
    with postgres_database() as url:
        engine = Engine(settings, database_url=url)
        yield engine
        engine.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver()
    yield target
    target.close()


@dataclass(frozen=True)
class Subscribed:
    """A Clerk subscription: its id, its webhook token, Clerk's signing secret, the deliveries' secret."""

    id: str
    token: str
    signing: str
    secret: str


def _subscribe(engine: Engine, target_url: str) -> Subscribed:
    """A Clerk subscription delivering to `target_url`."""
    request = ConnectRequest(integration_id="clerk", scheme="BEARER_TOKEN", data={"token": "sk_test_x"})
    connection = engine.connections.create(request).id
    signing = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    sub = engine.events.subscriptions.subscribe(
        connection, SubscribeRequest(trigger=TRIGGER, config={"signing_secret": signing}, target_url=target_url)
    )
    assert sub.webhook_url is not None and sub.secret is not None
    return Subscribed(sub.id, sub.webhook_url.rsplit("/", 1)[1], signing, sub.secret)


def _stored(engine: Engine, subscription_id: str, count: int) -> list[str]:
    new = [NewEvent("evt_" + uuid.uuid4().hex[:24], "user.created", {"n": n}) for n in range(count)]
    return engine.store.events.store(subscription_id, new, deliver=True)


# --- the store ---------------------------------------------------------------------------------


def test_claims_take_each_delivery_once_until_its_outcome(any_engine: Engine) -> None:
    sub = _subscribe(any_engine, "http://127.0.0.1:9/hooks").id
    ids = _stored(any_engine, sub, 5)
    repo = any_engine.store.events
    taken = repo.finish_and_claim([], event_ids=ids[:2], lease=30)
    assert {d.event_id for d in taken} == set(ids[:2])
    assert all(d.subscription_id == sub and d.attempts == 0 and d.type == "user.created" for d in taken)
    assert json.loads(taken[0].data_json) in ({"n": 0}, {"n": 1})
    assert repo.finish_and_claim([], event_ids=ids[:2], lease=30) == []  # leased
    # New ones are left to the process that stored them for a moment: a scan's claim skips them.
    grace = utcnow() - timedelta(seconds=60)
    assert repo.finish_and_claim([], due={sub: 10}, fresh_before=grace, lease=30) == []
    rest = repo.finish_and_claim([], due={sub: 10}, lease=30)
    assert {d.event_id for d in rest} == set(ids[2:])
    # Outcomes release the leases: a retry is due when its time comes (and then at once, no grace).
    later = utcnow() + timedelta(hours=1)
    outcomes = [DeliveryOutcome(ids[0], "delivered", 1, upstream_status=200)]
    outcomes += [DeliveryOutcome(ids[1], "pending", 1, later, "the target answered 503", 503)]
    outcomes += [DeliveryOutcome(ids[2], "pending", 1, utcnow(), "the target answered 500", 500)]
    outcomes += [DeliveryOutcome(ids[3], "failed", 9, error="the target answered 500", upstream_status=500)]
    again = repo.finish_and_claim(outcomes, due={sub: 10}, fresh_before=grace, lease=30)
    assert [(d.event_id, d.attempts) for d in again] == [(ids[2], 1)]
    listed = {d.event_id: d for d in repo.deliveries(sub, limit=10)}
    assert listed[ids[0]].status == "delivered" and listed[ids[0]].delivered_at is not None
    assert (listed[ids[1]].status, listed[ids[1]].last_status, listed[ids[1]].attempts) == ("pending", 503, 1)
    assert listed[ids[3]].status == "failed" and listed[ids[3]].last_error == "the target answered 500"
    assert repo.due(utcnow(), grace, 10) == {}  # leased, done, or not yet time
    # An hour on: the retry, and the two whose process never recorded an outcome (their leases ran out).
    assert repo.due(later + timedelta(minutes=1), later, 10) == {sub: 3}


def test_processes_claiming_at_once_never_share_a_delivery(any_engine: Engine) -> None:
    sub = _subscribe(any_engine, "http://127.0.0.1:9/hooks").id
    ids = _stored(any_engine, sub, 120)
    repo = any_engine.store.events
    start = threading.Barrier(4)

    def claim() -> list[str]:
        start.wait()
        taken: list[str] = []
        while batch := repo.finish_and_claim([], due={sub: 7}, lease=30):
            taken += [d.event_id for d in batch]
        return taken

    with ThreadPoolExecutor(4) as pool:
        claimed = [taken for taken in pool.map(lambda _: claim(), range(4))]
    everything = [event_id for taken in claimed for event_id in taken]
    assert sorted(everything) == sorted(ids)  # each taken, none twice


def test_the_payload_is_the_documented_json() -> None:
    data = {"text": "héllo ☃", "n": 1.5, "big": 2**70, "list": [None, True], "nested": {"a": "</script>"}}
    received = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)
    claimed = ClaimedDelivery("evt_1", "sub_1", "user.created", received, 0, json.dumps(data, separators=(",", ":")))
    body = payload(claimed, trigger=TRIGGER, connection_id="con_1", end_user_id=None)
    expected = {
        "id": "evt_1",
        "type": "user.created",
        "trigger": TRIGGER,
        "subscription_id": "sub_1",
        "connection_id": "con_1",
        "end_user_id": None,
        "data": data,
        "received_at": received.isoformat(),
    }
    assert body == json.dumps(expected, separators=(",", ":")).encode()


# --- the worker ---------------------------------------------------------------------------------


def test_a_burst_is_delivered_once_each_in_batches(engine: Engine, receiver: Receiver) -> None:
    sub = _subscribe(engine, receiver.url)
    receiver.secret = sub.secret
    markers = [f"user_{n:04d}" for n in range(300)]
    engine.events.start_worker()
    try:
        for marker in markers:
            sent = clerk("user.created", {"id": marker}, sub.signing, "", int(time.time()))
            assert engine.events.receive(sub.token, sent.body, sent.headers).status == 200
        ids = {e.id for e in engine.events.subscriptions.events(sub.id, limit=1000)}
        assert len(ids) == 300
        receiver.wait_for(lambda: ids <= receiver.accepted_ids(), "every event delivered")
        wait_for(lambda: len(engine.events.subscriptions.deliveries(sub.id, "delivered", limit=1000)) == 300, 60)
    finally:
        engine.events.stop_worker()
    assert set(receiver.seen) == ids and receiver.bad_signatures == 0
    assert all(seen.attempts == 1 for seen in receiver.seen.values()), receiver.summary()
    assert sorted(seen.payloads[0]["data"]["data"]["id"] for seen in receiver.seen.values()) == markers


def test_a_backlog_is_taken_by_the_scan_and_sent_a_few_at_a_time(engine: Engine, receiver: Receiver) -> None:
    receiver.mode = "hold"
    sub = _subscribe(engine, receiver.url)
    receiver.secret = sub.secret
    ids = set(_stored(engine, sub.id, 5 * PER_TARGET))  # stored by a process that sends nothing
    engine.events.start_worker()
    try:
        # The scan finds them (once the process that stored them has had its moment) and the
        # subscription's lane takes them, PER_TARGET at a time to its target, until none is left.
        receiver.wait_for(lambda: receiver.held == PER_TARGET, "a full lane held at the target")
        receiver.release()
        receiver.wait_for(lambda: ids <= receiver.accepted_ids(), "the whole backlog delivered")
        wait_for(lambda: len(engine.events.subscriptions.deliveries(sub.id, "delivered", limit=1000)) == len(ids), 60)
    finally:
        engine.events.stop_worker()
    assert receiver.most_held == PER_TARGET
    assert all(seen.attempts == 1 for seen in receiver.seen.values()), receiver.summary()


def test_stopping_waits_for_the_attempts_under_way_and_records_them(engine: Engine, receiver: Receiver) -> None:
    receiver.mode = "hold"
    sub = _subscribe(engine, receiver.url)
    receiver.secret = sub.secret
    engine.events.start_worker()
    ids = _stored(engine, sub.id, 3)
    engine.events.deliverer.submit(sub.id, ids)
    receiver.wait_for(lambda: receiver.held == 3, "three deliveries held in flight")
    stopping = threading.Thread(target=engine.events.stop_worker)
    stopping.start()
    receiver.release()
    stopping.join(60)
    assert not stopping.is_alive()
    # Recorded before the worker stopped: nothing is left leased, to be sent again.
    listed = engine.events.subscriptions.deliveries(sub.id, "delivered")
    assert {d.event_id for d in listed} == set(ids)


def test_deliveries_go_through_a_given_transport(settings: Settings) -> None:
    seen: list[httpx.Request] = []

    def target(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    engine = Engine(settings, transport=httpx.MockTransport(target))
    try:
        sub = _subscribe(engine, "https://hooks.example/in")
        engine.events.start_worker()
        ids = _stored(engine, sub.id, 2)
        engine.events.deliverer.submit(sub.id, ids)
        wait_for(lambda: len(engine.events.subscriptions.deliveries(sub.id, "delivered")) == 2)
    finally:
        engine.close()
    assert {r.headers["webhook-id"] for r in seen} == set(ids)
    assert all(str(r.url) == "https://hooks.example/in" for r in seen)


def test_an_attempt_ends_after_plughub_delivery_timeout(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    monkeypatch.setenv("PLUGHUB_DELIVERY_TIMEOUT", "0.5")
    monkeypatch.setenv("PLUGHUB_DELIVERY_RETRY_DELAYS", "3600")
    receiver.mode = "hold"  # answers only when released: never, in this test
    engine = Engine(Settings.from_env())
    try:
        sub = _subscribe(engine, receiver.url)
        receiver.secret = sub.secret
        engine.events.start_worker()
        ids = _stored(engine, sub.id, 1)
        engine.events.deliverer.submit(sub.id, ids)

        def retried() -> bool:
            listed = engine.events.subscriptions.deliveries(sub.id, "pending")
            return bool(listed) and listed[0].attempts == 1

        wait_for(retried, 60)
        [delivery] = engine.events.subscriptions.deliveries(sub.id, "pending")
        assert delivery.last_error == "the target could not be reached (no answer in 0.5 s)"
    finally:
        receiver.release()
        engine.close()


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_plughub_delivery_timeout_must_be_seconds_above_zero(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from plughub.exceptions import ConfigurationError

    monkeypatch.setenv("PLUGHUB_DELIVERY_TIMEOUT", value)
    with pytest.raises(ConfigurationError, match="PLUGHUB_DELIVERY_TIMEOUT must be a number of seconds"):
        Settings.from_env()

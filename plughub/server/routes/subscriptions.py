"""`/v1/.../subscriptions`: triggers, subscriptions, their events (pulled, long-polled), deliveries."""

from __future__ import annotations

import asyncio
import time
from functools import partial

from fastapi import APIRouter, Query, Request

from plughub.schemas import (
    DeliveryInfo,
    EventInfo,
    Page,
    SubscribeRequest,
    SubscriptionDeleted,
    SubscriptionInfo,
    TriggerInfo,
)
from plughub.server.security import Team

__all__ = ["router"]

router = APIRouter(tags=["events"])

# Seconds between two reads while a long-poll waits for events.
_WAIT_STEP = 0.2


@router.get("/v1/connections/{connection_id}/triggers")
def list_triggers(request: Request, key: Team, connection_id: str) -> list[TriggerInfo]:
    """The connection's triggers with their config inputs."""
    return request.app.state.engine.events.subscriptions.triggers(connection_id, team=key.team_id)  # type: ignore[no-any-return]


@router.post("/v1/connections/{connection_id}/subscriptions", status_code=201)
def subscribe(
    request: Request, key: Team, connection_id: str, body: SubscribeRequest, wait: float = Query(0, ge=0, le=30)
) -> SubscriptionInfo:
    """Switch a trigger on (`pending` until its subscribe job ends; `?wait=N` waits up to N s for it).

    The answer holds `webhook_secret` and `secret`, shown this once.
    """
    subscriptions = request.app.state.engine.events.subscriptions
    return subscriptions.subscribe(connection_id, body, team=key.team_id, wait=wait)  # type: ignore[no-any-return]


@router.get("/v1/connections/{connection_id}/subscriptions")
def list_connection_subscriptions(
    request: Request,
    key: Team,
    connection_id: str,
    page_number: int = Query(0, ge=0),
    page_size: int = Query(20, ge=1, le=1000),
) -> Page[SubscriptionInfo]:
    """The connection's subscriptions, newest first (no secrets)."""
    return request.app.state.engine.events.subscriptions.list(  # type: ignore[no-any-return]
        connection_id, page_number, page_size, team=key.team_id
    )


@router.get("/v1/subscriptions")
def list_subscriptions(
    request: Request,
    key: Team,
    page_number: int = Query(0, ge=0),
    page_size: int = Query(20, ge=1, le=1000),
) -> Page[SubscriptionInfo]:
    """The team's subscriptions, newest first (no secrets)."""
    return request.app.state.engine.events.subscriptions.list(  # type: ignore[no-any-return]
        None, page_number, page_size, team=key.team_id
    )


@router.get("/v1/subscriptions/{subscription_id}")
def get_subscription(request: Request, key: Team, subscription_id: str) -> SubscriptionInfo:
    """One subscription (no secrets)."""
    return request.app.state.engine.events.subscriptions.get(subscription_id, team=key.team_id)  # type: ignore[no-any-return]


@router.delete("/v1/subscriptions/{subscription_id}")
def delete_subscription(
    request: Request, key: Team, subscription_id: str, wait: float = Query(0, ge=0, le=30)
) -> SubscriptionDeleted:
    """Delete a subscription (`deleting` while a job removes its webhook at the provider; `?wait=N` waits)."""
    subscriptions = request.app.state.engine.events.subscriptions
    return subscriptions.delete(subscription_id, team=key.team_id, wait=wait)  # type: ignore[no-any-return]


@router.get("/v1/subscriptions/{subscription_id}/events")
async def list_events(
    request: Request,
    key: Team,
    subscription_id: str,
    after: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    wait: float = Query(0, ge=0, le=30),
) -> list[EventInfo]:
    """Events in arrival order after `after`; with `wait`, held until one arrives (at most `wait` seconds)."""
    engine = request.app.state.engine
    read = partial(engine.events.subscriptions.events, subscription_id, after, limit, 0, team=key.team_id)
    deadline = time.monotonic() + wait
    while True:
        found: list[EventInfo] = await engine.store.db.offload(read)
        if found or time.monotonic() >= deadline or await request.is_disconnected():
            return found
        await asyncio.sleep(min(_WAIT_STEP, max(0.0, deadline - time.monotonic())))


@router.post("/v1/subscriptions/{subscription_id}/poll")
def poll_now(request: Request, key: Team, subscription_id: str) -> list[EventInfo]:
    """Run a poll trigger's subscription now; the answer lists the new events."""
    return request.app.state.engine.events.poll_now(subscription_id, team=key.team_id)  # type: ignore[no-any-return]


@router.get("/v1/subscriptions/{subscription_id}/deliveries")
def list_deliveries(
    request: Request,
    key: Team,
    subscription_id: str,
    status: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[DeliveryInfo]:
    """The subscription's deliveries, newest first (`status=failed` for those to send again)."""
    return request.app.state.engine.events.subscriptions.deliveries(  # type: ignore[no-any-return]
        subscription_id, status, limit, team=key.team_id
    )


@router.post("/v1/subscriptions/{subscription_id}/events/{event_id}/redeliver", status_code=202)
def redeliver(request: Request, key: Team, subscription_id: str, event_id: str) -> DeliveryInfo:
    """Send an event to the subscription's target again."""
    return request.app.state.engine.events.redeliver(subscription_id, event_id, team=key.team_id)  # type: ignore[no-any-return]

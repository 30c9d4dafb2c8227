"""Subscriptions, events and deliveries as they cross the backend boundary (DESIGN.md §10)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["DeliveryInfo", "EventInfo", "SubscribeRequest", "SubscriptionDeleted", "SubscriptionInfo"]


class SubscribeRequest(BaseModel):
    """Switch a trigger on for a connection (`POST /v1/connections/{id}/subscriptions`)."""

    trigger: str = Field(min_length=1, max_length=200)
    config: dict[str, Any] | None = None
    target_url: str | None = Field(default=None, max_length=2000)


class SubscriptionInfo(BaseModel):
    """A subscription. `webhook_secret` and `secret` are set only in the answer that creates it.

    Attributes:
        id: Its id.
        trigger: The trigger code.
        connection_id: The connection it belongs to.
        integration_id: The connection's integration.
        type: `webhook` or `poll`.
        status: `pending` (its webhook being registered at the provider), `active`, `failing`
            while polls fail, `failed` (the registration gave up), or `deleting` (see `last_error`).
        last_error: Why the last poll failed.
        config: The config given (secret values masked).
        target_url: Where events are pushed (None: pull them with `events`).
        webhook_url: Where the provider posts (webhook triggers).
        webhook_secret: What the provider signs with (creation only).
        secret: The `whsec_...` secret that signs deliveries to `target_url` (creation only).
        provider_id: The webhook's id at the provider, when plughub registered it.
        created_at: When it was created.
    """

    id: str
    trigger: str
    connection_id: str
    integration_id: str
    type: str
    status: str
    last_error: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    target_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    secret: str | None = None
    provider_id: str | None = None
    created_at: datetime

    def __repr__(self) -> str:
        shown = self.model_dump(exclude={"webhook_secret", "secret"})
        fields = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"SubscriptionInfo({fields}, webhook_secret=***, secret=***)"

    __str__ = __repr__


class EventInfo(BaseModel):
    """One event: what the provider sent (or a poll found), as stored."""

    id: str
    subscription_id: str
    connection_id: str
    trigger: str
    type: str
    data: Any = None
    received_at: datetime


class DeliveryInfo(BaseModel):
    """A push of one event to the subscription's target: `pending`, `delivered` or `failed`."""

    event_id: str
    subscription_id: str
    status: str
    attempts: int
    next_at: datetime | None = None
    last_error: str | None = None
    last_status: int | None = None
    delivered_at: datetime | None = None


class SubscriptionDeleted(BaseModel):
    """A deleted subscription; `unsubscribe_error` says why the provider's webhook was not removed.

    `status` is `deleted`, or `deleting` while the job that removes the provider's webhook runs
    (the subscription takes no events meanwhile and is removed when it ends).
    """

    id: str
    status: str = "deleted"
    unsubscribed: bool = False
    unsubscribe_error: str | None = None

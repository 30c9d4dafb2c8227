"""The read side of subscriptions: a team's subscription row, its events and their deliveries.

`History` pulls events in arrival order (or the latest, for an operator), lists deliveries and
marks one pending again (`redeliver`). `Subscriptions` extends it with subscribing and deleting,
so these calls keep their names there (`engine.events.subscriptions.events(...)`).
"""

from __future__ import annotations

import builtins
import time
from typing import Any

from plughub.engine.store import LOCAL_TEAM, Store
from plughub.engine.store.events import EventRecord
from plughub.engine.store.subscriptions import SubscriptionRecord
from plughub.exceptions import EventNotFound, InvalidInput, SubscriptionNotFound
from plughub.schemas import DeliveryInfo, EventInfo

__all__ = ["MAX_WAIT", "History", "delivery_info", "event_info"]

# The longest a pull may wait for events, or a subscribe or delete for its job (a REST
# long-poll holds a connection that long).
MAX_WAIT = 30.0
_WAIT_STEP = 0.2
_DELIVERY_STATUSES = ("pending", "delivered", "failed")


def event_info(found: SubscriptionRecord, row: EventRecord) -> EventInfo:
    """Describe a stored event."""
    return EventInfo(
        id=row.id,
        subscription_id=found.id,
        connection_id=found.connection_id,
        trigger=found.trigger,
        type=row.type,
        data=row.data,
        received_at=row.received_at,
    )


def delivery_info(row: Any) -> DeliveryInfo:
    """Describe a delivery row."""
    return DeliveryInfo(
        event_id=row.event_id,
        subscription_id=row.subscription_id,
        status=row.status,
        attempts=row.attempts,
        next_at=row.next_at if row.status == "pending" else None,
        last_error=row.last_error,
        last_status=row.last_status,
        delivered_at=row.delivered_at,
    )


class History:
    """A team's subscriptions read: the row, its events and their deliveries.

    Args:
        store: Subscriptions, events and deliveries.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def __repr__(self) -> str:
        return "History()"

    def record(self, subscription_id: str, team: str | None) -> SubscriptionRecord:
        """A team's subscription row, for the other services.

        Args:
            subscription_id: Its id.
            team: The team that must own it; None for any.

        Returns:
            The row.

        Raises:
            SubscriptionNotFound: No subscription has this id (another team's answers the same).
        """
        found = self._store.subscriptions.get(subscription_id, team)
        if found is None:
            raise SubscriptionNotFound(f"No subscription with id {subscription_id!r}")
        return found

    def events(
        self,
        subscription_id: str,
        after: str | None = None,
        limit: int = 100,
        wait: float = 0,
        *,
        team: str = LOCAL_TEAM,
    ) -> builtins.list[EventInfo]:
        """Pull a subscription's events in arrival order.

        Args:
            subscription_id: The subscription.
            after: The id of the last event already seen (None: from the first).
            limit: The most to return (1 to 1000).
            wait: Seconds to wait for one when there is none yet (at most 30).
            team: The team that owns it.

        Returns:
            The events.

        Raises:
            SubscriptionNotFound: No subscription has this id.
            EventNotFound: `after` is not one of this subscription's events.
            InvalidInput: `limit` or `wait` is out of range.
        """
        found = self.record(subscription_id, team)
        _check_limit(limit)
        if not 0 <= wait <= MAX_WAIT:
            raise InvalidInput(f"wait must be between 0 and {MAX_WAIT:g} seconds")
        if after is not None and not self._store.events.has(found.id, after):
            raise EventNotFound(f"Subscription {found.id} has no event {after!r}")
        deadline = time.monotonic() + wait
        while True:
            rows = self._store.events.after(found.id, after, limit)
            if rows or time.monotonic() >= deadline:
                return [event_info(found, row) for row in rows]
            time.sleep(min(_WAIT_STEP, max(0.0, deadline - time.monotonic())))

    def recent_events(
        self, subscription_id: str, limit: int = 20, *, team: str = LOCAL_TEAM
    ) -> builtins.list[EventInfo]:
        """A subscription's latest events, newest first (for an operator's view; `events` pulls in order).

        Args:
            subscription_id: The subscription.
            limit: The most to return (1 to 1000).
            team: The team that owns it.

        Returns:
            The events.

        Raises:
            SubscriptionNotFound: No subscription has this id.
            InvalidInput: `limit` is out of range.
        """
        found = self.record(subscription_id, team)
        _check_limit(limit)
        return [event_info(found, row) for row in self._store.events.recent(found.id, limit)]

    def deliveries(
        self, subscription_id: str, status: str | None = None, limit: int = 100, *, team: str = LOCAL_TEAM
    ) -> builtins.list[DeliveryInfo]:
        """A subscription's deliveries, newest first (`failed` ones can be sent again with `redeliver`).

        Args:
            subscription_id: The subscription.
            status: Only `pending`, `delivered` or `failed` ones.
            limit: The most to return (1 to 1000).
            team: The team that owns it.

        Returns:
            The deliveries.

        Raises:
            SubscriptionNotFound: No subscription has this id.
            InvalidInput: An unknown status, or `limit` out of range.
        """
        found = self.record(subscription_id, team)
        if status is not None and status not in _DELIVERY_STATUSES:
            raise InvalidInput(f"status must be pending, delivered or failed, not {status!r}")
        _check_limit(limit)
        return [delivery_info(d) for d in self._store.events.deliveries(found.id, status, limit)]

    def redeliver(self, subscription_id: str, event_id: str, *, team: str = LOCAL_TEAM) -> DeliveryInfo:
        """Mark an event's delivery pending again (a failed delivery, or a delivered one; `Events.redeliver` defers it).

        Args:
            subscription_id: The subscription.
            event_id: The event.
            team: The team that owns it.

        Returns:
            The delivery, pending again.

        Raises:
            SubscriptionNotFound: No subscription has this id.
            EventNotFound: The subscription has no such event.
            InvalidInput: The subscription has no target URL (pull its events instead).
        """
        found = self.record(subscription_id, team)
        if not self._store.events.has(found.id, event_id):
            raise EventNotFound(f"Subscription {found.id} has no event {event_id!r}")
        if not found.target_url:
            raise InvalidInput(f"Subscription {found.id} has no target_url: pull its events instead")
        self._store.events.redeliver(found.id, event_id)
        delivery = self._store.events.delivery(event_id)
        if delivery is None:  # deleted meanwhile with its subscription
            raise EventNotFound(f"Subscription {found.id} has no event {event_id!r}")
        return delivery_info(delivery)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")

"""Events and their deliveries: stored before a webhook is acknowledged, pushed at least once."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, Table, and_, func, or_, select, update
from sqlalchemy.engine import Connection, Row

from plughub.engine.store.records import aware, utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import deliveries, events

__all__ = ["DeliveryRecord", "EventRecord", "EventRepository", "NewEvent"]

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True)
class NewEvent:
    """An event to store: its id, type, data and the provider's delivery id (None for none)."""

    id: str
    type: str
    data: Any = field(repr=False)
    delivery_id: str | None = None


@dataclass(frozen=True)
class EventRecord:
    """A stored event (`seq` is its place in the arrival order)."""

    seq: int
    id: str
    subscription_id: str
    type: str
    data: Any = field(repr=False)
    delivery_id: str | None
    received_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> EventRecord:
        """Build a record from an `events` row."""
        return cls(
            row.seq,
            row.id,
            row.subscription_id,
            row.type,
            json.loads(row.data),
            row.delivery_id,
            aware(row.received_at),
        )


@dataclass(frozen=True)
class DeliveryRecord:
    """A push of one event to its subscription's target."""

    event_id: str
    subscription_id: str
    status: str
    attempts: int
    next_at: datetime | None
    last_error: str | None
    last_status: int | None
    delivered_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> DeliveryRecord:
        """Build a record from a `deliveries` row."""
        return cls(
            row.event_id,
            row.subscription_id,
            row.status,
            row.attempts,
            aware(row.next_at) if row.next_at else None,
            row.last_error,
            row.last_status,
            aware(row.delivered_at) if row.delivered_at else None,
            aware(row.updated_at),
        )


def _insert_ignoring_repeats(db: Connection, table: Table) -> Insert:
    # A repeat (the same delivery id for the same subscription) is dropped by the database itself:
    # no error, so the rest of the transaction goes on (PostgreSQL aborts a transaction on one).
    # Each dialect's module is imported where it is used: the embedded engine never loads
    # PostgreSQL's (about 4 MB of modules).
    if db.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing()


class EventRepository(Repository):
    """Events and deliveries."""

    def store(self, subscription_id: str, new: builtins.list[NewEvent], *, deliver: bool) -> builtins.list[str]:
        """Store events and, for a subscription with a target, their pending deliveries, in one transaction.

        Args:
            subscription_id: The subscription.
            new: The events.
            deliver: Create a pending delivery for each event stored.

        Returns:
            The ids of the events stored (a repeated delivery id is left out).
        """
        now = utcnow()
        stored: builtins.list[str] = []
        with self.db.transaction(invalidates=False) as db:
            statement = _insert_ignoring_repeats(db, events).returning(events.c.id)
            for event in new:
                result = db.execute(
                    statement,
                    {
                        "id": event.id,
                        "subscription_id": subscription_id,
                        "type": event.type,
                        "data": json.dumps(event.data, separators=(",", ":")),
                        "delivery_id": event.delivery_id,
                        "received_at": now,
                    },
                )
                if result.first() is not None:  # RETURNING says what was inserted; rowcount may not
                    stored.append(event.id)
            if deliver and stored:
                db.execute(
                    deliveries.insert(),
                    [
                        {
                            "event_id": event_id,
                            "subscription_id": subscription_id,
                            "status": PENDING,
                            "attempts": 0,
                            "next_at": now,
                            "updated_at": now,
                        }
                        for event_id in stored
                    ],
                )
        return stored

    def get(self, event_id: str) -> EventRecord | None:
        """Find an event by id.

        Args:
            event_id: The event.

        Returns:
            The record, or None.
        """
        with self.db.connect() as db:
            row = db.execute(select(events).where(events.c.id == event_id)).first()
        return EventRecord.from_row(row) if row else None

    def after(self, subscription_id: str, after: str | None, limit: int) -> builtins.list[EventRecord]:
        """A subscription's events in arrival order, after a given one.

        Args:
            subscription_id: The subscription.
            after: An event id of this subscription; None for the first.
            limit: The most to return.

        Returns:
            The events (empty when `after` is not one of this subscription's).
        """
        with self.db.connect() as db:
            start = 0
            if after is not None:
                seq = db.execute(
                    select(events.c.seq).where(events.c.id == after, events.c.subscription_id == subscription_id)
                ).scalar()
                if seq is None:
                    return []
                start = seq
            rows = db.execute(
                select(events)
                .where(events.c.subscription_id == subscription_id, events.c.seq > start)
                .order_by(events.c.seq)
                .limit(limit)
            ).all()
        return [EventRecord.from_row(r) for r in rows]

    def has(self, subscription_id: str, event_id: str) -> bool:
        """Whether an event belongs to a subscription."""
        with self.db.connect() as db:
            found = db.execute(
                select(events.c.id).where(events.c.id == event_id, events.c.subscription_id == subscription_id)
            ).first()
        return found is not None

    # Deliveries

    def due(self, now: datetime, limit: int = 100) -> builtins.list[str]:
        """The pending deliveries whose time has come and that no process is sending.

        Args:
            now: The time.
            limit: The most to return.

        Returns:
            Their event ids, the most overdue first.
        """
        with self.db.connect() as db:
            rows = db.execute(
                select(deliveries.c.event_id)
                .where(
                    deliveries.c.status == PENDING,
                    deliveries.c.next_at <= now,
                    or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now),
                )
                .order_by(deliveries.c.next_at)
                .limit(limit)
            ).all()
        return [r.event_id for r in rows]

    def claim(self, event_id: str, lease: float) -> tuple[DeliveryRecord, EventRecord] | None:
        """Take a due delivery for one attempt: no other process sends it until the lease ends.

        Args:
            event_id: The event.
            lease: Seconds the claim lasts (longer than an attempt can take).

        Returns:
            The delivery and its event, or None when it is not due or another process holds it.
        """
        now = utcnow()
        with self.db.transaction(lock=True, invalidates=False) as db:
            # RETURNING (SQLite 3.35+, PostgreSQL) reads the claimed row in the same statement.
            row = db.execute(
                update(deliveries)
                .where(
                    deliveries.c.event_id == event_id,
                    deliveries.c.status == PENDING,
                    deliveries.c.next_at <= now,
                    or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now),
                )
                .values(lease_until=now + timedelta(seconds=lease))
                .returning(*deliveries.c)
            ).first()
            if row is None:
                return None
            event_row = db.execute(select(events).where(events.c.id == event_id)).first()
        if event_row is None:
            return None
        delivery = DeliveryRecord.from_row(row)
        event = EventRecord.from_row(event_row)
        return delivery, event

    def finish(
        self,
        event_id: str,
        *,
        status: str,
        attempts: int,
        next_at: datetime | None,
        error: str | None,
        upstream_status: int | None,
    ) -> None:
        """Record an attempt's outcome and release the claim.

        Args:
            event_id: The event.
            status: `pending` (to retry at `next_at`), `delivered` or `failed`.
            attempts: Attempts made so far.
            next_at: When to try again (pending only).
            error: Why the attempt failed.
            upstream_status: The target's HTTP status, if it answered.
        """
        now = utcnow()
        with self.db.transaction(invalidates=False) as db:
            db.execute(
                update(deliveries)
                .where(deliveries.c.event_id == event_id)
                .values(
                    status=status,
                    attempts=attempts,
                    next_at=next_at,
                    lease_until=None,
                    last_error=error,
                    last_status=upstream_status,
                    delivered_at=now if status == DELIVERED else None,
                    updated_at=now,
                )
            )

    def deliveries(
        self, subscription_id: str, status: str | None = None, limit: int = 100
    ) -> builtins.list[DeliveryRecord]:
        """A subscription's deliveries, newest first.

        Args:
            subscription_id: The subscription.
            status: Only those in this status.
            limit: The most to return.

        Returns:
            The records.
        """
        conditions = [deliveries.c.subscription_id == subscription_id]
        if status is not None:
            conditions.append(deliveries.c.status == status)
        with self.db.connect() as db:
            rows = db.execute(
                select(deliveries)
                .join(events, events.c.id == deliveries.c.event_id)
                .where(and_(*conditions))
                .order_by(events.c.seq.desc())
                .limit(limit)
            ).all()
        return [DeliveryRecord.from_row(r) for r in rows]

    def pending_count(self) -> int:
        """How many deliveries wait to be sent (first attempts and retries), every team's.

        Returns:
            The number of pending deliveries.
        """
        with self.db.connect() as db:
            return int(
                db.execute(
                    select(func.count()).select_from(deliveries).where(deliveries.c.status == "pending")
                ).scalar_one()
            )

    def delivery(self, event_id: str) -> DeliveryRecord | None:
        """One event's delivery, or None."""
        with self.db.connect() as db:
            row = db.execute(select(deliveries).where(deliveries.c.event_id == event_id)).first()
        return DeliveryRecord.from_row(row) if row else None

    def redeliver(self, subscription_id: str, event_id: str) -> bool:
        """Send an event again: its delivery becomes pending and due now (created if there was none).

        Args:
            subscription_id: The subscription the event belongs to.
            event_id: The event.

        Returns:
            Whether the delivery is now pending.
        """
        now = utcnow()
        with self.db.transaction(lock=True, invalidates=False) as db:
            existing = db.execute(select(deliveries).where(deliveries.c.event_id == event_id)).first()
            lease = existing.lease_until if existing is not None and existing.status == PENDING else None
            if lease is not None and aware(lease) >= now:
                return True  # an attempt is under way: it is being sent again already
            if existing is not None:
                db.execute(
                    update(deliveries)
                    .where(deliveries.c.event_id == event_id, deliveries.c.subscription_id == subscription_id)
                    .values(status=PENDING, next_at=now, lease_until=None, updated_at=now)
                )
            else:
                db.execute(
                    _insert_ignoring_repeats(db, deliveries),
                    {
                        "event_id": event_id,
                        "subscription_id": subscription_id,
                        "status": PENDING,
                        "attempts": 0,
                        "next_at": now,
                        "updated_at": now,
                    },
                )
        return True

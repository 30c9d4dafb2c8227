"""Events and their deliveries: stored before a webhook is acknowledged, pushed at least once."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, Table, Update, and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection, Row

from plughub.engine.store.db import Database
from plughub.engine.store.records import aware, utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import deliveries, events

__all__ = ["ClaimedDelivery", "DeliveryOutcome", "DeliveryRecord", "EventRecord", "EventRepository", "NewEvent"]

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


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery taken for one attempt, with what its payload needs.

    Attributes:
        event_id: The event (the delivery's key, and its `webhook-id`).
        subscription_id: Its subscription.
        type: The event's type.
        received_at: When the event was stored.
        attempts: Attempts made before this one.
        data_json: The event's data as stored: compact JSON text, spliced into the payload as is.
    """

    event_id: str
    subscription_id: str
    type: str
    received_at: datetime
    attempts: int
    data_json: str = field(repr=False)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What an attempt came to: `delivered`, `failed`, or `pending` again (retried at `next_at`)."""

    event_id: str
    status: str
    attempts: int
    next_at: datetime | None = None
    error: str | None = None
    upstream_status: int | None = None


# The deliveries an attempt may take: pending, their time come, and no other attempt's lease on them.
_FREE_AND_DUE = and_(
    deliveries.c.status == PENDING,
    deliveries.c.next_at <= bindparam("now"),
    or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < bindparam("now")),
)
# ... and, taken from all of them (not by id), a first attempt only once the process that stored
# the event has had its moment to take it; a retry as soon as it is due.
_DUE = and_(_FREE_AND_DUE, or_(deliveries.c.attempts > 0, deliveries.c.next_at <= bindparam("fresh_before")))
_DUE_COUNTS = (
    select(deliveries.c.subscription_id, func.count())
    .where(_DUE)
    .group_by(deliveries.c.subscription_id)
    .limit(bindparam("limit"))
)
_TAKEN = (deliveries.c.event_id, deliveries.c.attempts)
_DUE_OF = (
    select(deliveries.c.event_id)
    .where(_DUE, deliveries.c.subscription_id == bindparam("b_subscription_id"))
    .order_by(deliveries.c.next_at)
    .limit(bindparam("limit"))
)


def _claiming(chosen: Any) -> Update:
    """The claim of the chosen deliveries that are still free and due: leased, and read back."""
    return (
        update(deliveries)
        .where(deliveries.c.event_id.in_(chosen), _FREE_AND_DUE)
        .values(lease_until=bindparam("until"))
        .returning(*_TAKEN)
    )


_CLAIM_IDS = _claiming(bindparam("ids", expanding=True))
_CLAIM_DUE = _claiming(_DUE_OF)
# PostgreSQL: processes claiming at once each skip the rows another is claiming (no waiting, and
# no row taken twice); SQLite's write lock already lets one claim at a time.
_CLAIM_DUE_LOCKED = _claiming(_DUE_OF.with_for_update(skip_locked=True))
_EVENTS_OF = select(events.c.id, events.c.subscription_id, events.c.type, events.c.data, events.c.received_at).where(
    events.c.id.in_(bindparam("ids", expanding=True))
)
_RELEASE = (
    update(deliveries)
    .where(deliveries.c.event_id.in_(bindparam("ids", expanding=True)), deliveries.c.status == PENDING)
    .values(lease_until=None)
)
_INSERT_DELIVERY = deliveries.insert()
_FINISH = (
    update(deliveries)
    .where(deliveries.c.event_id == bindparam("b_event_id"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_at=bindparam("b_next_at"),
        lease_until=None,
        last_error=bindparam("b_error"),
        last_status=bindparam("b_upstream_status"),
        delivered_at=bindparam("b_delivered_at"),
        updated_at=bindparam("b_now"),
    )
)


def _finished_row(outcome: DeliveryOutcome, now: datetime) -> dict[str, Any]:
    return {
        "b_event_id": outcome.event_id,
        "b_status": outcome.status,
        "b_attempts": outcome.attempts,
        "b_next_at": outcome.next_at,
        "b_error": outcome.error,
        "b_upstream_status": outcome.upstream_status,
        "b_delivered_at": now if outcome.status == DELIVERED else None,
        "b_now": now,
    }


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
    """Events and deliveries.

    Args:
        db: The database.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._insert_event_statement: Insert | None = None

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
            statement = self._insert_event(db)
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
                    _INSERT_DELIVERY,
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

    def _insert_event(self, db: Connection) -> Insert:
        # Built once: a statement object keeps its cache key, which SQLAlchemy otherwise computes anew.
        if self._insert_event_statement is None:
            self._insert_event_statement = _insert_ignoring_repeats(db, events).returning(events.c.id)
        return self._insert_event_statement

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

    def recent(self, subscription_id: str, limit: int) -> builtins.list[EventRecord]:
        """A subscription's latest events, newest first.

        Args:
            subscription_id: The subscription.
            limit: The most to return.

        Returns:
            The events.
        """
        with self.db.connect() as db:
            rows = db.execute(
                select(events)
                .where(events.c.subscription_id == subscription_id)
                .order_by(events.c.seq.desc())
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

    def due(self, now: datetime, fresh_before: datetime, limit: int) -> dict[str, int]:
        """How many deliveries are due and free, by subscription (see `finish_and_claim`).

        Args:
            now: The time.
            fresh_before: A first attempt is due once its `next_at` is this old (retries at `now`).
            limit: The most subscriptions to name.

        Returns:
            The number due, by subscription id.
        """
        with self.db.connect() as db:
            rows = db.execute(_DUE_COUNTS, {"now": now, "fresh_before": fresh_before, "limit": limit}).all()
        return {row[0]: int(row[1]) for row in rows}

    def finish_and_claim(
        self,
        finished: Sequence[DeliveryOutcome],
        *,
        released: Sequence[str] = (),
        event_ids: Sequence[str] = (),
        due: Mapping[str, int] | None = None,
        fresh_before: datetime | None = None,
        lease: float,
    ) -> builtins.list[ClaimedDelivery]:
        """Record attempts' outcomes and take deliveries for their next attempt, in one transaction.

        A delivery is taken when it is pending, its `next_at` has come and no lease holds it; the
        lease (`lease` seconds, longer than an attempt can take) keeps every other process from
        taking it until the outcome is recorded. A process that dies leaves the lease to run out.

        Args:
            finished: Outcomes of attempts; each releases its delivery's lease.
            released: Deliveries claimed and never tried: their leases go, nothing else changes.
            event_ids: Deliveries to take by event id (the ones this process just stored).
            due: How many more to take among a subscription's due deliveries (by subscription
                id), the most overdue first.
            fresh_before: For `due`: a first attempt is taken once its `next_at` is this old
                (the process that stored it takes it first); None for as soon as it is due.
            lease: Seconds each claim lasts.

        Returns:
            The deliveries taken, each with its event.
        """
        now = utcnow()
        until = now + timedelta(seconds=lease)
        taken: builtins.list[Row[Any]] = []
        with self.db.transaction(lock=True, invalidates=False) as db:
            if finished:
                # In key order: two processes finishing at once lock rows in the same order (no deadlock).
                finishing = sorted((_finished_row(o, now) for o in finished), key=lambda r: r["b_event_id"])
                db.execute(_FINISH, finishing)
            if released:
                db.execute(_RELEASE, {"ids": list(released)})
            if event_ids:
                taken += db.execute(_CLAIM_IDS, {"ids": list(event_ids), "now": now, "until": until}).all()
            statement = _CLAIM_DUE_LOCKED if db.dialect.name == "postgresql" else _CLAIM_DUE
            for subscription_id, count in (due or {}).items():
                if count > 0:
                    values = {"now": now, "fresh_before": fresh_before or now, "until": until, "limit": count}
                    taken += db.execute(statement, {**values, "b_subscription_id": subscription_id}).all()
            if not taken:
                return []
            attempts = {row.event_id: row.attempts for row in taken}
            rows = db.execute(_EVENTS_OF, {"ids": list(attempts)}).all()
        return [
            ClaimedDelivery(row.id, row.subscription_id, row.type, aware(row.received_at), attempts[row.id], row.data)
            for row in rows
        ]

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

"""Subscriptions: triggers switched on for a connection, scoped by team (DESIGN.md §10)."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Row

from plughub.engine.store.records import Sealed, aware, check_active_key, put_credentials, utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import connections, credentials, subscriptions
from plughub.exceptions import ConnectionNotFound

__all__ = [
    "ACTIVE",
    "DELETING",
    "FAILED",
    "PENDING",
    "SubscriptionRecord",
    "SubscriptionRepository",
    "subscription_record_id",
]

PENDING = "pending"
"""Stored; its subscribe job has not registered the webhook at the provider yet."""
ACTIVE = "active"
FAILED = "failed"
"""Its subscribe job gave up (see `last_error`)."""
DELETING = "deleting"
"""Deleted by its owner; its unsubscribe job removes the webhook at the provider, then the row."""


def subscription_record_id(subscription_id: str) -> str:
    """The vault record id of a subscription's secrets (webhook token, webhook secret, delivery secret)."""
    return f"subscription:{subscription_id}"


@dataclass(frozen=True)
class SubscriptionRecord:
    """A subscription row (its secrets are sealed elsewhere, see `subscription_record_id`)."""

    id: str
    team_id: str
    connection_id: str
    integration_id: str
    trigger: str
    kind: str
    config: dict[str, Any]
    status: str
    token_hash: str = field(repr=False)
    created_at: datetime
    updated_at: datetime
    last_error: str | None = None
    provider_id: str | None = None
    target_url: str | None = None
    poll_state: dict[str, Any] | None = field(default=None, repr=False)
    next_poll_at: datetime | None = None
    poll_failures: int = 0
    lease_until: datetime | None = None
    job_due_at: datetime | None = None
    job_attempts: int = 0
    job_lease_until: datetime | None = None

    @classmethod
    def from_row(cls, row: Row[Any]) -> SubscriptionRecord:
        """Build a record from a `subscriptions` row."""
        return cls(
            id=row.id,
            team_id=row.team_id,
            connection_id=row.connection_id,
            integration_id=row.integration_id,
            trigger=row.trigger,
            kind=row.kind,
            config=json.loads(row.config or "{}"),
            status=row.status,
            token_hash=row.token_hash,
            created_at=aware(row.created_at),
            updated_at=aware(row.updated_at),
            last_error=row.last_error,
            provider_id=row.provider_id,
            target_url=row.target_url,
            poll_state=json.loads(row.poll_state) if row.poll_state else None,
            next_poll_at=aware(row.next_poll_at) if row.next_poll_at else None,
            poll_failures=row.poll_failures or 0,
            lease_until=aware(row.lease_until) if row.lease_until else None,
            job_due_at=aware(row.job_due_at) if row.job_due_at else None,
            job_attempts=row.job_attempts or 0,
            job_lease_until=aware(row.job_lease_until) if row.job_lease_until else None,
        )


class SubscriptionRepository(Repository):
    """Subscriptions and their sealed secrets. A `team_id` of None means any team (internal callers)."""

    def insert(self, record: SubscriptionRecord, sealed: Sealed) -> None:
        """Store a new subscription and its sealed secrets together.

        Args:
            record: The subscription.
            sealed: Its secrets, sealed under `subscription_record_id(record.id)`.

        Raises:
            StaleKeyError: They were sealed with a key another process rotated away.
            ConnectionNotFound: Its connection is gone or being deleted (marked after the caller
                read it): a deletion lists the subscriptions to unsubscribe after its mark, so
                one stored later would be left registered at the provider.
        """
        with self.db.transaction(lock=True) as db:
            check_active_key(db, sealed.key_id)
            live = select(connections.c.id).where(
                connections.c.id == record.connection_id, connections.c.deleting_since.is_(None)
            )
            if self.db.dialect == "postgresql":  # a deletion's mark (an UPDATE) waits for this insert
                live = live.with_for_update(read=True)
            if db.execute(live).first() is None:
                raise ConnectionNotFound(
                    f"connection {record.connection_id} is being deleted (or is gone); the subscription was not "
                    "stored. Connect again and subscribe on the new connection.",
                    details={"id": record.connection_id},
                )
            db.execute(
                insert(subscriptions),
                {
                    "id": record.id,
                    "team_id": record.team_id,
                    "connection_id": record.connection_id,
                    "integration_id": record.integration_id,
                    "trigger": record.trigger,
                    "kind": record.kind,
                    "config": json.dumps(record.config),
                    "status": record.status,
                    "last_error": record.last_error,
                    "token_hash": record.token_hash,
                    "provider_id": record.provider_id,
                    "target_url": record.target_url,
                    "poll_state": json.dumps(record.poll_state) if record.poll_state is not None else None,
                    "next_poll_at": record.next_poll_at,
                    "poll_failures": record.poll_failures,
                    "lease_until": None,
                    "job_due_at": record.job_due_at,
                    "job_attempts": record.job_attempts,
                    "job_lease_until": None,
                    "created_at": record.created_at,
                    "updated_at": record.updated_at,
                },
            )
            put_credentials(db, subscription_record_id(record.id), record.connection_id, sealed)

    def get(self, subscription_id: str, team_id: str | None = None) -> SubscriptionRecord | None:
        """Find a subscription.

        Args:
            subscription_id: Its id.
            team_id: The team it must belong to; None for any.

        Returns:
            The record, or None (also when it belongs to another team).
        """
        with self.db.connect() as db:
            row = db.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
        record = SubscriptionRecord.from_row(row) if row else None
        return record if record is not None and team_id in (None, record.team_id) else None

    def by_token_hash(self, token_hash: str) -> SubscriptionRecord | None:
        """Find the subscription a webhook URL's token belongs to.

        Args:
            token_hash: The SHA-256 of the token.

        Returns:
            The record, or None.
        """
        row = self.db.first(select(subscriptions).where(subscriptions.c.token_hash == token_hash))
        return SubscriptionRecord.from_row(row) if row else None

    def list(
        self,
        *,
        team_id: str,
        connection_id: str | None = None,
        offset: int = 0,
        limit: int = 20,
        status: str | None = None,
    ) -> tuple[builtins.list[SubscriptionRecord], int]:
        """List a team's subscriptions, newest first.

        Args:
            team_id: The team.
            connection_id: Only this connection's.
            status: Only those in this status (`active`, `failing`).
            offset: Rows to skip.
            limit: Rows to return.

        Returns:
            The page of records and the total number that match.
        """
        conditions = [subscriptions.c.team_id == team_id]
        if connection_id is not None:
            conditions.append(subscriptions.c.connection_id == connection_id)
        if status is not None:
            conditions.append(subscriptions.c.status == status)
        where = and_(*conditions)
        with self.db.connect() as db:
            total = db.execute(select(func.count()).select_from(subscriptions).where(where)).scalar_one()
            rows = db.execute(
                select(subscriptions)
                .where(where)
                .order_by(subscriptions.c.created_at.desc(), subscriptions.c.id)
                .offset(offset)
                .limit(limit)
            ).all()
        return [SubscriptionRecord.from_row(r) for r in rows], total

    def of_connection(self, connection_id: str) -> builtins.list[SubscriptionRecord]:
        """Every subscription of a connection.

        Args:
            connection_id: The connection.

        Returns:
            The records.
        """
        with self.db.connect() as db:
            rows = db.execute(select(subscriptions).where(subscriptions.c.connection_id == connection_id)).all()
        return [SubscriptionRecord.from_row(r) for r in rows]

    def update(self, subscription_id: str, **values: Any) -> None:
        """Change some of a subscription's columns.

        Args:
            subscription_id: The subscription.
            **values: Columns and values (`config` and `poll_state` as Python values).
        """
        for key in ("config", "poll_state"):
            if key in values and values[key] is not None:
                values[key] = json.dumps(values[key])
        with self.db.transaction() as db:
            db.execute(
                update(subscriptions).where(subscriptions.c.id == subscription_id).values(**values, updated_at=utcnow())
            )

    def delete(self, subscription_id: str) -> bool:
        """Delete a subscription, its events, deliveries and sealed secrets.

        Args:
            subscription_id: The subscription.

        Returns:
            Whether it existed.
        """
        from plughub.engine.store.tables import deliveries, events

        with self.db.transaction() as db:
            db.execute(delete(deliveries).where(deliveries.c.subscription_id == subscription_id))
            db.execute(delete(events).where(events.c.subscription_id == subscription_id))
            db.execute(delete(credentials).where(credentials.c.record_id == subscription_record_id(subscription_id)))
            return db.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id)).rowcount > 0

    # Subscribe and unsubscribe jobs. While a subscription is `pending` (registering at the
    # provider) or `deleting` (unregistering), `job_due_at` holds its next attempt, `job_attempts`
    # the attempts that failed, and `job_lease_until` the claim of the process making one.

    def due_jobs(self, now: datetime, limit: int = 100) -> builtins.list[tuple[str, str]]:
        """The `pending` and `deleting` webhook subscriptions whose next attempt is due and unclaimed.

        Args:
            now: The time.
            limit: The most to return.

        Returns:
            Their ids and statuses, the most overdue first.
        """
        with self.db.connect() as db:
            rows = db.execute(
                select(subscriptions.c.id, subscriptions.c.status)
                .where(
                    subscriptions.c.status.in_((PENDING, DELETING)),
                    subscriptions.c.job_due_at <= now,
                    or_(subscriptions.c.job_lease_until.is_(None), subscriptions.c.job_lease_until < now),
                )
                .order_by(subscriptions.c.job_due_at)
                .limit(limit)
            ).all()
        return [(r.id, r.status) for r in rows]

    def claim_job(self, subscription_id: str, status: str, lease: float) -> SubscriptionRecord | None:
        """Take a `pending` or `deleting` subscription for one attempt (no other process makes one meanwhile).

        Args:
            subscription_id: The subscription.
            status: The status it must have.
            lease: Seconds the claim lasts (a process that dies lets it run out).

        Returns:
            The record, or None when it is gone, in another status, not due, or claimed.
        """
        now = utcnow()
        with self.db.transaction(lock=True) as db:
            taken = db.execute(
                update(subscriptions)
                .where(
                    subscriptions.c.id == subscription_id,
                    subscriptions.c.status == status,
                    subscriptions.c.job_due_at <= now,
                    or_(subscriptions.c.job_lease_until.is_(None), subscriptions.c.job_lease_until < now),
                )
                .values(job_lease_until=now + timedelta(seconds=lease))
            ).rowcount
            if not taken:
                return None
            row = db.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
        return SubscriptionRecord.from_row(row) if row else None

    def activate(self, subscription_id: str, sealed: Sealed, provider_id: str | None) -> bool:
        """Record a subscribe job's success: the provider's id and secrets, and `active` if still `pending`.

        The sealed values and the provider's id are kept even when the subscription became
        `deleting` meanwhile, so that its unsubscribe job removes the provider's webhook.

        Args:
            subscription_id: The subscription.
            sealed: Its secrets with the provider's id and secret, sealed again.
            provider_id: The webhook's id at the provider.

        Returns:
            Whether it is `active` now.

        Raises:
            StaleKeyError: They were sealed with a key another process rotated away.
        """
        with self.db.transaction(lock=True) as db:
            check_active_key(db, sealed.key_id)
            exists = db.execute(
                select(subscriptions.c.connection_id).where(subscriptions.c.id == subscription_id)
            ).first()
            if exists is None:
                return False
            put_credentials(db, subscription_record_id(subscription_id), exists.connection_id, sealed)
            db.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id)
                .values(provider_id=provider_id, job_lease_until=None, updated_at=utcnow())
            )
            return (
                db.execute(
                    update(subscriptions)
                    .where(subscriptions.c.id == subscription_id, subscriptions.c.status == PENDING)
                    .values(status=ACTIVE, job_due_at=None, job_attempts=0, last_error=None)
                ).rowcount
                > 0
            )

    def release(self, subscription_id: str, expected: str, **values: Any) -> bool:
        """End an attempt: drop the claim, and change some columns if the status is still `expected`.

        Args:
            subscription_id: The subscription.
            expected: The status it must still have for `values` to apply.
            **values: Columns and values.

        Returns:
            Whether `values` applied.
        """
        now = utcnow()
        with self.db.transaction() as db:
            db.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id)
                .values(job_lease_until=None, updated_at=now)
            )
            if not values:
                return True
            changed = db.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id, subscriptions.c.status == expected)
                .values(**values)
            ).rowcount
        return changed > 0

    def mark_deleting(self, subscription_id: str) -> bool:
        """Mark a subscription `deleting`: its unsubscribe job is due at once.

        Args:
            subscription_id: The subscription.

        Returns:
            Whether it was found and not `deleting` already.
        """
        with self.db.transaction() as db:
            return (
                db.execute(
                    update(subscriptions)
                    .where(subscriptions.c.id == subscription_id, subscriptions.c.status != DELETING)
                    .values(status=DELETING, job_due_at=utcnow(), job_attempts=0, updated_at=utcnow())
                ).rowcount
                > 0
            )

    def due_polls(self, now: datetime, limit: int = 100) -> builtins.list[str]:
        """The poll subscriptions whose next poll is due and that no process is polling.

        Args:
            now: The time.
            limit: The most to return.

        Returns:
            Their ids, the most overdue first.
        """
        with self.db.connect() as db:
            rows = db.execute(
                select(subscriptions.c.id)
                .where(
                    subscriptions.c.kind == "poll",
                    subscriptions.c.next_poll_at <= now,
                    or_(subscriptions.c.lease_until.is_(None), subscriptions.c.lease_until < now),
                )
                .order_by(subscriptions.c.next_poll_at)
                .limit(limit)
            ).all()
        return [r.id for r in rows]

    def claim_poll(self, subscription_id: str, lease: float, *, force: bool = False) -> SubscriptionRecord | None:
        """Take a poll subscription for one poll: no other process polls it until the lease ends.

        Args:
            subscription_id: The subscription.
            lease: Seconds the claim lasts (a process that dies lets it run out).
            force: Take it even when the next poll is not due yet (`poll_now`).

        Returns:
            The record, or None when it is gone, not due, or another process holds it.
        """
        now = utcnow()
        conditions = [
            subscriptions.c.id == subscription_id,
            subscriptions.c.kind == "poll",
            or_(subscriptions.c.lease_until.is_(None), subscriptions.c.lease_until < now),
        ]
        if not force:
            conditions.append(subscriptions.c.next_poll_at <= now)
        with self.db.transaction(lock=True) as db:
            taken = db.execute(
                update(subscriptions).where(*conditions).values(lease_until=now + timedelta(seconds=lease))
            ).rowcount
            if not taken:
                return None
            row = db.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
        return SubscriptionRecord.from_row(row) if row else None

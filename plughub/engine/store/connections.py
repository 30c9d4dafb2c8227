"""Connections, scoped by team."""

from __future__ import annotations

import builtins
import json
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from plughub.engine.store.records import ConnectionRecord, Sealed, check_active_key, utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import connections, credentials, subscriptions

__all__ = ["ConnectionRepository", "insert_connection_row"]


def insert_connection_row(db: Connection, record: ConnectionRecord) -> None:
    """Insert a connection row inside a transaction.

    Args:
        db: The open transaction.
        record: The connection.
    """
    # Values as parameters, not `.values(...)`: the statement is then compiled once, not per call.
    db.execute(
        insert(connections),
        {
            "id": record.id,
            "integration_id": record.integration_id,
            "name": record.name,
            "description": record.description,
            "scheme": record.scheme,
            "status": record.status,
            "config": json.dumps(record.config),
            "base_url": record.base_url,
            "error": record.error,
            "team_id": record.team_id,
            "end_user_id": record.end_user_id,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        },
    )


class ConnectionRepository(Repository):
    """Connections. A `team_id` of None means any team (internal callers only).

    A connection being deleted (`deleting_since` set, while its subscriptions are unsubscribed at
    the provider) is left out of every read unless `include_deleting` asks for it.
    """

    def insert(self, record: ConnectionRecord, sealed: Sealed | None) -> None:
        """Store a new connection and its sealed credentials together.

        Args:
            record: The connection.
            sealed: Its sealed credentials, or None for a connection without secrets.

        Raises:
            StaleKeyError: They were sealed with a key another process rotated away.
        """
        # IMMEDIATE: the key check and the insert must not interleave with a rotation.
        with self.db.transaction(lock=sealed is not None) as db:
            if sealed is not None:
                check_active_key(db, sealed.key_id)
            insert_connection_row(db, record)
            if sealed is not None:  # a new connection: nothing to update in place
                db.execute(
                    insert(credentials),
                    {
                        "record_id": record.id,
                        "connection_id": record.id,
                        "key_id": sealed.key_id,
                        "ciphertext": sealed.blob,
                        "updated_at": record.created_at,
                    },
                )

    def get(
        self, connection_id: str, team_id: str | None = None, *, include_deleting: bool = False
    ) -> ConnectionRecord | None:
        """Find a connection.

        Args:
            connection_id: Its id.
            team_id: The team it must belong to; None for any.
            include_deleting: Find it also while it is being deleted (its unsubscribe jobs).

        Returns:
            The record, or None (also when it belongs to another team, or is being deleted).
        """
        record = self.db.cache.get(("connection", connection_id), lambda: self._read_connection(connection_id))
        if record is None or team_id not in (None, record.team_id):
            return None
        return record if include_deleting or record.deleting_since is None else None

    def _read_connection(self, connection_id: str) -> ConnectionRecord | None:
        with self.db.connect() as db:
            row = db.execute(select(connections).where(connections.c.id == connection_id)).first()
        return ConnectionRecord.from_row(row) if row else None

    def list(
        self,
        *,
        team_id: str,
        query: str | None = None,
        integration_id: str | None = None,
        end_user_id: str | None = None,
        offset: int = 0,
        limit: int = 20,
        status: str | None = None,
    ) -> tuple[builtins.list[ConnectionRecord], int]:
        """List a team's connections, newest first.

        Args:
            team_id: The team.
            query: Text to find in the name, description or integration id.
            integration_id: Only connections of this integration.
            end_user_id: Only this end user's connections.
            offset: Rows to skip.
            limit: Rows to return.
            status: Only connections in this status.

        Returns:
            The page of records and the total number that match.
        """
        conditions = [connections.c.team_id == team_id, connections.c.deleting_since.is_(None)]
        if query:
            like = f"%{query}%"
            conditions.append(
                or_(
                    connections.c.name.ilike(like),
                    connections.c.description.ilike(like),
                    connections.c.integration_id.ilike(like),
                )
            )
        if integration_id:
            conditions.append(connections.c.integration_id == integration_id)
        if end_user_id:
            conditions.append(connections.c.end_user_id == end_user_id)
        if status:
            conditions.append(connections.c.status == status)
        where = and_(*conditions)
        with self.db.connect() as db:
            total = db.execute(select(func.count()).select_from(connections).where(where)).scalar_one()
            rows = db.execute(
                select(connections)
                .where(where)
                .order_by(connections.c.created_at.desc(), connections.c.id)
                .offset(offset)
                .limit(limit)
            ).all()
        return [ConnectionRecord.from_row(r) for r in rows], total

    def count_by_status(self) -> dict[tuple[str, str], int]:
        """Count the connections of every team by integration and status (the server's metrics).

        Returns:
            `{(integration_id, status): count}`, for the pairs that have connections.
        """
        query = (
            select(connections.c.integration_id, connections.c.status, func.count())
            .where(connections.c.deleting_since.is_(None))
            .group_by(connections.c.integration_id, connections.c.status)
        )
        with self.db.connect() as db:
            return {(integration, status): count for integration, status, count in db.execute(query).all()}

    def set_status(self, connection_id: str, status: str, error: str | None = None) -> None:
        """Change a connection's status.

        Args:
            connection_id: The connection.
            status: The new status.
            error: Why, for failed and expired connections.
        """
        with self.db.transaction() as db:
            db.execute(
                update(connections)
                .where(connections.c.id == connection_id)
                .values(status=status, error=error, updated_at=utcnow())
            )

    def delete(self, connection_id: str, team_id: str | None = None) -> bool:
        """Delete a connection and its credentials.

        Args:
            connection_id: The connection.
            team_id: The team it must belong to; None for any.

        Returns:
            Whether it existed (in that team).
        """
        with self.db.transaction(lock=True) as db:  # it may read first
            if (
                team_id is not None
                and not db.execute(
                    select(connections.c.id).where(connections.c.id == connection_id, connections.c.team_id == team_id)
                ).first()
            ):
                return False
            db.execute(delete(credentials).where(credentials.c.connection_id == connection_id))
            return db.execute(delete(connections).where(connections.c.id == connection_id)).rowcount > 0

    # Deleting in two steps: while its subscriptions are unsubscribed at the provider (jobs), a
    # connection is marked; the process that finishes the deletion claims it first (a lease that
    # a dead process lets run out, so that the scan of any worker finishes it).

    def mark_deleting(self, connection_id: str, team_id: str | None, lease: float) -> bool:
        """Mark a connection as being deleted, claimed by this process for `lease` seconds.

        Args:
            connection_id: The connection.
            team_id: The team it must belong to; None for any.
            lease: Seconds the claim lasts.

        Returns:
            Whether it was found (in that team) and not being deleted already.
        """
        now = utcnow()
        conditions = [connections.c.id == connection_id, connections.c.deleting_since.is_(None)]
        if team_id is not None:
            conditions.append(connections.c.team_id == team_id)
        with self.db.transaction() as db:
            marked = db.execute(
                update(connections)
                .where(*conditions)
                .values(deleting_since=now, deleting_lease_until=now + timedelta(seconds=lease), updated_at=now)
            ).rowcount
        return marked > 0

    def release_deletion(self, connection_id: str) -> None:
        """Drop this process's claim on a connection being deleted (its jobs finish the deletion).

        Args:
            connection_id: The connection.
        """
        with self.db.transaction() as db:
            db.execute(update(connections).where(connections.c.id == connection_id).values(deleting_lease_until=None))

    def claim_deletion(self, connection_id: str, lease: float) -> ConnectionRecord | None:
        """Claim a connection being deleted, to finish its deletion (no other process does meanwhile).

        Args:
            connection_id: The connection.
            lease: Seconds the claim lasts.

        Returns:
            The record, or None when it is gone, not being deleted, or claimed by another process.
        """
        now = utcnow()
        with self.db.transaction(lock=True) as db:
            taken = db.execute(
                update(connections)
                .where(
                    connections.c.id == connection_id,
                    connections.c.deleting_since.is_not(None),
                    or_(connections.c.deleting_lease_until.is_(None), connections.c.deleting_lease_until < now),
                )
                .values(deleting_lease_until=now + timedelta(seconds=lease))
            ).rowcount
            if not taken:
                return None
            row = db.execute(select(connections).where(connections.c.id == connection_id)).first()
        return ConnectionRecord.from_row(row) if row else None

    def due_deletions(self, now: datetime, limit: int = 100) -> builtins.list[str]:
        """The connections being deleted that no process holds and no unsubscribe job waits on.

        Those have no subscriptions left (the finishing step died), or some that are not
        `deleting` yet (the marking step died).

        Args:
            now: The time.
            limit: The most to return.

        Returns:
            Their ids, the oldest deletion first.
        """
        unsubscribing = exists().where(
            subscriptions.c.connection_id == connections.c.id, subscriptions.c.status == "deleting"
        )
        with self.db.connect() as db:
            rows = db.execute(
                select(connections.c.id)
                .where(
                    connections.c.deleting_since.is_not(None),
                    or_(connections.c.deleting_lease_until.is_(None), connections.c.deleting_lease_until < now),
                    ~unsubscribing,
                )
                .order_by(connections.c.deleting_since)
                .limit(limit)
            ).all()
        return [r.id for r in rows]

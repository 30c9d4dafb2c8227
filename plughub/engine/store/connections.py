"""Connections, scoped by team."""

from __future__ import annotations

import builtins
import json

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from plughub.engine.store.records import ConnectionRecord, Sealed, check_active_key, utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import connections, credentials

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
    """Connections. A `team_id` of None means any team (internal callers only)."""

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

    def get(self, connection_id: str, team_id: str | None = None) -> ConnectionRecord | None:
        """Find a connection.

        Args:
            connection_id: Its id.
            team_id: The team it must belong to; None for any.

        Returns:
            The record, or None (also when it belongs to another team).
        """
        record = self.db.cache.get(("connection", connection_id), lambda: self._read_connection(connection_id))
        return record if record is not None and team_id in (None, record.team_id) else None

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
        conditions = [connections.c.team_id == team_id]
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
        query = select(connections.c.integration_id, connections.c.status, func.count()).group_by(
            connections.c.integration_id, connections.c.status
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
        with self.db.transaction() as db:
            if (
                team_id is not None
                and not db.execute(
                    select(connections.c.id).where(connections.c.id == connection_id, connections.c.team_id == team_id)
                ).first()
            ):
                return False
            db.execute(delete(credentials).where(credentials.c.connection_id == connection_id))
            return db.execute(delete(connections).where(connections.c.id == connection_id)).rowcount > 0

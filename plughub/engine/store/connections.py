"""Connections, their sealed credentials, and user-defined integrations, scoped by team."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from plughub.engine.store.base import StoreBase
from plughub.engine.store.records import ConnectionRecord, check_active_key, put_credentials, utcnow
from plughub.engine.store.tables import connections, credentials, integrations

__all__ = ["ConnectionsMixin", "insert_connection_row"]


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


class ConnectionsMixin(StoreBase):
    """Connections and credentials. A `team_id` of None means any team (internal callers only)."""

    def insert_connection(self, record: ConnectionRecord, ciphertext: tuple[str, bytes] | None) -> None:
        """Store a new connection and its sealed credentials together.

        Args:
            record: The connection.
            ciphertext: `(key id, sealed credentials)`, or None for a connection without secrets.
        """
        # IMMEDIATE: the key check and the insert must not interleave with a rotation.
        with self.transaction(lock=ciphertext is not None) as db:
            if ciphertext is not None:
                check_active_key(db, ciphertext[0])
            insert_connection_row(db, record)
            if ciphertext is not None:  # a new connection: nothing to update in place
                db.execute(
                    insert(credentials),
                    {
                        "record_id": record.id,
                        "connection_id": record.id,
                        "key_id": ciphertext[0],
                        "ciphertext": ciphertext[1],
                        "updated_at": record.created_at,
                    },
                )

    def get_connection(self, connection_id: str, team_id: str | None = None) -> ConnectionRecord | None:
        """Find a connection.

        Args:
            connection_id: Its id.
            team_id: The team it must belong to; None for any.

        Returns:
            The record, or None (also when it belongs to another team).
        """
        record = self.cache.get(("connection", connection_id), lambda: self._read_connection(connection_id))
        return record if record is not None and team_id in (None, record.team_id) else None

    def _read_connection(self, connection_id: str) -> ConnectionRecord | None:
        with self.engine.connect() as db:
            row = db.execute(select(connections).where(connections.c.id == connection_id)).first()
        return ConnectionRecord.from_row(row) if row else None

    def list_connections(
        self,
        *,
        team_id: str,
        query: str | None = None,
        integration_id: str | None = None,
        end_user_id: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[list[ConnectionRecord], int]:
        """List a team's connections, newest first.

        Args:
            team_id: The team.
            query: Text to find in the name, description or integration id.
            integration_id: Only connections of this integration.
            end_user_id: Only this end user's connections.
            offset: Rows to skip.
            limit: Rows to return.

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
        where = and_(*conditions)
        with self.engine.connect() as db:
            total = db.execute(select(func.count()).select_from(connections).where(where)).scalar_one()
            rows = db.execute(
                select(connections)
                .where(where)
                .order_by(connections.c.created_at.desc(), connections.c.id)
                .offset(offset)
                .limit(limit)
            ).all()
        return [ConnectionRecord.from_row(r) for r in rows], total

    def set_status(self, connection_id: str, status: str, error: str | None = None) -> None:
        """Change a connection's status.

        Args:
            connection_id: The connection.
            status: The new status.
            error: Why, for failed and expired connections.
        """
        with self.transaction() as db:
            db.execute(
                update(connections)
                .where(connections.c.id == connection_id)
                .values(status=status, error=error, updated_at=utcnow())
            )

    def delete_connection(self, connection_id: str, team_id: str | None = None) -> bool:
        """Delete a connection and its credentials.

        Args:
            connection_id: The connection.
            team_id: The team it must belong to; None for any.

        Returns:
            Whether it existed (in that team).
        """
        with self.transaction() as db:
            if (
                team_id is not None
                and not db.execute(
                    select(connections.c.id).where(connections.c.id == connection_id, connections.c.team_id == team_id)
                ).first()
            ):
                return False
            db.execute(delete(credentials).where(credentials.c.connection_id == connection_id))
            return db.execute(delete(connections).where(connections.c.id == connection_id)).rowcount > 0

    # Credentials

    def get_credentials(self, record_id: str) -> bytes | None:
        """Return a record's sealed credentials.

        Args:
            record_id: A connection id or another owner's id.

        Returns:
            The ciphertext, or None.
        """
        return self.cache.get(("credentials", record_id), lambda: self._read_credentials(record_id))

    def _read_credentials(self, record_id: str) -> bytes | None:
        with self.engine.connect() as db:
            blob: bytes | None = db.execute(
                select(credentials.c.ciphertext).where(credentials.c.record_id == record_id)
            ).scalar()
        return blob

    def put_credentials(
        self, record_id: str, ciphertext: tuple[str, bytes], *, connection_id: str | None = None
    ) -> None:
        """Store (or replace) a record's sealed credentials.

        Args:
            record_id: The owner's id.
            ciphertext: `(key id, sealed credentials)`.
            connection_id: The connection it belongs to, so that deleting the connection deletes it.
        """
        with self.transaction(lock=True) as db:
            check_active_key(db, ciphertext[0])
            put_credentials(db, record_id, connection_id, ciphertext)

    def delete_credentials(self, record_id: str) -> bool:
        """Delete a record's credentials.

        Args:
            record_id: The owner's id.

        Returns:
            Whether there were any.
        """
        with self.transaction() as db:
            return db.execute(delete(credentials).where(credentials.c.record_id == record_id)).rowcount > 0

    # User integrations

    def list_integrations(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Return every user-created definition as `(team id, integration id, definition)`."""
        with self.engine.connect() as db:
            rows = db.execute(select(integrations).order_by(integrations.c.team_id, integrations.c.id)).all()
        return [(r.team_id, r.id, json.loads(r.definition)) for r in rows]

    def get_integration(self, team_id: str, integration_id: str) -> dict[str, Any] | None:
        """Return one of a team's user-created definitions.

        Args:
            team_id: The team.
            integration_id: Its id.

        Returns:
            The definition, or None.
        """
        with self.engine.connect() as db:
            raw = db.execute(
                select(integrations.c.definition).where(
                    integrations.c.team_id == team_id, integrations.c.id == integration_id
                )
            ).scalar()
        return json.loads(raw) if raw else None

    def put_integration(self, team_id: str, integration_id: str, definition: dict[str, Any]) -> None:
        """Store a team's user-created definition, replacing one with the same id.

        Args:
            team_id: The team.
            integration_id: Its id.
            definition: The definition as a JSON-serialisable mapping.
        """
        with self.transaction() as db:
            db.execute(
                delete(integrations).where(integrations.c.team_id == team_id, integrations.c.id == integration_id)
            )
            db.execute(
                insert(integrations).values(
                    team_id=team_id, id=integration_id, definition=json.dumps(definition), created_at=utcnow()
                )
            )

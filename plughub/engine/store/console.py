"""Console sessions: operators signed in to `/console` with a team's API key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, insert, select

from plughub.engine.store.records import aware, utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import api_keys, console_sessions

__all__ = ["ConsoleSessionRecord", "ConsoleSessionRepository"]


@dataclass(frozen=True)
class ConsoleSessionRecord:
    """A signed-in console session (stored under the hash of its id, which only the cookie holds)."""

    id_hash: str
    team_id: str
    key_id: str
    csrf_token: str = field(repr=False)
    expires_at: datetime = field(default_factory=utcnow)


class ConsoleSessionRepository(Repository):
    """Console sessions, each bound to the API key that opened it."""

    def create(self, session: ConsoleSessionRecord) -> None:
        """Store a session."""
        with self.db.transaction() as db:
            db.execute(
                insert(console_sessions).values(
                    id_hash=session.id_hash,
                    team_id=session.team_id,
                    key_id=session.key_id,
                    csrf_token=session.csrf_token,
                    expires_at=session.expires_at,
                    created_at=utcnow(),
                )
            )

    def get(self, id_hash: str) -> ConsoleSessionRecord | None:
        """A live session: not expired, and its key not revoked (never cached: sign-outs stop at once).

        Args:
            id_hash: The hash of the session id.

        Returns:
            The session, or None.
        """
        statement = (
            select(console_sessions)
            .join(api_keys, api_keys.c.id == console_sessions.c.key_id)
            .where(console_sessions.c.id_hash == id_hash, api_keys.c.revoked_at.is_(None))
        )
        with self.db.connect() as db:
            row = db.execute(statement).first()
        if row is None or aware(row.expires_at) <= utcnow():
            return None
        return ConsoleSessionRecord(row.id_hash, row.team_id, row.key_id, row.csrf_token, aware(row.expires_at))

    def delete(self, id_hash: str) -> bool:
        """Delete a session (sign out); True when one was deleted."""
        with self.db.transaction() as db:
            return db.execute(delete(console_sessions).where(console_sessions.c.id_hash == id_hash)).rowcount > 0

    def delete_expired(self) -> int:
        """Delete every expired session; the number deleted."""
        with self.db.transaction() as db:
            return int(db.execute(delete(console_sessions).where(console_sessions.c.expires_at <= utcnow())).rowcount)

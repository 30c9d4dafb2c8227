"""Sealed credentials: connections', OAuth apps', flow states' and pending runs' secrets, as ciphertext."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, select

from plughub.engine.store.records import LockedCredentials, Sealed, check_active_key, put_credentials
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import credentials

__all__ = ["CredentialRepository"]


class CredentialRepository(Repository):
    """Sealed credentials by record id (a connection id, or another owner's: `oauth-app:...`)."""

    def get(self, record_id: str) -> bytes | None:
        """Return a record's sealed credentials.

        Args:
            record_id: A connection id or another owner's id.

        Returns:
            The ciphertext, or None.
        """
        return self.db.cache.get(("credentials", record_id), lambda: self._read_credentials(record_id))

    def _read_credentials(self, record_id: str) -> bytes | None:
        with self.db.connect() as db:
            blob: bytes | None = db.execute(
                select(credentials.c.ciphertext).where(credentials.c.record_id == record_id)
            ).scalar()
        return blob

    def put(self, record_id: str, sealed: Sealed, *, connection_id: str | None = None) -> None:
        """Store (or replace) a record's sealed credentials.

        Args:
            record_id: The owner's id.
            sealed: The sealed credentials.
            connection_id: The connection it belongs to, so that deleting the connection deletes it.

        Raises:
            StaleKeyError: They were sealed with a key another process rotated away.
        """
        with self.db.transaction(lock=True) as db:
            check_active_key(db, sealed.key_id)
            put_credentials(db, record_id, connection_id, sealed)

    def record_ids(self, prefix: str) -> list[str]:
        """The ids of the records whose id starts with a prefix (`oauth-app:<team>:`), sorted.

        Args:
            prefix: The start of the ids.

        Returns:
            The ids (never the ciphertext).
        """
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self.db.connect() as db:
            rows = db.execute(
                select(credentials.c.record_id)
                .where(credentials.c.record_id.like(escaped + "%", escape="\\"))
                .order_by(credentials.c.record_id)
            ).all()
        return [str(r.record_id) for r in rows]

    def delete(self, record_id: str) -> bool:
        """Delete a record's credentials.

        Args:
            record_id: The owner's id.

        Returns:
            Whether there were any.
        """
        with self.db.transaction() as db:
            return db.execute(delete(credentials).where(credentials.c.record_id == record_id)).rowcount > 0

    @contextmanager
    def lock(self, record_id: str) -> Iterator[LockedCredentials]:
        """Read a record's credentials under a write lock held until the block ends.

        SQLite takes the database write lock (`BEGIN IMMEDIATE`); PostgreSQL locks the row
        (`SELECT ... FOR UPDATE`). Whoever waits re-reads what the holder wrote.

        Args:
            record_id: The record (a connection id).

        Yields:
            The locked credentials; `replace` and `set_status` write in the same transaction.
        """
        with self.db.transaction(lock=True) as db:
            query = select(credentials.c.ciphertext).where(credentials.c.record_id == record_id)
            if db.dialect.name != "sqlite":
                query = query.with_for_update()
            yield LockedCredentials(db, record_id, db.execute(query).scalar())

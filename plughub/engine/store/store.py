"""The store: connections, their sealed credentials, user integrations and wrapped data keys.

It only ever sees ciphertext; sealing and opening happen in the vault. Every method is one
transaction, and the ones that write several rows write all of them or none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from plughub.engine.store.tables import connections, credentials, integrations, oauth_states, vault_keys

__all__ = ["ConnectionRecord", "LockedCredentials", "StaleKeyError", "StateRecord", "Store", "VaultKeyRecord", "utcnow"]


class StaleKeyError(Exception):
    """The data key a ciphertext was sealed with is no longer the store's active key.

    Another process rotated the keys; the caller reloads its vault and seals again.
    """


def utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(timezone.utc)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything plughub stores is UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class ConnectionRecord:
    """A connection row."""

    id: str
    integration_id: str
    name: str
    scheme: str
    status: str
    description: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    base_url: str | None = None
    error: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    @classmethod
    def from_row(cls, row: Any) -> ConnectionRecord:
        """Build a record from a database row."""
        return cls(
            id=row.id,
            integration_id=row.integration_id,
            name=row.name,
            scheme=row.scheme,
            status=row.status,
            description=row.description or "",
            config=json.loads(row.config or "{}"),
            base_url=row.base_url,
            error=row.error,
            created_at=_aware(row.created_at),
            updated_at=_aware(row.updated_at),
        )


@dataclass(frozen=True)
class VaultKeyRecord:
    """A data key, wrapped by the master key."""

    kid: str
    wrapped: bytes
    master_kid: str
    active: bool


@dataclass(frozen=True)
class StateRecord:
    """An OAuth authorization state as stored (its hash, never the state itself)."""

    state_hash: str
    connection_id: str
    kind: str
    expires_at: datetime
    used_at: datetime | None = None
    payload: bytes | None = field(default=None, repr=False)


class LockedCredentials:
    """A record's credentials read under a write lock, to be replaced in the same transaction."""

    def __init__(self, db: Connection, record_id: str, ciphertext: bytes | None) -> None:
        self._db = db
        self.record_id = record_id
        self.ciphertext = ciphertext

    def __repr__(self) -> str:
        return f"LockedCredentials({self.record_id!r})"

    def replace(self, ciphertext: tuple[str, bytes]) -> None:
        """Store new sealed credentials (checked against the active key)."""
        Store._check_active_key(self._db, ciphertext[0])
        Store._put_credentials(self._db, self.record_id, self.record_id, ciphertext)
        self.ciphertext = ciphertext[1]

    def set_status(self, status: str, error: str | None = None) -> None:
        """Change the connection's status in the same transaction."""
        self._db.execute(
            update(connections)
            .where(connections.c.id == self.record_id)
            .values(status=status, error=error, updated_at=utcnow())
        )


class Store:
    """Persistence over a SQLAlchemy engine (SQLite embedded, PostgreSQL for the server).

    Args:
        engine: An engine whose schema is migrated (see `open_database`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def transaction(self, *, lock: bool = False) -> Iterator[Connection]:
        """Open a transaction.

        Args:
            lock: Take the write lock at once (SQLite `BEGIN IMMEDIATE`), for read-modify-write.

        Yields:
            The connection; the transaction commits when the block ends without an exception.
        """
        with self.engine.connect() as connection:
            if lock and self.engine.dialect.name == "sqlite":
                connection = connection.execution_options(sqlite_immediate=True)
            with connection.begin():
                yield connection

    # Connections

    def insert_connection(self, record: ConnectionRecord, ciphertext: tuple[str, bytes] | None) -> None:
        """Store a new connection and its sealed credentials together.

        Args:
            record: The connection.
            ciphertext: `(key id, sealed credentials)`, or None for a connection without secrets.
        """
        # IMMEDIATE: the key check and the insert must not interleave with a rotation.
        with self.transaction(lock=ciphertext is not None) as db:
            if ciphertext is not None:
                self._check_active_key(db, ciphertext[0])
            self._insert_connection(db, record)
            if ciphertext is not None:
                self._put_credentials(db, record.id, record.id, ciphertext)

    @staticmethod
    def _insert_connection(db: Connection, record: ConnectionRecord) -> None:
        db.execute(
            insert(connections).values(
                id=record.id,
                integration_id=record.integration_id,
                name=record.name,
                description=record.description,
                scheme=record.scheme,
                status=record.status,
                config=json.dumps(record.config),
                base_url=record.base_url,
                error=record.error,
                created_at=record.created_at,
                updated_at=record.updated_at,
            )
        )

    def get_connection(self, connection_id: str) -> ConnectionRecord | None:
        """Find a connection.

        Args:
            connection_id: Its id.

        Returns:
            The record, or None.
        """
        with self.engine.connect() as db:
            row = db.execute(select(connections).where(connections.c.id == connection_id)).first()
        return ConnectionRecord.from_row(row) if row else None

    def list_connections(
        self, *, query: str | None = None, integration_id: str | None = None, offset: int = 0, limit: int = 20
    ) -> tuple[list[ConnectionRecord], int]:
        """List connections, newest first.

        Args:
            query: Text to find in the name, description or integration id.
            integration_id: Only connections of this integration.
            offset: Rows to skip.
            limit: Rows to return.

        Returns:
            The page of records and the total number that match.
        """
        conditions = []
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
        with self.engine.connect() as db:
            total = db.execute(select(func.count()).select_from(connections).where(*conditions)).scalar_one()
            rows = db.execute(
                select(connections)
                .where(*conditions)
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

    def delete_connection(self, connection_id: str) -> bool:
        """Delete a connection and its credentials.

        Args:
            connection_id: The connection.

        Returns:
            Whether it existed.
        """
        with self.transaction() as db:
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
        with self.engine.connect() as db:
            return db.execute(select(credentials.c.ciphertext).where(credentials.c.record_id == record_id)).scalar()

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
            self._check_active_key(db, ciphertext[0])
            self._put_credentials(db, record_id, connection_id, ciphertext)

    @staticmethod
    def _check_active_key(db: Connection, kid: str) -> None:
        active = db.execute(select(vault_keys.c.active).where(vault_keys.c.kid == kid)).scalar()
        if not active:
            raise StaleKeyError(kid)

    @staticmethod
    def _put_credentials(
        db: Connection, record_id: str, connection_id: str | None, ciphertext: tuple[str, bytes]
    ) -> None:
        db.execute(delete(credentials).where(credentials.c.record_id == record_id))
        db.execute(
            insert(credentials).values(
                record_id=record_id,
                connection_id=connection_id,
                key_id=ciphertext[0],
                ciphertext=ciphertext[1],
                updated_at=utcnow(),
            )
        )

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

    def list_integrations(self) -> list[tuple[str, dict[str, Any]]]:
        """Return the user-created definitions as `(id, definition)` pairs."""
        with self.engine.connect() as db:
            rows = db.execute(select(integrations.c.id, integrations.c.definition).order_by(integrations.c.id)).all()
        return [(r.id, json.loads(r.definition)) for r in rows]

    def put_integration(self, integration_id: str, definition: dict[str, Any]) -> None:
        """Store a user-created definition, replacing one with the same id.

        Args:
            integration_id: Its id.
            definition: The definition as a JSON-serialisable mapping.
        """
        with self.transaction() as db:
            db.execute(delete(integrations).where(integrations.c.id == integration_id))
            db.execute(
                insert(integrations).values(id=integration_id, definition=json.dumps(definition), created_at=utcnow())
            )

    # Vault keys

    def vault_keys(self) -> list[VaultKeyRecord]:
        """Return the wrapped data keys, the active one first."""
        with self.engine.connect() as db:
            rows = db.execute(select(vault_keys).order_by(vault_keys.c.active.desc(), vault_keys.c.created_at)).all()
        return [VaultKeyRecord(r.kid, r.wrapped, r.master_kid, bool(r.active)) for r in rows]

    def add_first_vault_key(self, key: VaultKeyRecord) -> bool:
        """Store the first data key of a new store, unless another process got there first.

        Args:
            key: The wrapped key.

        Returns:
            Whether this key was stored (False: the store already had keys).
        """
        with self.transaction(lock=True) as db:
            if db.execute(select(func.count()).select_from(vault_keys)).scalar_one():
                return False
            db.execute(
                insert(vault_keys).values(
                    kid=key.kid, wrapped=key.wrapped, master_kid=key.master_kid, active=True, created_at=utcnow()
                )
            )
            return True

    def rotate_vault_key(self, key: VaultKeyRecord, reseal: Callable[[str, bytes], bytes]) -> int:
        """Make a new data key active and re-seal every record with it, in one transaction.

        Args:
            key: The new wrapped key.
            reseal: Opens a record's ciphertext and seals it again with the new key.

        Returns:
            How many records were re-sealed.
        """
        with self.transaction(lock=True) as db:
            db.execute(
                insert(vault_keys).values(
                    kid=key.kid, wrapped=key.wrapped, master_kid=key.master_kid, active=False, created_at=utcnow()
                )
            )
            rows = db.execute(select(credentials.c.record_id, credentials.c.ciphertext)).all()
            for row in rows:
                db.execute(
                    update(credentials)
                    .where(credentials.c.record_id == row.record_id)
                    .values(ciphertext=reseal(row.record_id, row.ciphertext), key_id=key.kid, updated_at=utcnow())
                )
            db.execute(delete(vault_keys).where(vault_keys.c.kid != key.kid))
            db.execute(update(vault_keys).where(vault_keys.c.kid == key.kid).values(active=True))
        return len(rows)

    # OAuth

    def insert_pending(self, record: ConnectionRecord, state: StateRecord, ciphertext: tuple[str, bytes]) -> None:
        """Store a pending connection (or re-use an existing one) and its authorization state.

        Args:
            record: The connection; inserted when new, set to its status when it exists.
            state: The state's hash, kind and expiry.
            ciphertext: The sealed flow secrets (PKCE verifier, request token secret).
        """
        with self.transaction(lock=True) as db:
            self._check_active_key(db, ciphertext[0])
            exists = db.execute(select(connections.c.id).where(connections.c.id == record.id)).scalar()
            if exists:
                db.execute(
                    update(connections)
                    .where(connections.c.id == record.id)
                    .values(status=record.status, error=None, updated_at=utcnow())
                )
            else:
                self._insert_connection(db, record)
            # Forget states that expired a day ago; recent ones still tell "expired" from "unknown".
            stale = select(oauth_states.c.state_hash).where(oauth_states.c.expires_at < utcnow() - timedelta(days=1))
            for (old_hash,) in db.execute(stale).all():
                db.execute(delete(credentials).where(credentials.c.record_id == f"oauth-state:{old_hash}"))
                db.execute(delete(oauth_states).where(oauth_states.c.state_hash == old_hash))
            db.execute(
                insert(oauth_states).values(
                    state_hash=state.state_hash,
                    connection_id=state.connection_id,
                    kind=state.kind,
                    expires_at=state.expires_at,
                    used_at=None,
                    created_at=utcnow(),
                )
            )
            self._put_credentials(db, f"oauth-state:{state.state_hash}", record.id, ciphertext)

    def claim_state(self, state_hash: str) -> StateRecord | None:
        """Mark a state used, once: the first caller gets it unused, later ones see `used_at`.

        Args:
            state_hash: SHA-256 of the state.

        Returns:
            The state as it was before this claim (with its sealed payload), or None when unknown.
        """
        with self.transaction(lock=True) as db:
            row = db.execute(select(oauth_states).where(oauth_states.c.state_hash == state_hash)).first()
            if row is None:
                return None
            record_id = f"oauth-state:{state_hash}"
            payload = db.execute(select(credentials.c.ciphertext).where(credentials.c.record_id == record_id)).scalar()
            if row.used_at is None:
                db.execute(update(oauth_states).where(oauth_states.c.state_hash == state_hash).values(used_at=utcnow()))
                db.execute(delete(credentials).where(credentials.c.record_id == record_id))
        return StateRecord(
            state_hash=row.state_hash,
            connection_id=row.connection_id,
            kind=row.kind,
            expires_at=_aware(row.expires_at),
            used_at=_aware(row.used_at) if row.used_at else None,
            payload=payload,
        )

    def activate(self, connection_id: str, ciphertext: tuple[str, bytes]) -> None:
        """Store a connection's new credentials and make it active, in one transaction.

        Args:
            connection_id: The connection.
            ciphertext: Its sealed credentials (tokens).
        """
        with self.transaction(lock=True) as db:
            self._check_active_key(db, ciphertext[0])
            self._put_credentials(db, connection_id, connection_id, ciphertext)
            db.execute(
                update(connections)
                .where(connections.c.id == connection_id)
                .values(status="active", error=None, updated_at=utcnow())
            )

    @contextmanager
    def lock_credentials(self, record_id: str) -> Iterator[LockedCredentials]:
        """Read a record's credentials under a write lock held until the block ends.

        SQLite takes the database write lock (`BEGIN IMMEDIATE`); PostgreSQL locks the row
        (`SELECT ... FOR UPDATE`). Whoever waits re-reads what the holder wrote.

        Args:
            record_id: The record (a connection id).

        Yields:
            The locked credentials; `replace` and `set_status` write in the same transaction.
        """
        with self.transaction(lock=True) as db:
            query = select(credentials.c.ciphertext).where(credentials.c.record_id == record_id)
            if db.dialect.name != "sqlite":
                query = query.with_for_update()
            yield LockedCredentials(db, record_id, db.execute(query).scalar())

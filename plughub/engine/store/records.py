"""Rows as frozen records, and the helpers every store module shares."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from plughub.engine.store.tables import connections, credentials, vault_keys

__all__ = [
    "LOCAL_TEAM",
    "ConnectionRecord",
    "LockedCredentials",
    "Sealed",
    "StaleKeyError",
    "StateRecord",
    "VaultKeyRecord",
    "aware",
    "check_active_key",
    "put_credentials",
    "utcnow",
]

# The team of the embedded engine; the server creates its own teams.
LOCAL_TEAM = "local"


class StaleKeyError(Exception):
    """The data key a ciphertext was sealed with is no longer the store's active key.

    Another process rotated the keys; the caller reloads its vault and seals again.
    """


@dataclass(frozen=True)
class Sealed:
    """A record's secrets as stored: the ciphertext and the id of the data key that sealed it.

    Attributes:
        key_id: The data key's id (a write checks it is still the store's active key).
        blob: The ciphertext.
    """

    key_id: str
    blob: bytes = field(repr=False)


def utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(timezone.utc)


def aware(value: datetime) -> datetime:
    """Mark a naive datetime as UTC (SQLite hands them back naive; plughub stores UTC)."""
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
    team_id: str = LOCAL_TEAM
    end_user_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    deleting_since: datetime | None = None
    """Set while its deletion waits for its subscriptions' unsubscribe jobs (readers treat it as gone)."""

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
            team_id=row.team_id,
            end_user_id=row.end_user_id,
            created_at=aware(row.created_at),
            updated_at=aware(row.updated_at),
            deleting_since=aware(row.deleting_since) if row.deleting_since else None,
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

    def replace(self, sealed: Sealed) -> None:
        """Store new sealed credentials (checked against the active key).

        Raises:
            StaleKeyError: They were sealed with a key another process rotated away.
        """
        check_active_key(self._db, sealed.key_id)
        put_credentials(self._db, self.record_id, self.record_id, sealed)
        self.ciphertext = sealed.blob

    def set_status(self, status: str, error: str | None = None) -> None:
        """Change the connection's status in the same transaction."""
        self._db.execute(
            update(connections)
            .where(connections.c.id == self.record_id)
            .values(status=status, error=error, updated_at=utcnow())
        )


_KEY_ACTIVE = select(vault_keys.c.active).where(vault_keys.c.kid == bindparam("kid"))


def check_active_key(db: Connection, kid: str) -> None:
    """Refuse a ciphertext sealed with a key that is no longer the store's active one.

    Args:
        db: The open transaction.
        kid: The key id the ciphertext was sealed with.

    Raises:
        StaleKeyError: Another process rotated the keys.
    """
    active = db.execute(_KEY_ACTIVE, {"kid": kid}).scalar()
    if not active:
        raise StaleKeyError(kid)


def put_credentials(db: Connection, record_id: str, connection_id: str | None, sealed: Sealed) -> None:
    """Store (or replace) a record's sealed credentials inside a transaction.

    Args:
        db: The open transaction.
        record_id: The owner's id.
        connection_id: The connection it belongs to, if any (deleted with it).
        sealed: The sealed credentials.
    """
    # Update in place: a replica waiting on `SELECT ... FOR UPDATE` of this row must find it after
    # the holder commits (a delete and insert would leave it holding nothing).
    values = {
        "connection_id": connection_id,
        "key_id": sealed.key_id,
        "ciphertext": sealed.blob,
        "updated_at": utcnow(),
    }
    updated = db.execute(update(credentials).where(credentials.c.record_id == record_id).values(**values))
    if updated.rowcount == 0:
        db.execute(insert(credentials).values(record_id=record_id, **values))

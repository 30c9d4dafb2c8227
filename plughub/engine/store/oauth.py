"""OAuth in the store: pending authorization states and the activation that ends them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, select, update

from plughub.engine.store.connections import insert_connection_row
from plughub.engine.store.records import (
    ConnectionRecord,
    Sealed,
    StateRecord,
    aware,
    check_active_key,
    put_credentials,
    utcnow,
)
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import connections, credentials, oauth_states

__all__ = ["OAuthStateRepository"]


class OAuthStateRepository(Repository):
    """Authorization states, from the consent link to the callback."""

    def insert_pending(
        self, record: ConnectionRecord, state: StateRecord, sealed: Sealed, initial: Sealed | None = None
    ) -> None:
        """Store a pending connection (or re-use an existing one) and its authorization state.

        Args:
            record: The connection; inserted when new, set to its status when it exists.
            state: The state's hash, kind and expiry.
            sealed: The sealed flow secrets (PKCE verifier, request token secret).
            initial: Credentials a new connection holds until consent completes (an MCP server's
                URL); an existing connection keeps its own.

        Raises:
            StaleKeyError: They were sealed with a key another process rotated away.
        """
        with self.db.transaction() as db:
            check_active_key(db, sealed.key_id)
            if initial is not None:
                check_active_key(db, initial.key_id)
            exists = db.execute(select(connections.c.id).where(connections.c.id == record.id)).scalar()
            if exists:
                db.execute(
                    update(connections)
                    .where(connections.c.id == record.id)
                    .values(status=record.status, error=None, updated_at=utcnow())
                )
            else:
                insert_connection_row(db, record)
                if initial is not None:
                    put_credentials(db, record.id, record.id, initial)
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
            put_credentials(db, f"oauth-state:{state.state_hash}", record.id, sealed)

    def connection_of(self, state_hash: str) -> str | None:
        """The connection an authorization state belongs to, without claiming the state.

        Args:
            state_hash: SHA-256 of the state.

        Returns:
            The connection's id, or None when the state is unknown.
        """
        with self.db.connect() as db:
            found = db.execute(select(oauth_states.c.connection_id).where(oauth_states.c.state_hash == state_hash))
            return found.scalar()

    def claim(self, state_hash: str) -> StateRecord | None:
        """Mark a state used, once: the first caller gets it unused, later ones see `used_at`.

        Args:
            state_hash: SHA-256 of the state.

        Returns:
            The state as it was before this claim (with its sealed payload), or None when unknown.
        """
        with self.db.transaction() as db:
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
            expires_at=aware(row.expires_at),
            used_at=aware(row.used_at) if row.used_at else None,
            payload=payload,
        )

    def activate(self, connection_id: str, sealed: Sealed) -> None:
        """Store a connection's new credentials and make it active, in one transaction.

        Args:
            connection_id: The connection.
            sealed: Its sealed credentials (tokens).

        Raises:
            StaleKeyError: They were sealed with a key another process rotated away.
        """
        with self.db.transaction() as db:
            check_active_key(db, sealed.key_id)
            put_credentials(db, connection_id, connection_id, sealed)
            db.execute(
                update(connections)
                .where(connections.c.id == connection_id)
                .values(status="active", error=None, updated_at=utcnow())
            )

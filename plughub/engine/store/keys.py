"""The store's wrapped data keys, and the rotation that re-seals every record."""

from __future__ import annotations

import builtins
from collections.abc import Callable

from sqlalchemy import delete, func, insert, select, update

from plughub.engine.store.records import VaultKeyRecord, utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.tables import credentials, vault_keys

__all__ = ["VaultKeyRepository"]


class VaultKeyRepository(Repository):
    """Data keys, wrapped by the master key."""

    def list(self) -> builtins.list[VaultKeyRecord]:
        """Return the wrapped data keys, the active one first."""
        with self.db.connect() as db:
            rows = db.execute(select(vault_keys).order_by(vault_keys.c.active.desc(), vault_keys.c.created_at)).all()
        return [VaultKeyRecord(r.kid, r.wrapped, r.master_kid, bool(r.active)) for r in rows]

    def add_first(self, key: VaultKeyRecord) -> bool:
        """Store the first data key of a new store, unless another process got there first.

        Args:
            key: The wrapped key.

        Returns:
            Whether this key was stored (False: the store already had keys).
        """
        with self.db.transaction(lock=True) as db:
            if db.execute(select(func.count()).select_from(vault_keys)).scalar_one():
                return False
            db.execute(
                insert(vault_keys).values(
                    kid=key.kid, wrapped=key.wrapped, master_kid=key.master_kid, active=True, created_at=utcnow()
                )
            )
            return True

    def rotate(self, key: VaultKeyRecord, reseal: Callable[[str, bytes], bytes]) -> int:
        """Make a new data key active and re-seal every record with it, in one transaction.

        Args:
            key: The new wrapped key.
            reseal: Opens a record's ciphertext and seals it again with the new key.

        Returns:
            How many records were re-sealed.
        """
        with self.db.transaction(lock=True) as db:
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

"""The store: connections and credentials, user integrations, data keys, OAuth states, tenancy, pending runs.

It only ever sees ciphertext; sealing and opening happen in the vault. Every method is one
transaction, and the ones that write several rows write all of them or none. The same code serves
SQLite (embedded) and PostgreSQL (the server).
"""

from __future__ import annotations

from plughub.engine.store.connections import ConnectionsMixin
from plughub.engine.store.keys import VaultKeysMixin
from plughub.engine.store.oauth import OAuthStatesMixin
from plughub.engine.store.pending import PendingRunsMixin
from plughub.engine.store.tenancy import TenancyMixin

__all__ = ["Store"]


class Store(ConnectionsMixin, VaultKeysMixin, OAuthStatesMixin, TenancyMixin, PendingRunsMixin):
    """Persistence over a SQLAlchemy engine whose schema is migrated (see `open_database`).

    Args:
        engine: The engine.
        cache_ttl: Seconds the rows each run reads are cached (see `ReadCache`); 0 turns it off.
    """

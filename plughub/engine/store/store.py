"""The store: one repository per kind of row, over one database.

It only ever sees ciphertext; sealing and opening happen in `Credentials`. Every repository call is
one transaction, and the ones that write several rows write all of them or none. The same code
serves SQLite (embedded) and PostgreSQL (the server).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from plughub.engine.store.connections import ConnectionRepository
from plughub.engine.store.console import ConsoleSessionRepository
from plughub.engine.store.credentials import CredentialRepository
from plughub.engine.store.db import Database
from plughub.engine.store.integrations import IntegrationRepository
from plughub.engine.store.keys import VaultKeyRepository
from plughub.engine.store.oauth import OAuthStateRepository
from plughub.engine.store.pending import PendingRunRepository
from plughub.engine.store.runs import RunRepository
from plughub.engine.store.tenancy import TenancyRepository

if TYPE_CHECKING:
    from plughub.engine.store.events import EventRepository
    from plughub.engine.store.subscriptions import SubscriptionRepository

__all__ = ["Store"]


class Store:
    """Persistence: the repositories over a migrated database (see `open_database`).

    Args:
        db: The database.

    Attributes:
        db: The database (transactions, the read cache, `offload`).
        connections: Connection rows.
        credentials: Sealed credentials.
        integrations: User-defined integrations.
        vault_keys: The wrapped data keys.
        oauth_states: Pending authorization states.
        tenancy: Teams, API keys, connect sessions.
        pending_runs: Runs answered asynchronously.
        runs: The audit of action runs.
        console_sessions: Operators signed in to the console.
        subscriptions: Triggers switched on for connections (built on first use, like `events`:
            a process that never meets a trigger does not import them).
        events: Events received and their deliveries.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.connections = ConnectionRepository(db)
        self.credentials = CredentialRepository(db)
        self.integrations = IntegrationRepository(db)
        self.vault_keys = VaultKeyRepository(db)
        self.oauth_states = OAuthStateRepository(db)
        self.tenancy = TenancyRepository(db)
        self.pending_runs = PendingRunRepository(db)
        self.runs = RunRepository(db)
        self.console_sessions = ConsoleSessionRepository(db)

    @cached_property
    def subscriptions(self) -> SubscriptionRepository:
        """Triggers switched on for connections."""
        from plughub.engine.store.subscriptions import SubscriptionRepository

        return SubscriptionRepository(self.db)

    @cached_property
    def events(self) -> EventRepository:
        """Events received and their deliveries."""
        from plughub.engine.store.events import EventRepository

        return EventRepository(self.db)

    def __repr__(self) -> str:
        return f"Store({self.db!r})"

    def close(self) -> None:
        """Release the database."""
        self.db.close()

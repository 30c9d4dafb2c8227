"""Persistence: one store over SQLAlchemy, SQLite for the embedded engine."""

from __future__ import annotations

from plughub.engine.store.database import HEAD_REVISION, open_database, sqlite_url, upgrade
from plughub.engine.store.store import (
    ConnectionRecord,
    LockedCredentials,
    StaleKeyError,
    StateRecord,
    Store,
    VaultKeyRecord,
    utcnow,
)

__all__ = [
    "HEAD_REVISION",
    "ConnectionRecord",
    "LockedCredentials",
    "StaleKeyError",
    "StateRecord",
    "Store",
    "VaultKeyRecord",
    "open_database",
    "sqlite_url",
    "upgrade",
    "utcnow",
]

"""Persistence: one store over SQLAlchemy, SQLite for the embedded engine, PostgreSQL for the server."""

from __future__ import annotations

from plughub.engine.store.database import HEAD_REVISION, open_database, sqlite_url, upgrade
from plughub.engine.store.records import (
    LOCAL_TEAM,
    ConnectionRecord,
    LockedCredentials,
    StaleKeyError,
    StateRecord,
    VaultKeyRecord,
    utcnow,
)
from plughub.engine.store.store import Store
from plughub.engine.store.tenancy import ApiKeyRecord, ConnectSessionRecord, RunRecord, TeamRecord, digest

__all__ = [
    "HEAD_REVISION",
    "LOCAL_TEAM",
    "ApiKeyRecord",
    "ConnectSessionRecord",
    "ConnectionRecord",
    "LockedCredentials",
    "RunRecord",
    "StaleKeyError",
    "StateRecord",
    "Store",
    "TeamRecord",
    "VaultKeyRecord",
    "digest",
    "open_database",
    "sqlite_url",
    "upgrade",
    "utcnow",
]

"""Persistence: one store over SQLAlchemy, SQLite for the embedded engine, PostgreSQL for the server."""

from __future__ import annotations

from plughub.engine.store.console import ConsoleSessionRecord
from plughub.engine.store.database import HEAD_REVISION, open_database, sqlite_url, upgrade
from plughub.engine.store.db import Database
from plughub.engine.store.pending import PENDING, PendingRunRecord, pending_run_record_id
from plughub.engine.store.records import (
    LOCAL_TEAM,
    ConnectionRecord,
    LockedCredentials,
    Sealed,
    StaleKeyError,
    StateRecord,
    VaultKeyRecord,
    utcnow,
)
from plughub.engine.store.runs import RunRecord
from plughub.engine.store.store import Store
from plughub.engine.store.tenancy import ApiKeyRecord, ConnectSessionRecord, TeamRecord, digest

__all__ = [
    "HEAD_REVISION",
    "LOCAL_TEAM",
    "PENDING",
    "ApiKeyRecord",
    "ConnectSessionRecord",
    "ConnectionRecord",
    "ConsoleSessionRecord",
    "Database",
    "LockedCredentials",
    "PendingRunRecord",
    "RunRecord",
    "Sealed",
    "StaleKeyError",
    "StateRecord",
    "Store",
    "TeamRecord",
    "VaultKeyRecord",
    "digest",
    "open_database",
    "pending_run_record_id",
    "sqlite_url",
    "upgrade",
    "utcnow",
]

"""Teams, API keys and hosted connect sessions."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from plughub.engine.store.db import Database
from plughub.engine.store.records import aware, utcnow
from plughub.engine.store.repository import Repository
from plughub.engine.store.revocations import LiveKeys
from plughub.engine.store.tables import api_keys, connect_sessions, teams

__all__ = ["ApiKeyRecord", "ConnectSessionRecord", "TeamRecord", "TenancyRepository", "digest"]


def digest(secret: str) -> str:
    """The SHA-256 under which a high-entropy secret (API key, session token) is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class TeamRecord:
    """A team: the unit of tenancy."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key as stored (never the key itself; `prefix` identifies it to people)."""

    id: str
    team_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class ConnectSessionRecord:
    """A hosted connect session: one end user, one integration, some schemes, single use."""

    token_hash: str
    team_id: str
    integration_id: str
    schemes: list[str]
    end_user_id: str | None
    csrf_token: str = field(repr=False)
    expires_at: datetime = field(default_factory=utcnow)
    used_at: datetime | None = None
    connection_id: str | None = None
    redirect_url: str | None = None


_LIVE = (api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at.is_(None))
_LIVE_KEY = select(api_keys).where(*_LIVE)
_LIVE_KEY_TEAM = select(api_keys.c.team_id).where(*_LIVE)


def _key_record(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        row.id,
        row.team_id,
        row.name,
        row.prefix,
        aware(row.created_at),
        aware(row.last_used_at) if row.last_used_at else None,
        aware(row.revoked_at) if row.revoked_at else None,
    )


class TenancyRepository(Repository):
    """Teams, their API keys and their hosted connect sessions.

    Args:
        db: The database.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._live = LiveKeys(db.revocations, db.cache.ttl, may_wait=db.may_wait)

    # Teams

    def create_team(self, name: str, team_id: str | None = None) -> TeamRecord | None:
        """Create a team.

        Args:
            name: A unique name.
            team_id: Its id; a random one by default (`local` adopts the embedded engine's data).

        Returns:
            The team, or None when the name or id is taken.
        """
        record = TeamRecord(team_id or "team_" + secrets.token_hex(8), name, utcnow())
        try:
            with self.db.transaction() as db:
                db.execute(insert(teams).values(id=record.id, name=name, created_at=record.created_at))
        except IntegrityError:
            return None
        return record

    def find_team(self, id_or_name: str) -> TeamRecord | None:
        """Find a team by id or name."""
        with self.db.connect() as db:
            row = db.execute(select(teams).where((teams.c.id == id_or_name) | (teams.c.name == id_or_name))).first()
        return TeamRecord(row.id, row.name, aware(row.created_at)) if row else None

    def list_teams(self) -> list[TeamRecord]:
        """Every team, oldest first."""
        with self.db.connect() as db:
            rows = db.execute(select(teams).order_by(teams.c.created_at)).all()
        return [TeamRecord(r.id, r.name, aware(r.created_at)) for r in rows]

    def set_redirect_urls(self, team_id: str, urls: list[str]) -> bool:
        """Replace a team's allowed connect-page redirect URLs; False for an unknown team."""
        with self.db.transaction() as db:
            result = db.execute(update(teams).where(teams.c.id == team_id).values(redirect_urls=json.dumps(urls)))
            return result.rowcount > 0

    def redirect_urls(self, team_id: str) -> list[str]:
        """A team's allowed connect-page redirect URLs (none for an unknown team)."""
        with self.db.connect() as db:
            row = db.execute(select(teams.c.redirect_urls).where(teams.c.id == team_id)).first()
        return [str(u) for u in json.loads(row.redirect_urls)] if row is not None else []

    # API keys

    def create_api_key(self, team_id: str, name: str) -> tuple[ApiKeyRecord, str]:
        """Create an API key for a team.

        Args:
            team_id: The team.
            name: What the key is for.

        Returns:
            The stored record and the key itself, which is shown once and never stored.
        """
        key = "phk_" + secrets.token_urlsafe(32)
        record = ApiKeyRecord("key_" + secrets.token_hex(6), team_id, name, key[:10], utcnow())
        with self.db.transaction() as db:
            db.execute(
                insert(api_keys).values(
                    id=record.id,
                    team_id=team_id,
                    name=name,
                    prefix=record.prefix,
                    key_hash=digest(key),
                    created_at=record.created_at,
                )
            )
        return record, key

    def list_api_keys(self, team_id: str) -> list[ApiKeyRecord]:
        """A team's keys, revoked ones included."""
        with self.db.connect() as db:
            rows = db.execute(
                select(api_keys).where(api_keys.c.team_id == team_id).order_by(api_keys.c.created_at)
            ).all()
        return [_key_record(r) for r in rows]

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke a key.

        Args:
            key_id: The key's id (not the key).

        Returns:
            Whether an active key was revoked.
        """
        with self.db.transaction() as db:
            result = db.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            revoked = result.rowcount > 0
            if revoked:
                self.db.revocations.announce(db)  # to every process, when this commits (PostgreSQL)
        if revoked:
            self.db.revocations.committed()  # to every process, now that it has committed (SQLite)
        self._live.forget()
        return revoked

    def authenticate(self, key: str) -> ApiKeyRecord | None:
        """Find the live key matching a presented key.

        Args:
            key: The key from the request.

        Returns:
            Its record, or None for an unknown or revoked key.
        """
        # Never cached: a key revoked by any process must stop working at once.
        row = self.db.first(_LIVE_KEY, {"key_hash": digest(key)})
        return _key_record(row) if row is not None else None

    def key_team(self, key: str) -> str | None:
        """The team of a live key: `authenticate` for the hot path (one column, no record).

        Args:
            key: The key from the request.

        Returns:
            The team's id, or None for an unknown or revoked key.
        """
        key_hash = digest(key)
        # Kept while no process revokes a key (see LiveKeys): a revoked key stops at once.
        return self._live.team(key_hash, lambda: self._read_key_team(key_hash))

    def _read_key_team(self, key_hash: str) -> str | None:
        row = self.db.first(_LIVE_KEY_TEAM, {"key_hash": key_hash})
        return str(row.team_id) if row is not None else None

    # Connect sessions

    def create_connect_session(self, session: ConnectSessionRecord) -> None:
        """Store a connect session (by the hash of its token)."""
        with self.db.transaction() as db:
            db.execute(
                insert(connect_sessions).values(
                    token_hash=session.token_hash,
                    team_id=session.team_id,
                    integration_id=session.integration_id,
                    schemes=json.dumps(session.schemes),
                    end_user_id=session.end_user_id,
                    csrf_token=session.csrf_token,
                    expires_at=session.expires_at,
                    created_at=utcnow(),
                    redirect_url=session.redirect_url,
                )
            )

    def get_connect_session(self, token_hash: str) -> ConnectSessionRecord | None:
        """Find a connect session by the hash of its token."""
        with self.db.connect() as db:
            row = db.execute(select(connect_sessions).where(connect_sessions.c.token_hash == token_hash)).first()
        if row is None:
            return None
        return ConnectSessionRecord(
            row.token_hash,
            row.team_id,
            row.integration_id,
            json.loads(row.schemes),
            row.end_user_id,
            row.csrf_token,
            aware(row.expires_at),
            aware(row.used_at) if row.used_at else None,
            row.connection_id,
            row.redirect_url,
        )

    def connect_session_redirect(self, connection_id: str) -> str | None:
        """The `redirect_url` of the connect session a connection was made through, if any."""
        with self.db.connect() as db:
            row = db.execute(
                select(connect_sessions.c.redirect_url).where(connect_sessions.c.connection_id == connection_id)
            ).first()
        return str(row.redirect_url) if row is not None and row.redirect_url else None

    def use_connect_session(self, token_hash: str, connection_id: str) -> bool:
        """Mark a session used by a connection, once.

        Args:
            token_hash: The session.
            connection_id: The connection made through it.

        Returns:
            Whether this call was the one that used it.
        """
        with self.db.transaction(lock=True) as db:
            result = db.execute(
                update(connect_sessions)
                .where(connect_sessions.c.token_hash == token_hash, connect_sessions.c.used_at.is_(None))
                .values(used_at=utcnow(), connection_id=connection_id)
            )
            return result.rowcount > 0

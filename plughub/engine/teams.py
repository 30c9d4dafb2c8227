"""Teams: who may call (API keys), what they own, and the hosted connect sessions they hand out."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from plughub.engine.store import ApiKeyRecord, ConnectSessionRecord, Store, TeamRecord, digest, utcnow

__all__ = ["ApiKeyRecord", "ConnectSessionRecord", "TeamRecord", "Teams"]


class Teams:
    """Teams, their API keys and their connect sessions (the server's and the CLI's tenancy calls).

    Args:
        store: Where they are kept (keys and session tokens only as hashes).
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def __repr__(self) -> str:
        return "Teams()"

    # API keys

    def authenticate(self, key: str) -> ApiKeyRecord | None:
        """Find the live key a request presents (read from the database: a revoked key stops at once).

        Args:
            key: The key from the request.

        Returns:
            Its record, or None for an unknown or revoked key.
        """
        return self._store.tenancy.authenticate(key)

    async def authenticate_async(self, key: str) -> ApiKeyRecord | None:
        """`authenticate` from an event loop (a network database is read in a worker thread).

        Args:
            key: The key from the request.

        Returns:
            Its record, or None for an unknown or revoked key.
        """
        return await self._store.db.offload(self._store.tenancy.authenticate, key)

    def key_team(self, key: str) -> str | None:
        """The team of a live key: `authenticate` for the hot path (one column, no record).

        The team is kept in memory until any process revokes a key (see
        `plughub.engine.store.revocations`), so a revoked key stops at once here too.

        Args:
            key: The key from the request.

        Returns:
            The team's id, or None for an unknown or revoked key.
        """
        return self._store.tenancy.key_team(key)

    def create_api_key(self, team_id: str, name: str) -> tuple[ApiKeyRecord, str]:
        """Create an API key for a team.

        Args:
            team_id: The team.
            name: What the key is for.

        Returns:
            The stored record and the key itself, which is shown once and never stored.
        """
        return self._store.tenancy.create_api_key(team_id, name)

    def list_api_keys(self, team_id: str) -> list[ApiKeyRecord]:
        """A team's keys, revoked ones included (never the keys themselves)."""
        return self._store.tenancy.list_api_keys(team_id)

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke a key by its id (not the key); True when a live key was revoked."""
        return self._store.tenancy.revoke_api_key(key_id)

    # Teams

    def create_team(self, name: str, team_id: str | None = None) -> TeamRecord | None:
        """Create a team (None when the name or id is taken; `local` adopts the embedded engine's data)."""
        return self._store.tenancy.create_team(name, team_id)

    def find_team(self, id_or_name: str) -> TeamRecord | None:
        """Find a team by id or name."""
        return self._store.tenancy.find_team(id_or_name)

    def list_teams(self) -> list[TeamRecord]:
        """Every team, oldest first."""
        return self._store.tenancy.list_teams()

    # Connect sessions

    def create_connect_session(
        self,
        team_id: str,
        integration_id: str,
        schemes: Sequence[str],
        end_user_id: str | None,
        ttl: timedelta,
    ) -> tuple[str, datetime]:
        """Open a hosted connect session: one end user, one integration, some schemes, single use.

        Args:
            team_id: The team that offers it.
            integration_id: The integration to connect to.
            schemes: The schemes the page offers.
            end_user_id: Who the connection will be for.
            ttl: How long the link works.

        Returns:
            The session's token (shown once: only its hash is stored) and when it expires.
        """
        token = secrets.token_urlsafe(32)
        expires_at = utcnow() + ttl
        self._store.tenancy.create_connect_session(
            ConnectSessionRecord(
                token_hash=digest(token),
                team_id=team_id,
                integration_id=integration_id,
                schemes=list(schemes),
                end_user_id=end_user_id,
                csrf_token=secrets.token_urlsafe(32),
                expires_at=expires_at,
            )
        )
        return token, expires_at

    def connect_session(self, token: str) -> ConnectSessionRecord | None:
        """Find a connect session by its token.

        Args:
            token: The token from the page's URL.

        Returns:
            The session (used or expired ones too: the page says which), or None.
        """
        return self._store.tenancy.get_connect_session(digest(token))

    def use_connect_session(self, session: ConnectSessionRecord, connection_id: str) -> bool:
        """Mark a session used by the connection made through it, once.

        Args:
            session: The session.
            connection_id: The connection.

        Returns:
            Whether this call was the one that used it.
        """
        return self._store.tenancy.use_connect_session(session.token_hash, connection_id)

"""Teams: who may call (API keys), what they own, and the hosted connect sessions they hand out."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from plughub.engine.redirects import allowed_redirect, check_redirect_urls
from plughub.engine.store import (
    ApiKeyRecord,
    ConnectSessionRecord,
    ConsoleSessionRecord,
    Store,
    TeamRecord,
    digest,
    utcnow,
)
from plughub.exceptions import InvalidInput, NotFoundError

__all__ = ["CONSOLE_SESSION_TTL", "ApiKeyRecord", "ConnectSessionRecord", "ConsoleSessionRecord", "TeamRecord", "Teams"]

CONSOLE_SESSION_TTL = timedelta(hours=8)
"""How long a console sign-in lasts."""


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
        """Find the live key a request presents (never cached: a revoked key stops at once).

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

    def revoke_api_key(self, key_id: str, team_id: str | None = None) -> bool:
        """Revoke a key by its id (not the key); True when a live key was revoked.

        Args:
            key_id: The key's id.
            team_id: Only a key of this team (another team's key is left alone); any team's when None.

        Returns:
            Whether a live key was revoked.
        """
        if team_id is not None and key_id not in {k.id for k in self.list_api_keys(team_id)}:
            return False
        return self._store.tenancy.revoke_api_key(key_id)

    # Console sessions

    def sign_in(self, key: str, ttl: timedelta = CONSOLE_SESSION_TTL) -> tuple[str, ConsoleSessionRecord] | None:
        """Open a console session for the team of a live API key.

        Args:
            key: The API key the operator typed.
            ttl: How long the session lasts.

        Returns:
            The session id (for the cookie; only its hash is stored) and the session, or None for
            an unknown or revoked key.
        """
        record = self.authenticate(key)
        if record is None:
            return None
        session_id = secrets.token_urlsafe(32)
        session = ConsoleSessionRecord(
            digest(session_id), record.team_id, record.id, secrets.token_urlsafe(32), utcnow() + ttl
        )
        self._store.console_sessions.delete_expired()  # sign-ins sweep what expired
        self._store.console_sessions.create(session)
        return session_id, session

    def console_session(self, session_id: str) -> ConsoleSessionRecord | None:
        """The live console session a cookie names.

        Args:
            session_id: The cookie's value.

        Returns:
            The session, or None when it is unknown, expired, signed out, or its key was revoked.
        """
        return self._store.console_sessions.get(digest(session_id)) if session_id else None

    def sign_out(self, session_id: str) -> bool:
        """End a console session; True when one ended."""
        return self._store.console_sessions.delete(digest(session_id))

    # Connect-page redirects

    def set_redirect_urls(self, team_id: str, urls: Sequence[str]) -> list[str]:
        """Set where a team's connect pages may send end users back to (`redirect_url` on a session).

        Args:
            team_id: The team.
            urls: Absolute http(s) URLs without query or fragment; a session's `redirect_url` must
                have the scheme, host, port and path of one of them (its query is free). Empty
                clears the list.

        Returns:
            The list as stored.

        Raises:
            InvalidInput: A URL is not acceptable (named, with what to change).
            NotFoundError: No such team.
        """
        kept = check_redirect_urls(urls)
        if not self._store.tenancy.set_redirect_urls(team_id, kept):
            raise NotFoundError(f"no team {team_id!r}")
        return kept

    def redirect_urls(self, team_id: str) -> list[str]:
        """Where a team's connect pages may send end users back to."""
        return self._store.tenancy.redirect_urls(team_id)

    def check_redirect_url(self, team_id: str, url: str) -> str:
        """Refuse a connect session's `redirect_url` that is not on the team's list.

        Args:
            team_id: The team.
            url: The URL asked for.

        Returns:
            The URL.

        Raises:
            InvalidInput: It is not on the list (the message says how to add it).
        """
        allowed = self.redirect_urls(team_id)
        if not allowed_redirect(url, allowed):
            listed = ", ".join(allowed) if allowed else "none"
            raise InvalidInput(
                f"redirect_url {url!r} is not on the team's allowed redirect URLs ({listed}); add its address "
                "(scheme, host, port and path) with `plughub teams set-redirect-urls` or PUT /v1/team/redirect-urls",
                details={"allowed": allowed},
            )
        return url

    def return_url(self, connection_id: str) -> str | None:
        """Where to send the end user once a connection made through a connect page is complete.

        Args:
            connection_id: The connection.

        Returns:
            The connect session's `redirect_url`, or None.
        """
        return self._store.tenancy.connect_session_redirect(connection_id)

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
        redirect_url: str | None = None,
    ) -> tuple[str, datetime]:
        """Open a hosted connect session: one end user, one integration, some schemes, single use.

        Args:
            team_id: The team that offers it.
            integration_id: The integration to connect to.
            schemes: The schemes the page offers.
            end_user_id: Who the connection will be for.
            ttl: How long the link works.
            redirect_url: Where the end user lands once connected (checked against the team's list).

        Returns:
            The session's token (shown once: only its hash is stored) and when it expires.

        Raises:
            InvalidInput: `redirect_url` is not on the team's allowed redirect URLs.
        """
        if redirect_url is not None:
            self.check_redirect_url(team_id, redirect_url)
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
                redirect_url=redirect_url,
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

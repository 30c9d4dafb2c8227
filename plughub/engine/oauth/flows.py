"""OAuth flows that touch the store: start, complete, refresh (single flight), revoke.

Everything else in `engine/oauth` is pure; this module is where states, tokens and connection
statuses are read and written.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx

from plughub.config import Settings
from plughub.engine.catalog import Catalog
from plughub.engine.catalog.models import IntegrationSpec, OAuth1Spec, OAuth2Spec
from plughub.engine.connections.lookup import find_connection
from plughub.engine.credentials import Credentials
from plughub.engine.oauth import oauth1, oauth2
from plughub.engine.oauth.apps import OAuthApp, OAuthApps
from plughub.engine.oauth.discovered import discovered_in
from plughub.engine.observers import RunObserver
from plughub.engine.store import ConnectionRecord, LockedCredentials, StateRecord, Store, utcnow
from plughub.enums import ConnectionStatus
from plughub.exceptions import ConnectionExpired, OAuthError, OAuthProviderError, OAuthStateError

__all__ = ["STATE_TTL", "OAuthFlows", "expiring", "state_hash"]

logger = logging.getLogger("plughub.oauth")
STATE_TTL = timedelta(minutes=10)
_STRIPES = 64


def state_hash(state: str) -> str:
    """The SHA-256 under which a state is stored."""
    return hashlib.sha256(state.encode()).hexdigest()


class OAuthFlows:
    """OAuth orchestration: consent links, callbacks, refreshes (single flight), revocation.

    Args:
        store: Connections, states and tokens.
        credentials: Seals and opens tokens and flow secrets.
        catalog: The integrations.
        apps: The teams' OAuth clients.
        client: The HTTP client token requests go through (the network guard's, in a server).
        settings: The callback URL.
    """

    def __init__(
        self,
        store: Store,
        credentials: Credentials,
        catalog: Catalog,
        apps: OAuthApps,
        client: httpx.Client,
        settings: Settings,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._catalog = catalog
        self._apps = apps
        self._client = client
        self._settings = settings
        # Threads of one process queue here before the database lock, so that a storm of callers
        # does not spin on SQLite's busy handler.
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self.observer: RunObserver | None = None  # told of each refresh's outcome (`Engine.instrument`)

    def __repr__(self) -> str:
        return "OAuthFlows()"

    def _send(self, request: httpx.Request, what: str) -> httpx.Response:
        try:
            return self._client.send(request)
        except httpx.HTTPError as exc:
            raise OAuthProviderError(
                f"could not reach the {what} at {request.url.host}: {type(exc).__name__}",
                details={"error": "unreachable"},
            ) from None

    # Start

    def start(
        self,
        record: ConnectionRecord,
        spec: IntegrationSpec,
        auth: OAuth1Spec | OAuth2Spec,
        app: OAuthApp,
        scopes: list[str] | None,
        *,
        keep: Mapping[str, Any] | None = None,
    ) -> str:
        """Store a pending state for a connection and return the provider's consent URL.

        Args:
            record: The connection (new, or existing for a reconnect).
            spec: Its integration.
            auth: The scheme's entry (for an MCP server, the one discovery found).
            app: The client.
            scopes: Scopes to ask for (OAuth 2.0); None for the app's or the definition's.
            keep: Credentials that are not tokens (an MCP server's URL and discovered entry),
                sealed with the flow's secrets and stored with the tokens when consent completes;
                a new connection holds them meanwhile.

        Returns:
            The `redirectURL`.

        Raises:
            OAuthProviderError: The OAuth 1.0a provider refused the request token.
        """
        state = secrets.token_urlsafe(32)
        callback = self._settings.callback_url
        if isinstance(auth, OAuth2Spec):
            verifier = oauth2.new_code_verifier() if auth.pkce else None
            chosen = scopes if scopes is not None else app.scopes
            url = oauth2.authorization_url(
                auth,
                record.config,
                client_id=app.client_id,
                redirect_uri=callback,
                scopes=chosen,
                state=state,
                code_verifier=verifier,
            )
            payload: dict[str, Any] = {"code_verifier": verifier, "redirect_uri": callback}
            if keep:
                payload["keep"] = dict(keep)
            kind = "oauth2"
        else:
            sep = "&" if "?" in callback else "?"
            response = self._send(
                oauth1.request_token_request(auth, record.config, app, callback=f"{callback}{sep}state={state}"),
                "request token endpoint",
            )
            temporary = oauth1.parse_credentials(response, "request token")
            url = oauth1.authorize_url(auth, record.config, oauth_token=temporary["oauth_token"])
            payload = {"token": temporary["oauth_token"], "token_secret": temporary["oauth_token_secret"]}
            kind = "oauth1"
        digest = state_hash(state)
        pending = StateRecord(digest, record.id, kind, utcnow() + STATE_TTL)
        self._credentials.write(
            lambda seal: self._store.oauth_states.insert_pending(
                record, pending, seal(f"oauth-state:{digest}", payload), seal(record.id, keep) if keep else None
            )
        )
        logger.info("started %s authorization for connection %s", kind, record.id)
        return url

    # Complete

    def complete(self, params: Mapping[str, str], team: str | None = None) -> str:
        """Complete an authorization from the callback's query parameters.

        Args:
            params: The callback's query (`state`, `code` or `error`, `iss`; or `oauth_token`,
                `oauth_verifier`).
            team: The team completing it (an application with its API key), checked before
                anything else; None for the browser's callback, where the state is the proof.

        Returns:
            The id of the connection, now active.

        Raises:
            OAuthStateError: The state is missing, unknown, expired or already used.
            OAuthProviderError: The provider refused (denied consent, bad code, wrong issuer).
            ConnectionNotFound: The state belongs to another team's connection (nothing changed).
        """
        state = params.get("state")
        if not state:
            raise OAuthStateError("the callback has no state parameter; it did not come from a plughub authorization")
        if team is not None:
            owner = self._store.oauth_states.connection_of(state_hash(state))
            if owner is not None:
                find_connection(self._store, owner, team)  # another team's: not found, and the state stays unused
        claimed = self._store.oauth_states.claim(state_hash(state))
        if claimed is None:
            raise OAuthStateError(
                "unknown state: this authorization was not started by this plughub (or was cleaned up long ago); "
                "connect again, or reconnect the connection, for a new link"
            )
        record = find_connection(self._store, claimed.connection_id, None)
        if claimed.used_at is not None:
            self._fail(record, "the authorization callback was replayed: its state was already used")
            raise OAuthStateError(
                f"this authorization of connection {record.id} was already completed; a state is single use"
            )
        if claimed.expires_at < utcnow():
            self._fail(record, "the authorization expired (after 10 minutes); reconnect the connection for a new link")
            raise OAuthStateError(
                f"the authorization of connection {record.id} expired (states live 10 minutes); "
                "reconnect the connection for a new link",
                details={"connection_id": record.id, "remedy": "reconnect"},
            )
        assert claimed.payload is not None  # noqa: S101 - an unused state always has its payload
        payload = self._credentials.open(f"oauth-state:{claimed.state_hash}", claimed.payload)
        spec = self._catalog.spec(record.integration_id, record.team_id)
        try:
            if claimed.kind == "oauth2":
                keep = payload.get("keep") or {}
                tokens = {**keep, **self._complete_oauth2(record, spec, params, payload, keep)}
            else:
                tokens = self._complete_oauth1(record, spec, params, payload)
        except OAuthError as exc:
            self._fail(record, exc.message)
            raise
        self._credentials.write(lambda seal: self._store.oauth_states.activate(record.id, seal(record.id, tokens)))
        logger.info("connection %s is active", record.id)
        return record.id

    def _fail(self, record: ConnectionRecord, reason: str) -> None:
        # A reconnect that goes wrong must not take down a connection that still works.
        if record.status != ConnectionStatus.ACTIVE.value:
            self._store.connections.set_status(record.id, ConnectionStatus.FAILED.value, reason)

    def _complete_oauth2(
        self,
        record: ConnectionRecord,
        spec: IntegrationSpec,
        params: Mapping[str, str],
        payload: dict[str, Any],
        keep: Mapping[str, Any],
    ) -> dict[str, Any]:
        auth = self.oauth2_entry(spec, keep)
        assert auth is not None  # noqa: S101 - the state was created for this scheme
        if params.get("error"):
            description = params.get("error_description", "")
            raise OAuthProviderError(
                f"{spec.display_name} answered {params['error']}" + (f": {description}" if description else ""),
                details={"error": params["error"], "error_description": description},
            )
        issuer = oauth2.expected_issuer(auth, record.config)
        if auth.issuer_in_callback and "iss" not in params:
            raise OAuthProviderError(
                f"the callback carries no issuer (iss), which {spec.display_name}'s authorization server says every "
                "callback of its carries; refusing a response that may come from another server (RFC 9207)",
                details={"error": "issuer_missing"},
            )
        if "iss" in params and params["iss"] != issuer:
            raise OAuthProviderError(
                f"the callback's issuer {params['iss']!r} is not {spec.display_name}'s ({issuer!r}); "
                "refusing a response that may come from another authorization server (RFC 9207)",
                details={"error": "issuer_mismatch"},
            )
        if not params.get("code"):
            raise OAuthProviderError("the callback carries neither a code nor an error", details={"error": "no_code"})
        app = self._app(record, keep)
        request = oauth2.code_exchange_request(
            auth,
            record.config,
            app,
            code=params["code"],
            redirect_uri=payload["redirect_uri"],
            code_verifier=payload.get("code_verifier"),
        )
        return oauth2.parse_token_response(self._send(request, "token endpoint"))

    def _complete_oauth1(
        self, record: ConnectionRecord, spec: IntegrationSpec, params: Mapping[str, str], payload: dict[str, Any]
    ) -> dict[str, Any]:
        auth = spec.auth_for_mode("OAUTH1")
        assert isinstance(auth, OAuth1Spec)  # noqa: S101 - the state was created for this scheme
        if params.get("denied") or params.get("error"):
            raise OAuthProviderError(
                f"{spec.display_name} answered access_denied: the user did not give consent",
                details={"error": "access_denied"},
            )
        if params.get("oauth_token") != payload["token"] or not params.get("oauth_verifier"):
            raise OAuthProviderError(
                "the callback's oauth_token or oauth_verifier is missing or does not match",
                details={"error": "invalid_request"},
            )
        app = self._apps.app(spec.id, record.team_id)
        request = oauth1.access_token_request(
            auth,
            record.config,
            app,
            token=payload["token"],
            token_secret=payload["token_secret"],
            verifier=params["oauth_verifier"],
        )
        return oauth1.parse_credentials(self._send(request, "access token endpoint"), "access token")

    # Refresh

    def refresh(
        self,
        record: ConnectionRecord,
        auth: OAuth2Spec,
        seen: Mapping[str, Any],
        *,
        force: bool,
    ) -> dict[str, Any]:
        """Return live tokens, refreshing them once however many callers ask at the same moment.

        The connection's credentials row is locked; whoever gets the lock re-reads it, and only
        refreshes when the token is still the one the caller saw (a 401) or still expiring. The new
        tokens, with any rotated refresh token, are stored before the lock is released.

        Args:
            record: The connection.
            auth: The OAuth 2.0 entry (its definition's, or the one discovery found: `oauth2_entry`).
            seen: The credentials the caller used.
            force: Refresh even if not expiring (the service answered 401 to this token).

        Returns:
            The current credentials.

        Raises:
            ConnectionExpired: The provider refused the refresh token (the connection is now expired).
            OAuthProviderError: The token endpoint failed otherwise, or no refresh is possible.
        """
        refused: OAuthProviderError | None = None
        with self._stripes[hash(record.id) % _STRIPES], self._store.credentials.lock(record.id) as locked:
            current = self._credentials.open(record.id, locked.ciphertext) if locked.ciphertext else dict(seen)
            moved_on = current.get("access_token") != seen.get("access_token")
            if moved_on or not (force or expiring(current, auth.refresh_margin)):
                return current
            request = self._refresh_request(record, auth, current)
            try:
                fresh = oauth2.parse_token_response(self._send(request, "token endpoint"))
            except OAuthProviderError as exc:
                if exc.details.get("error") not in ("invalid_grant", "invalid_client", "unauthorized_client"):
                    self._refreshed(record, "failed")
                    raise
                refused = exc
                # Leave the block normally so that the status change commits with the lock.
                locked.set_status(ConnectionStatus.EXPIRED.value, _expired_reason(exc))
            else:
                self._refreshed(record, "refreshed")
                return self._store_refreshed(locked, record, current, fresh)
        self._refreshed(record, "expired")
        raise ConnectionExpired(
            f"connection {record.id} expired: {_expired_reason(refused)}",
            details={"connection_id": record.id, "remedy": "reconnect"},
        )

    def _refreshed(self, record: ConnectionRecord, outcome: str) -> None:
        if self.observer is not None:
            self.observer.refresh_finished(record.integration_id, outcome)

    def _store_refreshed(
        self, locked: LockedCredentials, record: ConnectionRecord, current: dict[str, Any], fresh: dict[str, Any]
    ) -> dict[str, Any]:
        merged = {**current, **fresh}
        if "refresh_token" not in fresh and "refresh_token" in current:
            merged["refresh_token"] = current["refresh_token"]
        if "expires_at" not in fresh:
            merged.pop("expires_at", None)
        # Keys rotated elsewhere since this process loaded them are reloaded; the lock we hold keeps
        # them from changing again before the commit.
        self._credentials.write(lambda seal: locked.replace(seal(record.id, merged)))
        logger.info("refreshed the token of connection %s", record.id)
        return merged

    def _refresh_request(self, record: ConnectionRecord, auth: OAuth2Spec, current: Mapping[str, Any]) -> httpx.Request:
        if auth.grant_type == "client_credentials":
            app = OAuthApp(current["client_id"], current["client_secret"])
            scopes = current["scope"].split(" ") if current.get("scope") else None
            return oauth2.client_credentials_request(auth, record.config, app, scopes=scopes)
        if not current.get("refresh_token"):
            raise OAuthProviderError(
                f"the token of connection {record.id} expired and the provider gave no refresh token; "
                "reconnect the connection to give consent again",
                details={"error": "no_refresh_token", "connection_id": record.id, "remedy": "reconnect"},
            )
        app = self._app(record, current)
        return oauth2.refresh_request(auth, record.config, app, refresh_token=current["refresh_token"])

    # The entry and the client

    def oauth2_entry(self, spec: IntegrationSpec, stored: Mapping[str, Any]) -> OAuth2Spec | None:
        """A connection's OAuth 2.0 entry: the one discovery found (an MCP server's), else its definition's.

        Args:
            spec: Its integration.
            stored: Its opened credentials (or a consent's kept values).

        Returns:
            The entry, or None when the connection has no OAuth 2.0 scheme.
        """
        found = discovered_in(stored)
        if found is not None:
            return found.spec()
        auth = spec.auth_for_mode("OAUTH2")
        return auth if isinstance(auth, OAuth2Spec) else None

    def _app(self, record: ConnectionRecord, stored: Mapping[str, Any]) -> OAuthApp:
        """The client: the one registered at a discovered authorization server, else the team's app."""
        found = discovered_in(stored)
        registered = found.app() if found is not None else None
        return registered or self._apps.app(record.integration_id, record.team_id)

    # Client credentials

    def client_credentials_token(
        self,
        auth: OAuth2Spec,
        config: Mapping[str, Any],
        client_id: str,
        client_secret: str,
        scopes: list[str] | None,
    ) -> dict[str, Any]:
        """Fetch a token with the client credentials grant.

        Args:
            auth: The OAuth 2.0 entry.
            config: The connection's config values.
            client_id: The client id.
            client_secret: The client secret.
            scopes: Scopes to ask for.

        Returns:
            The credentials to store: the client and its token.

        Raises:
            OAuthProviderError: The provider refused the client or could not be reached.
        """
        app = OAuthApp(client_id, client_secret)
        response = self._send(oauth2.client_credentials_request(auth, config, app, scopes=scopes), "token endpoint")
        return {"client_id": client_id, "client_secret": client_secret, **oauth2.parse_token_response(response)}

    # Revoke

    def revoke(self, record: ConnectionRecord, spec: IntegrationSpec, credentials: Mapping[str, Any]) -> str | None:
        """Revoke a connection's tokens at the provider (RFC 7009), refresh token first.

        Args:
            record: The connection.
            spec: Its integration.
            credentials: Its opened credentials.

        Returns:
            None when every token was revoked (or there is nothing to revoke); otherwise why not.
        """
        auth = self.oauth2_entry(spec, credentials)
        if auth is None or not auth.revocation_url:
            return None
        try:
            app = (
                OAuthApp(credentials["client_id"], credentials["client_secret"])
                if "client_secret" in credentials
                else self._app(record, credentials)
            )
        except OAuthError as exc:
            return exc.message
        problems = []
        for hint in ("refresh_token", "access_token"):
            token = credentials.get(hint)
            if not token:
                continue
            request = oauth2.revocation_request(auth, record.config, app, token=token, hint=hint)
            try:
                response = self._client.send(request)
            except httpx.HTTPError as exc:
                problems.append(f"{hint}: could not reach {request.url.host} ({type(exc).__name__})")
                continue
            if response.status_code != 200:
                problems.append(f"{hint}: the provider answered {response.status_code}")
        return "; ".join(problems) or None


def _expired_reason(exc: OAuthProviderError | None) -> str:
    code = exc.details.get("error") if exc is not None else "invalid_grant"
    return f"the provider refused to refresh the token ({code}); reconnect the connection to give consent again"


def expiring(credentials: Mapping[str, Any], margin: float, now: float | None = None) -> bool:
    """Whether an access token expires within `margin` seconds (False when its expiry is unknown).

    Args:
        credentials: The connection's credentials.
        margin: Seconds.
        now: The current time.

    Returns:
        Whether to refresh before use.
    """
    expires_at = credentials.get("expires_at")
    return expires_at is not None and float(expires_at) - margin <= (now if now is not None else time.time())

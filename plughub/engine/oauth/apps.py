"""OAuth apps: the client plughub is at each provider, per team; stored sealed, or from the environment."""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plughub.config import Settings
from plughub.engine.catalog import Catalog
from plughub.engine.catalog.models import OAuth1Spec, OAuth2Spec
from plughub.engine.credentials import Credentials
from plughub.engine.redact import mask
from plughub.engine.store import LOCAL_TEAM, Store
from plughub.enums import AuthenticationSchema
from plughub.exceptions import InvalidInput, NotFoundError, OAuthAppMissing
from plughub.schemas import OAuthAppInfo

__all__ = ["OAuthApp", "OAuthApps", "app_record_id", "env_app", "env_names"]


@dataclass(frozen=True)
class OAuthApp:
    """The client plughub is at the provider.

    Attributes:
        client_id: The client id (consumer key for OAuth 1.0a).
        client_secret: The client secret (consumer secret, or an RSA private key for RSA-SHA1).
        scopes: Scopes to ask for; None means the definition's defaults.
        source: `stored` or `environment`.
    """

    client_id: str
    client_secret: str = field(repr=False)
    scopes: list[str] | None = None
    source: str = "stored"


def app_record_id(integration_id: str, team: str) -> str:
    """The vault record id of a team's stored app for an integration."""
    return f"oauth-app:{team}:{integration_id}"


def env_names(integration_id: str) -> tuple[str, str]:
    """The environment variables of an integration's app.

    Args:
        integration_id: `google-calendar`.

    Returns:
        `("PLUGHUB_OAUTH_GOOGLE_CALENDAR_CLIENT_ID", "PLUGHUB_OAUTH_GOOGLE_CALENDAR_CLIENT_SECRET")`.
    """
    stem = "PLUGHUB_OAUTH_" + integration_id.upper().replace("-", "_")
    return f"{stem}_CLIENT_ID", f"{stem}_CLIENT_SECRET"


def env_app(integration_id: str, env: Mapping[str, str] | None = None) -> OAuthApp | None:
    """Read an integration's app from the environment.

    Args:
        integration_id: The integration.
        env: The variables; `os.environ` by default.

    Returns:
        The app when both variables are set, else None.
    """
    env = os.environ if env is None else env
    id_name, secret_name = env_names(integration_id)
    if env.get(id_name) and env.get(secret_name):
        return OAuthApp(env[id_name], env[secret_name], None, "environment")
    return None


class OAuthApps:
    """Each team's OAuth clients: set, described (secret masked), deleted, and used by the flows.

    Args:
        store: Where apps are stored (sealed, as credentials records).
        credentials: Seals and opens them.
        catalog: The integrations (an app belongs to one with an OAuth scheme).
        settings: The callback URL an app must be registered with.
    """

    def __init__(self, store: Store, credentials: Credentials, catalog: Catalog, settings: Settings) -> None:
        self._store = store
        self._credentials = credentials
        self._catalog = catalog
        self._settings = settings

    def __repr__(self) -> str:
        return "OAuthApps()"

    def app(self, integration_id: str, team: str = LOCAL_TEAM) -> OAuthApp:
        """The OAuth client of an integration: stored with `set`, else from the environment.

        Args:
            integration_id: The integration.
            team: The team whose app it is.

        Returns:
            The app (its secret in clear: for the flows, never for display).

        Raises:
            OAuthAppMissing: Neither is set (the message says how to set one).
        """
        record_id = app_record_id(integration_id, team)
        data = self._credentials.read(record_id)
        if data:
            return OAuthApp(data["client_id"], data["client_secret"], data.get("scopes"), "stored")
        app = env_app(integration_id)
        if app is None:
            id_name, secret_name = env_names(integration_id)
            raise OAuthAppMissing(
                f"No OAuth app is set for {integration_id}. Register an app at the provider with the redirect URI "
                f"{self._settings.callback_url}, then call IntegrationFactory.get({integration_id!r}).set_oauth_app("
                f"client_id=..., client_secret=...), or set {id_name} and {secret_name}, "
                f"or run `plughub oauth-app set {integration_id}`.",
                details={
                    "integration": integration_id,
                    "redirect_uri": self._settings.callback_url,
                    "environment": [id_name, secret_name],
                },
            )
        return app

    def scheme_unavailable(
        self, integration_id: str, scheme: AuthenticationSchema, team: str = LOCAL_TEAM
    ) -> str | None:
        """Why connecting with a scheme cannot complete for a team, if it cannot.

        A sign-in flow (OAuth 1.0a, OAuth 2.0 authorization code) needs the team's OAuth app, or
        one from the environment; the other schemes take what the user enters, and a discovered
        entry (an MCP server's) may have plughub registered at its authorization server.

        Args:
            integration_id: The integration.
            scheme: The scheme.
            team: The team connecting.

        Returns:
            None when the scheme can complete, else the reason (for the operator: it names the
            calls that set an app).

        Raises:
            IntegrationNotFound: Unknown integration.
        """
        auth = self._catalog.spec(integration_id, team).auth_for(scheme)
        if not isinstance(auth, (OAuth1Spec, OAuth2Spec)) or getattr(auth, "grant_type", "") == "client_credentials":
            return None
        if isinstance(auth, OAuth2Spec) and auth.discovery:
            return None  # an MCP server's authorization server may register plughub itself: connect finds out
        try:
            self.app(integration_id, team)
        except OAuthAppMissing as exc:
            return exc.message
        return None

    def signing_values(self, integration_id: str, team: str = LOCAL_TEAM) -> dict[str, str]:
        """The app's values a webhook signature may be checked with (`${app.x}` in `webhooks.verify`).

        Read from the stored app (`signing_secret`, `webhook_secret` given to `set`), else from
        `PLUGHUB_OAUTH_<ID>_SIGNING_SECRET` / `..._WEBHOOK_SECRET` (and the client id and secret).

        Args:
            integration_id: The integration.
            team: The team whose app it is.

        Returns:
            The values found (in clear: for checking signatures only); empty when none is set.
        """
        data = self._credentials.read(app_record_id(integration_id, team))
        stem = "PLUGHUB_OAUTH_" + integration_id.upper().replace("-", "_")
        values: dict[str, str] = {}
        for name in ("client_id", "client_secret", "signing_secret", "webhook_secret"):
            value = data.get(name) or os.environ.get(f"{stem}_{name.upper()}")
            if value:
                values[name] = str(value)
        return values

    def set(
        self,
        integration_id: str,
        client_id: str,
        client_secret: str,
        scopes: list[str] | None = None,
        *,
        team: str = LOCAL_TEAM,
        signing_secret: str | None = None,
        webhook_secret: str | None = None,
    ) -> OAuthAppInfo:
        """Store an integration's OAuth client, sealed.

        Args:
            integration_id: The integration.
            client_id: The client id (consumer key).
            client_secret: The client secret (consumer secret, or a PEM key for RSA-SHA1).
            scopes: Scopes to ask for; None for the definition's defaults.
            team: The team whose app it is.
            signing_secret: The secret the provider signs the app's webhooks with (Slack's
                signing secret), for `${app.signing_secret}` in the definition's `webhooks`.
                None keeps the one stored (an app set again keeps its webhooks working); `""`
                removes it.
            webhook_secret: Another such secret, for `${app.webhook_secret}` (None and `""` alike).

        Returns:
            The app, secrets masked.

        Raises:
            IntegrationNotFound: Unknown integration.
            InvalidInput: The integration has no OAuth scheme, or a value is empty.
        """
        spec = self._catalog.spec(integration_id, team)
        if not any(a.mode in ("OAUTH1", "OAUTH2") for a in spec.auth):
            raise InvalidInput(
                f"{spec.display_name} has no OAuth scheme; it supports " + ", ".join(a.mode for a in spec.auth)
            )
        if not client_id or not client_secret:
            raise InvalidInput("client_id and client_secret are both required")
        record_id = app_record_id(integration_id, team)
        data: dict[str, Any] = {"client_id": client_id, "client_secret": client_secret, "scopes": scopes}
        stored = self._credentials.read(record_id) if signing_secret is None or webhook_secret is None else {}
        for name, given in (("signing_secret", signing_secret), ("webhook_secret", webhook_secret)):
            value = stored.get(name) if given is None else given
            if value:
                data[name] = value
        self._credentials.write(lambda seal: self._store.credentials.put(record_id, seal(record_id, data)))
        return self.get(integration_id, team=team)

    def list(self, *, team: str = LOCAL_TEAM) -> builtins.list[OAuthAppInfo]:
        """A team's OAuth clients, stored ones and those set in the environment, secrets masked.

        Args:
            team: The team.

        Returns:
            One per integration that has an app, by integration id.
        """
        prefix = app_record_id("", team)
        ids = {r.removeprefix(prefix) for r in self._store.credentials.record_ids(prefix)}
        ids |= {i for i in self._catalog.ids(team) if env_app(i) is not None}
        found = []
        for integration_id in sorted(ids):
            if self._catalog.contains(integration_id, team):
                found.append(self.get(integration_id, team=team))
        return found

    def get(self, integration_id: str, *, team: str = LOCAL_TEAM) -> OAuthAppInfo:
        """Describe an integration's OAuth client, secrets masked.

        Args:
            integration_id: The integration.
            team: The team whose app it is.

        Returns:
            The app and where it comes from.

        Raises:
            IntegrationNotFound: Unknown integration.
            OAuthAppMissing: None is set.
        """
        self._catalog.spec(integration_id, team)
        app = self.app(integration_id, team)
        signing = self.signing_values(integration_id, team)
        return OAuthAppInfo(
            integration_id=integration_id,
            client_id=app.client_id,
            client_secret=mask(app.client_secret),
            scopes=app.scopes,
            source=app.source,
            redirect_uri=self._settings.callback_url,
            signing_secret=mask(signing["signing_secret"]) if "signing_secret" in signing else None,
            webhook_secret=mask(signing["webhook_secret"]) if "webhook_secret" in signing else None,
        )

    def delete(self, integration_id: str, *, team: str = LOCAL_TEAM) -> None:
        """Delete an integration's stored OAuth client (environment variables are not touched).

        Args:
            integration_id: The integration.
            team: The team whose app it is.

        Raises:
            NotFoundError: No app is stored for it.
        """
        if not self._store.credentials.delete(app_record_id(integration_id, team)):
            raise NotFoundError(f"No OAuth app is stored for {integration_id}")

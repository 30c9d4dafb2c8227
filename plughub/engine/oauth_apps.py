"""The engine's OAuth app calls: the client plughub is at each provider."""

from __future__ import annotations

from plughub.config import Settings
from plughub.engine.catalog import Catalog
from plughub.engine.catalog.models import OAuth1Spec, OAuth2Spec
from plughub.engine.credentials import Credentials
from plughub.engine.oauth import OAuthApp, app_record_id, env_app, env_names
from plughub.engine.redact import mask
from plughub.engine.store import LOCAL_TEAM, Store
from plughub.enums import AuthenticationSchema
from plughub.exceptions import InvalidInput, NotFoundError, OAuthAppMissing
from plughub.schemas import OAuthAppInfo

__all__ = ["OAuthAppsMixin"]


class OAuthAppsMixin:
    """OAuth app calls of the `Engine`."""

    catalog: Catalog
    store: Store
    settings: Settings

    credentials: Credentials

    def oauth_app(self, integration_id: str, team: str = LOCAL_TEAM) -> OAuthApp:
        """The OAuth client of an integration: stored with `set_oauth_app`, else from the environment.

        Args:
            integration_id: The integration.
            team: The team whose app it is.

        Returns:
            The app.

        Raises:
            OAuthAppMissing: Neither is set (the message says how to set one).
        """
        record_id = app_record_id(integration_id, team)
        blob = self.store.credentials.get(record_id)
        if blob:
            data = self.credentials.open(record_id, blob)
            return OAuthApp(data["client_id"], data["client_secret"], data.get("scopes"), "stored")
        app = env_app(integration_id)
        if app is None:
            id_name, secret_name = env_names(integration_id)
            raise OAuthAppMissing(
                f"No OAuth app is set for {integration_id}. Register an app at the provider with the redirect URI "
                f"{self.settings.callback_url}, then call IntegrationFactory.get({integration_id!r}).set_oauth_app("
                f"client_id=..., client_secret=...), or set {id_name} and {secret_name}, "
                f"or run `plughub oauth-app set {integration_id}`.",
                details={
                    "integration": integration_id,
                    "redirect_uri": self.settings.callback_url,
                    "environment": [id_name, secret_name],
                },
            )
        return app

    def scheme_unavailable(
        self, integration_id: str, scheme: AuthenticationSchema, team: str = LOCAL_TEAM
    ) -> str | None:
        """Why connecting with a scheme cannot complete for a team, if it cannot.

        A sign-in flow (OAuth 1.0a, OAuth 2.0 authorization code) needs the team's OAuth app, or
        one from the environment; the other schemes take what the user enters.

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
        auth = self.catalog.spec(integration_id, team).auth_for(scheme)
        if not isinstance(auth, (OAuth1Spec, OAuth2Spec)) or getattr(auth, "grant_type", "") == "client_credentials":
            return None
        try:
            self.oauth_app(integration_id, team)
        except OAuthAppMissing as exc:
            return exc.message
        return None

    def set_oauth_app(
        self,
        integration_id: str,
        client_id: str,
        client_secret: str,
        scopes: list[str] | None = None,
        *,
        team: str = LOCAL_TEAM,
    ) -> OAuthAppInfo:
        """Store an integration's OAuth client, sealed.

        Args:
            integration_id: The integration.
            client_id: The client id (consumer key).
            client_secret: The client secret (consumer secret, or a PEM key for RSA-SHA1).
            scopes: Scopes to ask for; None for the definition's defaults.
            team: The team whose app it is.

        Returns:
            The app, secret masked.

        Raises:
            IntegrationNotFound: Unknown integration.
            InvalidInput: The integration has no OAuth scheme, or a value is empty.
        """
        spec = self.catalog.spec(integration_id, team)
        if not any(a.mode in ("OAUTH1", "OAUTH2") for a in spec.auth):
            raise InvalidInput(
                f"{spec.display_name} has no OAuth scheme; it supports " + ", ".join(a.mode for a in spec.auth)
            )
        if not client_id or not client_secret:
            raise InvalidInput("client_id and client_secret are both required")
        record_id = app_record_id(integration_id, team)
        data = {"client_id": client_id, "client_secret": client_secret, "scopes": scopes}
        self.credentials.write(lambda seal: self.store.credentials.put(record_id, seal(record_id, data)))
        return self.get_oauth_app(integration_id, team=team)

    def get_oauth_app(self, integration_id: str, *, team: str = LOCAL_TEAM) -> OAuthAppInfo:
        """Describe an integration's OAuth client, secret masked.

        Args:
            integration_id: The integration.
            team: The team whose app it is.

        Returns:
            The app and where it comes from.

        Raises:
            OAuthAppMissing: None is set.
        """
        self.catalog.spec(integration_id, team)
        app = self.oauth_app(integration_id, team)
        return OAuthAppInfo(
            integration_id=integration_id,
            client_id=app.client_id,
            client_secret=mask(app.client_secret),
            scopes=app.scopes,
            source=app.source,
            redirect_uri=self.settings.callback_url,
        )

    def delete_oauth_app(self, integration_id: str, *, team: str = LOCAL_TEAM) -> None:
        """Delete an integration's stored OAuth client (environment variables are not touched).

        Args:
            integration_id: The integration.
            team: The team whose app it is.

        Raises:
            NotFoundError: No app is stored for it.
        """
        if not self.store.credentials.delete(app_record_id(integration_id, team)):
            raise NotFoundError(f"No OAuth app is stored for {integration_id}")

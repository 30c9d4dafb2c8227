"""Attach credentials to outgoing requests (httpx `Auth` flows, no I/O of their own)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from plughub.engine.auth.oauth1 import OAuth1Auth
from plughub.engine.auth.static import Placement, StaticAuth, resolve_placements
from plughub.engine.catalog.models import IntegrationSpec, OAuth1Spec
from plughub.engine.oauth.apps import OAuthApp
from plughub.engine.oauth.oauth1 import client_auth
from plughub.enums import AuthenticationSchema
from plughub.exceptions import ConfigurationError

__all__ = ["OAuth1Auth", "Placement", "StaticAuth", "app_fields", "auth_for", "resolve_placements"]


def app_fields(app: OAuthApp | None) -> dict[str, Any]:
    """The fields of an OAuth app that templates may use (`${app.client_id}`): never its secret.

    Args:
        app: The app, if there is one.

    Returns:
        Its non-secret fields.
    """
    return {"client_id": app.client_id} if app is not None else {}


def auth_for(
    spec: IntegrationSpec,
    scheme: AuthenticationSchema,
    credentials: Mapping[str, Any],
    config: Mapping[str, Any],
    app: OAuthApp | None = None,
) -> httpx.Auth | None:
    """Build the auth flow of a connection.

    Args:
        spec: The integration.
        scheme: The connection's scheme.
        credentials: The connection's opened credentials (tokens for OAuth).
        config: The connection's config values.
        app: The OAuth client: the OAuth 1.0a one signs every request; an OAuth 2.0 scheme's own
            placements may use its non-secret fields (`${app.client_id}`).

    Returns:
        The flow, or None for NO_AUTH.

    Raises:
        ConfigurationError: The integration no longer supports the connection's scheme.
    """
    auth = spec.auth_for(scheme)
    if auth is None:
        raise ConfigurationError(
            f"integration '{spec.id}' no longer supports {scheme.value}; reconnect with one of "
            + ", ".join(a.mode for a in spec.auth)
        )
    if scheme is AuthenticationSchema.NO_AUTH:
        return None
    if scheme is AuthenticationSchema.OAUTH2:
        if auth.apply:
            # A provider that wants the token elsewhere (Shopify's X-Shopify-Access-Token).
            fields = app_fields(app)
            return StaticAuth(resolve_placements(auth.apply_items(), credentials, config, fields))
        # Token types other than bearer (MAC, DPoP) are not in use at the providers we target.
        return StaticAuth([Placement("header", "Authorization", f"Bearer {credentials['access_token']}")])
    if scheme is AuthenticationSchema.OAUTH1:
        assert isinstance(auth, OAuth1Spec) and app is not None  # noqa: S101 - the engine passes the app
        return OAuth1Auth(
            client_auth(auth, app, token=credentials["oauth_token"], token_secret=credentials["oauth_token_secret"])
        )
    return StaticAuth(resolve_placements(auth.apply_items(), credentials, config))

"""Attach credentials to outgoing requests (httpx `Auth` flows, no I/O of their own)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plughub.engine.auth.static import Placement, StaticAuth, resolve_placements
from plughub.engine.catalog.models import IntegrationSpec
from plughub.enums import AuthenticationSchema
from plughub.exceptions import ConfigurationError

__all__ = ["Placement", "StaticAuth", "auth_for", "resolve_placements"]


def auth_for(
    spec: IntegrationSpec, scheme: AuthenticationSchema, credentials: Mapping[str, Any], config: Mapping[str, Any]
) -> StaticAuth | None:
    """Build the auth flow of a connection.

    Args:
        spec: The integration.
        scheme: The connection's scheme.
        credentials: The connection's opened credentials.
        config: The connection's config values.

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
    if scheme in (AuthenticationSchema.OAUTH1, AuthenticationSchema.OAUTH2):
        raise ConfigurationError(f"{scheme.value} connections are not supported by this version of plughub yet")
    return StaticAuth(resolve_placements(auth.apply_items(), credentials, config))

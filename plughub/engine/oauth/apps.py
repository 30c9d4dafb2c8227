"""OAuth apps (client id and secret per integration): stored sealed, or from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["OAuthApp", "app_record_id", "env_app", "env_names"]


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

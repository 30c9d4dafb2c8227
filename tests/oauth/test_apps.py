"""OAuth apps: stored sealed or read from the environment, masked when shown, required to connect."""

from __future__ import annotations

from pathlib import Path

import pytest

import plughub
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema, ConnectionStatus
from plughub.exceptions import NotFoundError, OAuthAppMissing
from plughub.factories import IntegrationFactory
from plughub.sandbox import SandboxServer
from tests.oauth.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    approve,
    authorize,
    connect,
    home_bytes,
    row_counts,
)

pytestmark = pytest.mark.usefixtures("backend")

OAUTH2 = AuthenticationSchema.OAUTH2


@pytest.mark.parametrize("scheme", [AuthenticationSchema.OAUTH2, AuthenticationSchema.OAUTH1])
def test_connect_without_an_app_says_how_to_set_one_and_stores_nothing(
    engine: Engine, sb: SandboxServer, callback_url: str, scheme: AuthenticationSchema
) -> None:
    integration = IntegrationFactory.get("sandbox")
    with pytest.raises(ValueError, match=r"No OAuth app is set for sandbox") as caught:
        integration.connect(scheme, data={"port": sb.port})
    assert isinstance(caught.value, OAuthAppMissing)
    message = str(caught.value)
    assert "IntegrationFactory.get('sandbox').set_oauth_app(client_id=..., client_secret=...)" in message
    assert "PLUGHUB_OAUTH_SANDBOX_CLIENT_ID and PLUGHUB_OAUTH_SANDBOX_CLIENT_SECRET" in message
    assert "`plughub oauth-app set sandbox`" in message
    assert callback_url in message  # the redirect URI to register at the provider
    assert row_counts(engine) == {"connections": 0, "credentials": 0, "oauth_states": 0}
    assert engine.connections.list().total == 0
    assert sb.received == []  # not even the OAuth 1.0a request token was asked for


def test_environment_variables_stand_in_for_a_stored_app(
    engine: Engine, sb: SandboxServer, monkeypatch: pytest.MonkeyPatch, callback_url: str
) -> None:
    monkeypatch.setenv("PLUGHUB_OAUTH_SANDBOX_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PLUGHUB_OAUTH_SANDBOX_CLIENT_SECRET", CLIENT_SECRET)
    integration = IntegrationFactory.get("sandbox")
    info = integration.get_oauth_app()
    assert (info.client_id, info.source, info.redirect_uri) == (CLIENT_ID, "environment", callback_url)
    assert info.client_secret == "***" + CLIENT_SECRET[-4:]
    tool = authorize(integration, OAUTH2, port=sb.port)
    assert tool.status is ConnectionStatus.ACTIVE
    assert tool.run("SANDBOX_WHOAMI").data == {"scheme": "OAUTH2", "user": "demo"}
    assert row_counts(engine)["credentials"] == 1  # the connection's tokens; no app was stored


def test_only_one_of_the_two_variables_is_not_an_app(
    engine: Engine, sb: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUGHUB_OAUTH_SANDBOX_CLIENT_ID", CLIENT_ID)
    with pytest.raises(OAuthAppMissing, match="PLUGHUB_OAUTH_SANDBOX_CLIENT_SECRET"):
        IntegrationFactory.get("sandbox").get_oauth_app()


def test_a_stored_app_wins_over_the_environment_and_shows_masked(
    engine: Engine, sb: SandboxServer, monkeypatch: pytest.MonkeyPatch, callback_url: str
) -> None:
    monkeypatch.setenv("PLUGHUB_OAUTH_SANDBOX_CLIENT_ID", "env-client")
    monkeypatch.setenv("PLUGHUB_OAUTH_SANDBOX_CLIENT_SECRET", "env-secret-0123456789abcdef")
    integration = IntegrationFactory.get("sandbox")
    stored = integration.set_oauth_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scopes=["notes:read"])
    assert stored.client_secret == "***" + CLIENT_SECRET[-4:]
    assert CLIENT_SECRET not in repr(stored) and CLIENT_SECRET not in str(stored.model_dump())
    info = integration.get_oauth_app()
    assert (info.client_id, info.source, info.scopes, info.redirect_uri) == (
        CLIENT_ID,
        "stored",
        ["notes:read"],
        callback_url,
    )
    tool = authorize(integration, OAUTH2, port=sb.port)  # the env client is not registered: the stored one is used
    assert tool.connection.scopes == ["notes:read"]


def test_delete_oauth_app(engine: Engine, sb: SandboxServer) -> None:
    integration = IntegrationFactory.get("sandbox")
    integration.set_oauth_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    integration.delete_oauth_app()
    assert row_counts(engine)["credentials"] == 0
    with pytest.raises(OAuthAppMissing, match="No OAuth app is set for sandbox"):
        integration.get_oauth_app()
    with pytest.raises(NotFoundError, match="No OAuth app is stored for sandbox"):
        integration.delete_oauth_app()


def test_deleting_the_app_while_a_consent_is_pending_fails_the_completion_cleanly(
    engine: Engine, sb: SandboxServer
) -> None:
    integration = IntegrationFactory.get("sandbox")
    integration.set_oauth_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    response = connect(integration, OAUTH2, port=sb.port)
    location = approve(response.data["redirectURL"])
    integration.delete_oauth_app()
    with pytest.raises(OAuthAppMissing, match="No OAuth app is set for sandbox"):
        plughub.complete_authorization(location)
    assert engine.connections.get(response.data["id"]).status is ConnectionStatus.FAILED


@pytest.mark.parametrize("integration_id", ["openai", "hacker-news"])
def test_set_oauth_app_is_refused_without_an_oauth_scheme(engine: Engine, integration_id: str) -> None:
    integration = IntegrationFactory.get(integration_id)
    with pytest.raises(ValueError, match=r"has no OAuth scheme; it supports "):
        integration.set_oauth_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert row_counts(engine)["credentials"] == 0


@pytest.mark.parametrize(("client_id", "client_secret"), [("", CLIENT_SECRET), (CLIENT_ID, "")])
def test_set_oauth_app_needs_both_values(engine: Engine, client_id: str, client_secret: str) -> None:
    with pytest.raises(ValueError, match="client_id and client_secret are both required"):
        IntegrationFactory.get("sandbox").set_oauth_app(client_id=client_id, client_secret=client_secret)
    assert row_counts(engine)["credentials"] == 0


def test_the_client_secret_is_never_stored_in_clear(engine: Engine, sb: SandboxServer, home: Path) -> None:
    integration = IntegrationFactory.get("sandbox")
    integration.set_oauth_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    tool = authorize(integration, OAUTH2, port=sb.port)
    assert tool.run("SANDBOX_WHOAMI").data["scheme"] == "OAUTH2"
    oauth1 = authorize(integration, AuthenticationSchema.OAUTH1, port=sb.port)
    assert oauth1.run("SANDBOX_WHOAMI").data["scheme"] == "OAUTH1"
    files = home_bytes(home)
    assert files  # the database and the key file are there
    assert CLIENT_SECRET.encode() not in files

"""`${app.x}`: the OAuth app's non-secret fields in requests (Twitch's Client-Id), never its secret."""

from __future__ import annotations

from typing import Any

import pytest

from plughub.engine.catalog import parse_definition
from plughub.enums import AuthenticationSchema, ResponseStatus
from plughub.exceptions import CatalogError, MissingInputs, OAuthAppMissing
from plughub.factories import IntegrationFactory, ModelFactory
from plughub.modules.model.connection import ConnectionTool
from plughub.sandbox import SandboxServer
from tests.conftest import CANARY_TOKEN
from tests.oauth.conftest import CLIENT_ID, CLIENT_SECRET, authorize, create_copy, sandbox_copy
from tests.upstream import Reply, Upstream

CLIENT_ID_HEADER = {
    "apply": [
        {"header": "Authorization", "format": "Bearer ${credentials.access_token}"},
        {"header": "X-Client-Id", "format": "${app.client_id}"},
    ]
}


def test_an_oauth2_placement_sends_the_apps_client_id(backend: object, sb: SandboxServer) -> None:
    integration = create_copy("sandbox-client-id", oauth2=CLIENT_ID_HEADER)
    tool = authorize(integration, port=sb.port)
    response = tool.run("SANDBOX_CLIENT_ID_WHOAMI")
    assert response.status is ResponseStatus.SUCCESS, response.error_message
    assert response.data["scheme"] == "OAUTH2"
    seen = [r for r in sb.received if r.path == "/whoami"][-1]
    assert seen.headers["X-Client-Id"] == CLIENT_ID
    assert all(CLIENT_SECRET not in value for value in seen.headers.values())


def test_a_header_template_uses_the_teams_app_and_says_how_to_set_a_missing_one(
    backend: object, upstream: Upstream
) -> None:
    upstream.route("GET", "/ping", Reply(200, {"pong": True}))
    definition = {
        "id": "client-header",
        "display_name": "Client header",
        "base_url": upstream.url,
        "headers": {"Client-Id": "${app.client_id}"},
        "auth": [
            {"mode": "BEARER_TOKEN"},
            {"mode": "OAUTH2", "authorization_url": "https://x.example/a", "token_url": "https://x.example/t"},
        ],
        "actions": {"CLIENT_HEADER_PING": {"display_name": "Ping", "path": "/ping"}},
    }
    integration = IntegrationFactory.create(definition)
    connected = integration.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN})
    tool = ModelFactory.get(connected.data["id"])
    assert isinstance(tool, ConnectionTool)
    with pytest.raises(OAuthAppMissing, match=r"set_oauth_app"):
        tool.run("CLIENT_HEADER_PING")
    assert upstream.seen == []  # nothing was sent
    integration.set_oauth_app(client_id="app-client-7", client_secret=CLIENT_SECRET)
    assert tool.run("CLIENT_HEADER_PING").status is ResponseStatus.SUCCESS
    assert upstream.seen[-1].header("Client-Id") == "app-client-7"


def test_twitch_oauth2_connect_asks_for_no_client_id(backend: object) -> None:
    # Before ${app.client_id}, the client id was a connection_config field: connect(OAUTH2) said MissingInputs.
    twitch = IntegrationFactory.get("twitch")
    twitch.set_oauth_app(client_id="twitchclient1", client_secret=CLIENT_SECRET)
    with pytest.warns(UserWarning, match="visit the following URL"):
        response = twitch.connect(AuthenticationSchema.OAUTH2)
    assert "redirectURL" in response.data
    assert "client_id=twitchclient1" in response.data["redirectURL"]


def test_twitch_bearer_token_sends_its_own_client_id(backend: object, upstream: Upstream) -> None:
    upstream.route("GET", "/users", Reply(200, {"data": [{"id": "1", "login": "ann"}]}))
    twitch = IntegrationFactory.get("twitch")
    with pytest.raises(MissingInputs, match="client_id"):
        twitch.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN, "base_url": upstream.url})
    response = twitch.connect(
        AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN, "client_id": "abc123", "base_url": upstream.url}
    )
    tool = ModelFactory.get(response.data["id"])
    assert isinstance(tool, ConnectionTool)
    assert tool.run("TWITCH_GET_USERS", {"login": ["ann"]}).status is ResponseStatus.SUCCESS
    seen = upstream.seen[-1]
    assert seen.header("Client-Id") == "abc123"
    assert seen.header("Authorization") == f"Bearer {CANARY_TOKEN}"
    assert seen.header("Accept") == "application/json"  # the default, no longer written in twitch.yaml


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"headers": {"X-Secret": "${app.client_secret}"}}, "headers.X-Secret: unknown variable ${app.client_secret}"),
        (
            {"headers": {"X-Client": "${app.client_id}"}, "auth": [{"mode": "API_KEY"}]},
            "headers.X-Client: ${app.x} is the integration's OAuth app, and the definition has no OAuth scheme",
        ),
        (
            {"oauth2": {"apply": [{"header": "X", "format": "${app.client_secret}"}]}},
            "auth.4.apply.0.format: unknown variable ${app.client_secret}",
        ),
    ],
)
def test_the_apps_secret_is_no_template_variable(change: dict[str, Any], problem: str) -> None:
    definition = sandbox_copy("sandbox-secret", oauth2=change.get("oauth2"))
    definition.update({k: v for k, v in change.items() if k != "oauth2"})
    with pytest.raises(CatalogError) as caught:
        parse_definition(definition, source="copy.yaml")
    assert problem in caught.value.message

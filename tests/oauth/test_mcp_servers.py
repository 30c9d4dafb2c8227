"""MCP servers behind OAuth: discovery, registration, consent, refresh and reconnect, end to end.

The MCP server is the official SDK's, with its auth support (a token verifier, protected resource
metadata); the authorization server is the sandbox's, on Authlib's server classes, with RFC 8414
metadata, RFC 7591 registration and RFC 8707 resources. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

import plughub
from plughub import IntegrationFactory, MCPConnection
from plughub.backends import Backend
from plughub.config import Settings
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema, ConnectionStatus, ResponseStatus
from plughub.exceptions import ConnectionStateError, InvalidInput, OAuthAppMissing, OAuthProviderError
from plughub.modules.model.integration import Integration
from plughub.sandbox import SandboxServer
from plughub.schemas import ConnectRequest
from tests.mcp_servers import McpTestServer, mcp_oauth_server, mcp_test_server
from tests.oauth.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    approve,
    connect,
    expire_stored_token,
    reconnect,
    row_counts,
    stored_credentials,
    with_params,
)

OAUTH2 = AuthenticationSchema.OAUTH2
TRANSPORTS = ["streamable_http", "sse"]


@pytest.fixture
def mcp_server(sandbox: SandboxServer) -> Iterator[McpTestServer]:
    with mcp_oauth_server(sandbox.oauth2, sandbox.url) as server:
        yield server


def _mcp() -> Integration:
    return IntegrationFactory.get("mcp")


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def _authorize(url: str, **data: Any) -> MCPConnection:
    response = connect(_mcp(), OAUTH2, url=url, **data)
    tool = plughub.complete_authorization(approve(response.data["redirectURL"]))
    assert isinstance(tool, MCPConnection) and tool.id == response.data["id"]
    return tool


def _token_forms(sandbox: SandboxServer, grant_type: str) -> list[dict[str, str]]:
    forms = [dict(parse_qsl(r.body.decode())) for r in sandbox.received if r.path == "/oauth2/token"]
    return [form for form in forms if form.get("grant_type") == grant_type]


def _bearers(server: McpTestServer) -> list[str]:
    return [r.get("authorization", "") for r in server.requests if r.get("method") in ("tools/list", "tools/call")]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_connect_discovers_registers_and_runs_tools(
    any_backend: Backend, sandbox: SandboxServer, mcp_server: McpTestServer, callback_url: str, transport: str
) -> None:
    url = mcp_server.url(transport)
    response = connect(_mcp(), OAUTH2, url=url)
    assert response.data["id"] and sandbox.oauth2.registered, "the server offers registration: plughub registers"
    sent = _query(response.data["redirectURL"])
    assert response.data["redirectURL"].startswith(f"{sandbox.url}/oauth2/authorize?")
    assert sent["client_id"] == sandbox.oauth2.registered[0]
    assert sent["redirect_uri"] == callback_url
    assert sent["resource"] == url  # RFC 8707, the server's own resource identifier
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert sent["scope"] == "notes:read"  # what the protected resource metadata names
    pending = plughub.ModelFactory.get(response.data["id"])
    assert pending.connection.status is ConnectionStatus.PENDING

    tool = plughub.complete_authorization(approve(response.data["redirectURL"]))
    assert tool.connection.status is ConnectionStatus.ACTIVE
    assert tool.connection.credentials["authorization_server"] == sandbox.url
    assert [a.code for a in tool.actions] == ["add", "shout", "profile", "fail"]
    added = tool.run("add", {"a": 2, "b": 3})
    assert added.status is ResponseStatus.SUCCESS, added.error_message
    assert added.data == {"result": 5}
    failed = tool.run("fail", {"reason": "no fuel"})
    assert failed.status is ResponseStatus.FAILED and failed.error_code == "mcp_tool_error"

    exchange = _token_forms(sandbox, "authorization_code")
    assert len(exchange) == 1 and exchange[0]["resource"] == url and exchange[0]["code_verifier"]
    assert sandbox.oauth2.resources == [url]
    issued = sandbox.oauth2.issued_tokens()[0]
    assert set(_bearers(mcp_server)) == {f"Bearer {issued}"}


def test_the_registered_client_serves_every_connection_of_the_team_to_that_server(
    backend: Backend, sandbox: SandboxServer, mcp_server: McpTestServer
) -> None:
    first = _authorize(mcp_server.http_url)
    second = _authorize(mcp_server.http_url, transport="streamable_http")
    assert len(sandbox.oauth2.registered) == 1, "one registration per team and server origin"
    assert first.run("add", {"a": 1, "b": 1}).data == {"result": 2}
    assert second.run("shout", {"text": "hi"}).data in ("HI", {"result": "HI"})


def test_a_public_client_is_registered_when_the_server_takes_only_those(
    engine: Engine, backend: Backend, sandbox: SandboxServer, mcp_server: McpTestServer
) -> None:
    sandbox.oauth2.metadata_changes = {"token_endpoint_auth_methods_supported": ["none"]}
    tool = _authorize(mcp_server.http_url)
    expire_stored_token(engine, tool.id)
    assert tool.run("add", {"a": 1, "b": 1}).data == {"result": 2}
    assert sandbox.oauth2.token_requests == {"authorization_code": 1, "refresh_token": 1}
    token_requests = [r for r in sandbox.received if r.path == "/oauth2/token"]
    assert all("Authorization" not in r.headers and b"client_secret" not in r.body for r in token_requests)


def test_reconnecting_an_active_connection_keeps_its_tokens_until_consent_completes(
    engine: Engine, backend: Backend, sandbox: SandboxServer, mcp_server: McpTestServer
) -> None:
    tool = _authorize(mcp_server.http_url)
    before = stored_credentials(engine, tool.id)
    again = reconnect(tool)
    assert tool.connection.status is ConnectionStatus.ACTIVE
    assert stored_credentials(engine, tool.id) == before
    assert tool.run("add", {"a": 1, "b": 1}).data == {"result": 2}
    plughub.complete_authorization(approve(again.data["redirectURL"]))
    after = stored_credentials(engine, tool.id)
    assert after["access_token"] != before["access_token"] and after["url"] == before["url"]
    assert tool.run("add", {"a": 1, "b": 1}).data == {"result": 2}


def test_a_preset_oauth_app_is_used_instead_of_registering(
    backend: Backend, sb: SandboxServer, mcp_server: McpTestServer
) -> None:
    _mcp().set_oauth_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    response = connect(_mcp(), OAUTH2, url=mcp_server.http_url)
    assert _query(response.data["redirectURL"])["client_id"] == CLIENT_ID
    tool = plughub.complete_authorization(approve(response.data["redirectURL"]))
    assert tool.run("add", {"a": 4, "b": 5}).data == {"result": 9}
    assert sb.oauth2.registered == []


def test_without_registration_or_an_app_connect_says_what_to_do(
    engine: Engine, backend: Backend, sandbox: SandboxServer, mcp_server: McpTestServer, callback_url: str
) -> None:
    sandbox.oauth2.registration = False
    before = row_counts(engine)
    with pytest.raises(OAuthAppMissing) as refused:
        _mcp().connect(OAUTH2, data={"url": mcp_server.http_url})
    message = str(refused.value)
    assert f"the authorization server {sandbox.url} of the MCP server at {mcp_server.http_url[:-4]}" in message
    assert "does not register clients" in message and callback_url in message and "set_oauth_app" in message
    assert row_counts(engine) == before, "nothing was stored"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_expiring_token_and_a_401_each_refresh_once_for_concurrent_calls(
    engine: Engine, backend: Backend, sandbox: SandboxServer, mcp_server: McpTestServer, transport: str
) -> None:
    url = mcp_server.url(transport)
    tool = _authorize(url)
    assert len(tool.actions) == 4  # the tool list is cached: each call below is one tools/call

    def storm() -> list[Any]:
        results: list[Any] = []
        barrier = threading.Barrier(6)

        def call(n: int) -> None:
            barrier.wait()
            results.append(tool.run("add", {"a": n, "b": 1}))

        threads = [threading.Thread(target=call, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    expire_stored_token(engine, tool.id)  # plughub thinks it expired: refreshed before the calls
    results = storm()
    assert all(r.status is ResponseStatus.SUCCESS for r in results), [r.error_message for r in results]
    assert sandbox.oauth2.token_requests["refresh_token"] == 1

    sandbox.oauth2.revoke_all_access_tokens()  # the server now answers 401: refreshed after it
    results = storm()
    assert all(r.status is ResponseStatus.SUCCESS for r in results), [r.error_message for r in results]
    assert sandbox.oauth2.token_requests["refresh_token"] == 2
    assert all(form["resource"] == url for form in _token_forms(sandbox, "refresh_token"))
    latest = stored_credentials(engine, tool.id)["access_token"]
    assert _bearers(mcp_server)[-1] == f"Bearer {latest}"


def test_a_revoked_grant_expires_the_connection_and_reconnect_restores_it(
    engine: Engine, backend: Backend, sandbox: SandboxServer, mcp_server: McpTestServer
) -> None:
    tool = _authorize(mcp_server.http_url)
    assert tool.run("add", {"a": 1, "b": 2}).data == {"result": 3}
    sandbox.oauth2.revoke_all_grants()
    expired = tool.run("add", {"a": 1, "b": 2})
    assert expired.status is ResponseStatus.FAILED and expired.error_code == "connection_expired"
    assert "reconnect the connection" in (expired.error_message or "")
    assert tool.connection.status is ConnectionStatus.EXPIRED
    with pytest.raises(ConnectionStateError, match="is expired"):
        tool.run("add", {"a": 1, "b": 2})

    again = reconnect(tool)
    assert _query(again.data["redirectURL"])["resource"] == mcp_server.http_url
    restored = plughub.complete_authorization(approve(again.data["redirectURL"]))
    assert restored.id == tool.id and restored.connection.status is ConnectionStatus.ACTIVE
    assert restored.run("add", {"a": 1, "b": 2}).data == {"result": 3}
    assert len(sandbox.oauth2.registered) == 1


def test_a_denied_consent_leaves_a_connection_that_reconnect_can_finish(
    backend: Backend, sandbox: SandboxServer, mcp_server: McpTestServer
) -> None:
    response = connect(_mcp(), OAUTH2, url=mcp_server.http_url)
    with pytest.raises(OAuthProviderError, match="access_denied"):
        plughub.complete_authorization(approve(response.data["redirectURL"], decision="deny"))
    tool = plughub.ModelFactory.get(response.data["id"])
    assert tool.connection.status is ConnectionStatus.FAILED
    again = reconnect(tool)  # the server's URL was kept sealed with the pending connection
    done = plughub.complete_authorization(approve(again.data["redirectURL"]))
    assert done.run("add", {"a": 2, "b": 2}).data == {"result": 4}


def test_without_resource_metadata_in_the_challenge_the_well_known_uri_is_used(
    backend: Backend, sandbox: SandboxServer
) -> None:
    class PlainChallenge:
        """Answers 401s with a bare `WWW-Authenticate: Bearer` (no resource_metadata)."""

        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            async def bare(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start" and message["status"] == 401:
                    headers = [(k, v) for k, v in message["headers"] if k.lower() != b"www-authenticate"]
                    message = {**message, "headers": [*headers, (b"www-authenticate", b"Bearer")]}
                await send(message)

            await self.app(scope, receive, bare)

    with mcp_oauth_server(sandbox.oauth2, sandbox.url, wrap=PlainChallenge) as server:
        tool = _authorize(server.http_url)
        assert tool.run("add", {"a": 3, "b": 4}).data == {"result": 7}
        paths = [r["path"] for r in server.requests]
        assert "/.well-known/oauth-protected-resource/mcp" in paths


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"issuer": "http://127.0.0.1:9/elsewhere"}, "names another issuer"),
        ({"code_challenge_methods_supported": None}, "does not support PKCE with S256"),
        ({"code_challenge_methods_supported": ["plain"]}, "does not support PKCE with S256"),
        ({"token_endpoint": "http://auth.example/token"}, "uses http (http://auth.example)"),
    ],
)
def test_metadata_that_fails_the_checks_is_refused_and_nothing_is_stored(
    engine: Engine,
    backend: Backend,
    sandbox: SandboxServer,
    mcp_server: McpTestServer,
    changes: dict[str, Any],
    refusal: str,
) -> None:
    sandbox.oauth2.metadata_changes = changes
    before = row_counts(engine)
    with pytest.raises(OAuthProviderError, match=re.escape(refusal)):
        _mcp().connect(OAUTH2, data={"url": mcp_server.http_url})
    assert row_counts(engine) == before
    assert sandbox.oauth2.registered == [], "no client is registered with a server that failed the checks"


def test_in_server_mode_every_fetched_url_passes_the_network_guard(
    sandbox: SandboxServer, callback_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUGHUB_ALLOW_PRIVATE_NETWORKS", "127.0.0.1/32")
    guarded = Engine(Settings.from_env(), guard_outbound=True)
    try:
        # Allowed: the loopback address the operator lets through, plain http included.
        with mcp_oauth_server(sandbox.oauth2, sandbox.url) as server:
            started = guarded.connections.create(
                ConnectRequest(integration_id="mcp", scheme=OAUTH2, data={"url": server.http_url})
            )
            assert started.redirect_url and started.redirect_url.startswith(sandbox.url)
        # Metadata on a blocked address: the authorization server at 127.0.0.2 is never asked.
        before = row_counts(guarded)
        for blocked, refusal in [
            (
                f"https://127.0.0.2:{sandbox.port}",
                "refused by plughub's network guard: the host 127.0.0.2 is not allowed. The operator of this "
                "plughub can allow it in PLUGHUB_ALLOW_PRIVATE_NETWORKS.",
            ),
            # Plain http is accepted on a loopback address only when the guard lets it through.
            (f"http://127.0.0.2:{sandbox.port}", f"uses http (http://127.0.0.2:{sandbox.port})"),
        ]:
            with mcp_oauth_server(sandbox.oauth2, blocked) as server, pytest.raises(OAuthProviderError) as refused:
                guarded.connections.create(
                    ConnectRequest(integration_id="mcp", scheme=OAUTH2, data={"url": server.http_url})
                )
            assert refusal in str(refused.value)
        assert row_counts(guarded) == before
    finally:
        guarded.close()


def test_connect_refuses_servers_that_are_not_behind_oauth(
    engine: Engine, backend: Backend, sandbox: SandboxServer
) -> None:
    before = row_counts(engine)
    not_oauth = "answered without asking for credentials.*connect with NO_AUTH"
    with mcp_test_server() as open_server, pytest.raises(InvalidInput, match=not_oauth):
        _mcp().connect(OAUTH2, data={"url": open_server.http_url})
    with pytest.raises(InvalidInput, match=r"uses http \(http://mcp.example\).*loopback"):
        _mcp().connect(OAUTH2, data={"url": "http://mcp.example/mcp"})
    with pytest.raises(InvalidInput, match="'url' is required"):
        _mcp().connect(OAUTH2, data={})
    assert row_counts(engine) == before


def test_a_callback_without_the_issuer_the_server_promised_is_refused(
    backend: Backend, sandbox: SandboxServer, mcp_server: McpTestServer
) -> None:
    # The metadata says `authorization_response_iss_parameter_supported`: RFC 9207 makes `iss` mandatory.
    response = connect(_mcp(), OAUTH2, url=mcp_server.url("streamable_http"))
    callback = approve(response.data["redirectURL"])
    assert "iss=" in callback
    with pytest.raises(OAuthProviderError, match=r"carries no issuer \(iss\)") as refused:
        plughub.complete_authorization(with_params(callback, drop=("iss",)))
    assert refused.value.details["error"] == "issuer_missing"
    assert plughub.ModelFactory.get(response.data["id"]).connection.status is ConnectionStatus.FAILED

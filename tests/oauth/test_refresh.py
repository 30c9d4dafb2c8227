"""OAuth 2.0 token refresh: before expiry, after a 401, rotation, refusal and reconnect."""

from __future__ import annotations

import time

import httpx
import pytest

import plughub
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema, ConnectionStatus, ResponseStatus
from plughub.exceptions import ConnectionStateError
from plughub.factories import IntegrationFactory
from plughub.modules.model.connection import ConnectionTool
from plughub.modules.model.integration import Integration
from plughub.sandbox import SandboxServer
from tests.oauth.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    approve,
    authorize,
    create_copy,
    expire_stored_token,
    reconnect,
    sandbox_copy,
    stored_credentials,
)

OAUTH2 = AuthenticationSchema.OAUTH2


def _whoami_requests(sb: SandboxServer) -> list[str]:
    """The bearer token of each /whoami request the sandbox received."""
    return [r.headers.get("Authorization", "")[7:] for r in sb.received if r.path == "/whoami"]


def _whoami(tool: ConnectionTool) -> None:
    response = tool.run("WHOAMI")
    assert response.status is ResponseStatus.SUCCESS, response.error_message
    assert response.data == {"scheme": "OAUTH2", "user": "demo"}


def _revoke_at_provider(sb: SandboxServer, token: str) -> None:
    answer = httpx.post(
        f"{sb.url}/oauth2/revoke",
        data={"token": token, "token_type_hint": "refresh_token"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert answer.status_code == 200, answer.text


def test_a_token_about_to_expire_is_refreshed_before_the_call(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    before = stored_credentials(engine, tool.id)
    expire_stored_token(engine, tool.id)
    _whoami(tool)
    assert sb.oauth2.token_requests == {"authorization_code": 1, "refresh_token": 1}
    after = stored_credentials(engine, tool.id)
    assert after["access_token"] != before["access_token"]
    assert after["expires_at"] > time.time() + 3000
    assert _whoami_requests(sb) == [after["access_token"]]  # no 401 first: the old token was never sent
    _whoami(tool)
    assert sb.oauth2.token_requests["refresh_token"] == 1  # the new token is not expiring


def test_refresh_margin_comes_from_the_definition(engine: Engine, backend: object, sb: SandboxServer) -> None:
    # Tokens live 3600 s; a 7200 s margin makes every call refresh first.
    copy = create_copy("sandbox-margin", oauth2={"refresh_margin": 7200})
    tool = authorize(copy, OAUTH2, port=sb.port)
    _whoami(tool)
    assert sb.oauth2.token_requests["refresh_token"] == 1
    _whoami(tool)
    assert sb.oauth2.token_requests["refresh_token"] == 2
    assert len(set(_whoami_requests(sb))) == 2


def test_a_401_refreshes_once_and_retries(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    old = stored_credentials(engine, tool.id)
    sb.oauth2.revoke_all_access_tokens()
    _whoami(tool)
    assert sb.oauth2.token_requests == {"authorization_code": 1, "refresh_token": 1}
    new = stored_credentials(engine, tool.id)
    assert _whoami_requests(sb) == [old["access_token"], new["access_token"]]
    assert tool.status is ConnectionStatus.ACTIVE


def test_an_expired_token_at_the_provider_is_refreshed_too(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    sb.oauth2.expire_access_tokens()
    _whoami(tool)
    assert sb.oauth2.token_requests["refresh_token"] == 1


def test_a_401_after_refresh_is_returned_not_looped(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    sb.oauth2.access_token_ttl = 0  # every new token is dead on arrival
    sb.oauth2.revoke_all_access_tokens()
    response = tool.run("WHOAMI")
    assert response.status is ResponseStatus.FAILED
    assert response.details["status_code"] == 401
    assert sb.oauth2.token_requests["refresh_token"] == 1
    assert len(_whoami_requests(sb)) == 2


def test_rotated_refresh_tokens_are_stored_and_used(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    first = stored_credentials(engine, tool.id)["refresh_token"]
    sb.oauth2.revoke_all_access_tokens()
    _whoami(tool)
    second = stored_credentials(engine, tool.id)["refresh_token"]
    assert second != first
    assert sb.oauth2._refresh[first].refresh_revoked  # the provider rotated: the old one is dead
    sb.oauth2.revoke_all_access_tokens()
    _whoami(tool)  # so this refresh can only have worked with the stored new one
    third = stored_credentials(engine, tool.id)["refresh_token"]
    assert third not in (first, second)
    assert sb.oauth2.token_requests["refresh_token"] == 2


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    original = stored_credentials(engine, tool.id)
    sb.oauth2.rotate_refresh_tokens = False  # token responses now carry no refresh_token
    sb.oauth2.revoke_all_access_tokens()
    _whoami(tool)
    refreshed = stored_credentials(engine, tool.id)
    assert refreshed["access_token"] != original["access_token"]
    assert refreshed["refresh_token"] == original["refresh_token"]
    assert set(sb.oauth2._refresh) == {original["refresh_token"]}  # the provider issued no other
    sb.oauth2.revoke_all_access_tokens()
    _whoami(tool)
    assert sb.oauth2.token_requests["refresh_token"] == 2


def _refuse_refresh(engine: Engine, sb: SandboxServer, tool: ConnectionTool, trigger: str) -> None:
    _revoke_at_provider(sb, stored_credentials(engine, tool.id)["refresh_token"])  # kills its access token too
    if trigger == "expiry":
        expire_stored_token(engine, tool.id)


@pytest.mark.parametrize("trigger", ["401", "expiry"])
def test_a_refused_refresh_fails_the_run_and_reconnect_revives_the_connection(
    engine: Engine, integ: Integration, sb: SandboxServer, trigger: str
) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    _refuse_refresh(engine, sb, tool, trigger)
    response = tool.run("WHOAMI")
    assert response.status is ResponseStatus.FAILED
    assert response.error_code == "connection_expired"
    assert "plughub Sandbox SANDBOX_WHOAMI" in response.error_message
    assert "invalid_grant" in response.error_message and "reconnect the connection" in response.error_message
    assert sb.oauth2.token_requests["refresh_token"] == 1
    assert len(_whoami_requests(sb)) == (1 if trigger == "401" else 0)

    again = reconnect(tool)
    assert again.data["id"] == tool.id
    assert again.data["redirectURL"].startswith(f"{sb.url}/oauth2/authorize?")
    back = plughub.complete_authorization(approve(again.data["redirectURL"]))
    assert back.id == tool.id and back.status is ConnectionStatus.ACTIVE
    assert back.connection.error is None
    _whoami(tool)
    assert sb.oauth2.token_requests == {"authorization_code": 2, "refresh_token": 1}


@pytest.mark.parametrize("trigger", ["401", "expiry"])
def test_a_refused_refresh_marks_the_connection_expired(
    engine: Engine, integ: Integration, sb: SandboxServer, trigger: str
) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    _refuse_refresh(engine, sb, tool, trigger)
    assert tool.run("WHOAMI").error_code == "connection_expired"
    info = tool.connection
    assert info.status is ConnectionStatus.EXPIRED
    assert info.error is not None and "invalid_grant" in info.error and "reconnect the connection" in info.error
    with pytest.raises(ConnectionStateError, match=r"is expired \(.*invalid_grant.*\); it must be active"):
        tool.run("WHOAMI")
    with pytest.raises(ConnectionStateError, match=r"is expired: .*reconnect the connection"):
        tool.wait_until_active(timeout=0)
    again = reconnect(tool)
    assert again.data["status"] == "pending" and tool.status is ConnectionStatus.PENDING


def test_a_reconnect_replaces_the_tokens_of_an_active_connection(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    old = stored_credentials(engine, tool.id)
    again = reconnect(tool, ["notes:read"])
    assert tool.status is ConnectionStatus.ACTIVE  # still usable while the user decides
    _whoami(tool)
    plughub.complete_authorization(approve(again.data["redirectURL"]))
    new = stored_credentials(engine, tool.id)
    assert new["access_token"] != old["access_token"] and new["scope"] == "notes:read"
    assert tool.connection.scopes == ["notes:read"]
    _whoami(tool)
    assert _whoami_requests(sb)[-1] == new["access_token"]


def test_an_unreachable_token_endpoint_fails_the_call_but_not_the_connection(
    engine: Engine, backend: object, sb: SandboxServer, closed_port: int
) -> None:
    copy = create_copy("sandbox-flaky")
    tool = authorize(copy, OAUTH2, port=sb.port)
    # The same user definition again, its token endpoint now down.
    IntegrationFactory.create(
        sandbox_copy("sandbox-flaky", oauth2={"token_url": f"http://127.0.0.1:{closed_port}/oauth2/token"})
    )
    expire_stored_token(engine, tool.id)
    response = tool.run("WHOAMI")
    assert response.status is ResponseStatus.FAILED
    assert response.error_code == "oauth_provider_error"
    assert "could not reach the token endpoint at 127.0.0.1: ConnectError" in response.error_message
    assert tool.status is ConnectionStatus.ACTIVE and tool.connection.error is None
    assert _whoami_requests(sb) == []


def test_the_cli_names_the_command_that_revives_an_expired_connection(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    from click.testing import CliRunner

    from plughub.cli import cli

    tool = authorize(integ, OAUTH2, port=sb.port)
    _refuse_refresh(engine, sb, tool, "401")
    result = CliRunner().invoke(cli, ["run", tool.id, "WHOAMI"])
    assert result.exit_code == 1
    assert "reconnect the connection" in result.output
    assert f"`plughub connections reconnect {tool.id}`" in result.output
    assert "reconnect()" not in result.output


def test_the_proxy_refreshes_an_expiring_token_and_after_a_401(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    expire_stored_token(engine, tool.id)
    answer = tool.request("GET", "/whoami")
    assert (answer.status_code, answer.data) == (200, {"scheme": "OAUTH2", "user": "demo"})
    assert sb.oauth2.token_requests == {"authorization_code": 1, "refresh_token": 1}
    sb.oauth2.revoke_all_access_tokens()
    assert tool.request("GET", "/whoami").ok
    assert sb.oauth2.token_requests["refresh_token"] == 2
    assert _whoami_requests(sb)[-1] == stored_credentials(engine, tool.id)["access_token"]

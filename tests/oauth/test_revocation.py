"""Deleting an OAuth connection revokes its tokens at the provider (RFC 7009), or says why not."""

from __future__ import annotations

import pytest

from plughub.engine import Engine
from plughub.enums import AuthenticationSchema
from plughub.exceptions import NotFoundError
from plughub.factories import ModelFactory
from plughub.modules.model.integration import Integration
from plughub.sandbox import SandboxServer
from tests.oauth.conftest import (
    CLIENT_ID,
    authorize,
    connect,
    create_copy,
    row_counts,
    stored_credentials,
    tool_of,
)

OAUTH2 = AuthenticationSchema.OAUTH2


def test_delete_revokes_both_tokens(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    tokens = stored_credentials(engine, tool.id)
    assert sb.oauth2.validate_bearer(tokens["access_token"]) is not None
    result = tool.delete()  # no warning: filterwarnings=error would fail here
    assert result.id == tool.id
    assert result.revoked is True and result.revocation_error is None
    assert sb.oauth2.revoked == [tokens["refresh_token"], tokens["access_token"]]  # refresh token first
    assert sb.oauth2.validate_bearer(tokens["access_token"]) is None
    assert sb.oauth2._refresh[tokens["refresh_token"]].refresh_revoked
    with pytest.raises(NotFoundError, match=tool.id):
        ModelFactory.get(tool.id)
    assert row_counts(engine) == {"connections": 0, "credentials": 1, "oauth_states": 0}  # only the app is left


def test_an_unreachable_revocation_endpoint_warns_and_deletes_anyway(
    engine: Engine, backend: object, sb: SandboxServer, closed_port: int
) -> None:
    copy = create_copy("sandbox-norevoke", oauth2={"revocation_url": f"http://127.0.0.1:{closed_port}/oauth2/revoke"})
    tool = authorize(copy, OAUTH2, port=sb.port)
    with pytest.warns(UserWarning, match=rf"Connection {tool.id} was deleted, but the provider did not revoke"):
        result = tool.delete()
    assert result.revoked is False
    assert result.revocation_error is not None
    assert "refresh_token: could not reach 127.0.0.1 (ConnectError)" in result.revocation_error
    assert "access_token: could not reach 127.0.0.1 (ConnectError)" in result.revocation_error
    assert sb.oauth2.revoked == []
    with pytest.raises(NotFoundError):
        ModelFactory.get(tool.id)
    assert row_counts(engine)["connections"] == 0


def test_a_refused_revocation_is_reported(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    tool = authorize(integ, OAUTH2, port=sb.port)
    integ.set_oauth_app(client_id=CLIENT_ID, client_secret="another-secret-the-provider-does-not-know")
    with pytest.warns(UserWarning, match="did not revoke its tokens: refresh_token: the provider answered 401"):
        result = tool.delete()
    assert result.revoked is False
    assert result.revocation_error == (
        "refresh_token: the provider answered 401; access_token: the provider answered 401"
    )
    assert row_counts(engine)["connections"] == 0


def test_deleting_a_pending_connection_has_nothing_to_revoke(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    tool = tool_of(connect(integ, OAUTH2, port=sb.port).data["id"])
    result = tool.delete()
    assert result.revoked is False and result.revocation_error is None
    assert not any(r.path == "/oauth2/revoke" for r in sb.received)
    assert row_counts(engine) == {"connections": 0, "credentials": 1, "oauth_states": 0}  # the state went too


def test_deleting_an_oauth1_connection_has_nothing_to_revoke(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    tool = authorize(integ, AuthenticationSchema.OAUTH1, port=sb.port)
    result = tool.delete()
    assert result.revoked is False and result.revocation_error is None
    assert row_counts(engine)["connections"] == 0

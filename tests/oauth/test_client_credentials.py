"""The client credentials grant (sandbox-m2m): no consent, a token fetched at once and re-fetched."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from plughub.engine import Engine
from plughub.enums import AuthenticationSchema, ConnectionStatus, ResponseStatus
from plughub.exceptions import MissingInputs
from plughub.factories import IntegrationFactory
from plughub.modules.model.connection import ConnectionTool
from plughub.sandbox import SandboxServer
from tests.oauth.conftest import M2M_CLIENT_ID, M2M_SECRET, expire_stored_token, row_counts, tool_of

OAUTH2 = AuthenticationSchema.OAUTH2


@pytest.fixture
def m2m(backend: object, sb: SandboxServer, callback_url: str) -> SandboxServer:
    sb.register_oauth_client(M2M_CLIENT_ID, M2M_SECRET, callback_url, token_endpoint_auth_method="client_secret_post")
    return sb


def _connect(sb: SandboxServer, secret: str = M2M_SECRET) -> ConnectionTool:
    response = IntegrationFactory.get("sandbox-m2m").connect(
        OAUTH2, data={"client_id": M2M_CLIENT_ID, "client_secret": secret, "port": sb.port}
    )  # no UserWarning: there is nothing to visit (filterwarnings=error would fail here)
    assert response.status is ResponseStatus.SUCCESS
    assert response.data["status"] == "active" and "redirectURL" not in response.data
    return tool_of(response.data["id"])


def _whoami(tool: ConnectionTool) -> None:
    response = tool.run("WHOAMI")
    assert response.status is ResponseStatus.SUCCESS, response.error_message
    assert response.data == {"scheme": "OAUTH2", "user": "demo"}


def test_connect_fetches_a_token_at_once(engine: Engine, m2m: SandboxServer) -> None:
    tool = _connect(m2m)
    assert tool.status is ConnectionStatus.ACTIVE
    _whoami(tool)
    assert m2m.oauth2.token_requests == {"client_credentials": 1}
    request = next(r for r in m2m.received if r.path == "/oauth2/token")
    form = dict(parse_qsl(request.body.decode()))
    assert form == {
        "grant_type": "client_credentials",
        "scope": "notes:read",
        "client_id": M2M_CLIENT_ID,
        "client_secret": M2M_SECRET,
    }  # token_request_auth_method: post
    assert "Authorization" not in request.headers
    info = tool.connection
    assert info.credentials["client_id"] == M2M_CLIENT_ID
    assert info.credentials["client_secret"] == "***" + M2M_SECRET[-4:]
    assert info.scopes == ["notes:read"]
    assert row_counts(engine) == {"connections": 1, "credentials": 1, "oauth_states": 0}  # no app, no state


def test_a_refused_secret_stores_nothing(engine: Engine, m2m: SandboxServer) -> None:
    with pytest.raises(ValueError, match=r"refused these client credentials: .*invalid_client.*nothing was stored"):
        _connect(m2m, secret="wrong-secret-0123456789abcdef")
    assert row_counts(engine) == {"connections": 0, "credentials": 0, "oauth_states": 0}
    assert engine.connections.list().total == 0


def test_client_id_and_secret_are_required(engine: Engine, m2m: SandboxServer) -> None:
    with pytest.raises(MissingInputs, match=r"Parameter 'client_secret' is required"):
        IntegrationFactory.get("sandbox-m2m").connect(OAUTH2, data={"client_id": M2M_CLIENT_ID, "port": m2m.port})
    assert m2m.received == [] and row_counts(engine)["connections"] == 0


def test_an_unreachable_token_endpoint_stores_nothing(engine: Engine, m2m: SandboxServer, closed_port: int) -> None:
    with pytest.raises(ValueError, match=r"refused these client credentials: could not reach the token endpoint"):
        IntegrationFactory.get("sandbox-m2m").connect(
            OAUTH2, data={"client_id": M2M_CLIENT_ID, "client_secret": M2M_SECRET, "port": closed_port}
        )
    assert row_counts(engine)["connections"] == 0


def test_a_rejected_token_is_fetched_again(engine: Engine, m2m: SandboxServer) -> None:
    tool = _connect(m2m)
    _whoami(tool)
    m2m.oauth2.revoke_all_access_tokens()
    _whoami(tool)
    assert m2m.oauth2.token_requests == {"client_credentials": 2}
    expire_stored_token(engine, tool.id)
    _whoami(tool)
    assert m2m.oauth2.token_requests == {"client_credentials": 3}
    assert "refresh_token" not in m2m.oauth2.token_requests


def test_there_is_no_consent_to_renew(engine: Engine, m2m: SandboxServer) -> None:
    tool = _connect(m2m)
    with pytest.raises(ValueError, match=r"has no consent to renew; delete it and connect again"):
        tool.reconnect()


def test_delete_revokes_with_the_connections_own_client(engine: Engine, m2m: SandboxServer) -> None:
    tool = _connect(m2m)
    token = engine.credentials.read(tool.id)["access_token"]
    result = tool.delete()
    assert result.revoked is True and result.revocation_error is None
    assert m2m.oauth2.revoked == [token]
    assert m2m.oauth2.validate_bearer(token) is None
    assert row_counts(engine) == {"connections": 0, "credentials": 0, "oauth_states": 0}

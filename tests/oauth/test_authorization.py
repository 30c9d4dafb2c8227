"""The OAuth 2.0 authorization code flow: consent URL, PKCE, state, issuer, denial, completion."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

import plughub
from plughub.engine import Engine
from plughub.engine.oauth import flows
from plughub.enums import AuthenticationSchema, ConnectionStatus, ResponseStatus
from plughub.exceptions import ConnectionStateError, OAuthProviderError, OAuthStateError
from plughub.modules.model.integration import Integration
from plughub.sandbox import SandboxServer
from tests.oauth.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    approve,
    callback_params,
    connect,
    consent,
    create_copy,
    home_bytes,
    row_counts,
    tool_of,
    with_params,
)

OAUTH2 = AuthenticationSchema.OAUTH2
URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# The consent URL


def test_the_consent_url_asks_for_a_code_with_pkce_state_and_the_callback(
    engine: Engine, integ: Integration, sb: SandboxServer, callback_url: str, home: Path
) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    assert response.status is ResponseStatus.SUCCESS
    assert response.data["status"] == "pending"
    url = response.data["redirectURL"]
    assert url.startswith(f"{sb.url}/oauth2/authorize?")
    query = _query(url)
    assert set(query) == {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    }
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == callback_url
    assert query["scope"] == "notes:read notes:write"  # the definition's default_scopes
    state = query["state"]
    assert URLSAFE.match(state) and len(state) >= 43  # secrets.token_urlsafe(32): 256 bits
    assert query["code_challenge_method"] == "S256"
    assert URLSAFE.match(query["code_challenge"]) and len(query["code_challenge"]) == 43  # base64url(SHA-256)

    tool = tool_of(response.data["id"])
    assert tool.status is ConnectionStatus.PENDING
    assert tool.connection.credentials == {}
    # Only the state's hash is stored.
    assert state.encode() not in home_bytes(home)
    assert row_counts(engine) == {"connections": 1, "credentials": 2, "oauth_states": 1}  # app + sealed verifier
    with engine.store.db.sql_engine.connect() as db:
        stored = db.exec_driver_sql("SELECT state_hash, connection_id, kind FROM oauth_states").one()
    assert tuple(stored) == (hashlib.sha256(state.encode()).hexdigest(), response.data["id"], "oauth2")


def test_each_consent_gets_its_own_state_and_verifier(integ: Integration, sb: SandboxServer) -> None:
    first = _query(connect(integ, OAUTH2, port=sb.port).data["redirectURL"])
    second = _query(connect(integ, OAUTH2, port=sb.port).data["redirectURL"])
    assert first["state"] != second["state"]
    assert first["code_challenge"] != second["code_challenge"]


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [(["notes:read"], "notes:read"), ("notes:write, notes:read", "notes:write notes:read")],
)
def test_custom_scopes_are_asked_for_and_granted(
    integ: Integration, sb: SandboxServer, scopes: object, expected: str
) -> None:
    response = connect(integ, OAUTH2, port=sb.port, scopes=scopes)
    assert _query(response.data["redirectURL"])["scope"] == expected
    tool = plughub.complete_authorization(approve(response.data["redirectURL"]))
    assert tool.connection.scopes == expected.split()


def test_the_apps_scopes_are_the_default(integ: Integration, sb: SandboxServer) -> None:
    integ.set_oauth_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scopes=["x:y"])
    assert _query(connect(integ, OAUTH2, port=sb.port).data["redirectURL"])["scope"] == "x:y"


# The whole flow


def test_the_full_flow_activates_the_same_connection_and_runs_actions(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    pending = tool_of(response.data["id"])
    with pytest.raises(ConnectionStateError, match=r"is pending; it must be active to run actions"):
        pending.run("SANDBOX_WHOAMI")

    location = approve(response.data["redirectURL"])
    params = callback_params(location)
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == _query(response.data["redirectURL"])["state"]
    assert params["iss"] == sb.url
    tool = plughub.complete_authorization(location)
    assert tool.id == response.data["id"]
    assert tool.status is ConnectionStatus.ACTIVE
    assert pending.status is ConnectionStatus.ACTIVE
    assert tool.wait_until_active(timeout=0) is tool  # no waiting once active

    info = tool.connection
    assert info.scheme is OAUTH2 and info.error is None
    assert set(info.credentials) == {"access_token", "refresh_token"}
    assert all(v.startswith("***") for v in info.credentials.values())
    assert info.scopes == ["notes:read", "notes:write"] and info.expires_at is not None

    assert tool.run("SANDBOX_WHOAMI", {}).data == {"scheme": "OAUTH2", "user": "demo"}
    created = tool.run("SANDBOX_CREATE_NOTE", {"text": "from oauth2", "tags": ["t"]})
    assert created.status is ResponseStatus.SUCCESS and created.data["created_by"] == "OAUTH2"
    listed = tool.run("SANDBOX_LIST_NOTES", {"limit": 5})
    assert [n["text"] for n in listed.data["notes"]] == ["from oauth2"]
    found = tool.run("SANDBOX_SEARCH_NOTES", {"q": "OAUTH2"})
    assert found.data["total"] == 1 and found.data["scheme"] == "OAUTH2"
    assert sb.oauth2.token_requests == {"authorization_code": 1}
    # The exchange sent the PKCE verifier and the same redirect URI, with Basic client auth.
    exchange = next(r for r in sb.received if r.path == "/oauth2/token")
    form = dict(parse_qsl(exchange.body.decode()))
    assert set(form) == {"grant_type", "code", "redirect_uri", "code_verifier"}
    assert exchange.headers["Authorization"].startswith("Basic ")
    # The used state and its sealed verifier are spent.
    assert row_counts(engine) == {"connections": 1, "credentials": 2, "oauth_states": 1}


def test_callback_parameters_as_a_mapping(integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    tool = plughub.complete_authorization(callback_params(approve(response.data["redirectURL"])))
    assert tool.id == response.data["id"] and tool.status is ConnectionStatus.ACTIVE


def test_wait_until_active_times_out_while_pending(integ: Integration, sb: SandboxServer) -> None:
    tool = tool_of(connect(integ, OAUTH2, port=sb.port).data["id"])
    with pytest.raises(TimeoutError, match=rf"connection {tool.id} is still pending after 0.2 s"):
        tool.wait_until_active(timeout=0.2, poll_interval=0.05)


def test_wait_until_active_returns_when_consent_arrives(integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    tool = tool_of(response.data["id"])
    location = approve(response.data["redirectURL"])
    outcome: dict[str, object] = {}

    def complete() -> None:
        try:
            outcome["tool"] = plughub.complete_authorization(location)
        except Exception as exc:  # pragma: no cover - reported below
            outcome["error"] = exc

    timer = threading.Timer(0.3, complete)
    timer.start()
    try:
        assert tool.wait_until_active(timeout=20, poll_interval=0.05) is tool
    finally:
        timer.join()
    assert "error" not in outcome


def test_wait_until_active_raises_on_a_failed_connection(integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    with pytest.raises(OAuthProviderError):
        plughub.complete_authorization(approve(response.data["redirectURL"], "deny"))
    tool = tool_of(response.data["id"])
    with pytest.raises(ConnectionStateError, match=rf"connection {tool.id} is failed: .*access_denied"):
        tool.wait_until_active(timeout=5, poll_interval=0.05)


# PKCE


def test_pkce_is_enforced_by_the_provider(engine: Engine, backend: object, sb: SandboxServer) -> None:
    copy = create_copy("sandbox-nopkce", oauth2={"pkce": False})
    response = connect(copy, OAUTH2, port=sb.port)
    query = _query(response.data["redirectURL"])
    assert "code_challenge" not in query and "code_challenge_method" not in query
    answer = consent(response.data["redirectURL"])  # the provider redirects at once with an error
    assert answer.status_code == 302
    params = callback_params(answer.headers["location"])
    assert params["error"] == "invalid_request" and params["state"] == query["state"]
    with pytest.raises(OAuthProviderError, match=r"answered invalid_request: .*code_challenge") as caught:
        plughub.complete_authorization(answer.headers["location"])
    assert caught.value.details["error"] == "invalid_request"
    info = engine.connections.get(response.data["id"])
    assert info.status is ConnectionStatus.FAILED
    assert info.error is not None and "invalid_request" in info.error and "code_challenge" in info.error
    assert "authorization_code" not in sb.oauth2.token_requests


# State


def test_an_unknown_state_is_refused_and_the_real_one_still_works(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    location = approve(response.data["redirectURL"])
    tampered = with_params(location, state=callback_params(location)["state"][:-2] + "xx")
    with pytest.raises(OAuthStateError, match=r"unknown state: this authorization was not started by this plughub"):
        plughub.complete_authorization(tampered)
    assert engine.connections.get(response.data["id"]).status is ConnectionStatus.PENDING
    assert "authorization_code" not in sb.oauth2.token_requests
    assert plughub.complete_authorization(location).status is ConnectionStatus.ACTIVE


def test_a_missing_state_is_refused(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    location = approve(response.data["redirectURL"])
    with pytest.raises(OAuthStateError, match=r"the callback has no state parameter"):
        plughub.complete_authorization(with_params(location, drop=("state",)))
    with pytest.raises(OAuthStateError, match=r"the callback has no state parameter"):
        plughub.complete_authorization(with_params(location, state=""))
    assert engine.connections.get(response.data["id"]).status is ConnectionStatus.PENDING


def test_an_expired_state_fails_the_connection(
    engine: Engine, integ: Integration, sb: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flows, "STATE_TTL", timedelta(seconds=-1))
    response = connect(integ, OAUTH2, port=sb.port)
    location = approve(response.data["redirectURL"])
    with pytest.raises(OAuthStateError, match=rf"the authorization of connection {response.data['id']} expired"):
        plughub.complete_authorization(location)
    info = engine.connections.get(response.data["id"])
    assert info.status is ConnectionStatus.FAILED
    assert info.error is not None and "expired" in info.error and "reconnect the connection" in info.error
    assert "authorization_code" not in sb.oauth2.token_requests  # the code was never exchanged


def test_a_replayed_callback_is_refused_and_the_connection_stays_active(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    location = approve(response.data["redirectURL"])
    tool = plughub.complete_authorization(location)
    with pytest.raises(OAuthStateError, match=rf"authorization of connection {tool.id} was already completed"):
        plughub.complete_authorization(location)
    assert tool.status is ConnectionStatus.ACTIVE
    assert tool.connection.error is None
    assert tool.run("SANDBOX_WHOAMI").data["scheme"] == "OAUTH2"
    assert sb.oauth2.token_requests == {"authorization_code": 1}


# The provider's answer


def test_denied_consent_fails_the_connection(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    location = approve(response.data["redirectURL"], "deny")
    assert callback_params(location)["error"] == "access_denied"
    with pytest.raises(OAuthProviderError, match=r"plughub Sandbox answered access_denied") as caught:
        plughub.complete_authorization(location)
    assert caught.value.details["error"] == "access_denied"
    info = engine.connections.get(response.data["id"])
    assert info.status is ConnectionStatus.FAILED
    assert info.error is not None and "access_denied" in info.error
    assert info.credentials == {}
    assert "authorization_code" not in sb.oauth2.token_requests


def test_an_issuer_mismatch_is_refused(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    sb.oauth2.issuer = "https://evil.example"
    location = approve(response.data["redirectURL"])
    assert callback_params(location)["iss"] == "https://evil.example"
    with pytest.raises(OAuthProviderError, match=r"issuer 'https://evil.example' is not .*RFC 9207") as caught:
        plughub.complete_authorization(location)
    assert caught.value.details["error"] == "issuer_mismatch"
    info = engine.connections.get(response.data["id"])
    assert info.status is ConnectionStatus.FAILED
    assert info.error is not None and "issuer" in info.error
    assert "authorization_code" not in sb.oauth2.token_requests  # the code was not sent to anyone


def test_a_callback_without_iss_is_accepted(integ: Integration, sb: SandboxServer) -> None:
    # A provider that does not implement RFC 9207 sends no iss at all.
    response = connect(integ, OAUTH2, port=sb.port)
    tool = plughub.complete_authorization(with_params(approve(response.data["redirectURL"]), drop=("iss",)))
    assert tool.run("SANDBOX_WHOAMI").data["scheme"] == "OAUTH2"


def test_a_callback_without_code_or_error_fails(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    location = approve(response.data["redirectURL"])
    with pytest.raises(OAuthProviderError, match="neither a code nor an error"):
        plughub.complete_authorization(with_params(location, drop=("code",)))
    assert engine.connections.get(response.data["id"]).status is ConnectionStatus.FAILED


def test_a_forged_code_fails_at_the_token_endpoint(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    location = approve(response.data["redirectURL"])
    with pytest.raises(OAuthProviderError, match=r"the token endpoint answered invalid_grant"):
        plughub.complete_authorization(with_params(location, code="forged-code-value"))
    info = engine.connections.get(response.data["id"])
    assert info.status is ConnectionStatus.FAILED and "invalid_grant" in (info.error or "")


def test_a_failed_reconsent_leaves_an_active_connection_working(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    response = connect(integ, OAUTH2, port=sb.port)
    tool = plughub.complete_authorization(approve(response.data["redirectURL"]))
    with pytest.warns(UserWarning, match="visit the following URL"):
        again = tool.reconnect(["notes:read"])
    assert again.data["id"] == tool.id and again.data["status"] == "active"
    assert _query(again.data["redirectURL"])["scope"] == "notes:read"
    with pytest.raises(OAuthProviderError, match="access_denied"):
        plughub.complete_authorization(approve(again.data["redirectURL"], "deny"))
    assert tool.status is ConnectionStatus.ACTIVE
    assert tool.run("SANDBOX_WHOAMI").data["scheme"] == "OAUTH2"

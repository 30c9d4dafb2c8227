"""OAuth 1.0a (RFC 5849): request token, consent, access token; signed GET, form POST and JSON POST."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import plughub
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema, ConnectionStatus, ResponseStatus
from plughub.exceptions import OAuthProviderError, OAuthStateError
from plughub.modules.model.connection import ConnectionTool
from plughub.modules.model.integration import Integration
from plughub.sandbox import SandboxServer
from tests.oauth.conftest import (
    CLIENT_ID,
    approve,
    authorize,
    callback_params,
    connect,
    create_copy,
    home_bytes,
    row_counts,
    with_params,
)

OAUTH1 = AuthenticationSchema.OAUTH1


def _signature_method(sb: SandboxServer, path: str) -> str:
    request = [r for r in sb.received if r.path == path][-1]
    header = request.headers["Authorization"]
    assert header.startswith("OAuth ")
    return header.split('oauth_signature_method="', 1)[1].split('"', 1)[0]


def _exercise(tool: ConnectionTool, sb: SandboxServer) -> None:
    """Every request shape, each accepted by the provider's signature check."""
    assert tool.run("WHOAMI").data == {"scheme": "OAUTH1", "user": "demo"}
    created = tool.run("CREATE_NOTE", {"text": "signed with oauth1", "tags": ["a b", "ü"]})  # JSON body
    assert created.status is ResponseStatus.SUCCESS, created.error_message
    assert created.data["created_by"] == "OAUTH1"
    listed = tool.run("LIST_NOTES", {"limit": 7})  # GET with a query in the signature base string
    assert listed.status is ResponseStatus.SUCCESS, listed.error_message
    assert [n["text"] for n in listed.data["notes"]] == ["signed with oauth1"]
    assert [r.query for r in sb.received if r.path == "/notes" and r.method == "GET"][-1] == {"limit": "7"}
    found = tool.run("SEARCH_NOTES", {"q": "with oauth1 & more"})  # form POST: its body is signed too
    assert found.status is ResponseStatus.SUCCESS, found.error_message
    assert found.data["scheme"] == "OAUTH1" and found.data["total"] == 0
    found = tool.run("SEARCH_NOTES", {"q": "WITH OAUTH1"})
    assert found.data == {"notes": [created.data], "total": 1, "scheme": "OAUTH1"}
    search = [r for r in sb.received if r.path == "/notes/search"][-1]
    assert search.headers["Content-Type"].startswith("application/x-www-form-urlencoded")


def test_the_full_flow(engine: Engine, integ: Integration, sb: SandboxServer, callback_url: str) -> None:
    response = connect(integ, OAUTH1, port=sb.port)
    assert response.data["status"] == "pending"
    url = response.data["redirectURL"]
    assert url.startswith(f"{sb.url}/oauth1/authorize?")
    assert set(dict(parse_qsl(urlsplit(url).query))) == {"oauth_token"}
    assert row_counts(engine) == {"connections": 1, "credentials": 2, "oauth_states": 1}

    location = approve(url)
    assert location.startswith(callback_url + "?")
    params = callback_params(location)
    assert set(params) == {"state", "oauth_token", "oauth_verifier"}
    assert params["oauth_token"] == dict(parse_qsl(urlsplit(url).query))["oauth_token"]
    tool = plughub.complete_authorization(location)
    assert tool.id == response.data["id"] and tool.status is ConnectionStatus.ACTIVE
    assert set(tool.connection.credentials) == {"oauth_token", "oauth_token_secret"}
    assert all(v.startswith("***") for v in tool.connection.credentials.values())
    assert sb.oauth1.token_requests == 1
    _exercise(tool, sb)
    assert _signature_method(sb, "/whoami") == "HMAC-SHA1"


def test_plaintext_signatures(engine: Engine, backend: object, sb: SandboxServer) -> None:
    copy = create_copy("sandbox-plaintext", oauth1={"signature_method": "PLAINTEXT"})
    tool = authorize(copy, OAUTH1, port=sb.port)
    _exercise(tool, sb)
    assert _signature_method(sb, "/notes/search") == "PLAINTEXT"


def test_rsa_sha1_signatures(engine: Engine, backend: object, sb: SandboxServer, callback_url: str, home: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    sb.oauth1.register_client("rsa-client", "not-used-for-rsa", callback_url, rsa_public_key=public_pem)
    copy = create_copy(
        "sandbox-rsa", client_id="rsa-client", client_secret=private_pem, oauth1={"signature_method": "RSA-SHA1"}
    )
    info = copy.get_oauth_app()
    assert "PRIVATE KEY" not in info.client_secret and info.client_secret.startswith("***")
    tool = authorize(copy, OAUTH1, port=sb.port)
    _exercise(tool, sb)
    assert _signature_method(sb, "/notes/search") == "RSA-SHA1"
    body = private_pem.split("-----")[2].strip().splitlines()[3]  # a line of the key's base64
    assert body.encode() not in home_bytes(home)


def test_rsa_sha1_with_the_wrong_key_is_refused_and_nothing_is_stored(
    engine: Engine, backend: object, sb: SandboxServer, callback_url: str
) -> None:
    registered = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    sb.oauth1.register_client(
        "rsa-client",
        "not-used-for-rsa",
        callback_url,
        rsa_public_key=registered.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
    )
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    copy = create_copy(
        "sandbox-rsa", client_id="rsa-client", client_secret=other_pem, oauth1={"signature_method": "RSA-SHA1"}
    )
    with pytest.raises(OAuthProviderError, match=r"the request token step answered invalid_signature"):
        copy.connect(OAUTH1, data={"port": sb.port})
    assert row_counts(engine) == {"connections": 0, "credentials": 1, "oauth_states": 0}


def test_a_wrong_consumer_secret_is_refused_at_the_request_token_step(
    engine: Engine, integ: Integration, sb: SandboxServer
) -> None:
    integ.set_oauth_app(client_id=CLIENT_ID, client_secret="not-the-consumer-secret-at-all")
    with pytest.raises(OAuthProviderError, match=r"the request token step answered invalid_signature"):
        integ.connect(OAUTH1, data={"port": sb.port})
    assert row_counts(engine) == {"connections": 0, "credentials": 1, "oauth_states": 0}


def test_denied_consent_fails_the_connection(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH1, port=sb.port)
    location = approve(response.data["redirectURL"], "deny")
    assert "denied" in callback_params(location)
    with pytest.raises(OAuthProviderError, match=r"plughub Sandbox answered access_denied") as caught:
        plughub.complete_authorization(location)
    assert caught.value.details["error"] == "access_denied"
    info = engine.connections.get(response.data["id"])
    assert info.status is ConnectionStatus.FAILED
    assert info.error is not None and "access_denied" in info.error
    assert sb.oauth1.token_requests == 0


def test_a_mismatched_oauth_token_fails_the_connection(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH1, port=sb.port)
    location = approve(response.data["redirectURL"])
    with pytest.raises(OAuthProviderError, match=r"oauth_token or oauth_verifier is missing or does not match"):
        plughub.complete_authorization(with_params(location, oauth_token="some-other-request-token"))
    assert engine.connections.get(response.data["id"]).status is ConnectionStatus.FAILED
    assert sb.oauth1.token_requests == 0


def test_a_forged_verifier_is_refused_by_the_provider(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH1, port=sb.port)
    location = approve(response.data["redirectURL"])
    with pytest.raises(OAuthProviderError, match=r"the access token step answered"):
        plughub.complete_authorization(with_params(location, oauth_verifier="forged-verifier"))
    assert engine.connections.get(response.data["id"]).status is ConnectionStatus.FAILED
    assert sb.oauth1.token_requests == 1


def test_state_rules_hold_for_oauth1(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    response = connect(integ, OAUTH1, port=sb.port)
    location = approve(response.data["redirectURL"])
    with pytest.raises(OAuthStateError, match="unknown state"):
        plughub.complete_authorization(with_params(location, state="A" * 43))
    tool = plughub.complete_authorization(location)
    with pytest.raises(OAuthStateError, match="already completed"):
        plughub.complete_authorization(location)
    assert tool.status is ConnectionStatus.ACTIVE
    assert sb.oauth1.token_requests == 1


def test_reconnect_gets_new_token_credentials(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    tool = authorize(integ, OAUTH1, port=sb.port)
    before = engine.credentials.read(tool.id)
    with pytest.warns(UserWarning, match="visit the following URL"):
        again = tool.reconnect()
    assert again.data["id"] == tool.id and again.data["redirectURL"].startswith(f"{sb.url}/oauth1/authorize?")
    plughub.complete_authorization(approve(again.data["redirectURL"]))
    after = engine.credentials.read(tool.id)
    assert after["oauth_token"] != before["oauth_token"]
    assert tool.run("WHOAMI").data["scheme"] == "OAUTH1"

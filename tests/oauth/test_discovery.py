"""The MCP authorization spec's discovery rules, as pure functions: where to look, what to accept."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from plughub.engine.oauth.discovered import DiscoveredOAuth, discovered_in
from plughub.engine.oauth.discovery import (
    check_resource_metadata,
    check_server_metadata,
    check_url,
    is_loopback_host,
    parse_challenges,
    resource_metadata_urls,
    same_url,
    server_metadata_urls,
)
from plughub.engine.oauth.oauth2 import code_exchange_request
from plughub.engine.oauth.registration import choose_auth_method, parse_registration, registration_request
from plughub.exceptions import OAuthProviderError

SERVER = "https://mcp.example/v1/mcp"
ISSUER = "https://auth.example"
METADATA: dict[str, Any] = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/authorize",
    "token_endpoint": f"{ISSUER}/token",
    "registration_endpoint": f"{ISSUER}/register",
    "response_types_supported": ["code"],
    "code_challenge_methods_supported": ["S256"],
}


def _never_http(host: str) -> bool:
    return False


def test_challenges_are_read_with_quoted_and_bare_values() -> None:
    header = (
        'Basic realm="x", Bearer error="invalid_token", error_description="say \\"hi\\", then go", '
        'resource_metadata=https://mcp.example/.well-known/oauth-protected-resource/v1/mcp, scope="a b"'
    )
    assert parse_challenges(header) == {
        "basic": {"realm": "x"},
        "bearer": {
            "error": "invalid_token",
            "error_description": 'say "hi", then go',
            "resource_metadata": "https://mcp.example/.well-known/oauth-protected-resource/v1/mcp",
            "scope": "a b",
        },
    }
    assert parse_challenges("Bearer") == {"bearer": {}}
    assert parse_challenges("") == {}


def test_where_metadata_is_looked_for_follows_the_spec_order() -> None:
    named = "https://mcp.example/meta"
    assert resource_metadata_urls(SERVER, named) == [
        named,
        "https://mcp.example/.well-known/oauth-protected-resource/v1/mcp",
        "https://mcp.example/.well-known/oauth-protected-resource",
    ]
    assert resource_metadata_urls("https://mcp.example/", None) == [
        "https://mcp.example/.well-known/oauth-protected-resource"
    ]
    assert server_metadata_urls("https://auth.example/tenant1") == [
        "https://auth.example/.well-known/oauth-authorization-server/tenant1",
        "https://auth.example/.well-known/openid-configuration/tenant1",
        "https://auth.example/tenant1/.well-known/openid-configuration",
    ]
    assert server_metadata_urls("https://auth.example/") == [
        "https://auth.example/.well-known/oauth-authorization-server",
        "https://auth.example/.well-known/openid-configuration",
    ]


@pytest.mark.parametrize(
    "resource",
    [SERVER, "https://mcp.example/v1", "https://mcp.example", "https://MCP.example/v1/", "https://mcp.example:443/v1"],
)
def test_the_resource_is_the_endpoint_or_a_parent_of_it(resource: str) -> None:
    found = check_resource_metadata(
        {"resource": resource, "authorization_servers": [ISSUER], "scopes_supported": ["a"]}, SERVER, "o"
    )
    assert found.resource == resource and found.authorization_servers == (ISSUER,) and found.scopes == ("a",)


@pytest.mark.parametrize(
    ("document", "refusal"),
    [
        ({"resource": "https://other.example/v1/mcp", "authorization_servers": [ISSUER]}, "another resource"),
        ({"resource": "https://mcp.example/v1/mcp2", "authorization_servers": [ISSUER]}, "another resource"),
        ({"resource": "http://mcp.example/v1/mcp", "authorization_servers": [ISSUER]}, "another resource"),
        ({"resource": "https://mcp.example:8443/v1/mcp", "authorization_servers": [ISSUER]}, "another resource"),
        ({"resource": SERVER, "authorization_servers": []}, "names no authorization server"),
        ({"resource": SERVER}, "names no authorization server"),
        (["not", "an", "object"], "not a JSON object"),
    ],
)
def test_resource_metadata_for_something_else_is_refused(document: Any, refusal: str) -> None:
    with pytest.raises(OAuthProviderError, match=refusal) as refused:
        check_resource_metadata(document, SERVER, "https://mcp.example")
    assert "/v1/mcp" not in refused.value.message, "only the server's origin is shown"


def test_server_metadata_is_checked() -> None:
    found = check_server_metadata(METADATA, ISSUER + "/", _never_http)
    assert found.issuer == ISSUER, "the server's own spelling, which its callbacks' iss carries"
    assert found.token_endpoint == f"{ISSUER}/token" and found.registration_endpoint == f"{ISSUER}/register"
    assert found.token_auth_methods == ("client_secret_basic",)  # RFC 8414's default
    for changes, refusal in [
        ({"issuer": "https://evil.example"}, "names another issuer"),
        ({"issuer": ISSUER + "/tenant"}, "names another issuer"),
        ({"code_challenge_methods_supported": ["plain"]}, "PKCE with S256"),
        ({"code_challenge_methods_supported": None}, "PKCE with S256"),
        ({"response_types_supported": ["token"]}, "does not offer code"),
        ({"token_endpoint": "http://auth.example/token"}, "uses http"),
        ({"authorization_endpoint": None}, "is not an absolute https URL"),
        ({"registration_endpoint": "https://auth.example/${connection_config.x}"}, "is not an absolute https URL"),
    ]:
        with pytest.raises(OAuthProviderError, match=refusal):
            check_server_metadata({**METADATA, **changes}, ISSUER, _never_http)


def test_http_only_where_allowed_and_never_with_a_fragment() -> None:
    assert check_url("http://127.0.0.1:8/t", "t", is_loopback_host) == "http://127.0.0.1:8/t"
    assert is_loopback_host("localhost") and is_loopback_host("::1") and not is_loopback_host("10.0.0.1")
    for url in ("http://127.0.0.1:8/t", "https://a.example/t#f", "ftp://a.example/t", "/t", 42):
        with pytest.raises(OAuthProviderError):
            check_url(url, "t", _never_http)
    assert same_url("https://as", "https://as/") and not same_url("https://as/x", "https://as/x/")


def test_the_discovered_entry_sends_resource_and_pkce_on_every_request() -> None:
    found = DiscoveredOAuth(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        revocation_endpoint=None,
        resource=SERVER,
        scopes=["a"],
        token_auth_method="none",
        client_id="public-client",
    )
    assert discovered_in({"discovered": found.stored()}) == found and discovered_in({}) is None
    assert discovered_in({"discovered": {**found.stored(), "added_later": 1}}) == found
    spec = found.spec()
    assert spec.pkce and spec.issuer == ISSUER and spec.authorization_params == {"resource": SERVER}
    app = found.app()
    assert app is not None and app.client_secret == ""
    request = code_exchange_request(spec, {}, app, code="c", redirect_uri="https://cb", code_verifier="v" * 43)
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form["resource"] == SERVER and form["client_id"] == "public-client" and "client_secret" not in form
    assert "Authorization" not in request.headers  # a public client authenticates with nothing
    assert "public-client" in repr(found) and "client_secret=" not in repr(found)


def test_registration_asks_for_a_confidential_code_client_and_reads_the_answer() -> None:
    assert choose_auth_method(("none", "client_secret_post")) == "client_secret_post"
    with pytest.raises(OAuthProviderError, match="no token endpoint authentication plughub supports"):
        choose_auth_method(("private_key_jwt",))
    request = registration_request(
        "https://auth.example/register", redirect_uri="https://cb", auth_method="none", scopes=["a", "b"]
    )
    sent = httpx.Response(200, content=request.content).json()
    assert (
        sent["redirect_uris"] == ["https://cb"]
        and sent["scope"] == "a b"
        and sent["token_endpoint_auth_method"] == "none"
    )
    assert sent["grant_types"] == ["authorization_code", "refresh_token"]
    client = parse_registration(
        httpx.Response(201, json={"client_id": "c1", "client_secret": "s" * 24, "client_secret_expires_at": 0}),
        "client_secret_basic",
    )
    assert (client.client_id, client.token_auth_method, client.expires_at) == ("c1", "client_secret_basic", None)
    assert "s" * 24 not in repr(client)
    refused = httpx.Response(400, json={"error": "invalid_redirect_uri", "error_description": "no"})
    with pytest.raises(OAuthProviderError, match="refused to register plughub as a client: invalid_redirect_uri: no"):
        parse_registration(refused, "client_secret_basic")
    with pytest.raises(OAuthProviderError, match="without a client_secret"):
        parse_registration(httpx.Response(201, json={"client_id": "c1"}), "client_secret_basic")

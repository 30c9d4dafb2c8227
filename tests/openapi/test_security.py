"""Security schemes -> auth entries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.openapi.docs import oas3, only_action, op, run, swagger2

PING = {"/ping": {"get": op(operationId="ping")}}


def auth_of(schemes: dict[str, Any], **extra: Any) -> tuple[list[dict[str, Any]], list[str]]:
    result = run(oas3(PING, components={"securitySchemes": schemes}, **extra))
    return result.definition["auth"], result.warnings


@pytest.mark.parametrize(
    ("scheme", "entry"),
    [
        ({"type": "apiKey", "in": "header", "name": "X-Api-Key"}, {"header": "X-Api-Key"}),
        ({"type": "apiKey", "in": "query", "name": "appid"}, {"query": "appid"}),
        ({"type": "apiKey", "in": "cookie", "name": "session"}, {"cookie": "session"}),
    ],
)
def test_api_key_in_header_query_or_cookie(scheme: dict[str, Any], entry: dict[str, str]) -> None:
    auth, _warnings = auth_of({"key": scheme})
    assert len(auth) == 1
    assert auth[0]["mode"] == "API_KEY"
    assert auth[0]["apply"] == entry
    assert auth[0]["credentials"]["api_key"]["secret"] is True


def test_http_bearer_and_basic() -> None:
    auth, _warnings = auth_of({"b": {"type": "http", "scheme": "bearer"}, "c": {"type": "http", "scheme": "Basic"}})
    assert auth == [{"mode": "BEARER_TOKEN"}, {"mode": "BASIC"}]


def test_unsupported_http_scheme_is_left_out_with_a_warning() -> None:
    auth, warnings = auth_of({"d": {"type": "http", "scheme": "digest"}})
    assert auth == [{"mode": "NO_AUTH"}]
    assert any("'d'" in w and "digest" in w for w in warnings)


def test_oauth2_authorization_code_with_scopes() -> None:
    flows = {
        "authorizationCode": {
            "authorizationUrl": "https://auth.example.com/authorize",
            "tokenUrl": "https://auth.example.com/token",
            "scopes": {"read": "Read", "write": "Write"},
        }
    }
    auth, _warnings = auth_of({"oauth": {"type": "oauth2", "flows": flows}})
    assert auth == [
        {
            "mode": "OAUTH2",
            "authorization_url": "https://auth.example.com/authorize",
            "token_url": "https://auth.example.com/token",
            "default_scopes": ["read", "write"],
        }
    ]


def test_oauth2_client_credentials_with_a_relative_token_url() -> None:
    flows = {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}}
    auth, _warnings = auth_of({"cc": {"type": "oauth2", "flows": flows}})
    assert auth == [
        {"mode": "OAUTH2", "grant_type": "client_credentials", "token_url": "https://api.example.com/oauth/token"}
    ]


def test_implicit_and_password_flows_are_skipped_with_warnings() -> None:
    flows = {
        "implicit": {"authorizationUrl": "https://a.example.com/authorize", "scopes": {}},
        "password": {"tokenUrl": "https://a.example.com/token", "scopes": {}},
    }
    auth, warnings = auth_of({"legacy": {"type": "oauth2", "flows": flows}})
    assert auth == [{"mode": "NO_AUTH"}]
    assert any("implicit flow is not supported" in w for w in warnings)
    assert any("password flow is not supported" in w for w in warnings)


def test_authorization_code_wins_over_client_credentials_in_one_scheme() -> None:
    flows = {
        "clientCredentials": {"tokenUrl": "https://a.example.com/token", "scopes": {}},
        "authorizationCode": {
            "authorizationUrl": "https://a.example.com/authorize",
            "tokenUrl": "https://a.example.com/token",
            "scopes": {},
        },
    }
    auth, warnings = auth_of({"o": {"type": "oauth2", "flows": flows}})
    assert [a.get("grant_type", "authorization_code") for a in auth] == ["authorization_code"]
    assert any("clientCredentials flow is left out" in w for w in warnings)


def test_open_id_connect_reads_the_discovery_document() -> None:
    seen: list[str] = []

    def fetch(url: str) -> bytes:
        seen.append(url)
        return json.dumps(
            {
                "issuer": "https://id.example.com",
                "authorization_endpoint": "https://id.example.com/auth",
                "token_endpoint": "https://id.example.com/token",
                "scopes_supported": ["openid", "email"],
            }
        ).encode()

    doc = oas3(
        PING,
        components={
            "securitySchemes": {
                "oidc": {
                    "type": "openIdConnect",
                    "openIdConnectUrl": "https://id.example.com/.well-known/openid-configuration",
                }
            }
        },
    )
    result = run(doc, fetch=fetch)
    assert seen == ["https://id.example.com/.well-known/openid-configuration"]
    assert result.definition["auth"] == [
        {
            "mode": "OAUTH2",
            "token_url": "https://id.example.com/token",
            "authorization_url": "https://id.example.com/auth",
            "default_scopes": ["openid", "email"],
            "issuer": "https://id.example.com",
        }
    ]


def test_open_id_connect_without_discovery_is_a_warning() -> None:
    doc = oas3(
        PING,
        components={
            "securitySchemes": {"oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://id.example.com/x"}}
        },
    )
    result = run(doc)  # the fetch fails
    assert result.definition["auth"] == [{"mode": "NO_AUTH"}]
    assert any("'oidc'" in w and "discovery" in w for w in result.warnings)


def test_no_security_at_all_is_no_auth() -> None:
    auth, warnings = auth_of({})
    assert auth == [{"mode": "NO_AUTH"}]
    assert warnings == []


def test_api_keys_required_together_are_merged_into_one_entry() -> None:
    schemes = {
        "clientId": {"type": "apiKey", "in": "header", "name": "X-Client-Id"},
        "secret": {"type": "apiKey", "in": "header", "name": "X-Secret"},
    }
    auth, _warnings = auth_of(schemes, security=[{"clientId": [], "secret": []}])
    assert auth == [
        {
            "mode": "API_KEY",
            "credentials": {
                "client_id": {"type": "string", "description": "API key (header X-Client-Id)", "secret": True},
                "secret": {"type": "string", "description": "API key (header X-Secret)", "secret": True},
            },
            "apply": [
                {"header": "X-Client-Id", "format": "${credentials.client_id}"},
                {"header": "X-Secret", "format": "${credentials.secret}"},
            ],
        }
    ]


def test_alternative_schemes_of_one_mode_keep_the_first_and_warn() -> None:
    schemes = {
        "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
        "query": {"type": "apiKey", "in": "query", "name": "key"},
        "bearer": {"type": "http", "scheme": "bearer"},
    }
    auth, warnings = auth_of(schemes, security=[{"cookie": []}, {"query": []}, {"bearer": []}])
    assert [a["mode"] for a in auth] == ["API_KEY", "BEARER_TOKEN"]
    assert auth[0]["apply"] == {"cookie": "session"}
    assert any(w.startswith("security scheme 'query': left out") for w in warnings)


def test_optional_security_adds_no_auth() -> None:
    auth, _warnings = auth_of({"bearer": {"type": "http", "scheme": "bearer"}}, security=[{}, {"bearer": []}])
    assert [a["mode"] for a in auth] == ["BEARER_TOKEN", "NO_AUTH"]


def test_a_public_operation_says_so_in_its_description() -> None:
    paths = {"/status": {"get": op(operationId="status", summary="Status", security=[])}}
    doc = oas3(paths, components={"securitySchemes": {"b": {"type": "http", "scheme": "bearer"}}}, security=[{"b": []}])
    action = only_action(run(doc))
    assert "Public" in action["description"]
    assert "no per-action auth" in action["description"]


def test_an_operation_limited_to_one_of_several_schemes_says_so() -> None:
    schemes = {"b": {"type": "http", "scheme": "bearer"}, "k": {"type": "apiKey", "in": "header", "name": "X-Key"}}
    paths = {"/admin": {"post": op(operationId="admin", security=[{"k": []}])}}
    action = only_action(run(oas3(paths, components={"securitySchemes": schemes})))
    assert "Authentication: API_KEY only." in action["description"]


def test_parameters_the_api_key_fills_are_not_inputs() -> None:
    params = [
        {"name": "key", "in": "query", "schema": {"type": "string"}},
        {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
        {"name": "Accept", "in": "header", "schema": {"type": "string"}},
        {"name": "content-type", "in": "header", "schema": {"type": "string"}},
        {"name": "q", "in": "query", "schema": {"type": "string"}},
    ]
    doc = oas3(
        {"/search": {"get": op(operationId="search", parameters=params)}},
        components={"securitySchemes": {"k": {"type": "apiKey", "in": "query", "name": "key"}}},
    )
    assert list(only_action(run(doc))["inputs"]) == ["q"]


def test_swagger2_security_definitions() -> None:
    definitions = {
        "basic": {"type": "basic"},
        "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
        "oauth": {
            "type": "oauth2",
            "flow": "accessCode",
            "authorizationUrl": "https://a.example.com/authorize",
            "tokenUrl": "https://a.example.com/token",
            "scopes": {"read": "Read"},
        },
        "app": {"type": "oauth2", "flow": "application", "tokenUrl": "https://a.example.com/token", "scopes": {}},
    }
    result = run(swagger2(PING, securityDefinitions=definitions))
    auth = result.definition["auth"]
    assert [a["mode"] for a in auth] == ["BASIC", "API_KEY", "OAUTH2"]
    assert auth[2]["authorization_url"] == "https://a.example.com/authorize"
    assert auth[2]["default_scopes"] == ["read"]
    assert any("security scheme 'app': left out; the definition has one OAUTH2 entry" in w for w in result.warnings)


def test_of_several_api_keys_one_in_a_header_is_preferred_and_the_choice_is_said() -> None:
    # HubSpot's documents list the deprecated `hapikey` query key first.
    schemes = {
        "developer_hapikey": {"type": "apiKey", "in": "query", "name": "hapikey"},
        "private_apps": {"type": "apiKey", "in": "header", "name": "private-app"},
        "private_apps_legacy": {"type": "apiKey", "in": "header", "name": "private-app-legacy"},
    }
    security = [{"developer_hapikey": []}, {"private_apps": []}, {"private_apps_legacy": []}]
    auth, warnings = auth_of(schemes, security=security)
    assert [a["mode"] for a in auth] == ["API_KEY"]
    assert auth[0]["apply"] == {"header": "private-app"}
    assert (
        "security scheme 'developer_hapikey': left out; the definition has one API_KEY entry, taken from "
        "'private_apps' (a key in a header is preferred to one in the query)"
    ) in warnings
    assert (
        "security scheme 'private_apps_legacy': left out; the definition has one API_KEY entry, taken from "
        "'private_apps'"
    ) in warnings


@pytest.mark.parametrize(
    "sigv4",
    [
        {"type": "apiKey", "in": "header", "name": "Authorization", "x-amazon-apigateway-authtype": "awsSigv4"},
        {"type": "apiKey", "in": "header", "name": "Authorization", "x-amazon-apigateway-authtype": "AWS_IAM"},
    ],
)
def test_aws_sigv4_is_unsupported_and_not_an_api_key(sigv4: dict[str, Any]) -> None:
    auth, warnings = auth_of({"sigv4": sigv4})
    assert auth == [{"mode": "NO_AUTH"}]
    assert (
        "security scheme 'sigv4': AWS Signature Version 4 signs every request with the secret key, which plughub "
        "does not support; left out"
    ) in warnings
    both, _warnings = auth_of({"iam": sigv4, "key": {"type": "apiKey", "in": "header", "name": "x-api-key"}})
    assert both == [
        {
            "mode": "API_KEY",
            "credentials": {"api_key": {"type": "string", "description": "API key (header x-api-key)", "secret": True}},
            "apply": {"header": "x-api-key"},
        }
    ]
    definitions = {"sigv4": {k: v for k, v in sigv4.items()}}
    result = run(swagger2(PING, securityDefinitions=definitions))
    assert result.definition["auth"] == [{"mode": "NO_AUTH"}]
    assert any("AWS Signature Version 4" in w for w in result.warnings)

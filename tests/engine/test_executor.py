"""The executor over real sockets: what the upstream receives, retries, failures, redirects."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory, ResponseStatus
from tests.conftest import CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN
from tests.upstream import Reply, Seen, Upstream

# Embedded (the synchronous executor) and through a server (its run route sends asynchronously).
pytestmark = pytest.mark.usefixtures("any_backend")


def _definition(base_url: str, auth: list[dict[str, Any]], actions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "echo-api",
        "display_name": "Echo API",
        "base_url": base_url,
        "auth": auth,
        "actions": actions,
        **extra,
    }


def _connect(definition: dict[str, Any], scheme: AuthenticationSchema, data: dict[str, Any]) -> ConnectionTool:
    integration = IntegrationFactory.create(definition)
    tool = ModelFactory.get(integration.connect(scheme, data=data).data["id"])
    assert isinstance(tool, ConnectionTool)
    return tool


PING = {"ECHO_API_PING": {"display_name": "Ping", "method": "GET", "path": "/ping"}}


@pytest.mark.parametrize(
    ("auth", "scheme", "data", "check"),
    [
        (
            {"mode": "API_KEY", "apply": {"query": "appid"}},
            AuthenticationSchema.API_KEY,
            {"api_key": CANARY_API_KEY},
            lambda s: ("appid", CANARY_API_KEY) in s.query and s.header("Authorization") is None,
        ),
        (
            {"mode": "API_KEY", "apply": {"header": "Authorization", "format": "Token token=${credentials.api_key}"}},
            AuthenticationSchema.API_KEY,
            {"api_key": CANARY_API_KEY},
            lambda s: s.header("Authorization") == f"Token token={CANARY_API_KEY}",
        ),
        (
            {"mode": "API_KEY", "apply": {"cookie": "session"}},
            AuthenticationSchema.API_KEY,
            {"api_key": CANARY_API_KEY},
            lambda s: s.header("Cookie") == f"session={CANARY_API_KEY}",
        ),
        (
            {
                "mode": "API_KEY",
                "credentials": {"api_key": {"type": "string"}, "app_key": {"type": "string"}},
                "apply": [
                    {"header": "DD-API-KEY", "format": "${credentials.api_key}"},
                    {"header": "DD-APPLICATION-KEY", "format": "${credentials.app_key}"},
                ],
            },
            AuthenticationSchema.API_KEY,
            {"api_key": CANARY_API_KEY, "app_key": CANARY_TOKEN},
            lambda s: s.header("DD-API-KEY") == CANARY_API_KEY and s.header("DD-APPLICATION-KEY") == CANARY_TOKEN,
        ),
        (
            {"mode": "BEARER_TOKEN"},
            AuthenticationSchema.BEARER_TOKEN,
            {"token": CANARY_TOKEN},
            lambda s: s.header("Authorization") == f"Bearer {CANARY_TOKEN}",
        ),
        (
            {"mode": "BASIC"},
            AuthenticationSchema.BASIC,
            {"username": "ann", "password": CANARY_PASSWORD},
            lambda s: (
                s.header("Authorization") == "Basic " + base64.b64encode(f"ann:{CANARY_PASSWORD}".encode()).decode()
            ),
        ),
        (
            {
                "mode": "BASIC",
                "credentials": {"email": {"type": "string", "secret": False}, "api_token": {"type": "string"}},
                "apply": {"basic": {"username": "${credentials.email}/token", "password": "${credentials.api_token}"}},
            },
            AuthenticationSchema.BASIC,
            {"email": "a@b.c", "api_token": CANARY_TOKEN},
            lambda s: base64.b64decode(s.header("Authorization")[6:]).decode() == f"a@b.c/token:{CANARY_TOKEN}",
        ),
        (
            {"mode": "NO_AUTH"},
            AuthenticationSchema.NO_AUTH,
            {},
            lambda s: s.header("Authorization") is None and not s.query,
        ),
    ],
)
def test_each_scheme_as_the_upstream_receives_it(upstream: Upstream, auth, scheme, data, check) -> None:  # type: ignore[no-untyped-def]
    upstream.route("GET", "/ping", Reply(200, {"pong": True}))
    tool = _connect(_definition(upstream.url, [auth], PING), scheme, data)
    response = tool.run("ECHO_API_PING", {})
    assert response.status is ResponseStatus.SUCCESS, response.error_message
    assert response.data == {"pong": True}
    seen = upstream.seen[-1]
    assert check(seen), seen
    assert seen.header("User-Agent").startswith("plughub/")


def test_connection_config_fills_base_url_and_headers(upstream: Upstream) -> None:
    upstream.route("GET", "/v2/acme/ping", Reply(200, {"ok": 1}))
    definition = _definition(
        upstream.url + "/v2/${connection_config.tenant}",
        [{"mode": "NO_AUTH"}],
        PING,
        connection_config={"tenant": {"type": "string", "pattern": "^[a-z]+$"}},
        headers={"X-Tenant": "${connection_config.tenant}"},
    )
    tool = _connect(definition, AuthenticationSchema.NO_AUTH, {"tenant": "acme"})
    assert tool.run("ECHO_API_PING", {}).data == {"ok": 1}
    assert upstream.seen[-1].header("X-Tenant") == "acme"


RICH = {
    "ECHO_API_GET": {
        "display_name": "Get",
        "method": "GET",
        "path": "/items/${inputs.item}",
        "inputs": {
            "item": {"type": "string", "required": True},
            "tags": {"type": "array", "items": {"type": "string"}},
            "fields": {"type": "array", "items": {"type": "string"}, "explode": False},
            "draft": {"type": "boolean"},
            "page_size": {"type": "integer", "alias": "page[size]"},
            "request_id": {"type": "string", "in": "header", "alias": "X-Request-Id"},
            "kind": {"type": "string", "const": "fixed"},
        },
    },
    "ECHO_API_CREATE": {
        "display_name": "Create",
        "method": "POST",
        "path": "/items",
        "body_root": "item",
        "inputs": {
            "title": {"type": "string", "required": True},
            "due_on": {"type": "string", "alias": "dueOn"},
            "labels": {"type": "array", "items": {"type": "string"}},
        },
    },
    "ECHO_API_FORM": {
        "display_name": "Form",
        "method": "POST",
        "path": "/form",
        "body_encoding": "form",
        "inputs": {
            "amount": {"type": "integer", "required": True},
            "capture": {"type": "boolean"},
            "metadata": {"type": "object"},
            "methods": {"type": "array", "items": {"type": "string"}, "alias": "payment_method_types[]"},
        },
    },
    "ECHO_API_UPLOAD": {
        "display_name": "Upload",
        "method": "POST",
        "path": "/upload",
        "body_encoding": "multipart",
        "inputs": {"name": {"type": "string", "required": True}},
    },
}


def _echo(seen: Seen) -> Reply:
    return Reply(200, {"ok": True})


def test_inputs_are_rendered_where_they_belong(upstream: Upstream) -> None:
    for method, path in (("GET", "/items/a%2Fb%20c"), ("POST", "/items"), ("POST", "/form"), ("POST", "/upload")):
        upstream.route(method, path, _echo)
    tool = _connect(_definition(upstream.url, [{"mode": "NO_AUTH"}], RICH), AuthenticationSchema.NO_AUTH, {})
    got = tool.run(
        "ECHO_API_GET",
        {
            "item": "a/b c",
            "tags": ["x", "y"],
            "fields": ["id", "name"],
            "draft": False,
            "page_size": 5,
            "request_id": "r-1",
        },
    )
    assert got.status is ResponseStatus.SUCCESS, got.error_message
    seen = upstream.seen[-1]
    assert seen.path == "/items/a%2Fb%20c"
    assert seen.query == [
        ("tags", "x"),
        ("tags", "y"),
        ("fields", "id,name"),
        ("draft", "false"),
        ("page[size]", "5"),
        ("kind", "fixed"),
    ]
    assert seen.header("X-Request-Id") == "r-1"

    tool.run("ECHO_API_CREATE", {"title": "t", "due_on": "2026-12-01", "labels": ["a"]})
    assert upstream.seen[-1].json() == {"item": {"title": "t", "dueOn": "2026-12-01", "labels": ["a"]}}
    assert upstream.seen[-1].header("Content-Type") == "application/json"

    tool.run(
        "ECHO_API_FORM", {"amount": 500, "capture": True, "metadata": {"order": "42"}, "methods": ["card", "sepa"]}
    )
    form = upstream.seen[-1]
    assert form.header("Content-Type") == "application/x-www-form-urlencoded"
    assert form.body.decode() == (
        "amount=500&capture=true&metadata%5Border%5D=42&payment_method_types%5B%5D=card&payment_method_types%5B%5D=sepa"
    )

    tool.run("ECHO_API_UPLOAD", {"name": "report"})
    upload = upstream.seen[-1]
    assert upload.header("Content-Type").startswith("multipart/form-data; boundary=")
    assert b'name="name"' in upload.body and b"report" in upload.body


def _flaky(statuses: list[int], headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    remaining = list(statuses)

    def handler(_seen: Seen) -> Reply:
        status = remaining.pop(0) if remaining else 200
        return Reply(status, {"status": status}, dict(headers or {}) if status != 200 else {})

    return handler


def _ping_tool(upstream: Upstream) -> ConnectionTool:
    actions = {**PING, "ECHO_API_POST": {"display_name": "Post", "method": "POST", "path": "/ping"}}
    return _connect(_definition(upstream.url, [{"mode": "NO_AUTH"}], actions), AuthenticationSchema.NO_AUTH, {})


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_idempotent_requests_are_retried(upstream: Upstream, status: int) -> None:
    upstream.route("GET", "/ping", _flaky([status], {"Retry-After": "0"}))
    response = _ping_tool(upstream).run("ECHO_API_PING", {})
    assert response.status is ResponseStatus.SUCCESS
    assert len(upstream.seen) == 2


def test_retries_are_bounded(upstream: Upstream) -> None:
    upstream.route("GET", "/ping", _flaky([503] * 10, {"Retry-After": "0"}))
    response = _ping_tool(upstream).run("ECHO_API_PING", {})
    assert response.status is ResponseStatus.FAILED
    assert response.details["status_code"] == 503
    assert len(upstream.seen) == 3


def test_a_retry_after_longer_than_the_limit_ends_the_retries(upstream: Upstream) -> None:
    upstream.route("GET", "/ping", _flaky([429], {"Retry-After": "120"}))
    response = _ping_tool(upstream).run("ECHO_API_PING", {})
    assert response.status is ResponseStatus.FAILED
    assert response.details["retry_after"] == "120"
    assert len(upstream.seen) == 1


def test_post_is_not_retried(upstream: Upstream) -> None:
    upstream.route("POST", "/ping", _flaky([503]))
    response = _ping_tool(upstream).run("ECHO_API_POST", {})
    assert response.status is ResponseStatus.FAILED
    assert len(upstream.seen) == 1


def test_failed_response_has_status_and_sanitized_excerpt(upstream: Upstream) -> None:
    long_body = {"message": f"bad key {CANARY_API_KEY}", "padding": "x" * 2000}
    upstream.route("GET", "/ping", Reply(403, long_body))
    tool = _connect(
        _definition(upstream.url, [{"mode": "API_KEY"}], PING),
        AuthenticationSchema.API_KEY,
        {"api_key": CANARY_API_KEY},
    )
    response = tool.run("ECHO_API_PING", {})
    assert response.status is ResponseStatus.FAILED
    assert response.error_code == "upstream_status"
    assert response.details["status_code"] == 403
    assert response.error_message.startswith("Echo API ECHO_API_PING: the service answered 403 Forbidden: ")
    assert "bad key ***" in response.error_message
    assert len(response.details["body"]) <= 300
    assert CANARY_API_KEY not in json.dumps(response.to_dict(), default=str)


def test_secrets_echoed_in_a_success_are_masked(upstream: Upstream) -> None:
    upstream.route("GET", "/ping", lambda seen: Reply(200, {"you_sent": seen.header("X-Api-Key")}))
    tool = _connect(
        _definition(upstream.url, [{"mode": "API_KEY"}], PING),
        AuthenticationSchema.API_KEY,
        {"api_key": CANARY_API_KEY},
    )
    assert tool.run("ECHO_API_PING", {}).data == {"you_sent": "***"}


@pytest.mark.parametrize("status", [200, 400])
def test_secrets_echoed_json_escaped_are_masked(upstream: Upstream, status: int) -> None:
    # PHP and others write "/" as "\\/": the raw bytes then never hold
    # the secret as stored, but the parsed answer (and the error excerpt) would.
    secret = "sk/live/" + CANARY_API_KEY
    escaped = json.dumps(secret).replace("/", "\\/")
    body = ('{"you_sent": ' + escaped + "}").encode()
    upstream.route("GET", "/ping", Reply(status, body, {"Content-Type": "application/json"}))
    tool = _connect(
        _definition(upstream.url, [{"mode": "API_KEY"}], PING),
        AuthenticationSchema.API_KEY,
        {"api_key": secret},
    )
    response = tool.run("ECHO_API_PING", {})
    assert response.data == {"you_sent": "***"}
    dumped = json.dumps(response.to_dict(), default=str)
    assert CANARY_API_KEY not in dumped and CANARY_API_KEY not in (response.error_message or "")


def test_text_answers_come_back_as_text(upstream: Upstream) -> None:
    upstream.route("GET", "/ping", Reply(200, "plain pong"))
    assert _ping_tool(upstream).run("ECHO_API_PING", {}).data == "plain pong"


def test_same_origin_redirects_are_followed_with_credentials(upstream: Upstream) -> None:
    upstream.route("GET", "/ping", Reply(301, "", {"Location": "/moved"}))
    upstream.route("GET", "/moved", lambda seen: Reply(200, {"auth": seen.header("Authorization") is not None}))
    tool = _connect(
        _definition(upstream.url, [{"mode": "BEARER_TOKEN"}], PING),
        AuthenticationSchema.BEARER_TOKEN,
        {"token": CANARY_TOKEN},
    )
    assert tool.run("ECHO_API_PING", {}).data == {"auth": True}


def test_cross_origin_redirects_are_not_followed(upstream: Upstream) -> None:
    other = Upstream()
    try:
        other.route("GET", "/steal", Reply(200, {}))
        upstream.route("GET", "/ping", Reply(302, "", {"Location": other.url + "/steal"}))
        tool = _connect(
            _definition(upstream.url, [{"mode": "API_KEY"}], PING),
            AuthenticationSchema.API_KEY,
            {"api_key": CANARY_API_KEY},
        )
        response = tool.run("ECHO_API_PING", {})
        assert response.status is ResponseStatus.FAILED
        assert response.error_code == "upstream_redirect"
        assert "redirected to another host" in response.error_message
        assert other.seen == []
    finally:
        other.close()


def test_a_path_input_default_fills_the_path(upstream: Upstream) -> None:
    upstream.route("GET", "/users/me/messages", Reply(200, {"ok": True}))
    actions = {
        "ECHO_API_MESSAGES": {
            "display_name": "Messages",
            "method": "GET",
            "path": "/users/${inputs.user_id}/messages",
            "inputs": {"user_id": {"type": "string", "default": "me", "required": True}},
        }
    }
    tool = _connect(_definition(upstream.url, [{"mode": "NO_AUTH"}], actions), AuthenticationSchema.NO_AUTH, {})
    assert tool.run("ECHO_API_MESSAGES", {}).data == {"ok": True}
    assert upstream.seen[-1].path == "/users/me/messages"


def test_an_oauth2_token_can_be_applied_elsewhere(upstream: Upstream, engine) -> None:  # type: ignore[no-untyped-def]
    from plughub.engine.auth import auth_for
    from plughub.engine.catalog import parse_definition

    spec = parse_definition(
        _definition(
            upstream.url,
            [
                {
                    "mode": "OAUTH2",
                    "authorization_url": "https://x.example/a",
                    "token_url": "https://x.example/t",
                    "apply": {"header": "X-Shop-Token", "format": "${credentials.access_token}"},
                }
            ],
            PING,
        )
    )
    auth = auth_for(spec, AuthenticationSchema.OAUTH2, {"access_token": CANARY_TOKEN}, {})
    request = next(auth.sync_auth_flow(__import__("httpx").Request("GET", upstream.url)))  # type: ignore[union-attr]
    assert request.headers["X-Shop-Token"] == CANARY_TOKEN
    assert "Authorization" not in request.headers

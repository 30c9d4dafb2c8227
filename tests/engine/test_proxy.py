"""The proxy (DESIGN.md §9) on both backends: what the upstream receives, what comes back, what is refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory
from plughub.exceptions import ConnectionStateError, InvalidInput, UpstreamRedirect, UpstreamTransportError
from plughub.modules.model.connection import ConnectAction, ProxyResponse
from tests.conftest import CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN
from tests.upstream import Reply, Upstream

pytestmark = pytest.mark.usefixtures("any_backend")


def _definition(base_url: str, auth: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "hub-api",
        "display_name": "Hub API",
        "base_url": base_url,
        "headers": {"Api-Version": "2024-01"},
        "auth": auth or [{"mode": "BEARER_TOKEN"}],
        "actions": {"HUB_API_PING": {"display_name": "Ping", "path": "/ping"}},
        **extra,
    }


def _connect(definition: dict[str, Any], scheme: AuthenticationSchema, data: dict[str, Any]) -> ConnectionTool:
    integration = IntegrationFactory.create(definition)
    tool = ModelFactory.get(integration.connect(scheme, data=data).data["id"])
    assert isinstance(tool, ConnectionTool)
    return tool


def _bearer(upstream: Upstream, base: str = "/v1") -> ConnectionTool:
    return _connect(_definition(upstream.url + base), AuthenticationSchema.BEARER_TOKEN, {"token": CANARY_TOKEN})


def test_a_request_reaches_the_service_with_the_connections_credentials(upstream: Upstream) -> None:
    upstream.route("POST", "/v1/users/42/notes", Reply(201, {"created": True}, {"X-Request-Id": "r1"}))
    tool = _bearer(upstream)
    answer = tool.request(
        "post",
        "/users/42/notes",
        params={"notify": True, "tag": ["a", "b"]},
        json={"text": "hello"},
        headers={"X-Trace": "t-1", "api-version": "2025-01"},
    )
    assert isinstance(answer, ProxyResponse)
    assert (answer.status_code, answer.ok, answer.data) == (201, True, {"created": True})
    assert answer.headers["X-Request-Id"] == "r1"
    assert "Content-Length" not in answer.headers
    seen = upstream.seen[-1]
    assert (seen.method, seen.path) == ("POST", "/v1/users/42/notes")
    assert seen.query == [("notify", "true"), ("tag", "a"), ("tag", "b")]
    assert seen.json() == {"text": "hello"}
    assert seen.header("Authorization") == f"Bearer {CANARY_TOKEN}"
    assert seen.header("X-Trace") == "t-1"
    assert seen.header("Api-Version") == "2025-01"  # the caller's header wins over the integration's
    assert seen.header("Accept") == "application/json"


def test_a_path_may_carry_its_query_and_an_absolute_url_on_the_origin_is_taken(upstream: Upstream) -> None:
    upstream.route("GET", "/v1/search", Reply(200, []))
    upstream.route("GET", "/v2/other", Reply(200, {"v": 2}))
    tool = _bearer(upstream)
    tool.request("GET", "search?q=x", params={"page": 2})
    assert upstream.seen[-1].query == [("q", "x"), ("page", "2")]
    assert tool.request("GET", f"{upstream.url}/v2/other").data == {"v": 2}


def test_any_status_comes_back_with_its_body(upstream: Upstream) -> None:
    upstream.route("DELETE", "/v1/items/9", Reply(404, "no such item"))
    answer = _bearer(upstream).request("DELETE", "items/9")
    assert (answer.status_code, answer.ok, answer.data) == (404, False, "no such item")


def test_a_form_body_and_a_text_body(upstream: Upstream) -> None:
    upstream.route("POST", "/v1/form", Reply(200, {}))
    tool = _bearer(upstream)
    tool.request("POST", "/form", data={"name": "Ann", "tags": ["a", "b"]})
    assert upstream.seen[-1].body == b"name=Ann&tags=a&tags=b"
    assert upstream.seen[-1].header("Content-Type") == "application/x-www-form-urlencoded"
    tool.request("POST", "/form", data="raw text", headers={"Content-Type": "text/plain"})
    assert upstream.seen[-1].body == b"raw text"


def test_a_secret_the_service_echoes_is_masked_in_body_and_headers(upstream: Upstream) -> None:
    upstream.route(
        "GET", "/v1/echo", lambda seen: Reply(200, {"auth": seen.header("Authorization")}, {"X-Echo": CANARY_TOKEN})
    )
    answer = _bearer(upstream).request("GET", "/echo")
    assert answer.data == {"auth": "***"}
    assert answer.headers["X-Echo"] == "***"
    assert CANARY_TOKEN not in answer.model_dump_json()


def test_api_key_query_and_basic_schemes_are_attached(upstream: Upstream) -> None:
    upstream.route("GET", "/v1/me", Reply(200, {}))
    by_query = _connect(
        _definition(upstream.url + "/v1", [{"mode": "API_KEY", "apply": {"query": "key"}}]),
        AuthenticationSchema.API_KEY,
        {"api_key": CANARY_API_KEY},
    )
    by_query.request("GET", "/me", params={"q": 1})
    assert sorted(upstream.seen[-1].query) == [("key", CANARY_API_KEY), ("q", "1")]
    basic_definition = {**_definition(upstream.url + "/v1", [{"mode": "BASIC"}]), "id": "hub-basic", "actions": {}}
    basic = _connect(basic_definition, AuthenticationSchema.BASIC, {"username": "ann", "password": CANARY_PASSWORD})
    basic.request("GET", "/me")
    expected = "Basic " + base64.b64encode(f"ann:{CANARY_PASSWORD}".encode()).decode()
    assert upstream.seen[-1].header("Authorization") == expected


def test_idempotent_requests_are_retried_and_posts_are_not(upstream: Upstream) -> None:
    upstream.route("GET", "/v1/flaky", Reply(503, {"busy": True}, {"Retry-After": "0"}))
    upstream.route("POST", "/v1/flaky", Reply(503, {"busy": True}, {"Retry-After": "0"}))
    tool = _bearer(upstream)
    assert tool.request("GET", "/flaky").status_code == 503
    assert len([s for s in upstream.seen if s.method == "GET"]) == 3
    tool.request("POST", "/flaky")
    assert len([s for s in upstream.seen if s.method == "POST"]) == 1


def test_redirects_are_followed_on_the_origin_only(upstream: Upstream) -> None:
    elsewhere = Upstream()
    try:
        upstream.route("GET", "/v1/old", Reply(301, "", {"Location": "/v1/new"}))
        upstream.route("GET", "/v1/new", Reply(200, {"moved": True}))
        upstream.route("GET", "/v1/away", Reply(302, "", {"Location": f"{elsewhere.url}/steal"}))
        tool = _bearer(upstream)
        assert tool.request("GET", "/old").data == {"moved": True}
        with pytest.raises(UpstreamRedirect, match="redirected to another host"):
            tool.request("GET", "/away")
        assert elsewhere.seen == []
    finally:
        elsewhere.close()


def test_an_unreachable_service_raises(closed_port: int) -> None:
    tool = _connect(
        _definition(f"http://127.0.0.1:{closed_port}"), AuthenticationSchema.BEARER_TOKEN, {"token": CANARY_TOKEN}
    )
    with pytest.raises(UpstreamTransportError, match="could not reach 127.0.0.1"):
        tool.request("GET", "/anything")


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        ({"method": "GET", "path": "https://evil.example/steal"}, "is not on the connection's origin"),
        ({"method": "GET", "path": "//evil.example/steal"}, "is not on the connection's origin"),
        ({"method": "GET", "path": "/users/../../admin"}, "'.' or '..' segment"),
        ({"method": "GET", "path": "/users/%2e%2e/admin"}, "'.' or '..' segment"),
        ({"method": "GET", "path": "/users/%2E%2e/admin"}, "'.' or '..' segment"),
        ({"method": "GET", "path": "/users/%252e%252e/admin"}, "'.' or '..' segment"),
        ({"method": "GET", "path": "/users/./me"}, "'.' or '..' segment"),
        ({"method": "GET", "path": "/users\\me"}, "a backslash"),
        ({"method": "GET", "path": "/users#frag"}, "a fragment"),
        ({"method": "GET", "path": "/users\r\nX-Injected: 1"}, "a control character"),
        ({"method": "TRACE", "path": "/users"}, "method 'TRACE' is not one plughub sends"),
        ({"method": "GET", "path": "/u", "headers": {"Authorization": "Bearer mine"}}, "header 'Authorization'"),
        ({"method": "GET", "path": "/u", "headers": {"authorization": "x"}}, "header 'authorization'"),
        ({"method": "GET", "path": "/u", "headers": {"Connection": "close"}}, "header 'Connection' is refused"),
        ({"method": "GET", "path": "/u", "headers": {"Transfer-Encoding": "chunked"}}, "header 'Transfer-Encoding'"),
        ({"method": "GET", "path": "/u", "headers": {"Host": "evil.example"}}, "header 'Host' is refused"),
        ({"method": "GET", "path": "/u", "headers": {"Proxy-Authorization": "x"}}, "header 'Proxy-Authorization'"),
        ({"method": "GET", "path": "/u", "headers": {"X-Bad": "a\nb"}}, "the value of header 'X-Bad'"),
        ({"method": "GET", "path": "/u", "headers": {"Bad Name": "x"}}, "not a valid HTTP header name"),
        ({"method": "POST", "path": "/u", "json": {"a": 1}, "data": {"b": 2}}, "give json or data, not both"),
    ],
)
def test_refused_requests_send_nothing(upstream: Upstream, call: dict[str, Any], fragment: str) -> None:
    tool = _bearer(upstream)
    call = dict(call)  # the parameters serve both backends
    method, path = call.pop("method"), call.pop("path")
    with pytest.raises(InvalidInput) as caught:
        tool.request(method, path, **call)
    assert fragment in str(caught.value)
    assert upstream.seen == []


def test_the_schemes_own_header_query_and_cookie_names_are_refused(upstream: Upstream) -> None:
    auth = [
        {
            "mode": "API_KEY",
            "credentials": {"api_key": {"type": "string"}, "app_key": {"type": "string"}},
            "apply": [
                {"header": "X-Api-Key", "format": "${credentials.api_key}"},
                {"query": "app_key", "format": "${credentials.app_key}"},
            ],
        }
    ]
    tool = _connect(
        _definition(upstream.url, auth), AuthenticationSchema.API_KEY, {"api_key": CANARY_API_KEY, "app_key": "k2"}
    )
    for call in (
        {"headers": {"x-api-key": "mine"}},
        {"params": {"app_key": "mine"}},
        {"path": "/u?app_key=mine"},
    ):
        call = dict(call)
        path = call.pop("path", "/u")
        refused = "the connection sends its credentials there|sets it with its credentials"
        with pytest.raises(InvalidInput, match=refused):
            tool.request("GET", path, **call)
    assert upstream.seen == []


def test_an_action_scope_without_proxy_refuses_it(upstream: Upstream) -> None:
    upstream.route("GET", "/v1/u", Reply(200, {}))
    tool = _bearer(upstream)
    tool.action_scope = [ConnectAction("Ping", "", "HUB_API_PING")]
    with pytest.raises(InvalidInput, match='add "PROXY" to action_scope'):
        tool.request("GET", "/u")
    assert upstream.seen == []
    tool.action_scope = [ConnectAction("Ping", "", "HUB_API_PING"), ConnectAction("Proxy", "", "PROXY")]
    assert tool.request("GET", "/u").ok


def test_a_connection_that_is_not_active_or_an_mcp_connection_is_refused(upstream: Upstream) -> None:
    mcp = IntegrationFactory.get("mcp").connect(AuthenticationSchema.NO_AUTH, data={"url": upstream.url + "/mcp"})
    tool = ModelFactory.get(mcp.data["id"])
    assert isinstance(tool, ConnectionTool)
    with pytest.raises(InvalidInput, match="is an MCP connection: it offers tools, not an HTTP API to proxy"):
        tool.request("GET", "/")
    definition = _definition(
        upstream.url,
        [{"mode": "OAUTH2", "authorization_url": "https://x.example/a", "token_url": "https://x.example/t"}],
    )
    integration = IntegrationFactory.create(definition)
    integration.set_oauth_app(client_id="c", client_secret="s-0123456789abcdef")
    with pytest.warns(UserWarning):
        pending = integration.connect(AuthenticationSchema.OAUTH2)
    pending_tool = ModelFactory.get(pending.data["id"])
    assert isinstance(pending_tool, ConnectionTool)
    with pytest.raises(ConnectionStateError, match="it must be active to send requests"):
        pending_tool.request("GET", "/")
    assert [s for s in upstream.seen if s.path != "/mcp"] == []

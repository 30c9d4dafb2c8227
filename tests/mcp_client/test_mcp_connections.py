"""MCP connections: a real MCP server (the official SDK) over streamable HTTP and SSE."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from plughub import AuthenticationSchema, IntegrationFactory, MCPConnection, ModelFactory, ResponseStatus
from plughub.backends import Backend
from plughub.enums import FunctionType
from plughub.exceptions import (
    ActionNotFound,
    InvalidInput,
    McpProtocolError,
    MissingInputs,
    UpstreamStatusError,
    UpstreamTransportError,
)
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN
from tests.mcp_servers import McpTestServer, bad_mcp_app, mcp_test_server
from tests.servers import serve_app

TRANSPORTS = ["streamable_http", "sse"]


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[McpTestServer]:
    with mcp_test_server() as server:
        yield server


def _connect(data: object, scheme: AuthenticationSchema | None = None) -> MCPConnection:
    response = IntegrationFactory.get("mcp").connect(scheme, data=data)
    assert response.status is ResponseStatus.SUCCESS
    tool = ModelFactory.get(response.data["id"])
    assert isinstance(tool, MCPConnection)
    return tool


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_tools_are_actions_and_runs_call_them(any_backend: Backend, mcp_server: McpTestServer, transport: str) -> None:
    tool = _connect(mcp_server.url(transport))
    assert tool.function_type is FunctionType.MCP_CONNECTION
    assert [a.code for a in tool.actions] == ["add", "shout", "profile", "fail"]
    assert tool.actions[0].name == "Add numbers"
    inputs = tool.get_action_inputs("add")
    assert set(inputs) == {"a", "b"} and inputs["a"]["required"] and inputs["a"]["schema"]["type"] == "integer"

    added = tool.run("add", {"a": 2, "b": 3})
    assert added.status is ResponseStatus.SUCCESS, added.error_message
    assert added.data == {"result": 5}
    assert added.details["content"] == [{"type": "text", "text": "5"}]

    shouted = tool.run("shout", {"text": "hi"})
    assert shouted.status is ResponseStatus.SUCCESS and shouted.data in ("HI", {"result": "HI"})

    profile = tool.run("profile", {"name": "ada", "tags": ["x"]})
    assert profile.data == {"name": "ada", "tags": ["x"]}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_tool_errors_and_bad_arguments(any_backend: Backend, mcp_server: McpTestServer, transport: str) -> None:
    tool = _connect({"url": mcp_server.url(transport)})
    failed = tool.run("fail", {"reason": "no fuel"})
    assert failed.status is ResponseStatus.FAILED
    assert failed.error_code == "mcp_tool_error"
    assert "cannot do it: no fuel" in failed.error_message

    before = mcp_server.calls("tools/call")
    with pytest.raises(InvalidInput, match=r"add: input 'a': 'two' is not of type 'integer'"):
        tool.run("add", {"a": "two", "b": 1})
    with pytest.raises(MissingInputs, match=r"add needs 'b'"):
        tool.run("add", {"a": 1})
    assert mcp_server.calls("tools/call") == before, "invalid arguments must not reach the server"
    with pytest.raises(ActionNotFound, match=r"has no tool 'nope'. Its tools: add, shout, profile, fail"):
        tool.run("nope", {})


def test_tool_list_is_cached_and_refreshed(backend: Backend, mcp_server: McpTestServer) -> None:
    tool = _connect(mcp_server.http_url)
    before = mcp_server.calls("tools/list")
    assert len(tool.actions) == 4
    again = ModelFactory.get(tool.id)
    assert len(again.actions) == 4
    assert again.get_action_inputs("shout")["text"]["required"]
    assert mcp_server.calls("tools/list") == before + 1, "the tool list is fetched once and cached"

    mcp_server.server.add_tool(lambda: "pong", name="ping", description="Answers pong.")
    try:
        assert "ping" not in [a.code for a in ModelFactory.get(tool.id).actions]
        refreshed = tool.refresh_tools()
        assert "ping" in [a.code for a in refreshed]
        assert tool.run("ping", {}).data in ("pong", {"result": "pong"})
    finally:
        mcp_server.server.remove_tool("ping")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bearer_and_api_key_credentials_travel_and_never_leak(
    any_backend: Backend, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with mcp_test_server(required_header=("Authorization", f"Bearer {CANARY_TOKEN}")) as server:
        tool = _connect({"url": server.url(transport), "token": CANARY_TOKEN})
        assert tool.connection.scheme is AuthenticationSchema.BEARER_TOKEN
        assert tool.run("add", {"a": 1, "b": 2}).data == {"result": 3}
        assert all(r["authorization"] == f"Bearer {CANARY_TOKEN}" for r in server.requests)

        wrong = _connect({"url": server.url(transport), "token": "wrong-token"})
        with pytest.raises(UpstreamStatusError, match=r"answered HTTP 401: it refused the credentials"):
            _ = wrong.actions
        refused = wrong.run("add", {"a": 1, "b": 2})
        assert refused.status is ResponseStatus.FAILED and refused.error_code == "upstream_status"

    with mcp_test_server(required_header=("X-Custom-Key", CANARY_API_KEY)) as server:
        tool = _connect(
            {"url": server.url(transport), "api_key": CANARY_API_KEY, "header": "X-Custom-Key"},
            AuthenticationSchema.API_KEY,
        )
        assert tool.run("shout", {"text": "ok"}).status is ResponseStatus.SUCCESS
        shown = repr(tool.connection) + str(tool.connection.model_dump())
        assert CANARY_API_KEY not in shown and tool.connection.credentials["header"] == "X-Custom-Key"
    for text in (caplog.text, repr(tool), str(ModelFactory.list(function_type=FunctionType.MCP_CONNECTION))):
        assert CANARY_TOKEN not in text and CANARY_API_KEY not in text


def test_a_key_in_the_url_is_kept_secret(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with mcp_test_server() as server:
        # Hosted servers put keys in the URL; the whole URL is sealed and only its origin is shown.
        url = f"{server.http_url}?key={CANARY_API_KEY}"
        tool = _connect(url)
        assert tool.run("add", {"a": 1, "b": 1}).status is ResponseStatus.SUCCESS
        info = tool.connection
        assert info.config["server"] == server.http_url.rsplit("/", 1)[0]
        assert CANARY_API_KEY not in repr(info) + str(info.model_dump())
    down = tool.run("add", {"a": 1, "b": 1})
    assert down.status is ResponseStatus.FAILED
    assert CANARY_API_KEY not in caplog.text + str(down.to_dict())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_server_that_is_down(any_backend: Backend, closed_port: int, transport: str) -> None:
    path = "/sse" if transport == "sse" else "/mcp"
    tool = _connect(f"http://127.0.0.1:{closed_port}{path}")
    result = tool.run("add", {"a": 1, "b": 1})
    assert result.status is ResponseStatus.FAILED
    assert result.error_code == "upstream_unreachable"
    assert f"could not reach the MCP server at http://127.0.0.1:{closed_port}" in result.error_message
    assert "Check the URL and that the server is up." in result.error_message
    with pytest.raises(UpstreamTransportError, match=r"could not reach the MCP server"):
        _ = ModelFactory.get(tool.id).actions


@pytest.mark.parametrize(
    ("path", "transport", "error", "message"),
    [
        ("/html", "streamable_http", McpProtocolError, r"did not answer as an MCP server \(Unexpected content type"),
        ("/json", "streamable_http", McpProtocolError, r"did not answer as an MCP server \(Failed to parse JSON"),
        ("/nothing", "streamable_http", UpstreamStatusError, r"answered HTTP 404: no MCP endpoint there"),
        ("/nothing", "sse", UpstreamStatusError, r"answered HTTP 404: no MCP endpoint there"),
        ("/html", "sse", McpProtocolError, r"did not answer as an MCP server \(Expected response with content type"),
    ],
)
def test_something_that_is_not_an_mcp_server(
    backend: Backend, path: str, transport: str, error: type[Exception], message: str
) -> None:
    with serve_app(bad_mcp_app) as base:
        tool = _connect({"url": base + path, "transport": transport})
        with pytest.raises(error, match=message):
            _ = tool.actions
        result = tool.run("add", {"a": 1})
    assert result.status is ResponseStatus.FAILED and result.error_code == error.code  # type: ignore[attr-defined]
    assert base in result.error_message


def test_connect_inputs_are_checked(backend: Backend) -> None:
    mcp = IntegrationFactory.get("mcp")
    with pytest.raises(InvalidInput, match=r"'url'.*must match"):
        mcp.connect(data="ftp://example.com/mcp")
    with pytest.raises(MissingInputs, match=r"Parameter 'url' is required for MCP server BEARER_TOKEN"):
        mcp.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": "x"})
    with pytest.raises(InvalidInput, match=r"transport"):
        mcp.connect(data={"url": "https://example.com/mcp", "transport": "websocket"})
    with pytest.raises(InvalidInput, match=r"Authentication schema OAUTH2 is not supported by MCP server"):
        mcp.connect(AuthenticationSchema.OAUTH2)
    assert ModelFactory.list(function_type=FunctionType.MCP_CONNECTION)["total"] == 0


def test_the_aixplain_mcp_integration_id(backend: Backend, mcp_server: McpTestServer) -> None:
    integration = IntegrationFactory.get("686eb9cd26480723d0634d3e")
    assert integration.id == "mcp"
    response = integration.connect(data=mcp_server.http_url)
    tool = ModelFactory.get(response.data["id"])
    assert isinstance(tool, MCPConnection)
    assert tool.run("add", {"a": 20, "b": 22}).data == {"result": 42}


def test_runs_from_inside_a_running_event_loop(backend: Backend, mcp_server: McpTestServer) -> None:
    tool = _connect(mcp_server.http_url)

    async def main() -> object:
        return tool.run("add", {"a": 1, "b": 2}).data

    assert asyncio.run(main()) == {"result": 3}


def test_server_mode_checks_the_mcp_url(engine, mcp_server: McpTestServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from plughub.engine import Engine
    from plughub.schemas import ConnectRequest

    guarded = Engine(engine.settings, guard_outbound=True)
    try:
        created = guarded.connections.create(ConnectRequest(integration_id="mcp", data=mcp_server.http_url))
        result = guarded.actions.run(created.id, "add", {"a": 1, "b": 1})
        assert result.status is ResponseStatus.FAILED
        assert "refused by plughub's network guard: the host 127.0.0.1 is not allowed" in (result.error_message or "")
        assert "PLUGHUB_ALLOW_PRIVATE_NETWORKS" in (result.error_message or "")
        # A name: the caller learns it is not allowed, not what it resolves to.
        by_name = mcp_server.http_url.replace("127.0.0.1", "localhost")
        named = guarded.connections.create(ConnectRequest(integration_id="mcp", data=by_name))
        refused = guarded.actions.run(named.id, "add", {"a": 1, "b": 1}).error_message or ""
        assert "the host localhost is not allowed" in refused
        assert "127.0.0.1" not in refused and "::1" not in refused
        assert mcp_server.calls("tools/call") >= 0
    finally:
        guarded.close()
    monkeypatch.setenv("PLUGHUB_ALLOW_PRIVATE_NETWORKS", "127.0.0.1/32")
    from plughub.config import Settings

    allowed = Engine(Settings.from_env(), guard_outbound=True)
    try:
        assert allowed.actions.run(created.id, "add", {"a": 1, "b": 1}).data == {"result": 2}
    finally:
        allowed.close()

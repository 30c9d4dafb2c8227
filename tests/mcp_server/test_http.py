"""MCP over streamable HTTP: `plughub mcp serve --transport http`, and `/mcp` in `plughub serve`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from plughub.enums import ConnectionStatus
from plughub.server import create_app
from tests.conftest import CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN
from tests.mcp_server.conftest import (
    CODES,
    ROOT,
    Hub,
    assert_no_canary,
    assert_valid_tools,
    cli_env,
    connect_acme,
    dump,
    plughub_command,
)
from tests.servers import free_port, serve_app
from tests.upstream import Upstream

ALICE_TOKEN = "canary-alice-token-5e1d0c9b8a7f6e5d"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _session(
    url: str, fn: Callable[[Client], Awaitable[Any]], headers: dict[str, str] | None = None, mode: str = "auto"
) -> Any:
    """Open an MCP client session on a URL (with extra HTTP headers), run `fn` in it, return its result."""

    async def main() -> Any:
        async with (
            httpx2.AsyncClient(headers=headers or {}, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode) as client,
        ):
            return await fn(client)

    return anyio.run(main)


async def _names(client: Client) -> list[str]:
    return [t.name for t in (await client.list_tools()).tools]


async def _everything(client: Client) -> dict[str, Any]:
    tools = (await client.list_tools()).tools
    return {
        "tools": tools,
        "whoami": await client.call_tool("ACME_ISSUES_WHOAMI", {}),
        "created": await client.call_tool("ACME_ISSUES_CREATE_ISSUE", {"title": "Over HTTP"}),
        "invalid": await client.call_tool("ACME_ISSUES_CREATE_ISSUE", {"title": ""}),
        "refused": await client.call_tool("ACME_ISSUES_CREATE_ISSUE", {"title": "taken"}),
    }


def _check_everything(got: dict[str, Any], upstream: Upstream, token: str) -> None:
    assert_valid_tools(got["tools"])
    assert got["whoami"].is_error is False
    assert got["whoami"].structured_content == {"login": "octo", "authorization": "***"}
    assert upstream.seen[0].header("Authorization") == f"Bearer {token}"
    assert got["created"].structured_content == {"id": 7, "title": "Over HTTP"}
    assert got["invalid"].is_error is True
    assert json.loads(got["invalid"].content[0].text)["message"] == (
        "ACME_ISSUES_CREATE_ISSUE: input 'title': '' should be non-empty"
    )
    assert got["refused"].is_error is True
    assert "an issue with this title exists already" in got["refused"].content[0].text
    assert_no_canary(got)


# plughub mcp serve --transport http


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_cli_http_transport_serves_the_scoped_actions(
    acme: str, upstream: Upstream, spawn_http: Any, mode: str
) -> None:
    spawned = spawn_http("--connection", acme, "--actions", "ACME_ISSUES_WHOAMI", "-a", "ACME_ISSUES_CREATE_ISSUE")
    got = _session(spawned.url, _everything, mode=mode)
    assert [t.name for t in got["tools"]] == ["ACME_ISSUES_WHOAMI", "ACME_ISSUES_CREATE_ISSUE"]
    _check_everything(got, upstream, CANARY_TOKEN)
    # No authentication, so on a loopback address a page on another site must not reach it by DNS rebinding.
    rebound = httpx.post(spawned.url, json=INITIALIZE, headers={**ACCEPT, "Host": "evil.example:80"}, timeout=10)
    assert (rebound.status_code, rebound.text) == (421, "Invalid Host header")
    other_origin = httpx.post(spawned.url, json=INITIALIZE, headers={**ACCEPT, "Origin": "https://evil.example"})
    assert (other_origin.status_code, other_origin.text) == (403, "Invalid Origin header")


# /mcp in plughub serve


def test_mcp_needs_the_team_api_key(hub: Hub, upstream: Upstream) -> None:
    missing = httpx.post(hub.url + "/mcp", json=INITIALIZE, headers=ACCEPT, timeout=10)
    wrong = httpx.post(hub.url + "/mcp", json=INITIALIZE, headers={**ACCEPT, "Authorization": "Bearer phk_nope"})
    hub.engine.teams.revoke_api_key(hub.engine.teams.list_api_keys(hub.b.id)[0].id)
    revoked = httpx.post(hub.url + "/mcp", json=INITIALIZE, headers={**ACCEPT, **hub.b.auth}, timeout=10)
    for response, message in (
        (missing, "an API key is required: send `Authorization: Bearer <key>`"),
        (wrong, "the API key is unknown or revoked"),
        (revoked, "the API key is unknown or revoked"),
    ):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json"
        assert response.headers["www-authenticate"] == "Bearer"
        body = response.json()
        assert body["error"] == "unauthorized" and body["message"].startswith(message)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "ACME_ISSUES_WHOAMI"}}
    unauthenticated_call = httpx.post(
        hub.url + "/mcp", json=call, headers={**ACCEPT, "MCP-Protocol-Version": "2025-11-25"}, timeout=10
    )
    assert unauthenticated_call.status_code == 401
    assert upstream.seen == []  # nothing ran
    assert "/mcp" not in httpx.get(hub.url + "/openapi.json").text


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_a_team_sees_and_runs_only_its_own_active_connections(hub: Hub, upstream: Upstream, mode: str) -> None:
    pending = connect_acme(hub.engine, upstream, name="Pending", team=hub.a.id)
    hub.engine.store.connections.set_status(pending, ConnectionStatus.PENDING.value)
    got = _session(hub.url + "/mcp", _everything, hub.a.auth, mode)
    assert [t.name for t in got["tools"]] == CODES  # one active connection: names without suffixes
    assert all(f"id {hub.work})" in t.description for t in got["tools"])
    _check_everything(got, upstream, CANARY_TOKEN)
    received = dump(got)
    assert hub.beta not in received and pending not in received and "Beta" not in received
    assert all(s.header("Authorization") == f"Bearer {CANARY_TOKEN}" for s in upstream.seen)

    # Team B's key runs team B's connection.
    assert _session(hub.url + "/mcp", _names, hub.b.auth, mode) == CODES
    whoami = _session(hub.url + "/mcp", lambda c: c.call_tool("ACME_ISSUES_WHOAMI", {}), hub.b.auth, mode)
    assert whoami.is_error is False
    assert upstream.seen[-1].header("Authorization") == f"Bearer {CANARY_API_KEY}"


def test_another_teams_connection_is_not_found(hub: Hub) -> None:
    for query in (f"connection={hub.beta}", f"connection={hub.work}&connection={hub.beta}"):
        response = httpx.post(f"{hub.url}/mcp?{query}", json=INITIALIZE, headers={**ACCEPT, **hub.a.auth})
        assert response.status_code == 404
        assert response.json() == {
            "error": "connection_not_found",
            "message": f"No connection with id '{hub.beta}'. List them with "
            "ModelFactory.list(function_type=FunctionType.CONNECTION) or `plughub connections list`.",
            "details": {"id": hub.beta},  # what was asked for, exactly as for a missing connection
        }


def test_connections_and_actions_chosen_in_the_query(hub: Hub, upstream: Upstream) -> None:
    second = connect_acme(hub.engine, upstream, name="Second", token=CANARY_PASSWORD, team=hub.a.id)
    url = f"{hub.url}/mcp?connection={second}&action=ACME_ISSUES_WHOAMI&action=acme_issues_list_issues"
    assert _session(url, _names, hub.a.auth) == ["ACME_ISSUES_WHOAMI", "ACME_ISSUES_LIST_ISSUES"]
    assert _session(f"{hub.url}/mcp?action=ACME_ISSUES_WHOAMI", _names, hub.a.auth) == [
        "ACME_ISSUES_WHOAMI__work",
        "ACME_ISSUES_WHOAMI__second",
    ]
    result = _session(url, lambda c: c.call_tool("ACME_ISSUES_WHOAMI", {}), hub.a.auth)
    assert result.is_error is False
    assert upstream.seen[-1].header("Authorization") == f"Bearer {CANARY_PASSWORD}"
    unknown = httpx.post(f"{hub.url}/mcp?action=ACME_ISSUES_NOPE", json=INITIALIZE, headers={**ACCEPT, **hub.a.auth})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "action_not_found"
    assert unknown.json()["message"].startswith("no exposed connection has action ACME_ISSUES_NOPE; their actions:")


def test_end_user_filter_by_header_or_query(hub: Hub, upstream: Upstream) -> None:
    alice = connect_acme(hub.engine, upstream, name="Alice", token=ALICE_TOKEN, team=hub.a.id, end_user_id="alice")
    bob = connect_acme(hub.engine, upstream, name="Bob", token=CANARY_PASSWORD, team=hub.a.id, end_user_id="bob")
    listed = _session(hub.url + "/mcp", lambda c: c.list_tools(), hub.a.auth).tools
    assert_valid_tools(listed)  # suffixed names too
    everyone = [t.name for t in listed]
    assert len(everyone) == 3 * len(CODES)
    assert [n for n in everyone if n.startswith("ACME_ISSUES_WHOAMI")] == [
        "ACME_ISSUES_WHOAMI__work",
        "ACME_ISSUES_WHOAMI__alice",
        "ACME_ISSUES_WHOAMI__bob",
    ]
    as_alice = {**hub.a.auth, "X-End-User-Id": "alice"}
    tools = _session(hub.url + "/mcp", lambda c: c.list_tools(), as_alice).tools
    assert [t.name for t in tools] == CODES
    assert all(f"id {alice})" in t.description for t in tools)
    whoami = _session(hub.url + "/mcp", lambda c: c.call_tool("ACME_ISSUES_WHOAMI", {}), as_alice)
    assert whoami.is_error is False and ALICE_TOKEN not in dump([tools, whoami])
    assert upstream.seen[-1].header("Authorization") == f"Bearer {ALICE_TOKEN}"

    tools = _session(hub.url + "/mcp?end_user_id=bob", lambda c: c.list_tools(), hub.a.auth).tools
    assert [t.name for t in tools] == CODES and all(f"id {bob})" in t.description for t in tools)

    # Bob's connection is not Alice's, and two different end users in one request are refused.
    refused = httpx.post(f"{hub.url}/mcp?connection={bob}", json=INITIALIZE, headers={**ACCEPT, **as_alice})
    assert (refused.status_code, refused.json()["message"]) == (
        404,
        f"No connection with id '{bob}' for end user 'alice'.",
    )
    both = httpx.post(f"{hub.url}/mcp?end_user_id=bob", json=INITIALIZE, headers={**ACCEPT, **as_alice})
    assert both.status_code == 422
    assert both.json()["message"] == (
        "the X-End-User-Id header ('alice') and ?end_user_id= ('bob') name different end users; send one of them"
    )
    # An end user without connections gets no tools, not another end user's.
    assert _session(hub.url + "/mcp?end_user_id=carol", _names, hub.a.auth) == []


def test_stateless_requests_work_across_processes_serving_one_database(hub: Hub, upstream: Upstream) -> None:
    """As `plughub serve --workers 4` does: consecutive requests of one client land on different workers."""
    with serve_app(create_app(hub.engine, hub.engine.settings), port=free_port()) as other:
        first = httpx.post(hub.url + "/mcp", json=INITIALIZE, headers={**ACCEPT, **hub.a.auth}, timeout=10)
        assert first.status_code == 200 and "mcp-session-id" not in first.headers
        headers = {**ACCEPT, **hub.a.auth, "MCP-Protocol-Version": "2025-11-25"}
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "ACME_ISSUES_WHOAMI", "arguments": {}},
        }
        second = httpx.post(other + "/mcp", json=call, headers=headers, timeout=10)
    assert second.status_code == 200, second.text
    assert second.json()["result"]["structuredContent"] == {"login": "octo", "authorization": "***"}
    assert upstream.seen[-1].header("Authorization") == f"Bearer {CANARY_TOKEN}"


def test_cli_serves_a_remote_servers_connections_with_the_teams_key(
    hub: Hub, upstream: Upstream, tmp_path: Any
) -> None:
    """`plughub mcp serve` with PLUGHUB_URL and PLUGHUB_API_KEY: the remote backend, scoped to the key's team."""
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {**cli_env(tmp_path / "unused-home"), "PLUGHUB_URL": hub.url, "PLUGHUB_API_KEY": hub.a.key}
    command = plughub_command("mcp", "serve", "--connection", hub.work, "--actions", "ACME_ISSUES_WHOAMI")
    params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=ROOT)

    async def main() -> Any:
        with (tmp_path / "stderr.txt").open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                return (await client.list_tools()).tools, await client.call_tool("ACME_ISSUES_WHOAMI", {})

    tools, whoami = anyio.run(main)
    assert [t.name for t in tools] == ["ACME_ISSUES_WHOAMI"]
    assert whoami.structured_content == {"login": "octo", "authorization": "***"}
    assert upstream.seen[-1].header("Authorization") == f"Bearer {CANARY_TOKEN}"
    assert_no_canary(tools, whoami, (tmp_path / "stderr.txt").read_text())

    # Team B's connection is not found with team A's key.
    other = plughub_command("mcp", "serve", "--connection", hub.beta)
    out = subprocess.run(other, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr.startswith(f"Error: No connection with id '{hub.beta}'.")


def test_a_server_gone_away_gives_errors_the_client_can_read_not_crashes(hub: Hub) -> None:
    """The CLI against a remote plughub that stops: the stdio server keeps answering, with the reason."""
    from mcp.shared.exceptions import MCPError

    from plughub.backends.remote import RemoteBackend
    from plughub.mcp_server import Toolset, build_server

    with serve_app(create_app(hub.engine, hub.engine.settings)) as url:
        remote = RemoteBackend(url, hub.a.key)
        toolset = Toolset(remote, [hub.work], ["ACME_ISSUES_WHOAMI"])
        assert [t.name for t in toolset.check()] == ["ACME_ISSUES_WHOAMI"]

    async def main() -> Any:
        async with Client(build_server(toolset)) as client:  # the SDK's in-process transport
            with pytest.raises(MCPError) as listing:
                await client.list_tools()
            known = await client.call_tool("ACME_ISSUES_WHOAMI", {})
            unknown = await client.call_tool("ACME_ISSUES_OTHER", {})
            return listing.value, known, unknown

    try:
        listing, known, unknown = anyio.run(main)
    finally:
        remote.close()
    reason = f"cannot reach the plughub server at {url}: ConnectError"
    assert listing.message == f"plughub could not list the tools: {reason}"
    assert known.is_error is True
    assert json.loads(known.content[0].text) == {"error": "backend_error", "message": reason}
    assert unknown.is_error is True
    assert unknown.content[0].text == f"plughub could not run the tool: {reason}"

"""An agent limited to some actions cannot reach other endpoints through a path input, over MCP.

`plughub mcp serve --actions` (stdio, spawned as a desktop agent would) and `/mcp?action=` in
`plughub serve` expose one action; a prompt-injected `..` in its path input must be a tool error
naming the input, with nothing sent to the service.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from plughub.config import Settings
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema
from plughub.schemas import ConnectRequest
from plughub.server import create_app
from tests.conftest import CANARY_TOKEN
from tests.mcp_server.conftest import ROOT, assert_no_canary, cli_env, plughub_command
from tests.repos_api import CLIMBING_PATH_VALUES, DEFINITION, GET, route
from tests.servers import serve_app
from tests.upstream import Upstream

# One call per climbing value, and one that reaches the service, so that the session is known to work.
CALLS: list[dict[str, Any]] = [{"owner": owner, "repo": "user"} for owner in CLIMBING_PATH_VALUES]
GOOD = {"owner": "o", "repo": "r"}


def _connect(engine: Engine, upstream: Upstream, team: str = "local") -> str:
    engine.integrations.create(DEFINITION, team=team)
    request = ConnectRequest(
        integration_id="acme-repos",
        scheme=AuthenticationSchema.BEARER_TOKEN,
        data={"token": CANARY_TOKEN, "base_url": upstream.url},
    )
    return engine.connections.create(request, team=team).id


async def _calls(client: Client) -> list[Any]:
    assert [t.name for t in (await client.list_tools()).tools] == [GET]
    return [await client.call_tool(GET, arguments) for arguments in [*CALLS, GOOD]]


def _check(results: list[Any], upstream: Upstream) -> None:
    *refused, good = results
    for arguments, result in zip(CALLS, refused, strict=True):
        assert result.is_error is True
        answer = json.loads(result.content[0].text)
        assert answer["error"] == "invalid_input"
        assert answer["message"].startswith(f"{GET}: input 'owner' cannot be '{arguments['owner']}'")
    assert good.is_error is False, good
    assert [s.path for s in upstream.seen] == ["/repos/o/r"]  # the refused calls sent nothing
    assert_no_canary(results)


def test_stdio_with_an_action_scope_refuses_climbing_path_inputs(
    engine: Engine, upstream: Upstream, home: Path, tmp_path: Path
) -> None:
    route(upstream)
    connection = _connect(engine, upstream)
    command = plughub_command("mcp", "serve", "--connection", connection, "--actions", GET)
    params = StdioServerParameters(command=command[0], args=command[1:], env=cli_env(home), cwd=ROOT)

    async def main() -> list[Any]:
        with (tmp_path / "stderr.txt").open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                return await _calls(client)

    _check(anyio.run(main), upstream)


@dataclasses.dataclass
class _Served:
    url: str
    key: str


@pytest.fixture
def served(home: Any, upstream: Upstream) -> Iterator[_Served]:
    """`plughub serve` over a guarded engine that may call the loopback upstream, with one team's connection."""
    route(upstream)
    settings = dataclasses.replace(Settings.from_env(), allow_private_networks="127.0.0.0/8")
    engine = Engine(settings, guard_outbound=True)
    try:
        team = engine.teams.create_team("team-a")
        assert team is not None
        _record, key = engine.teams.create_api_key(team.id, "tests")
        _connect(engine, upstream, team=team.id)
        with serve_app(create_app(engine, settings)) as url:
            yield _Served(url, key)
    finally:
        engine.close()


def test_mcp_endpoint_with_an_action_scope_refuses_climbing_path_inputs(served: _Served, upstream: Upstream) -> None:
    async def main() -> list[Any]:
        headers = {"Authorization": f"Bearer {served.key}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(f"{served.url}/mcp?action={GET}", http_client=http)) as client,
        ):
            return await _calls(client)

    _check(anyio.run(main), upstream)

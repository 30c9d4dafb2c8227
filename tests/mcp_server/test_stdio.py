"""`plughub mcp serve` over stdio, spawned as a desktop agent would and driven by the official MCP client."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.conftest import CANARY_TOKEN
from tests.mcp_server.conftest import ROOT, assert_no_canary, assert_valid_tools, cli_env, plughub_command
from tests.upstream import Reply, Seen, Upstream

SCOPE = ["ACME_ISSUES_CREATE_ISSUE", "ACME_ISSUES_WHOAMI"]


def _params(home: Path, *args: str) -> StdioServerParameters:
    command = plughub_command("mcp", "serve", *args)
    return StdioServerParameters(command=command[0], args=command[1:], env=cli_env(home), cwd=ROOT)


async def _session(home: Path, errlog: Any, mode: str, *args: str) -> dict[str, Any]:
    """Run one client session: list the tools and make the calls every test looks at."""
    async with Client(stdio_client(_params(home, *args), errlog=errlog), mode=mode) as client:
        listed = await client.list_tools()
        return {
            "protocol": client.protocol_version,
            "tools": listed.tools,
            "created": await client.call_tool("ACME_ISSUES_CREATE_ISSUE", {"title": "Hello", "labels": ["bug"]}),
            "whoami": await client.call_tool("ACME_ISSUES_WHOAMI", {}),
            "missing": await client.call_tool("ACME_ISSUES_CREATE_ISSUE", {"labels": ["bug"]}),
            "wrong_type": await client.call_tool("ACME_ISSUES_CREATE_ISSUE", {"title": "x", "priority": "high"}),
            "refused": await client.call_tool("ACME_ISSUES_CREATE_ISSUE", {"title": "taken"}),
            "outside_scope": await client.call_tool("ACME_ISSUES_LIST_ISSUES", {}),
        }


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 envelopes, and the initialize handshake
def test_stdio_serves_the_scoped_actions_and_runs_them_with_the_stored_credential(
    acme: str, upstream: Upstream, home: Path, tmp_path: Path, mode: str
) -> None:
    errlog = (tmp_path / "stderr.txt").open("w+")
    with errlog:
        got = anyio.run(_session, home, errlog, mode, "--connection", acme, "--actions", ",".join(SCOPE))
        errlog.seek(0)
        stderr = errlog.read()
    assert got["protocol"] == ("2026-07-28" if mode == "auto" else "2025-11-25")
    assert "plughub MCP server: 2 tools from 1 connection(s) on stdio" in stderr

    # The tool list is the scope, in the definition's order, with the definition's schemas.
    assert_valid_tools(got["tools"])
    tools = {t.name: t for t in got["tools"]}
    assert list(tools) == ["ACME_ISSUES_WHOAMI", "ACME_ISSUES_CREATE_ISSUE"]
    create = tools["ACME_ISSUES_CREATE_ISSUE"]
    assert create.input_schema["required"] == ["title"]
    assert create.input_schema["properties"]["priority"] == {"type": "integer", "minimum": 1, "maximum": 5}
    jsonschema.Draft202012Validator.check_schema(create.input_schema)
    assert create.description.startswith("Open an issue.")
    assert f"'Work' (Acme Issues, id {acme})" in create.description
    assert tools["ACME_ISSUES_WHOAMI"].annotations.read_only_hint is True

    # A call reaches the real service with the stored credential; the answer comes back structured.
    created = got["created"]
    assert created.is_error is False
    assert created.structured_content == {"id": 7, "title": "Hello", "labels": ["bug"]}
    assert json.loads(created.content[0].text) == created.structured_content
    posted = next(s for s in upstream.seen if s.method == "POST")
    assert posted.header("Authorization") == f"Bearer {CANARY_TOKEN}"
    assert posted.json() == {"title": "Hello", "labels": ["bug"]}
    # The service echoed the token: the engine masked it before the client saw it.
    assert got["whoami"].structured_content == {"login": "octo", "authorization": "***"}

    # Invalid arguments, a refusal by the service and an action outside the scope are tool errors.
    missing = got["missing"]
    assert missing.is_error is True
    assert json.loads(missing.content[0].text) == {
        "error": "missing_inputs",
        "message": "ACME_ISSUES_CREATE_ISSUE needs input 'title'.",
    }
    assert got["wrong_type"].is_error is True
    assert "input 'priority': 'high' is not of type 'integer'" in got["wrong_type"].content[0].text
    refused = json.loads(got["refused"].content[0].text)
    assert got["refused"].is_error is True
    assert refused["error"] == "upstream_status" and refused["status_code"] == 422
    assert "an issue with this title exists already" in refused["message"]
    outside = got["outside_scope"]
    assert outside.is_error is True
    assert "unknown tool 'ACME_ISSUES_LIST_ISSUES'" in outside.content[0].text
    assert "ACME_ISSUES_CREATE_ISSUE, ACME_ISSUES_WHOAMI" in outside.content[0].text
    assert len([s for s in upstream.seen if s.method == "POST"]) == 2  # nothing sent for invalid arguments

    assert_no_canary(got, stderr)


def _handshake(version: str) -> list[dict[str, Any]]:
    return [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ]


def _started(home: Path, connection: str, messages: list[dict[str, Any]]) -> subprocess.Popen[str]:
    """`plughub mcp serve` for one connection, driven by hand: the messages are written, stdin left open."""
    process = subprocess.Popen(
        plughub_command("mcp", "serve", "--connection", connection),
        cwd=ROOT,
        env=cli_env(home),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    process.stdin.flush()
    return process


def test_stdout_carries_nothing_but_the_protocol(acme: str, home: Path) -> None:
    messages = [
        *_handshake("2025-06-18"),
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "NOPE", "arguments": {}}},
    ]
    process = _started(home, acme, messages)
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(3)]  # an answer per request (stdin stays open meanwhile)
    stdout, stderr = process.communicate(timeout=30)  # closing stdin ends the server
    assert process.returncode == 0, stderr
    answers = [json.loads(line) for line in lines + stdout.splitlines()]  # every line is JSON-RPC, nothing else
    # The server handles requests concurrently: JSON-RPC answers may come in any order.
    answers.sort(key=lambda answer: int(answer["id"]))
    assert [a["id"] for a in answers] == [1, 2, 3]
    assert all(a["jsonrpc"] == "2.0" and "result" in a for a in answers)
    assert [t["name"] for t in answers[1]["result"]["tools"]] == [
        "ACME_ISSUES_WHOAMI",
        "ACME_ISSUES_CREATE_ISSUE",
        "ACME_ISSUES_LIST_ISSUES",
        "ACME_ISSUES_DELETE_ISSUE",
    ]
    assert answers[2]["result"]["isError"] is True  # an unknown tool is a tool error, not a protocol crash
    assert "plughub MCP server: 4 tools from 1 connection(s) on stdio" in stderr
    assert_no_canary(answers, stderr)


@pytest.mark.parametrize("version", ["2024-11-05", "2025-06-18"])
def test_a_call_in_flight_when_stdin_closes_is_answered_before_exiting(
    acme: str, upstream: Upstream, home: Path, version: str
) -> None:
    """A client that sends its last call and closes stdin (a one-shot script) still gets the answer."""
    arrived, release = threading.Event(), threading.Event()

    def slow_whoami(seen: Seen) -> Reply:
        arrived.set()
        release.wait(60)
        return Reply(200, {"login": "octo", "authorization": seen.header("Authorization")})

    upstream.route("GET", "/whoami", slow_whoami)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "ACME_ISSUES_WHOAMI"}}
    process = _started(home, acme, [*_handshake(version), call])
    assert process.stdin is not None and process.stdout is not None
    try:
        assert arrived.wait(60), "the call never reached the service"
        process.stdin.close()  # the client is done sending while its call is in flight
        time.sleep(0.5)  # not an assertion: lets the server read the end of stdin before the service answers
        release.set()
        stdout = process.stdout.read()  # until the server exits
        stderr = process.stderr.read() if process.stderr else ""
        process.wait(60)
    finally:
        release.set()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    answers = {a["id"]: a for a in map(json.loads, stdout.splitlines())}
    assert sorted(answers) == [1, 2], stdout
    assert answers[1]["result"]["protocolVersion"] == version
    result = answers[2]["result"]
    assert result["isError"] is False
    assert json.loads(result["content"][0]["text"]) == {"login": "octo", "authorization": "***"}
    # structuredContent came with 2025-06-18: an older session gets the text only.
    assert ("structuredContent" in result) is (version != "2024-11-05")
    assert_no_canary(answers, stderr)

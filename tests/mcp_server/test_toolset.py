"""The toolset behind every transport: scope, names, schemas and results, on the real engine and upstream."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

import jsonschema
import mcp_types
import pytest
from mcp.shared.tool_name_validation import TOOL_NAME_REGEX

from plughub.backends import EmbeddedBackend
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema, ConnectionStatus, ResponseStatus
from plughub.exceptions import ActionNotFound, ConnectionNotFound
from plughub.mcp_server import Toolset, name_tools, result_of
from plughub.schemas import ActionInfo, ActionResult, ConnectionInfo
from tests.mcp_server.conftest import CODES, acme_routes, assert_no_canary, connect_acme
from tests.upstream import Upstream

# MCP's own rule (SEP-986) is [A-Za-z0-9._-]{1,128}; the names also fit what model APIs accept.
STRICT_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _connection(id: str, name: str) -> ConnectionInfo:
    now = datetime.now(timezone.utc)
    return ConnectionInfo(
        id=id,
        integration_id="acme-issues",
        integration_name="Acme Issues",
        name=name,
        scheme=AuthenticationSchema.BEARER_TOKEN,
        status=ConnectionStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )


def _action(code: str) -> ActionInfo:
    return ActionInfo(code=code, name=code.title())


def test_names_are_codes_unless_two_connections_share_one() -> None:
    work, home, other = _connection("c1", "Work"), _connection("c2", "Home Office"), _connection("c3", "x")
    pairs = [(work, _action("A_ONE")), (work, _action("A_TWO")), (home, _action("A_TWO")), (other, _action("B"))]
    assert name_tools(pairs) == ["A_ONE", "A_TWO__work", "A_TWO__home_office", "B"]


def test_names_fall_back_to_connection_ids_when_names_do_not_tell_connections_apart() -> None:
    same = [(_connection("c1", "GitHub"), _action("GH_X")), (_connection("c2", "github"), _action("GH_X"))]
    assert name_tools(same) == ["GH_X__c1", "GH_X__c2"]
    unnamed = [(_connection("c1", "!!!"), _action("GH_X")), (_connection("c2", "Work"), _action("GH_X"))]
    assert name_tools(unnamed) == ["GH_X__c1", "GH_X__c2"]


def test_long_or_odd_codes_become_valid_distinct_names_of_at_most_64_characters() -> None:
    conn = _connection("c1", "Work")
    long_a, long_b = "X_" + "A" * 80, "X_" + "A" * 79 + "B"
    names = name_tools([(conn, _action(long_a)), (conn, _action(long_b)), (conn, _action("ACME.V2 GET/ISSUE"))])
    assert len(set(names)) == 3
    assert all(STRICT_NAME.match(n) and TOOL_NAME_REGEX.match(n) for n in names), names
    assert names[2].startswith("ACME_V2_GET_ISSUE_")
    # Suffixed names are cut the same way.
    other = _connection("c2" * 20, "")
    twice = name_tools([(conn, _action(long_a)), (other, _action(long_a))])
    assert len(set(twice)) == 2 and all(len(n) <= 64 and STRICT_NAME.match(n) for n in twice)


def test_a_code_equal_to_a_suffixed_name_is_refused_with_the_two_actions() -> None:
    one, two = _connection("c1", "Work"), _connection("c2", "Home")
    pairs = [(one, _action("A")), (two, _action("A")), (two, _action("A__work"))]
    with pytest.raises(ValueError, match=r"'A' \(connection c1\) and 'A__work' \(connection c2\) would both be"):
        name_tools(pairs)


def _toolset(engine: Engine, ids: list[str], actions: Any = None) -> Toolset:
    return Toolset(EmbeddedBackend(engine=engine), ids, actions)


def test_tools_follow_the_scope_and_carry_mcp_valid_definitions(engine: Engine, acme: str) -> None:
    assert [t.name for t in _toolset(engine, [acme]).check()] == CODES
    scoped = _toolset(engine, [acme], ["acme_issues_delete_issue", "ACME_ISSUES_WHOAMI"]).check()
    assert [t.name for t in scoped] == ["ACME_ISSUES_WHOAMI", "ACME_ISSUES_DELETE_ISSUE"]
    for tool in scoped:
        parsed = mcp_types.Tool.model_validate(tool.definition)  # the SDK's own model of a tool
        assert STRICT_NAME.match(parsed.name)
        assert parsed.input_schema["type"] == "object"
        jsonschema.Draft202012Validator.check_schema(parsed.input_schema)
    delete = scoped[1].definition
    assert delete["inputSchema"]["required"] == ["issue_id"]
    assert delete["annotations"] == {"openWorldHint": True, "destructiveHint": True}
    assert delete["title"] == "Delete issue"


def test_two_connections_of_one_integration_get_suffixed_names_and_titles(
    engine: Engine, acme: str, upstream: Upstream
) -> None:
    home = connect_acme(engine, upstream, name="Home", token="second-token-0123456789")
    tools = _toolset(engine, [acme, home], ["ACME_ISSUES_WHOAMI"]).check()
    assert [t.name for t in tools] == ["ACME_ISSUES_WHOAMI__work", "ACME_ISSUES_WHOAMI__home"]
    assert [t.definition["title"] for t in tools] == ["Who am I (Work)", "Who am I (Home)"]
    assert f"'Home' (Acme Issues, id {home})" in tools[1].definition["description"]
    toolset = _toolset(engine, [acme, home])
    result = toolset.call("ACME_ISSUES_WHOAMI__home", {})
    assert result["isError"] is False
    assert upstream.seen[-1].header("Authorization") == "Bearer second-token-0123456789"


def test_per_connection_scopes(engine: Engine, acme: str, upstream: Upstream) -> None:
    home = connect_acme(engine, upstream, name="Home")
    tools = _toolset(engine, [acme, home], {home: ["ACME_ISSUES_LIST_ISSUES"]}).check()
    assert [t.name for t in tools] == [
        *CODES[:2],
        "ACME_ISSUES_LIST_ISSUES__work",
        CODES[3],
        "ACME_ISSUES_LIST_ISSUES__home",
    ]
    with pytest.raises(ActionNotFound, match=r"has action ACME_ISSUES_NOPE \(in " + home):
        _toolset(engine, [acme, home], {home: ["ACME_ISSUES_NOPE"]}).check()
    with pytest.raises(ConnectionNotFound, match="actions are scoped for connection elsewhere, which is not exposed"):
        _toolset(engine, [acme], {"elsewhere": ["ACME_ISSUES_WHOAMI"]}).check()


def test_check_refuses_unknown_connections_and_actions_with_what_to_do(engine: Engine, acme: str) -> None:
    with pytest.raises(ConnectionNotFound, match="No connection with id 'nope'.*plughub connections list"):
        _toolset(engine, [acme, "nope"]).check()
    with pytest.raises(ActionNotFound) as caught:
        _toolset(engine, [acme], ["ACME_ISSUES_WHOAMI", "GITHUB_CREATE_ISSUE"]).check()
    assert caught.value.message == (
        "no exposed connection has action GITHUB_CREATE_ISSUE; their actions: ACME_ISSUES_CREATE_ISSUE, "
        "ACME_ISSUES_DELETE_ISSUE, ACME_ISSUES_LIST_ISSUES, ACME_ISSUES_WHOAMI "
        "(list them with `plughub actions CONNECTION_ID`)"
    )


def test_a_connection_deleted_while_serving_leaves_the_others_working(
    engine: Engine, acme: str, upstream: Upstream
) -> None:
    home = connect_acme(engine, upstream, name="Home")
    toolset = _toolset(engine, [acme, home], ["ACME_ISSUES_WHOAMI"])
    assert len(toolset.check()) == 2
    engine.connections.delete(acme)
    assert [t["name"] for t in toolset.tools()] == ["ACME_ISSUES_WHOAMI"]
    gone = toolset.call("ACME_ISSUES_WHOAMI__work", {})
    assert gone["isError"] is True and "unknown tool 'ACME_ISSUES_WHOAMI__work'" in gone["content"][0]["text"]
    assert toolset.call("ACME_ISSUES_WHOAMI", {})["isError"] is False


def test_calls_return_results_and_errors_in_the_call_tool_result_shape(
    engine: Engine, acme: str, upstream: Upstream
) -> None:
    toolset = _toolset(engine, [acme])
    listed = toolset.call("ACME_ISSUES_LIST_ISSUES", {"limit": 2})
    assert listed == {"content": [{"type": "text", "text": '[{"id": 7, "title": "First"}]'}], "isError": False}
    assert ("limit", "2") in upstream.seen[-1].query
    deleted = toolset.call("ACME_ISSUES_DELETE_ISSUE", {"issue_id": 7})
    assert deleted["isError"] is False
    unknown_input = toolset.call("ACME_ISSUES_WHOAMI", {"verbose": True})
    assert json.loads(unknown_input["content"][0]["text"]) == {
        "error": "unknown_inputs",
        "message": "ACME_ISSUES_WHOAMI does not take input 'verbose'; it accepts: no inputs.",
    }
    for result in (listed, deleted, unknown_input):
        mcp_types.CallToolResult.model_validate(result)
    assert_no_canary(listed, deleted, unknown_input)


def test_result_of_text_answers_and_failures_without_a_message() -> None:
    assert result_of(ActionResult(status=ResponseStatus.SUCCESS, data="plain text")) == {
        "content": [{"type": "text", "text": "plain text"}],
        "isError": False,
    }
    failed = result_of(ActionResult(status=ResponseStatus.FAILED))
    assert failed["isError"] is True
    assert json.loads(failed["content"][0]["text"]) == {
        "error": "failed",
        "message": "the action ended with status failed",
    }


def test_an_expired_connection_stops_being_exposed(engine: Engine, upstream: Upstream) -> None:
    acme_routes(upstream)
    first = connect_acme(engine, upstream)
    engine.store.connections.set_status(first, ConnectionStatus.EXPIRED.value, error="the grant was revoked")
    with pytest.raises(ValueError, match=rf"connection {first} \(Work\) is expired, not active \(the grant was"):
        _toolset(engine, [first]).check()
    assert _toolset(engine, [first]).tools() == []


def test_public_names_and_the_sdk_loaded_only_when_serving() -> None:
    import subprocess
    import sys

    import plughub.mcp_server

    assert plughub.mcp_server.__all__ == [
        "END_USER_HEADER",
        "SCOPE_KEY",
        "ActionSource",
        "ExposedTool",
        "StreamableHTTPEndpoint",
        "TeamSource",
        "Toolset",
        "build_server",
        "http_app",
        "loopback_security",
        "name_tools",
        "result_of",
        "serve_stdio",
        "team_endpoint",
    ]
    code = "import sys, plughub.mcp_server; print('mcp.server.lowlevel' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

"""The `plughub` command, driven through click's CliRunner against a real sandbox API.

Every test gets its own PLUGHUB_HOME (autouse fixture in tests/conftest.py); the CLI builds the
process default backend from it on first use, so state persists within a test and can be re-read
from disk after `reset_backend()`.
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from plughub.backends import reset_backend
from plughub.cli import cli
from plughub.enums import AuthenticationSchema
from plughub.exceptions import IntegrationNotFound, PlughubError
from plughub.factories import IntegrationFactory
from plughub.sandbox import SandboxServer
from tests.conftest import CANARIES, CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN

WIDE = {"COLUMNS": "200"}  # rich tables fold long cells at the default 80 columns


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env=WIDE)


def invoke(runner: CliRunner, *args: str, **kwargs: object) -> Result:
    return runner.invoke(cli, list(args), **kwargs)  # type: ignore[arg-type]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    assert result.exception is None
    return result


def one_line_error(result: Result, *fragments: str) -> str:
    """Assert exit code 1 and a single `Error: ...` line on stderr, no traceback; return it."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary not in text


def connect(runner: CliRunner, scheme: str, sandbox: SandboxServer, *pairs: str) -> str:
    args = ["connect", "sandbox", "--scheme", scheme, "-i", f"port={sandbox.port}", "--json"]
    for pair in pairs:
        args += ["-i", pair]
    result = ok(invoke(runner, *args))
    assert_no_canary(result.output)
    data = json.loads(result.stdout)
    assert data["status"] == "active"
    return str(data["id"])


@pytest.fixture
def api_conn(runner: CliRunner, sandbox: SandboxServer) -> str:
    return connect(runner, "API_KEY", sandbox, f"api_key={CANARY_API_KEY}")


@pytest.fixture
def open_conn(runner: CliRunner, sandbox: SandboxServer) -> str:
    return connect(runner, "NO_AUTH", sandbox)


def run_json(runner: CliRunner, conn: str, action: str, *args: str) -> Any:
    result = ok(invoke(runner, "run", conn, action, *args))
    assert result.stderr == ""
    return json.loads(result.stdout)


# --- basics -------------------------------------------------------------------------------------


def test_version(runner: CliRunner) -> None:
    result = ok(invoke(runner, "--version", prog_name="plughub"))
    assert result.stdout.strip() == f"plughub, version {importlib.metadata.version('plughub')}"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_every_command(runner: CliRunner, flag: str) -> None:
    result = ok(invoke(runner, flag))
    assert "--debug" in result.stdout
    for command in ("actions", "connect", "connections", "demo", "integrations", "keys", "run"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), command


@pytest.mark.parametrize("command", [["run"], ["connect"], ["connections", "list"], ["keys", "rotate"]])
def test_subcommand_help(runner: CliRunner, command: list[str]) -> None:
    result = ok(invoke(runner, *command, "--help"))
    assert "Usage:" in result.stdout


def test_integrations_schema_prints_json_schema(runner: CliRunner) -> None:
    schema = json.loads(ok(invoke(runner, "integrations", "schema")).stdout)
    assert "$schema" in schema
    assert "ActionSpec" in schema.get("$defs", {})


# --- integrations -------------------------------------------------------------------------------


def test_integrations_list_table_shows_github(runner: CliRunner) -> None:
    result = ok(invoke(runner, "integrations", "list", "--page-size", "500"))
    assert re.search(r"│ github\s+│ GitHub\s+│", result.stdout)
    assert "sandbox" in result.stdout
    assert re.search(r"page 1 of 1, \d+ in all", result.stdout)


def test_integrations_list_json(runner: CliRunner) -> None:
    data = json.loads(ok(invoke(runner, "integrations", "list", "--json", "--page-size", "500")).stdout)
    assert {"results", "total"} <= data.keys()
    ids = [item["id"] for item in data["results"]]
    assert "github" in ids and "sandbox" in ids
    assert data["total"] == len(ids) == len(set(ids))
    github = next(item for item in data["results"] if item["id"] == "github")
    assert {s["scheme"] for s in github["auth_schemes"]} == {"OAUTH2", "BEARER_TOKEN"}


def test_integrations_list_pages(runner: CliRunner) -> None:
    first = json.loads(ok(invoke(runner, "integrations", "list", "--page-size", "2", "--json")).stdout)
    second = json.loads(ok(invoke(runner, "integrations", "list", "--page-size", "2", "--page", "2", "--json")).stdout)
    assert len(first["results"]) == len(second["results"]) == 2
    assert not {i["id"] for i in first["results"]} & {i["id"] for i in second["results"]}
    assert first["total"] == second["total"] > 4


def test_integrations_list_query_filters(runner: CliRunner) -> None:
    everything = json.loads(ok(invoke(runner, "integrations", "list", "--json")).stdout)
    data = json.loads(ok(invoke(runner, "integrations", "list", "--query", "git", "--json")).stdout)
    ids = {item["id"] for item in data["results"]}
    assert "github" in ids
    assert "airtable" not in ids and "sandbox" not in ids
    assert 0 < data["total"] < everything["total"]
    # The search is full text (actions included); matches in the id or name come first.
    titles = ["git" in f"{item['id']} {item['name']}".lower() for item in data["results"]]
    assert titles == sorted(titles, reverse=True)
    assert {"github", "gitlab"} <= ids

    table = ok(invoke(runner, "integrations", "list", "-q", "git")).stdout
    assert "github" in table and "airtable" not in table


def test_integrations_list_query_without_match(runner: CliRunner) -> None:
    data = json.loads(ok(invoke(runner, "integrations", "list", "-q", "zzzz-no-such-thing", "--json")).stdout)
    assert data["results"] == [] and data["total"] == 0


def test_integrations_show_github(runner: CliRunner) -> None:
    out = ok(invoke(runner, "integrations", "show", "github")).stdout
    assert out.startswith("GitHub (github)")
    assert re.search(r"Actions \(\d+\)", out)
    assert re.search(r"BEARER_TOKEN\s+│ token\s+│ yes\s+│ yes", out)  # required, secret
    assert re.search(r"OAUTH2\s+│ -\s+│.*consent in the browser", out)
    assert re.search(r"Triggers \(\d+\)", out)
    assert re.search(r"GITHUB_ISSUE_OPENED\s+│ webhook\s+│ issues\s+│ Issue opened", out)


def test_integrations_show_github_json(runner: CliRunner) -> None:
    info = json.loads(ok(invoke(runner, "integrations", "show", "github", "--json")).stdout)
    assert info["id"] == "github"
    schemes = {s["scheme"]: s for s in info["auth_schemes"]}
    assert set(schemes) == {"OAUTH2", "BEARER_TOKEN"}
    token = {i["code"]: i for i in schemes["BEARER_TOKEN"]["inputs"]}["token"]
    assert token["required"] is True and token["secret"] is True
    assert schemes["OAUTH2"]["inputs"] == []
    assert info["action_count"] > 0
    opened = {t["code"]: t for t in info["triggers"]}["GITHUB_ISSUE_OPENED"]
    assert (opened["type"], opened["events"], opened["subscribes"]) == ("webhook", ["issues"], True)
    assert [c["code"] for c in opened["config"]] == ["owner", "repo"]


def test_integrations_show_sandbox_lists_every_scheme(runner: CliRunner) -> None:
    out = ok(invoke(runner, "integrations", "show", "sandbox")).stdout
    for scheme in ("API_KEY", "BEARER_TOKEN", "BASIC", "NO_AUTH"):
        assert scheme in out
    for field in ("api_key", "token", "username", "password"):
        assert re.search(rf"│ {field}\s+│", out), field
    assert re.search(r"│ BASIC\s+│ username\s+│ yes\s+│ no\s+│", out)  # required, not secret
    assert re.search(r"│ NO_AUTH\s+│ port\s+│ no\s+│ no\s+│", out)  # only the optional config input


def test_integrations_show_unknown_is_one_line_error(runner: CliRunner) -> None:
    result = invoke(runner, "integrations", "show", "nope")
    one_line_error(result, "No integration", "'nope'")
    assert result.stdout == ""


def test_debug_lets_the_exception_propagate(runner: CliRunner) -> None:
    result = invoke(runner, "--debug", "integrations", "show", "nope")
    assert result.exit_code == 1
    assert isinstance(result.exception, PlughubError)
    assert isinstance(result.exception, IntegrationNotFound)
    assert "Error: " not in result.stderr


# --- connect ------------------------------------------------------------------------------------


def test_connect_json_creates_a_connection(runner: CliRunner, sandbox: SandboxServer, home: Path) -> None:
    result = ok(
        invoke(
            runner,
            "connect",
            "sandbox",
            "--scheme",
            "API_KEY",
            "-i",
            f"api_key={CANARY_API_KEY}",
            "-i",
            f"port={sandbox.port}",
            "--json",
        )
    )
    data = json.loads(result.stdout)
    assert re.fullmatch(r"[0-9a-f]{24}", data["id"])
    assert data["status"] == "active"
    assert_no_canary(result.stdout, result.stderr)
    assert home.is_dir()  # the CLI used PLUGHUB_HOME


def test_connect_plain_output(runner: CliRunner, sandbox: SandboxServer) -> None:
    result = ok(
        invoke(
            runner,
            "connect",
            "sandbox",
            "-s",
            "bearer_token",
            "-i",
            f"token={CANARY_TOKEN}",
            "-i",
            f"port={sandbox.port}",
            "--name",
            "my notes",
            "--description",
            "for tests",
        )
    )
    match = re.fullmatch(r"Connected plughub Sandbox with BEARER_TOKEN: connection id ([0-9a-f]{24})\n", result.stdout)
    assert match, result.stdout
    info = json.loads(ok(invoke(runner, "connections", "show", match.group(1), "--json")).stdout)
    assert info["name"] == "my notes" and info["description"] == "for tests"
    assert_no_canary(result.output)


def test_connect_missing_required_input_without_tty(runner: CliRunner, sandbox: SandboxServer) -> None:
    # CliRunner's stdin is not a TTY: nothing is prompted, the engine refuses.
    result = invoke(runner, "connect", "sandbox", "--scheme", "API_KEY", "-i", f"port={sandbox.port}")
    one_line_error(result, "'api_key'")
    assert "Traceback" not in result.output
    assert json.loads(ok(invoke(runner, "connections", "list", "--json")).stdout)["total"] == 0


def test_connect_missing_basic_password_without_tty(runner: CliRunner, sandbox: SandboxServer) -> None:
    result = invoke(
        runner, "connect", "sandbox", "--scheme", "BASIC", "-i", "username=demo", "-i", f"port={sandbox.port}"
    )
    one_line_error(result, "'password'")


def test_connect_unsupported_scheme(runner: CliRunner) -> None:
    one_line_error(invoke(runner, "connect", "github", "--scheme", "API_KEY"), "API_KEY", "OAUTH2, BEARER_TOKEN")


def test_connect_unknown_scheme_is_a_usage_error(runner: CliRunner) -> None:
    result = invoke(runner, "connect", "sandbox", "--scheme", "KERBEROS")
    assert result.exit_code == 2
    assert "KERBEROS" in result.stderr


def test_connect_unknown_integration(runner: CliRunner) -> None:
    one_line_error(invoke(runner, "connect", "nope", "--scheme", "API_KEY"), "No integration")


def test_connect_input_without_equals_is_a_usage_error(runner: CliRunner) -> None:
    result = invoke(runner, "connect", "sandbox", "--scheme", "API_KEY", "-i", "api_key")
    assert result.exit_code == 2
    assert "not key=value" in result.stderr


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `connect` believe stdin is a terminal (only its `sys.stdin.isatty()` check)."""
    fake_sys = types.SimpleNamespace(stdin=types.SimpleNamespace(isatty=lambda: True))
    # `plughub.cli.connections` the attribute is the click group; the module is in sys.modules.
    monkeypatch.setattr(sys.modules["plughub.cli.connections"], "sys", fake_sys)


@pytest.mark.usefixtures("tty")
def test_connect_prompts_for_a_missing_secret_without_echo(runner: CliRunner, sandbox: SandboxServer) -> None:
    result = ok(
        invoke(
            runner,
            "connect",
            "sandbox",
            "--scheme",
            "API_KEY",
            "-i",
            f"port={sandbox.port}",
            "--json",
            input=f"{CANARY_API_KEY}\n",
        )
    )
    assert "API key" in result.stdout  # the prompt was shown
    assert_no_canary(result.output)  # the typed secret was not echoed
    conn = json.loads(result.stdout[result.stdout.index("{") :])["id"]
    assert run_json(runner, conn, "SANDBOX_WHOAMI") == {"scheme": "API_KEY", "user": "demo"}


@pytest.mark.usefixtures("tty")
def test_connect_prompts_echo_plain_inputs_and_hide_secret_ones(runner: CliRunner, sandbox: SandboxServer) -> None:
    result = ok(
        invoke(
            runner,
            "connect",
            "sandbox",
            "--scheme",
            "BASIC",
            "-i",
            f"port={sandbox.port}",
            input=f"demo\n{CANARY_PASSWORD}\n",
        )
    )
    prompts = result.stdout.splitlines()
    assert prompts[0].endswith(": demo")  # username is not secret: CliRunner echoes it
    assert_no_canary(result.output)
    conn = re.search(r"connection id ([0-9a-f]{24})", result.stdout)
    assert conn
    assert run_json(runner, conn.group(1), "SANDBOX_WHOAMI") == {"scheme": "BASIC", "user": "demo"}


@pytest.mark.usefixtures("tty")
def test_connect_does_not_prompt_for_given_inputs(runner: CliRunner, sandbox: SandboxServer) -> None:
    result = ok(
        invoke(
            runner,
            "connect",
            "sandbox",
            "--scheme",
            "API_KEY",
            "-i",
            f"api_key={CANARY_API_KEY}",
            "-i",
            f"port={sandbox.port}",
            "--json",
            input="",
        )
    )
    assert json.loads(result.stdout)["status"] == "active"


# --- connections --------------------------------------------------------------------------------


def test_connections_list_table(runner: CliRunner, api_conn: str) -> None:
    result = ok(invoke(runner, "connections", "list"))
    row = next(line for line in result.stdout.splitlines() if api_conn in line)
    assert "sandbox" in row and "API_KEY" in row and "active" in row
    assert "1 in all" in result.stdout
    assert_no_canary(result.output)


def test_connections_list_json(runner: CliRunner, api_conn: str, open_conn: str) -> None:
    result = ok(invoke(runner, "connections", "list", "--json"))
    data = json.loads(result.stdout)
    assert data["total"] == 2
    by_id = {c["id"]: c for c in data["results"]}
    assert set(by_id) == {api_conn, open_conn}
    assert by_id[api_conn]["scheme"] == "API_KEY"
    assert by_id[api_conn]["credentials"].get("api_key", "***").startswith("***")
    assert by_id[open_conn]["scheme"] == "NO_AUTH"
    assert_no_canary(result.output)


def test_connections_list_query(runner: CliRunner, sandbox: SandboxServer) -> None:
    first = connect(runner, "API_KEY", sandbox, f"api_key={CANARY_API_KEY}")
    ok(invoke(runner, "connect", "sandbox", "-s", "NO_AUTH", "-i", f"port={sandbox.port}", "--name", "zebra"))
    data = json.loads(ok(invoke(runner, "connections", "list", "-q", "zebra", "--json")).stdout)
    assert [c["name"] for c in data["results"]] == ["zebra"]
    assert first not in {c["id"] for c in data["results"]}


def test_connections_survive_a_new_backend(runner: CliRunner, api_conn: str) -> None:
    reset_backend()  # the next command re-reads PLUGHUB_HOME from disk
    data = json.loads(ok(invoke(runner, "connections", "list", "--json")).stdout)
    assert [c["id"] for c in data["results"]] == [api_conn]
    assert run_json(runner, api_conn, "SANDBOX_WHOAMI") == {"scheme": "API_KEY", "user": "demo"}


@pytest.mark.usefixtures("backend")
def test_cli_sees_connections_made_through_the_sdk(runner: CliRunner, sandbox: SandboxServer) -> None:
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN, "port": sandbox.port}
    )
    conn = response.data["id"]
    assert conn in ok(invoke(runner, "connections", "list")).stdout
    assert run_json(runner, conn, "SANDBOX_WHOAMI") == {"scheme": "BEARER_TOKEN", "user": "demo"}


def test_connections_show_masks_the_secret(runner: CliRunner, api_conn: str, sandbox: SandboxServer) -> None:
    result = ok(invoke(runner, "connections", "show", api_conn))
    out = result.stdout
    # long secrets show only their last 4 characters after the mask
    assert re.search(rf"credentials\.api_key\s+│ \*\*\*{CANARY_API_KEY[-4:]}\s", out)
    assert re.search(rf"│ id\s+│ {api_conn}", out)
    assert re.search(rf"config\.port\s+│ {sandbox.port}", out)
    assert_no_canary(result.output)

    result = ok(invoke(runner, "connections", "show", api_conn, "--json"))
    info = json.loads(result.stdout)
    assert info["id"] == api_conn and info["scheme"] == "API_KEY" and info["status"] == "active"
    assert info["credentials"] == {"api_key": "***" + CANARY_API_KEY[-4:]}
    assert info["config"] == {"port": sandbox.port}
    assert_no_canary(result.output)


def test_connections_show_basic_masks_password(runner: CliRunner, sandbox: SandboxServer) -> None:
    conn = connect(runner, "BASIC", sandbox, "username=demo", f"password={CANARY_PASSWORD}")
    result = ok(invoke(runner, "connections", "show", conn, "--json"))
    assert json.loads(result.stdout)["credentials"]["password"] == "***" + CANARY_PASSWORD[-4:]
    assert_no_canary(result.output)


def test_connections_show_unknown(runner: CliRunner) -> None:
    one_line_error(invoke(runner, "connections", "show", "0" * 24), "0" * 24)


def test_connections_show_an_integration_id_is_a_usage_error(runner: CliRunner) -> None:
    result = invoke(runner, "connections", "show", "github")
    assert result.exit_code == 2
    assert "is an integration, not a connection" in result.stderr


def test_connections_delete(runner: CliRunner, api_conn: str) -> None:
    result = ok(invoke(runner, "connections", "delete", api_conn, "--yes"))
    assert result.stdout.strip() == f"Deleted connection {api_conn}"
    one_line_error(invoke(runner, "connections", "show", api_conn), api_conn)
    one_line_error(invoke(runner, "run", api_conn, "SANDBOX_WHOAMI"), api_conn)
    assert json.loads(ok(invoke(runner, "connections", "list", "--json")).stdout)["total"] == 0
    reset_backend()
    one_line_error(invoke(runner, "connections", "show", api_conn), api_conn)


def test_connections_delete_asks_first(runner: CliRunner, api_conn: str) -> None:
    refused = invoke(runner, "connections", "delete", api_conn, input="n\n")
    assert refused.exit_code == 1
    assert f"Delete connection {api_conn}" in refused.stdout
    ok(invoke(runner, "connections", "show", api_conn))

    accepted = ok(invoke(runner, "connections", "delete", api_conn, input="y\n"))
    assert f"Deleted connection {api_conn}" in accepted.stdout
    assert invoke(runner, "connections", "show", api_conn).exit_code == 1


# --- actions and run ----------------------------------------------------------------------------


def test_actions_table(runner: CliRunner, api_conn: str) -> None:
    out = ok(invoke(runner, "actions", api_conn)).stdout
    row = next(line for line in out.splitlines() if "SANDBOX_CREATE_NOTE" in line)
    assert "text*:string" in row and "tags:array" in row
    for code in ("SANDBOX_WHOAMI", "SANDBOX_LIST_NOTES", "SANDBOX_GET_NOTE", "SANDBOX_DELETE_NOTE", "SANDBOX_ECHO"):
        assert code in out
    assert re.search(r"SANDBOX_LIST_NOTES\s+│.*│ limit:integer", out)


def test_actions_json(runner: CliRunner, api_conn: str) -> None:
    found = json.loads(ok(invoke(runner, "actions", api_conn, "--json")).stdout)
    by_code = {a["code"]: a for a in found}
    create = by_code["SANDBOX_CREATE_NOTE"]
    inputs = {i["code"]: i for i in create["inputs"]}
    assert set(inputs) == {"text", "tags"}
    assert inputs["text"]["required"] is True and inputs["tags"]["required"] is False
    assert create["input_schema"]["required"] == ["text"]
    assert by_code["SANDBOX_WHOAMI"]["inputs"] == []


def test_actions_of_an_integration_id_is_a_usage_error(runner: CliRunner) -> None:
    result = invoke(runner, "actions", "github")
    assert result.exit_code == 2
    assert "is an integration, not a connection" in result.stderr


def test_run_create_note(runner: CliRunner, api_conn: str, sandbox: SandboxServer) -> None:
    note = run_json(runner, api_conn, "SANDBOX_CREATE_NOTE", "-i", "text=hello", "-i", 'tags=["a"]')
    assert note == {"id": 1, "text": "hello", "tags": ["a"], "created_by": "API_KEY"}
    sent = sandbox.received[-1]
    assert (sent.method, sent.path) == ("POST", "/notes")
    assert json.loads(sent.body) == {"text": "hello", "tags": ["a"]}
    assert sent.headers["X-Api-Key"] == CANARY_API_KEY


def test_run_string_input_keeps_json_looking_text(runner: CliRunner, api_conn: str) -> None:
    note = run_json(runner, api_conn, "SANDBOX_CREATE_NOTE", "-i", "text=42", "-i", "tags=[]")
    assert note["text"] == "42" and note["tags"] == []


def test_run_list_notes_with_json_inputs(runner: CliRunner, api_conn: str, sandbox: SandboxServer) -> None:
    for text in ("one", "two"):
        run_json(runner, api_conn, "SANDBOX_CREATE_NOTE", "-i", f"text={text}")
    listed = run_json(runner, api_conn, "SANDBOX_LIST_NOTES", "--json", '{"limit": 5}')
    assert isinstance(listed, dict)
    assert [n["text"] for n in listed["notes"]] == ["one", "two"]
    assert listed["total"] == 2
    assert sandbox.received[-1].query == {"limit": "5"}

    one = run_json(runner, api_conn, "SANDBOX_LIST_NOTES", "-i", "limit=1")
    assert isinstance(one, dict) and len(one["notes"]) == 1


def test_run_get_note_by_integer_path_input(runner: CliRunner, api_conn: str) -> None:
    created = run_json(runner, api_conn, "SANDBOX_CREATE_NOTE", "-i", "text=x")
    assert isinstance(created, dict)
    fetched = run_json(runner, api_conn, "SANDBOX_GET_NOTE", "-i", f"note_id={created['id']}")
    assert fetched == created


def test_run_failed_action_exits_1(runner: CliRunner, open_conn: str) -> None:
    result = invoke(runner, "run", open_conn, "SANDBOX_WHOAMI")
    line = one_line_error(result, "401", "SANDBOX_WHOAMI")
    assert "Unauthorized" in line
    assert json.loads(result.stdout) == {"error": "unauthorized", "message": "missing or wrong credentials"}


def test_run_public_action_without_auth(runner: CliRunner, open_conn: str) -> None:
    assert run_json(runner, open_conn, "SANDBOX_ECHO", "-i", "message=hi") == {"echo": "hi", "authenticated": False}


def test_run_wrong_secret_fails_without_leaking_it(runner: CliRunner, sandbox: SandboxServer) -> None:
    conn = connect(runner, "BEARER_TOKEN", sandbox, f"token={CANARY_TOKEN}-wrong")
    result = invoke(runner, "run", conn, "SANDBOX_WHOAMI")
    one_line_error(result, "401")
    assert_no_canary(result.output)


def test_run_unknown_input_names_accepted_ones(runner: CliRunner, api_conn: str, sandbox: SandboxServer) -> None:
    before = len(sandbox.received)
    result = invoke(runner, "run", api_conn, "SANDBOX_CREATE_NOTE", "-i", "text=hi", "-i", "txt=typo")
    one_line_error(result, "'txt'", "tags", "text")
    assert len(sandbox.received) == before  # refused before anything was sent


def test_run_misspelt_required_input(runner: CliRunner, api_conn: str) -> None:
    # The missing `text` and the unknown `txt` are both reported.
    one_line_error(invoke(runner, "run", api_conn, "SANDBOX_CREATE_NOTE", "-i", "txt=typo"), "txt", "'text'")


def test_run_invalid_value_is_refused(runner: CliRunner, api_conn: str, sandbox: SandboxServer) -> None:
    before = len(sandbox.received)
    one_line_error(invoke(runner, "run", api_conn, "SANDBOX_LIST_NOTES", "-i", "limit=500"), "limit", "100")
    assert len(sandbox.received) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-i", "limit=abc"], "limit takes a"),
        (["-i", "limit"], "not key=value"),
        (["--json", "{nope"], "not valid JSON"),
        (["--json", "[1, 2]"], "must be a JSON object"),
    ],
)
def test_run_malformed_inputs_are_usage_errors(
    runner: CliRunner, api_conn: str, args: list[str], fragment: str
) -> None:
    result = invoke(runner, "run", api_conn, "SANDBOX_LIST_NOTES", *args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_run_unknown_action(runner: CliRunner, api_conn: str) -> None:
    one_line_error(invoke(runner, "run", api_conn, "SANDBOX_NOPE"), "SANDBOX_NOPE", "SANDBOX_WHOAMI")


def test_run_unknown_connection(runner: CliRunner) -> None:
    one_line_error(invoke(runner, "run", "f" * 24, "SANDBOX_WHOAMI"), "f" * 24)


def test_run_unreachable_upstream(runner: CliRunner, closed_port: int) -> None:
    result = ok(invoke(runner, "connect", "sandbox", "-s", "NO_AUTH", "-i", f"port={closed_port}", "--json"))
    conn = json.loads(result.stdout)["id"]
    one_line_error(invoke(runner, "run", conn, "SANDBOX_ECHO", "-i", "message=x"))


# --- keys ---------------------------------------------------------------------------------------


def test_keys_generate(runner: CliRunner) -> None:
    keys: list[str] = []
    for _ in range(2):
        out = ok(invoke(runner, "keys", "generate")).stdout
        assert out.endswith("\n") and out.count("\n") == 1
        key = out.strip()
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key), key
        assert len(base64.urlsafe_b64decode(key + "=")) == 32
        keys.append(key)
    assert keys[0] != keys[1]


def test_keys_rotate_then_connections_still_run(runner: CliRunner, sandbox: SandboxServer) -> None:
    conns = {
        "API_KEY": connect(runner, "API_KEY", sandbox, f"api_key={CANARY_API_KEY}"),
        "BEARER_TOKEN": connect(runner, "BEARER_TOKEN", sandbox, f"token={CANARY_TOKEN}"),
        "BASIC": connect(runner, "BASIC", sandbox, "username=demo", f"password={CANARY_PASSWORD}"),
        "NO_AUTH": connect(runner, "NO_AUTH", sandbox),  # has no stored secret
    }
    first = ok(invoke(runner, "keys", "rotate")).stdout
    match = re.fullmatch(r"Rotated the data key: 3 records re-encrypted under (\S+)\n", first)
    assert match, first
    assert_no_canary(first)

    def check_all() -> None:
        for scheme in ("API_KEY", "BEARER_TOKEN", "BASIC"):
            assert run_json(runner, conns[scheme], "SANDBOX_WHOAMI") == {"scheme": scheme, "user": "demo"}
        assert run_json(runner, conns["NO_AUTH"], "SANDBOX_ECHO", "-i", "message=m")["echo"] == "m"

    check_all()
    reset_backend()  # and from disk
    check_all()

    second = ok(invoke(runner, "keys", "rotate")).stdout
    again = re.fullmatch(r"Rotated the data key: 3 records re-encrypted under (\S+)\n", second)
    assert again and again.group(1) != match.group(1)
    reset_backend()
    check_all()


def test_keys_rotate_with_nothing_stored(runner: CliRunner) -> None:
    assert ok(invoke(runner, "keys", "rotate")).stdout.startswith("Rotated the data key: 0 records")


def test_no_secret_on_disk_after_cli_use(runner: CliRunner, sandbox: SandboxServer, home: Path) -> None:
    connect(runner, "API_KEY", sandbox, f"api_key={CANARY_API_KEY}")
    connect(runner, "BASIC", sandbox, "username=demo", f"password={CANARY_PASSWORD}")
    connect(runner, "BEARER_TOKEN", sandbox, f"token={CANARY_TOKEN}")
    ok(invoke(runner, "keys", "rotate"))
    for path in home.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            for canary in CANARIES:
                assert canary.encode() not in raw, path


# --- usability ----------------------------------------------------------------------------------


def test_connections_list_keeps_ids_whole_at_80_columns(sandbox: SandboxServer) -> None:
    runner = CliRunner(env={"COLUMNS": "80"})
    conn = connect(runner, "API_KEY", sandbox, f"api_key={CANARY_API_KEY}")
    assert conn in ok(invoke(runner, "connections", "list")).stdout


def test_connections_show_masks_a_short_secret_completely(runner: CliRunner, sandbox: SandboxServer) -> None:
    conn = connect(runner, "API_KEY", sandbox, "api_key=short-key")
    result = ok(invoke(runner, "connections", "show", conn, "--json"))
    assert json.loads(result.stdout)["credentials"] == {"api_key": "***"}
    assert "short-key" not in result.output


# --- pages and the proxy: run --all, request -------------------------------------------------


def _notes(runner: CliRunner, conn: str, count: int) -> None:
    for n in range(count):
        run_json(runner, conn, "SANDBOX_CREATE_NOTE", "-i", f"text=note {n}")


def test_run_all_prints_every_item_and_the_pages_on_stderr(
    runner: CliRunner, api_conn: str, sandbox: SandboxServer
) -> None:
    _notes(runner, api_conn, 5)
    result = ok(invoke(runner, "run", api_conn, "SANDBOX_LIST_NOTES", "-i", "limit=2", "--all"))
    assert [n["text"] for n in json.loads(result.stdout)] == [f"note {n}" for n in range(5)]
    assert result.stderr.strip() == "3 pages, 5 items"
    truncated = ok(invoke(runner, "run", api_conn, "SANDBOX_LIST_NOTES", "-i", "limit=2", "--all", "--max-pages", "1"))
    assert len(json.loads(truncated.stdout)) == 2
    assert truncated.stderr.strip() == "1 page, 2 items; more pages remain (raise --max-pages)"


def test_run_all_on_an_action_that_does_not_paginate(runner: CliRunner, api_conn: str) -> None:
    result = invoke(runner, "run", api_conn, "SANDBOX_WHOAMI", "--all")
    assert result.exit_code == 1
    assert "does not declare pagination; run it without paginate" in result.output
    assert "Traceback" not in result.output
    alone = invoke(runner, "run", api_conn, "SANDBOX_LIST_NOTES", "--max-pages", "2")
    assert alone.exit_code == 2 and "--max-pages goes with --all" in alone.output


def test_request_sends_the_query_headers_and_json_with_the_credentials(
    runner: CliRunner, api_conn: str, sandbox: SandboxServer
) -> None:
    result = ok(
        invoke(
            runner,
            "request",
            api_conn,
            "POST",
            "/notes",
            "-q",
            "draft=true",
            "-H",
            "X-Trace: t-1",
            "--json",
            '{"text": "from the CLI"}',
        )
    )
    assert json.loads(result.stdout)["text"] == "from the CLI"
    seen = sandbox.received[-1]
    assert (seen.method, seen.path, seen.query) == ("POST", "/notes", {"draft": "true"})
    assert seen.headers["X-Trace"] == "t-1" and seen.headers["X-Api-Key"] == CANARY_API_KEY
    assert_no_canary(result.output)


def test_request_include_shows_the_status_and_a_non_2xx_exits_1(runner: CliRunner, api_conn: str) -> None:
    shown = ok(invoke(runner, "request", api_conn, "GET", "/whoami", "-I"))
    assert shown.stdout.startswith("HTTP 200\n")
    assert "Content-Type: application/json" in shown.stdout
    missing = invoke(runner, "request", api_conn, "GET", "/notes/99")
    one_line_error(missing, "the service answered 404")


def test_request_refusals_are_one_line_errors(runner: CliRunner, api_conn: str, sandbox: SandboxServer) -> None:
    before = len(sandbox.received)
    for args, fragment in (
        (("GET", "/notes/%2e%2e/whoami"), "'.' or '..' segment"),
        (("GET", "https://evil.example/x"), "is not on the connection's origin"),
        (("GET", "/notes", "-H", "X-Api-Key: mine"), "header 'X-Api-Key' is refused"),
    ):
        result = invoke(runner, "request", api_conn, *args)
        assert result.exit_code == 1, result.output
        assert fragment in result.output and "Traceback" not in result.output
    bad = invoke(runner, "request", api_conn, "GET", "/notes", "-q", "novalue")
    assert bad.exit_code == 2 and "'novalue' is not key=value" in bad.output
    assert len(sandbox.received) == before

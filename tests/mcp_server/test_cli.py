"""`plughub mcp serve` refuses unknown connections and actions before serving, in one line on stderr."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner, Result

from plughub.cli import cli
from plughub.engine import Engine
from plughub.enums import ConnectionStatus
from tests.mcp_server.conftest import ROOT, cli_env, plughub_command


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["mcp", "serve", *args])


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_an_unknown_connection_is_refused_before_serving(acme: str) -> None:
    line = _one_line_error(_invoke("--connection", acme, "--connection", "0123abcd"))
    assert line == "Error: No connection with id '0123abcd'. List them with `plughub connections list`."


def test_an_action_no_listed_connection_has_is_refused_with_the_available_ones(acme: str) -> None:
    line = _one_line_error(_invoke("-c", acme, "--actions", "ACME_ISSUES_WHOAMI,SLACK_POST_MESSAGE"))
    assert line.startswith("Error: no exposed connection has action SLACK_POST_MESSAGE; their actions: ")
    assert "ACME_ISSUES_CREATE_ISSUE, ACME_ISSUES_DELETE_ISSUE" in line
    assert line.endswith("(list them with `plughub actions CONNECTION_ID`)")


def test_a_connection_that_is_not_active_is_refused(engine: Engine, acme: str) -> None:
    engine.store.connections.set_status(acme, ConnectionStatus.PENDING.value)
    line = _one_line_error(_invoke("--connection", acme))
    assert line == (
        f"Error: connection {acme} (Work) is pending, not active: complete or renew its authorization first, "
        "or leave it out"
    )


def test_the_connection_option_is_required() -> None:
    result = _invoke()
    assert result.exit_code == 2
    assert "Missing option '--connection' / '-c'" in result.stderr


def test_the_real_command_exits_non_zero_with_the_message_and_nothing_on_stdout(home: Path, acme: str) -> None:
    out = subprocess.run(
        plughub_command("mcp", "serve", "--connection", "missing-id", "--transport", "http"),
        cwd=ROOT,
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.startswith("Error: No connection with id 'missing-id'.")
    assert "Traceback" not in out.stderr

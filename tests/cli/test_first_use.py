"""What a new user meets first: a missing server extra, a bad PLUGHUB_HOME, errors in CLI words,
pages counted from 1, the catalog search and `integrations show`.

Each test here failed before the fix it guards (issue 14, section 7).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from plughub.backends import Backend
from plughub.config import Settings
from plughub.engine import Engine
from plughub.enums import FunctionType
from plughub.exceptions import ConfigurationError, IntegrationNotFound
from plughub.factories import IntegrationFactory, ModelFactory
from plughub.sandbox import SandboxServer
from tests.cli.test_cli import WIDE, connect, invoke, ok, one_line_error
from tests.conftest import CANARY_API_KEY

SANDBOX_ACTIONS = {
    "SANDBOX_WHOAMI": "Who am I",
    "SANDBOX_CREATE_NOTE": "Create note",
    "SANDBOX_LIST_NOTES": "List notes",
    "SANDBOX_SEARCH_NOTES": "Search notes",
    "SANDBOX_GET_NOTE": "Get note",
    "SANDBOX_DELETE_NOTE": "Delete note",
    "SANDBOX_ECHO": "Echo",
}
PYTHON_WORDS = ("IntegrationFactory", "ModelFactory", "FunctionType", "()", "data dictionary")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env=WIDE)


def cli_words(line: str) -> None:
    """The CLI's errors name CLI commands and flags, never the Python API."""
    for word in PYTHON_WORDS:
        assert word not in line, (word, line)


def run_cli(*args: str, block: str | None = None, prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `plughub ARGS` in a new process; `block` makes a module unimportable, as if not installed."""
    setup = f"sys.modules[{block!r}] = None; " if block else ""  # what `import` sees for an absent package
    code = f"import sys; {setup}from plughub.cli import main; main()"
    return subprocess.run(
        [*(prefix or []), sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
        check=False,
    )


def assert_one_error_line(proc: subprocess.CompletedProcess[str], expected: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.splitlines() == [expected], proc.stderr
    assert proc.stdout == ""


# --- the server extra ---------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["fastapi", "uvicorn"])
def test_serve_without_the_server_extra_says_how_to_install_it(module: str, closed_port: int) -> None:
    proc = run_cli("serve", "--port", str(closed_port), block=module)
    assert_one_error_line(proc, "Error: plughub serve needs the server extra: pip install 'plughub[server]'")


def test_a_postgresql_command_without_the_server_extra_says_how_to_install_it() -> None:
    # psycopg comes with the extra; the URL is never reached (the driver's import fails first).
    proc = run_cli(
        "db", "upgrade", "--database-url", "postgresql+psycopg://postgres@127.0.0.1:5432/test", block="psycopg"
    )
    assert_one_error_line(proc, "Error: plughub db needs the server extra: pip install 'plughub[server]'")


def test_another_missing_module_is_not_blamed_on_the_server_extra(closed_port: int) -> None:
    proc = run_cli("serve", "--port", str(closed_port), block="plughub.server.app")
    assert proc.returncode == 1
    assert "server extra" not in proc.stderr
    assert "ModuleNotFoundError" in proc.stderr


# --- PLUGHUB_HOME -------------------------------------------------------------------------------


@pytest.fixture
def home_file(home: Path) -> Path:
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text("not a directory\n")
    return home


def test_home_that_is_a_file_is_one_line_in_the_cli(runner: CliRunner, home_file: Path) -> None:
    for args in (["connections", "list"], ["integrations", "list"], ["keys", "rotate"], ["teams", "list"]):
        line = one_line_error(invoke(runner, *args), f"PLUGHUB_HOME {home_file} is a file, not a directory")
        assert "set PLUGHUB_HOME to a directory" in line
    assert home_file.read_text() == "not a directory\n"


def test_home_under_a_file_is_one_line_in_the_cli(
    runner: CliRunner, home_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUGHUB_HOME", str(home_file / "inner"))
    one_line_error(invoke(runner, "connections", "list"), f"PLUGHUB_HOME {home_file / 'inner'} cannot be created")


def test_home_that_is_a_file_is_a_configuration_error_in_python(home_file: Path) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"PLUGHUB_HOME {home_file} is a file")) as caught:
        ModelFactory.list(function_type=FunctionType.CONNECTION)
    assert caught.value.details == {"path": str(home_file)}
    with pytest.raises(ConfigurationError, match="is a file"):
        Engine(Settings(home=home_file))


def _without_root_powers() -> list[str]:
    """A prefix that runs a command without the power to ignore file permissions (root has it)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): file permissions cannot be enforced")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_unwritable_home_is_one_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home.mkdir(mode=0o555, parents=True)
    proc = run_cli("connections", "list", prefix=_without_root_powers())
    assert_one_error_line(
        proc,
        f"Error: PLUGHUB_HOME {home} is not writable by this user: fix its permissions (chmod u+rwx {home}) "
        "or set PLUGHUB_HOME to a directory you can write to (plughub creates it).",
    )
    assert list(home.iterdir()) == []

    monkeypatch.setenv("PLUGHUB_HOME", str(home / "inner"))
    proc = run_cli("integrations", "show", "github", prefix=_without_root_powers())
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(f"Error: PLUGHUB_HOME {home / 'inner'} cannot be created (Permission denied)")


def test_unwritable_database_file_is_one_line(runner: CliRunner, home: Path) -> None:
    ok(invoke(runner, "connections", "list"))  # creates the database
    (home / "plughub.db").chmod(0o444)
    proc = run_cli("connections", "list", prefix=_without_root_powers())
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"Error: {home / 'plughub.db'} is not readable and writable by this user"), (
        proc.stderr
    )


# --- errors in CLI words ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["integrations", "show", "gihtub"],
        ["connect", "gihtub", "--scheme", "BEARER_TOKEN"],
        ["oauth-app", "show", "gihtub"],
    ],
)
def test_unknown_integration_suggests_a_close_id_and_the_cli_command(runner: CliRunner, args: list[str]) -> None:
    line = one_line_error(
        invoke(runner, *args),
        "No integration with id or name 'gihtub'. Did you mean github? ",
        "List them with `plughub integrations list`",
    )
    cli_words(line)


def test_unknown_integration_far_from_any_id_suggests_nothing(runner: CliRunner) -> None:
    line = one_line_error(invoke(runner, "integrations", "show", "zzzzzz"), "No integration with id or name 'zzzzzz'.")
    assert "Did you mean" not in line


def test_unknown_integration_in_python_carries_the_suggestion(any_backend: Backend) -> None:
    with pytest.raises(IntegrationNotFound) as caught:
        IntegrationFactory.get("gihtub")
    assert caught.value.details == {"id": "gihtub", "did_you_mean": ["github"]}
    assert "Did you mean 'github'?" in caught.value.message


def test_deleting_a_connection_twice_says_there_is_no_such_connection(
    runner: CliRunner, sandbox: SandboxServer
) -> None:
    conn = connect(runner, "API_KEY", sandbox, f"api_key={CANARY_API_KEY}")
    ok(invoke(runner, "connections", "delete", conn, "--yes"))
    line = one_line_error(
        invoke(runner, "connections", "delete", conn, "--yes"),
        f"No connection with id '{conn}'. List them with `plughub connections list`.",
    )
    assert "integration" not in line
    cli_words(line)


@pytest.mark.parametrize(
    "args",
    [
        ["connections", "show", "{id}"],
        ["connections", "reconnect", "{id}"],
        ["actions", "{id}"],
        ["run", "{id}", "SANDBOX_WHOAMI"],
    ],
)
def test_unknown_connection_names_the_cli_command(runner: CliRunner, args: list[str]) -> None:
    conn = "0123456789abcdef01234567"
    result = invoke(runner, *(a.format(id=conn) for a in args))
    line = one_line_error(result, f"No connection with id '{conn}'. List them with `plughub connections list`.")
    cli_words(line)


def test_missing_connect_input_names_the_cli_flag(runner: CliRunner) -> None:
    line = one_line_error(
        invoke(runner, "connect", "github", "--scheme", "BEARER_TOKEN"),
        "github BEARER_TOKEN needs the input 'token': give it with --input token=VALUE (short: -i)",
    )
    assert "...." not in line
    cli_words(line)


def test_missing_connect_inputs_name_every_flag(runner: CliRunner, sandbox: SandboxServer) -> None:
    line = one_line_error(
        invoke(runner, "connect", "sandbox", "--scheme", "BASIC", "-i", f"port={sandbox.port}"),
        "sandbox BASIC needs the inputs 'username', 'password': give them with --input username=VALUE "
        "--input password=VALUE",
    )
    cli_words(line)


def test_missing_oauth_app_names_the_cli_command(runner: CliRunner) -> None:
    line = one_line_error(
        invoke(runner, "connect", "github", "--scheme", "OAUTH2", "--no-wait"),
        "No OAuth app is set for github.",
        "redirect URI http://127.0.0.1:8765/oauth/callback",
        "run `plughub oauth-app set github --client-id ID`",
        "PLUGHUB_OAUTH_GITHUB_CLIENT_ID and PLUGHUB_OAUTH_GITHUB_CLIENT_SECRET",
    )
    cli_words(line)


# --- pages --------------------------------------------------------------------------------------


def _caption(result: Result) -> str:
    return result.stdout.rstrip().splitlines()[-1].strip()


def test_integrations_pages_count_from_one(runner: CliRunner) -> None:
    total = len(IntegrationFactory.list(page_size=1000)["results"])
    last = -(-total // 50)
    first = ok(invoke(runner, "integrations", "list"))
    assert _caption(first) == f"page 1 of {last}, {total} in all; next: --page 2"
    final = ok(invoke(runner, "integrations", "list", "--page", str(last)))
    assert _caption(final) == f"page {last} of {last}, {total} in all"
    assert re.search(r"│ \S+\s+│", final.stdout)  # rows, not an empty table

    sdk = IntegrationFactory.list(page_number=1, page_size=50)
    data = json.loads(ok(invoke(runner, "integrations", "list", "--page", "2", "--json")).stdout)
    assert data["page_number"] == 2 and data["page_total"] == last and data["total"] == total
    assert [i["id"] for i in data["results"]] == [i.id for i in sdk["results"]]


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_integrations_page_past_the_end_is_a_usage_error(runner: CliRunner, extra: list[str]) -> None:
    total = len(IntegrationFactory.list(page_size=1000)["results"])
    last = -(-total // 50)
    result = invoke(runner, "integrations", "list", "--page", str(last + 1), *extra)
    assert result.exit_code == 2, result.output
    assert f"page {last + 1} is past the last page, {last} ({total} in all, 50 a page)" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("page", ["0", "-1"])
def test_page_zero_is_a_usage_error(runner: CliRunner, page: str) -> None:
    result = invoke(runner, "integrations", "list", "--page", page)
    assert result.exit_code == 2
    assert "--page" in result.stderr and "1<=x" in result.stderr


def test_connections_pages(runner: CliRunner, sandbox: SandboxServer) -> None:
    ids = [connect(runner, "NO_AUTH", sandbox) for _ in range(3)]
    first = ok(invoke(runner, "connections", "list", "--page-size", "2"))
    assert _caption(first) == "page 1 of 2, 3 in all; next: --page 2"
    second = ok(invoke(runner, "connections", "list", "--page-size", "2", "--page", "2"))
    assert _caption(second) == "page 2 of 2, 3 in all"
    assert ids[0] in second.stdout and ids[2] not in second.stdout  # newest first
    data = json.loads(ok(invoke(runner, "connections", "list", "--page-size", "2", "--page", "2", "--json")).stdout)
    assert data["page_number"] == 2 and [c["id"] for c in data["results"]] == [ids[0]]
    refused = invoke(runner, "connections", "list", "--page-size", "2", "--page", "3")
    assert refused.exit_code == 2 and "page 3 is past the last page, 2" in refused.stderr


def test_an_empty_listing_has_its_one_page(runner: CliRunner) -> None:
    assert _caption(ok(invoke(runner, "connections", "list"))) == "page 1 of 1, 0 in all"
    assert invoke(runner, "connections", "list", "--page", "2").exit_code == 2


# --- search and show ----------------------------------------------------------------------------


def test_query_git_ranks_github_first_and_matches_whole_words(runner: CliRunner) -> None:
    data = json.loads(ok(invoke(runner, "integrations", "list", "--query", "git", "--json")).stdout)
    ids = [i["id"] for i in data["results"]]
    assert ids[:3] == ["gitea", "github", "gitlab"]  # ids and names that start with it, by name
    assert "digitalocean" not in ids  # "git" inside a word
    assert "openweathermap" not in ids  # "Longitude"


def test_integrations_show_lists_the_actions_and_base_url(runner: CliRunner) -> None:
    out = ok(invoke(runner, "integrations", "show", "sandbox")).stdout
    assert "Base URL: http://127.0.0.1:${connection_config.port}" in out
    assert "Actions (7)" in out
    for code, name in SANDBOX_ACTIONS.items():
        assert re.search(rf"│ {code}\s+│ {name}\s+│", out), code


def test_integrations_show_json_lists_the_actions_and_base_url(runner: CliRunner) -> None:
    info = json.loads(ok(invoke(runner, "integrations", "show", "sandbox", "--json")).stdout)
    assert info["base_url"] == "http://127.0.0.1:${connection_config.port}"
    assert {a["code"]: a["name"] for a in info["actions"]} == SANDBOX_ACTIONS
    assert all(a["description"] for a in info["actions"])
    assert info["action_count"] == len(info["actions"])


def test_integration_info_lists_the_actions_in_both_backends(any_backend: Backend) -> None:
    info = IntegrationFactory.get("sandbox").info
    assert [a.code for a in info.actions] == list(SANDBOX_ACTIONS)
    listed = IntegrationFactory.list(query="sandbox")["results"][0].info
    assert [a.code for a in listed.actions] == list(SANDBOX_ACTIONS)

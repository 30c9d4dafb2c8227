"""`plughub oauth-app`, `plughub connect --scheme OAUTH2` with its callback listener, reconnect and delete."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner

from plughub.sandbox import SandboxServer, give_consent
from tests.cli.test_cli import WIDE, invoke, ok, one_line_error

SECRET = "cli-oauth-secret-4f1c9a7e2b8d"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def callback(monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"http://127.0.0.1:{_free_port()}/oauth/callback"
    monkeypatch.setenv("PLUGHUB_CALLBACK_URL", url)
    return url


@pytest.fixture
def registered(sandbox: SandboxServer, callback: str) -> Iterator[SandboxServer]:
    sandbox.register_oauth_client("cli-client", SECRET, callback)
    yield sandbox


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env=WIDE)


def test_oauth_app_set_show_delete(runner: CliRunner, callback: str) -> None:
    stored = ok(
        invoke(runner, "oauth-app", "set", "github", "--client-id", "gh-client", "--scope", "repo", input=f"{SECRET}\n")
    )
    assert SECRET not in stored.output  # prompted without echo
    assert callback in stored.output
    shown = ok(invoke(runner, "oauth-app", "show", "github"))
    assert "gh-client" in shown.output and "repo" in shown.output and "stored" in shown.output
    assert SECRET not in shown.output and "***" in shown.output
    as_json = ok(invoke(runner, "oauth-app", "show", "github", "--json"))
    assert '"client_id": "gh-client"' in as_json.output and SECRET not in as_json.output
    ok(invoke(runner, "oauth-app", "delete", "github"))
    one_line_error(
        invoke(runner, "oauth-app", "show", "github"), "No OAuth app is set for github", "plughub oauth-app set github"
    )
    one_line_error(invoke(runner, "oauth-app", "delete", "github"), "No OAuth app is stored for github")


def test_oauth_app_refused_for_an_integration_without_oauth(runner: CliRunner) -> None:
    one_line_error(
        invoke(runner, "oauth-app", "set", "openai", "--client-id", "x", "--client-secret", "y"),
        "OpenAI has no OAuth scheme",
    )


def test_connect_oauth2_without_an_app_says_how_to_set_one(runner: CliRunner, sandbox: SandboxServer) -> None:
    one_line_error(
        invoke(runner, "connect", "sandbox", "--scheme", "OAUTH2", "-i", f"port={sandbox.port}"),
        "No OAuth app is set for sandbox",
        "PLUGHUB_OAUTH_SANDBOX_CLIENT_ID",
    )
    listed = ok(invoke(runner, "connections", "list", "--json"))
    assert '"total": 0' in listed.output


def test_connect_no_wait_prints_the_consent_url(runner: CliRunner, registered: SandboxServer) -> None:
    ok(invoke(runner, "oauth-app", "set", "sandbox", "--client-id", "cli-client", "--client-secret", SECRET))
    result = ok(
        invoke(runner, "connect", "sandbox", "--scheme", "OAUTH2", "-i", f"port={registered.port}", "--no-wait")
    )
    assert "is pending" in result.output
    assert f"{registered.url}/oauth2/authorize?response_type=code" in result.output


def _wait_for_port(url: str) -> None:
    port = int(url.split(":")[2].split("/")[0])
    for _ in range(200):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise AssertionError("the callback listener never started")


def test_connect_waits_for_the_callback_then_reconnect_and_delete(
    runner: CliRunner, registered: SandboxServer, callback: str
) -> None:
    ok(invoke(runner, "oauth-app", "set", "sandbox", "--client-id", "cli-client", "--client-secret", SECRET))
    outcome: dict[str, object] = {}
    worker = threading.Thread(
        target=lambda: outcome.update(
            result=invoke(
                runner, "connect", "sandbox", "--scheme", "OAUTH2", "-i", f"port={registered.port}", "--timeout", "20"
            )
        )
    )
    worker.start()
    _wait_for_port(callback)
    # The URL is printed before the listener waits; find it in the provider's view instead of the
    # runner's buffer: the pending connection's URL is what the CLI printed.
    listed = ok(invoke(runner, "connections", "list", "--json"))
    connection_id = re.search(r'"id": "([0-9a-f]{24})"', listed.output).group(1)  # type: ignore[union-attr]
    pending = ok(invoke(runner, "connections", "reconnect", connection_id, "--no-wait"))
    url = re.search(r"(http://\S+/oauth2/authorize\S+)", pending.output).group(1)  # type: ignore[union-attr]
    page = httpx.get(give_consent(url))  # the browser lands on the listener
    assert page.status_code == 200 and "Connected" in page.text
    worker.join(30)
    result = outcome["result"]
    ok(result)  # type: ignore[arg-type]
    assert f"Connection {connection_id} is active." in result.output  # type: ignore[attr-defined]
    shown = ok(invoke(runner, "connections", "show", connection_id))
    assert "active" in shown.output and "notes:read" not in SECRET
    deleted = ok(invoke(runner, "connections", "delete", connection_id, "--yes"))
    assert "tokens revoked at the provider" in deleted.output
    assert registered.oauth2.revoked


def test_connect_reports_a_denied_consent(runner: CliRunner, registered: SandboxServer, callback: str) -> None:
    ok(invoke(runner, "oauth-app", "set", "sandbox", "--client-id", "cli-client", "--client-secret", SECRET))
    outcome: dict[str, object] = {}
    worker = threading.Thread(
        target=lambda: outcome.update(
            result=invoke(
                runner, "connect", "sandbox", "--scheme", "OAUTH2", "-i", f"port={registered.port}", "--timeout", "20"
            )
        )
    )
    worker.start()
    _wait_for_port(callback)
    listed = ok(invoke(runner, "connections", "list", "--json"))
    connection_id = re.search(r'"id": "([0-9a-f]{24})"', listed.output).group(1)  # type: ignore[union-attr]
    url = re.search(
        r"(http://\S+/oauth2/authorize\S+)",  # type: ignore[union-attr]
        ok(invoke(runner, "connections", "reconnect", connection_id, "--no-wait")).output,
    ).group(1)
    page = httpx.get(give_consent(url, approve=False))
    assert page.status_code == 400 and "access_denied" in page.text
    worker.join(30)
    one_line_error(outcome["result"], "access_denied")  # type: ignore[arg-type]


def test_connect_times_out(runner: CliRunner, registered: SandboxServer) -> None:
    ok(invoke(runner, "oauth-app", "set", "sandbox", "--client-id", "cli-client", "--client-secret", SECRET))
    result = invoke(
        runner, "connect", "sandbox", "--scheme", "OAUTH2", "-i", f"port={registered.port}", "--timeout", "0.3"
    )
    assert result.exit_code == 1
    assert "no OAuth callback reached" in result.stderr

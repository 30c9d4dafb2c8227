"""`plughub demo`: the offline walkthrough, called as a function, through the CLI and as a process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import plughub.backends as backends
from plughub.cli import cli
from plughub.demo import run_demo

SCHEMES = ("API_KEY", "BEARER_TOKEN", "BASIC", "NO_AUTH")


@pytest.fixture
def demo() -> tuple[dict[str, Any], list[str]]:
    lines: list[str] = []
    summary = run_demo(echo=lines.append)
    return summary, "\n".join(lines).splitlines()


def _line(lines: list[str], *fragments: str) -> str:
    found = [line for line in lines if all(f in line for f in fragments)]
    assert len(found) == 1, (fragments, lines)
    return found[0]


def test_run_demo(demo: tuple[dict[str, Any], list[str]], home: Path) -> None:
    summary, lines = demo
    assert summary["leaked"] is False
    ids = summary["connections"]
    assert tuple(ids) == SCHEMES
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids.values())
    assert len(set(ids.values())) == 4

    # whoami: SUCCESS-shaped for the three credentialed schemes, 401 for NO_AUTH, said to be expected
    assert "SANDBOX_WHOAMI" in _line(lines, "2. Connect once per scheme")
    for scheme in ("API_KEY", "BEARER_TOKEN", "BASIC"):
        line = _line(lines, f"{scheme} ", f"connection {ids[scheme]} -> ")
        assert line.endswith(f'{{"scheme": "{scheme}", "user": "demo"}}'), line
    no_auth = _line(lines, "NO_AUTH ", f"connection {ids['NO_AUTH']} -> ")
    assert "-> refused, as expected without credentials: " in no_auth and "401" in no_auth
    assert not any("FAILED" in line for line in lines)

    # actions
    assert _line(lines, "SANDBOX_CREATE_NOTE ->").endswith(
        '{"id": 1, "text": "Ship plughub", "tags": ["launch"], "created_by": "API_KEY"}'
    )
    assert '"total": 1' in _line(lines, "SANDBOX_LIST_NOTES")
    assert '"id": 1' in _line(lines, "SANDBOX_GET_NOTE (via BASIC)")
    assert '"authenticated": false' in _line(lines, "SANDBOX_ECHO (via NO_AUTH)")

    # refused inputs
    refused = [line.strip() for line in lines if line.strip().startswith("ValueError: ")]
    assert len(refused) == 2, lines
    assert "SANDBOX_CREATE_NOTE" in refused[0] and "'text'" in refused[0] and "txt" in refused[0]
    assert "'password'" in refused[1] and "BASIC" in refused[1]

    # OAuth: both consents given by posting the consent form, a refresh after the provider revoked the token
    assert "posted its form with Approve" in _line(lines, "consent given by an HTTP client")
    assert not any("headless browser" in line for line in lines)
    assert _line(lines, "complete_authorization -> active; SANDBOX_WHOAMI -> ").endswith(
        '{"scheme": "OAUTH2", "user": "demo"}'
    )
    assert '-> {"scheme": "OAUTH2", "user": "demo"} (refresh requests at the provider: 1)' in _line(
        lines, "SANDBOX_WHOAMI got 401, one refresh"
    )
    assert re.search(r"connection [0-9a-f]{24} is active$", _line(lines, "consent posted the same way"))
    assert '"total": 1' in _line(lines, "SANDBOX_SEARCH_NOTES (a signed form POST) -> ")
    m2m = _line(lines, "SANDBOX_M2M_WHOAMI -> ")  # the client credentials connection
    assert m2m.endswith('{"scheme": "OAUTH2", "user": "demo"}'), m2m

    # key rotation: the three static credentials, the OAuth app, and three OAuth connections
    rotated = _line(lines, "re-encrypted")
    assert re.search(
        r"re-encrypted 7 records under key \S+; SANDBOX_WHOAMI via BEARER_TOKEN -> "
        r'\{"scheme": "BEARER_TOKEN", "user": "demo"\}',
        rotated,
    ), rotated

    # secrets on disk
    assert "(mode 600)" in _line(lines, "master key file:")
    assert "AES-256-GCM" in _line(lines, "credentials row of the API_KEY connection")
    assert _line(lines, "scanned ").endswith("no secret appears in clear")
    assert not any("SECRET FOUND" in line for line in lines)

    # the demo works in its own temporary home and leaves the default backend unset
    temp_home = re.search(r"PLUGHUB_HOME=(\S+) \(temporary\)", lines[0])
    assert temp_home and not Path(temp_home.group(1)).exists()
    assert not home.exists()
    assert backends._default is None


def test_cli_demo() -> None:
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "no secret appears in clear" in result.stdout
    assert "FAILED" not in result.stdout  # the one refusal is said to be the expected one
    assert result.stdout.count("refused, as expected") == 1
    assert result.stderr == ""


def test_demo_as_a_process(home: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "plughub.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no secret appears in clear" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert not home.exists()  # the user's PLUGHUB_HOME is not touched

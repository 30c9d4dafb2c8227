"""The examples in examples/ run as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(example: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run an example as a user would, with a fresh PLUGHUB_HOME and nothing else set."""
    out = subprocess.run(
        [sys.executable, f"examples/{example}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "PLUGHUB_HOME": str(home)},
    )
    assert out.returncode == 0, out.stderr
    return out


def test_tool_loop_example_runs(tmp_path: Path) -> None:
    out = _run("tool_loop.py", tmp_path, timeout=60)
    assert '"role": "tool", "tool_call_id": "call_abc123"' in out.stdout
    assert '"type": "tool_result", "tool_use_id": "toolu_01"' in out.stdout


def test_mcp_server_example_runs(tmp_path: Path) -> None:
    out = _run("mcp_server.py", tmp_path, timeout=120)
    assert '"mcpServers": {' in out.stdout
    assert "tools: ['SANDBOX_CREATE_NOTE', 'SANDBOX_LIST_NOTES']" in out.stdout
    assert 'result: {"id": 1, "text": "Buy milk", "tags": ["home"], "created_by": "API_KEY"}' in out.stdout
    assert 'invalid arguments: True {"error": "missing_inputs"' in out.stdout
    assert "key in the configuration: False" in out.stdout


def test_mcp_client_example_runs(tmp_path: Path) -> None:
    out = _run("mcp_client.py", tmp_path, timeout=120)
    assert "MCPConnection with tools: ['forecast', 'alerts']" in out.stdout
    assert "forecast: SUCCESS {'city': 'Lisbon', 'days': 2, 'summary': 'sunny', 'high_c': 21}" in out.stdout
    assert (
        "tool error: FAILED mcp_tool_error - Weather alerts: Error executing tool alerts: unknown region" in out.stdout
    )
    assert "invalid arguments, nothing sent: forecast needs 'city'" in out.stdout
    assert "server down: FAILED upstream_unreachable - Weather forecast: could not reach the MCP server" in out.stdout
    assert "example-token" not in out.stdout + out.stderr


@pytest.mark.parametrize(
    "example", ["langchain_agent.py", "openai_agents_agent.py", "pydantic_ai_agent.py", "llamaindex_agent.py"]
)
def test_agent_framework_examples_run(tmp_path: Path, example: str) -> None:
    out = _run(example, tmp_path, timeout=120)
    lines = out.stdout.splitlines()
    assert lines[0] == "tools: ['SANDBOX_CREATE_NOTE', 'SANDBOX_GET_NOTE']"
    results = [line for line in lines if line.startswith("tool result")]
    assert len(results) == 2
    assert results[0].endswith('{"id": 1, "text": "Buy milk", "tags": [], "created_by": "API_KEY"}')
    assert (
        '{"error": "upstream_status", "message": "plughub Sandbox SANDBOX_GET_NOTE: the service answered 404'
        in (results[1])
    )
    assert lines[-1] == "answer: Saved 'Buy milk' as note 1; there is no note 42."

"""The examples in examples/ run as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tool_loop_example_runs(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "examples/tool_loop.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PLUGHUB_HOME": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    assert '"role": "tool", "tool_call_id": "call_abc123"' in out.stdout
    assert '"type": "tool_result", "tool_use_id": "toolu_01"' in out.stdout

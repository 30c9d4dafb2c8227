"""The suite only checks that the benchmarks run; their numbers live in BENCHMARKS.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-write"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "import plughub" in out.stdout and "search again, warm" in out.stdout

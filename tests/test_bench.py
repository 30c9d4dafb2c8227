"""The suite only checks that the benchmarks run; their numbers live in BENCHMARKS.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# One line each benchmark prints when it finishes its figures (never a time: speed is not asserted).
EXPECTED = {
    "overhead": "conn.run / httpx by hand, median",
    "throughput": "plughub serve, SQLite, 1 worker",
    "refresh": "refresh requests at the provider per storm",
    "coldstart": "python -c 'import plughub'",
    "connect": "plughub integration.connect",
    "memory": "plughub conn.run: RSS after run 1",
    "catalog": "search again, warm",
    "webhooks": "plughub serve, SQLite: delivered / accepted",
}


def test_bench_quick_runs_every_benchmark() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-write"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for name, line in EXPECTED.items():
        assert f"\n{name}: " in out.stdout, f"{name} did not start:\n{out.stdout[-2000:]}"
        assert line in out.stdout, f"{name} printed no '{line}':\n{out.stdout[-2000:]}"
    assert "Traceback" not in out.stderr, out.stderr[-3000:]


def test_bench_webhooks_delivers_each_webhook_it_accepts() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench", "webhooks", "--quick", "--no-write"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    line = next(li for li in out.stdout.splitlines() if "SQLite: delivered / accepted" in li)
    found = re.search(r"(\d+) / (\d+) \(", line)
    assert found, line
    delivered, accepted = int(found[1]), int(found[2])
    assert accepted > 0 and delivered == accepted, line

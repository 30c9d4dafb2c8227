"""The embedded engine pays nothing for metrics and traces: neither library is loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json, sys
import plughub
from plughub.engine import Engine
from plughub.config import Settings
engine = Engine(Settings(home=__import__("pathlib").Path(sys.argv[1])))
engine.close()
loaded = {m.split(".")[0] for m in sys.modules if m.startswith(("prometheus_client", "opentelemetry"))}
print(json.dumps(sorted(loaded)))
"""


def test_import_plughub_and_an_engine_load_no_metrics_or_tracing_library(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "home")], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []

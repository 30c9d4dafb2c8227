"""ruff and mypy are part of the suite, so CI holds the code to them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


# ruff beside this interpreter (a venv not activated), else on PATH.
RUFF = next(
    (str(p) for p in (Path(sys.executable).with_name("ruff"),) if p.exists()),
    shutil.which("ruff"),
)


@pytest.mark.skipif(RUFF is None, reason="ruff is not installed (pip install -e '.[dev]')")
def test_ruff_check_and_format() -> None:
    assert RUFF is not None
    check = _run(RUFF, "check", ".")
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = _run(RUFF, "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.slow
def test_mypy_strict() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[dev]')")
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_opens_with_the_demo_and_test_commands_and_ci_runs_the_latter() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("\n", 1)[1].strip() for b in readme.split("```")[1::2]][:2]
    assert blocks[0].endswith("plughub demo")
    assert blocks[1].endswith("python -m pytest")
    assert blocks[1] in (ROOT / ".ci" / "run").read_text()

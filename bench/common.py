"""Shared helpers: timing with medians, percentiles, machine info, the benchmark integration."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-7f3a9c1e5b2d4f6a8c0e"  # the upstream's bearer token (not a real secret)


@dataclass
class Check:
    """A figure with a target: `value` against `target`, in `unit`."""

    label: str
    value: float
    target: float
    unit: str
    higher_is_better: bool = False

    @property
    def met(self) -> bool:
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    @property
    def score(self) -> float:
        """1.0 at the target; below 1 meets it, above 1 misses it (the chart's scale)."""
        if self.higher_is_better:
            return self.target / self.value if self.value else float("inf")
        return self.value / self.target if self.target else float("inf")


@dataclass
class Result:
    name: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    command: str = ""
    checks: list[Check] = field(default_factory=list)
    ratios: list[tuple[str, float]] = field(default_factory=list)  # (what / its baseline, ratio)
    notes: list[str] = field(default_factory=list)
    description: str = ""

    def add(self, label: str, value: str) -> None:
        self.rows.append((label, value))
        print(f"  {label:<66} {value}", flush=True)

    def check(self, label: str, value: float, target: float, unit: str, *, higher_is_better: bool = False) -> None:
        found = Check(label, value, target, unit, higher_is_better)
        self.checks.append(found)
        sign = ">=" if higher_is_better else "<="
        verdict = "meets" if found.met else "MISSES"
        self.add(f"target: {label} {sign} {target:g} {unit}", f"{value:8.2f} {unit}  {verdict}")

    def ratio(self, label: str, value: float) -> None:
        self.ratios.append((label, value))
        self.add(f"ratio: {label}", f"{value:8.2f} x")

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "command": self.command,
            "rows": [list(r) for r in self.rows],
            "checks": [asdict(c) for c in self.checks],
            "ratios": [list(r) for r in self.ratios],
            "notes": self.notes,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(
            name=data["name"],
            command=data.get("command", ""),
            rows=[(a, b) for a, b in data.get("rows", [])],
            checks=[Check(**c) for c in data.get("checks", [])],
            ratios=[(a, b) for a, b in data.get("ratios", [])],
            notes=list(data.get("notes", [])),
            description=data.get("description", ""),
        )


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def percentile(samples: list[float], pct: float) -> float:
    """The `pct` percentile (nearest rank) of some samples."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def process_ms(args: list[str], repeat: int) -> float:
    """Median wall time of a fresh process, in milliseconds."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return median_ms(lambda: subprocess.run(args, check=True, capture_output=True, env=env), repeat)


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover - not on Linux
        return "n/a"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover - not on Linux
        pass
    return f"{platform.platform()}, Python {sys.version.split()[0]}, {os.cpu_count()} cores, {cpu}"


def revision() -> str:
    """The code measured: BENCH_REVISION, else the git commit, marked when plughub/ has uncommitted changes."""
    if os.environ.get("BENCH_REVISION"):
        return os.environ["BENCH_REVISION"]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "plughub"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha} + uncommitted changes in plughub/" if dirty else sha


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: no PLUGHUB_* of ours leaks in, ours added."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGHUB_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process, in MB (Linux)."""
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576


# The integration every benchmark runs: a user-defined definition pointing at bench.upstream.

INTEGRATION_ID = "benchapi"
GET_ITEM = "BENCHAPI_GET_ITEM"
CREATE_ITEM = "BENCHAPI_CREATE_ITEM"
GET_INPUTS: dict[str, Any] = {"item_id": "42", "verbose": True}


def definition(port: int) -> dict[str, Any]:
    """A small bearer-token API on the benchmark upstream."""
    return {
        "id": INTEGRATION_ID,
        "display_name": "Bench API",
        "description": "The benchmarks' upstream (bench/upstream.py).",
        "categories": ["testing"],
        "base_url": f"http://127.0.0.1:{port}",
        "auth": [{"mode": "BEARER_TOKEN"}],
        "actions": {
            GET_ITEM: {
                "display_name": "Get item",
                "description": "Read one item.",
                "method": "GET",
                "path": "/items/${inputs.item_id}",
                "inputs": {
                    "item_id": {"type": "string", "in": "path", "required": True, "description": "Item id"},
                    "verbose": {"type": "boolean", "in": "query", "description": "More detail"},
                },
            },
            CREATE_ITEM: {
                "display_name": "Create item",
                "description": "Store an item.",
                "method": "POST",
                "path": "/items",
                "inputs": {
                    "name": {"type": "string", "in": "body", "required": True, "description": "Its name"},
                    "tags": {"type": "array", "items": {"type": "string"}, "in": "body", "description": "Labels"},
                },
            },
        },
    }

"""Shared helpers: timing with medians, machine info, the results file."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    name: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    command: str = ""

    def add(self, label: str, value: str) -> None:
        self.rows.append((label, value))
        print(f"  {label:<58} {value}")


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def process_ms(args: list[str], repeat: int) -> float:
    """Median wall time of a fresh process, in milliseconds."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return median_ms(lambda: subprocess.run(args, check=True, capture_output=True, env=env), repeat)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{platform.platform()}, Python {sys.version.split()[0]}, {os.cpu_count()} cores, {cpu}"

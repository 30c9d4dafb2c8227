"""B4: cold start of `import plughub` and `plughub --help`, against `import httpx` as the floor."""

from __future__ import annotations

import shutil
import sys

from bench.common import Result, process_ms

NAME = "coldstart"


def run(quick: bool) -> Result:
    result = Result("B4 cold start", command="python -m bench coldstart")
    repeat = 3 if quick else 11
    floor = process_ms([sys.executable, "-c", "import httpx"], repeat)
    imported = process_ms([sys.executable, "-c", "import plughub"], repeat)
    result.add("python -c 'import httpx' (floor)", f"{floor:8.1f} ms")
    result.add("python -c 'import plughub' (target <= 150 ms)", f"{imported:8.1f} ms  ({imported / floor:.2f} x floor)")
    cli = shutil.which("plughub")
    if cli:
        helped = process_ms([cli, "--help"], repeat)
        result.add("plughub --help (target <= 300 ms)", f"{helped:8.1f} ms  ({helped / floor:.2f} x floor)")
    return result

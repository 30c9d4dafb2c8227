"""B4: cold start of `import plughub` and `plughub --help`, against `import httpx` as the floor."""

from __future__ import annotations

import shutil
import subprocess
import sys

from bench.common import Result, process_ms

NAME = "coldstart"


def run(quick: bool) -> Result:
    result = Result("B4 cold start", command="python -m bench coldstart")
    repeat = 3 if quick else 11
    floor = process_ms([sys.executable, "-c", "import httpx"], repeat)
    imported = process_ms([sys.executable, "-c", "import plughub"], repeat)
    result.add("python -c 'import httpx' (floor)", f"{floor:8.1f} ms")
    result.add("python -c 'import plughub'", f"{imported:8.1f} ms")
    # What an application really runs first; a lazy `plughub/__init__` alone would not make it cheaper.
    used = process_ms([sys.executable, "-c", "from plughub import IntegrationFactory, ModelFactory"], repeat)
    result.add("python -c 'from plughub import IntegrationFactory, ModelFactory'", f"{used:8.1f} ms")
    cli = shutil.which("plughub")
    helped = process_ms([cli, "--help"] if cli else [sys.executable, "-m", "plughub.cli", "--help"], repeat)
    result.add("plughub --help", f"{helped:8.1f} ms")
    result.ratio("import plughub / import httpx", imported / floor)
    result.ratio("plughub --help / import httpx", helped / floor)
    result.ratio("from plughub import IntegrationFactory, ModelFactory / import httpx", used / floor)
    result.check("B4 import plughub", imported, 150, "ms")
    probe = "import sys, httpx; print(sorted({'rich', 'pygments', 'click'} & set(sys.modules)))"
    extras = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    if extras != "[]":
        result.note(f"`import httpx` also imports {extras} here (httpx's CLI, because they are installed)")
    result.check("B4 plughub --help", helped, 300, "ms")
    return result

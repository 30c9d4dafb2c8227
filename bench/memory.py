"""B6: memory of an embedded process after 10,000 runs, and its growth from run 1,000 on.

Each variant runs in a fresh process (`python -m bench.memory VARIANT ...`) that reads its own
RSS (/proc/self/statm) at checkpoints. `plughub` is an application process on an existing
PLUGHUB_HOME (an earlier process created the bench integration and a BEARER_TOKEN connection
through the SDK): `ModelFactory.get(id)`, then `conn.run` in a loop. `plughub-fresh` does that
setup itself on an empty PLUGHUB_HOME, so it also pays for creating the database (Alembic's
migrations) in process. `httpx` (the baseline) makes the same call with a plain `httpx.Client`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

from bench.common import GET_INPUTS, GET_ITEM, ROOT, TOKEN, Result, child_env, definition, rss_mb
from bench.upstream import Upstream

NAME = "memory"


def _checkpoints(runs: int) -> list[int]:
    marks = {1, runs // 10, runs}
    marks.update(range(runs // 10, runs + 1, max(1, runs // 10)))
    return sorted(m for m in marks if m >= 1)


def _setup(port: int) -> str:
    from plughub import AuthenticationSchema, IntegrationFactory

    integration = IntegrationFactory.create(definition(port))
    return str(integration.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": TOKEN}, name="bench").data["id"])


def _child(variant: str, port: int, runs: int, connection: str | None) -> None:
    if variant == "setup":
        print(_setup(port), flush=True)
        return
    if variant.startswith("plughub"):
        from plughub import ModelFactory

        tool = ModelFactory.get(connection or _setup(port))

        def call() -> object:
            response = tool.run(GET_ITEM, GET_INPUTS)
            if response.status != "SUCCESS":
                raise RuntimeError(response.error_message)
            return response.data

    else:
        import httpx

        client = httpx.Client(timeout=30)
        url = f"http://127.0.0.1:{port}/items/42"
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def call() -> object:
            answer = client.get(url, params={"verbose": "true"}, headers=auth)
            answer.raise_for_status()
            return answer.json()

    marks = set(_checkpoints(runs))
    seen: dict[int, float] = {}
    for index in range(1, runs + 1):
        call()
        if index in marks:
            seen[index] = rss_mb()
    print(json.dumps(seen), flush=True)


def _process(home: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", *args],
        cwd=ROOT,
        env=child_env(PLUGHUB_HOME=home),
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    return out.strip().splitlines()[-1]


def _measure(variant: str, port: int, runs: int) -> dict[int, float]:
    with tempfile.TemporaryDirectory() as home:
        extra = []
        if variant == "plughub":
            extra = ["--connection", _process(home, "setup", "--port", str(port))]
        out = _process(home, variant, "--port", str(port), "--runs", str(runs), *extra)
    return {int(k): v for k, v in json.loads(out).items()}


def run(quick: bool) -> Result:
    runs, repeat = (500, 1) if quick else (10_000, 3)
    early = runs // 10
    result = Result("B6 memory of an embedded process", command="python -m bench memory")
    series: dict[str, list[dict[int, float]]] = {"plughub": [], "plughub-fresh": [], "httpx": []}
    with Upstream(TOKEN) as upstream:
        for index in range(repeat):
            for variant in series:
                if variant != "plughub-fresh" or index == 0:  # one fresh-home process is enough
                    series[variant].append(_measure(variant, upstream.port, runs))
        stats = upstream.stats()
    expected = runs * (2 * repeat + 1)
    if stats["refused"] or stats["authorized"] != expected:
        raise RuntimeError(f"the upstream saw {stats}; expected {expected} authorized calls")
    final = {v: statistics.median(s[runs] for s in series[v]) for v in series}
    first = {v: statistics.median(s[1] for s in series[v]) for v in series}
    growth = {v: statistics.median((s[runs] - s[early]) / s[early] * 100 for s in series[v]) for v in series}
    result.add("runs per process", f"{runs:,} ({repeat} processes per variant, median; 1 fresh-home process)")
    labels = (
        ("httpx", "plain httpx.Client (baseline)"),
        ("plughub", "plughub conn.run"),
        ("plughub-fresh", "plughub conn.run, fresh PLUGHUB_HOME"),
    )
    for variant, label in labels:
        result.add(f"{label}: RSS after run 1 / run {runs:,}", f"{first[variant]:6.1f} MB / {final[variant]:6.1f} MB")
        result.add(f"{label}: growth from run {early:,} to {runs:,}", f"{growth[variant]:+8.2f} %")
    curve = series["plughub"][0]
    result.add("plughub RSS by run (first process)", ", ".join(f"{k:,}: {v:.1f}" for k, v in sorted(curve.items())))
    result.ratio("plughub RSS / httpx RSS at the end", final["plughub"] / final["httpx"])
    result.ratio("plughub (fresh home) RSS / httpx RSS at the end", final["plughub-fresh"] / final["httpx"])
    result.check(f"B6 RSS after {runs:,} runs", final["plughub"], 80, "MB")
    result.check(f"B6 RSS after {runs:,} runs, fresh home", final["plughub-fresh"], 80, "MB")
    result.check(f"B6 growth from run {early:,} to {runs:,}", growth["plughub"], 5, "%")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("variant", choices=["setup", "plughub", "plughub-fresh", "httpx"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--connection", help="an existing connection id (plughub)")
    args = parser.parse_args()
    _child(args.variant, args.port, args.runs, args.connection)


if __name__ == "__main__":
    main()

"""BENCHMARKS.md and the chart, rebuilt from bench/results.json (the latest full run of each benchmark)."""

from __future__ import annotations

import json
from typing import Any

from bench.chart import draw
from bench.common import ROOT, Result, machine, revision

RESULTS = ROOT / "bench" / "results.json"
CHART = ROOT / "bench" / "results.png"
MARKDOWN = ROOT / "BENCHMARKS.md"


def save(measured: list[tuple[str, Result, str, str, str]], order: list[str]) -> None:
    """Merge this run's results into results.json, then rewrite BENCHMARKS.md and the chart.

    Args:
        measured: (benchmark name, result, load average before, load average after, start time).
        order: The benchmark names in the order the report lists them.
    """
    stored: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name, result, before, after, when in measured:
        stored[name] = {
            **result.to_dict(),
            "date": when,
            "machine": machine(),
            "revision": revision(),
            "load": f"{before} before, {after} after",
        }
    RESULTS.write_text(json.dumps(stored, indent=1) + "\n")
    entries = [(stored[name], Result.from_dict(stored[name])) for name in order if name in stored]
    draw([result for _, result in entries], CHART)
    MARKDOWN.write_text(_markdown(entries))
    print(f"wrote {MARKDOWN.name}, {CHART.relative_to(ROOT)} and {RESULTS.relative_to(ROOT)}")


def _markdown(entries: list[tuple[dict[str, Any], Result]]) -> str:
    machines = sorted({entry["machine"] for entry, _ in entries})
    revisions = sorted({entry.get("revision", "unknown") for entry, _ in entries})
    lines = [
        "# Benchmarks",
        "",
        "`python -m bench [NAME ...] [--quick] [--no-write]` runs them (names: overhead, throughput,",
        "refresh, coldstart, connect, memory, catalog, webhooks; all by default) and rewrites this file, the chart",
        f"[{CHART.relative_to(ROOT)}]({CHART.relative_to(ROOT)}) and the raw figures in",
        f"`{RESULTS.relative_to(ROOT)}` (a benchmark not run keeps its last figures). `--quick` is a",
        "smoke run that writes nothing; the test suite runs it and never asserts a time.",
        "",
        "**Provisional figures.** They come from a 2-core machine shared with other work (the load",
        "average at each benchmark is shown); every figure is a median over several runs, and every",
        "ratio compares with a baseline measured in the same run, which is the figure to trust most.",
        "",
        f"Machine: {'; '.join(machines)}. Code measured: {'; '.join(revisions)}.",
        "",
        f"![summary]({CHART.relative_to(ROOT)})",
        "",
        "## Targets",
        "",
        "| benchmark | measure | target | measured | |",
        "|---|---|---|---|---|",
    ]
    for _, result in entries:
        for check in result.checks:
            sign = ">=" if check.higher_is_better else "<="
            lines.append(
                f"| {result.name.split()[0]} | {check.label} | {sign} {check.target:g} {check.unit} "
                f"| {check.value:,.2f} {check.unit} | {'meets' if check.met else '**misses**'} |"
            )
    lines.append("")
    for entry, result in entries:
        lines += [
            f"## {result.name}",
            "",
            f"`{result.command}`, measured {entry['date']} on {entry.get('revision', 'unknown')} "
            f"(load average {entry['load']}).",
            "",
            *([_body(result.description), ""] if result.description else []),
            "| measure | value |",
            "|---|---|",
        ]
        lines += [f"| {label} | {value.strip()} |" for label, value in result.rows]
        lines.append("")
        lines += [f"- {note}" for note in result.notes]
        if result.notes:
            lines.append("")
    return "\n".join(lines)


def _body(docstring: str) -> str:
    """A module docstring without its summary line (the section heading says it already)."""
    return docstring.partition("\n")[2].strip() or docstring

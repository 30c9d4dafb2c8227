"""`python -m bench [NAME ...] [--quick]`: run benchmarks, print figures, write BENCHMARKS.md."""

from __future__ import annotations

import argparse
import datetime
import sys

from bench import catalog, coldstart
from bench.common import ROOT, machine

BENCHMARKS = {module.NAME: module for module in (coldstart, catalog)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    results = []
    for name in args.names or list(BENCHMARKS):
        print(f"{name}:")
        results.append(BENCHMARKS[name].run(args.quick))
    if not args.quick and not args.no_write:
        _write(results)
    return 0


def _write(results: list) -> None:  # type: ignore[type-arg]
    lines = ["# Benchmarks", "", f"Measured {datetime.date.today().isoformat()} on {machine()}.", ""]
    for result in results:
        lines += [f"## {result.name}", "", f"`{result.command}`", "", "| measure | value |", "|---|---|"]
        lines += [f"| {label} | {value.strip()} |" for label, value in result.rows]
        lines.append("")
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines), encoding="utf-8")
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    sys.exit(main())

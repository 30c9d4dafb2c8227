"""`python -m bench [NAME ...] [--quick] [--no-write]`: run benchmarks, print figures, write BENCHMARKS.md."""

from __future__ import annotations

import argparse
import datetime
import sys
import time
import traceback

from bench import catalog, coldstart, connect, memory, overhead, refresh, throughput, webhooks
from bench.common import Result, load_average, machine, revision

# In the order of the issues: B1 ... B8.
MODULES = (overhead, throughput, refresh, coldstart, connect, memory, catalog, webhooks)
BENCHMARKS = {module.NAME: module for module in MODULES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="few repetitions, short loads (a smoke run)")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite BENCHMARKS.md and the chart")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    print(f"{machine()}; {revision()}; load average {load_average()}{'; quick' if args.quick else ''}", flush=True)
    measured: list[tuple[str, Result, str, str, str]] = []
    failed: list[str] = []
    for name in args.names or list(BENCHMARKS):
        module = BENCHMARKS[name]
        print(f"{name}: {(module.__doc__ or '').splitlines()[0]}", flush=True)
        before, started = load_average(), time.perf_counter()
        when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        try:
            result = module.run(args.quick)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        result.description = (module.__doc__ or "").strip()
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
        measured.append((name, result, before, load_average(), when))
    if measured and not args.quick and not args.no_write:
        from bench.report import save

        save(measured, list(BENCHMARKS))
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m benchmarks [NAME…] [--quick] [--rounds N]``: print Markdown tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from benchmarks import (
    certificates,
    course_check,
    quiz_grading,
    report_export,
    reports,
    serve_load,
    site_build,
    staff_import,
)
from benchmarks.harness import Benchmark, run, table

BENCHMARKS: dict[str, Callable[..., Benchmark | None]] = {
    "staff_import": staff_import.benchmark,
    "quiz_grading": quiz_grading.benchmark,
    "course_check": course_check.benchmark,
    "site_build": site_build.benchmark,
    "serve_load": serve_load.benchmark,
    "serve_load_pg": serve_load.benchmark_pg,
    "report_export": report_export.benchmark,
    "report_export_csv": report_export.benchmark_csv,
    "certificates": certificates.benchmark,
}
"""Each factory returns its benchmark, or None when it cannot run here (it prints why)."""

SUITES: dict[str, Callable[..., str | None]] = {
    "reports": reports.suite,
    "reports_analyzed": reports.suite_analysed,
    "reports_pg": reports.suite_pg,
}
"""Several side-by-side measurements sharing one costly set-up (a generated province):
each runs them itself, with the harness, and returns one Markdown table (None: skipped,
it prints why)."""

SERVER_SIDE = frozenset({"serve_load", "serve_load_pg"})
"""Their work happens in server subprocesses: this process's peak memory says nothing of it."""

FORK_UNSAFE = frozenset({"certificates"})
"""Their work starts threads (typst): a forked child, as the memory probe makes, deadlocks."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of: {', '.join([*BENCHMARKS, *SUITES])}")
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (for CI)")
    parser.add_argument("--rounds", type=int, help="rounds per side (default 3, quick 1)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS and n not in SUITES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    rounds = args.rounds or (1 if args.quick else 3)
    for name in args.names or [*BENCHMARKS, *SUITES]:
        if name in SUITES:
            markdown = SUITES[name](quick=args.quick, rounds=rounds)
            if markdown is not None:
                print(markdown, flush=True)
                print()
            continue
        bench = BENCHMARKS[name](quick=args.quick)
        if bench is None:
            continue
        results = run(bench, rounds=rounds, memory=name not in SERVER_SIDE | FORK_UNSAFE)
        print(table(bench, results), flush=True)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

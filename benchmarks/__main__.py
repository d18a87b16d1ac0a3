"""``python -m benchmarks [NAME…] [--quick] [--rounds N]``: print Markdown tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from benchmarks import course_check, quiz_grading, site_build, staff_import
from benchmarks.harness import Benchmark, run, table

BENCHMARKS: dict[str, Callable[..., Benchmark]] = {
    "staff_import": staff_import.benchmark,
    "quiz_grading": quiz_grading.benchmark,
    "course_check": course_check.benchmark,
    "site_build": site_build.benchmark,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (for CI)")
    parser.add_argument("--rounds", type=int, help="rounds per side (default 3, quick 1)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    rounds = args.rounds or (1 if args.quick else 3)
    for name in args.names or list(BENCHMARKS):
        bench = BENCHMARKS[name](quick=args.quick)
        print(table(bench, run(bench, rounds=rounds)), flush=True)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

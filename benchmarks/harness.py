"""The measuring core: interleaved rounds, medians, peak memory, a Markdown table."""

from __future__ import annotations

import gc
import os
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

Setup = Callable[[], Callable[[], object]]
"""Prepares one round (not timed) and returns the function to time."""


@dataclass(frozen=True, slots=True)
class Side:
    """One contestant: ours or an anchor."""

    name: str
    setup: Setup


@dataclass(slots=True)
class Result:
    """Median seconds and peak memory growth of one side."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peak_bytes: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass(frozen=True, slots=True)
class Benchmark:
    """Ours against one or more anchors, with the target a reader should compare to."""

    name: str
    description: str
    ours: Side
    anchors: tuple[Side, ...]
    target: str
    rows: int
    extra: Callable[[], str] | None = None
    """More figures printed under the table (sizes, counts)."""


def _time_once(side: Side) -> float:
    run = side.setup()
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _peak_once(side: Side) -> int:
    """Peak memory growth (bytes) during one run, C allocations (SQLite) included.

    The run happens in a forked child: its peak resident set size before and
    after the run bracket what the run itself needed, without tracing
    overhead and without the parent's history.  Falls back to tracemalloc
    (Python heap only) where fork is unavailable.
    """
    if not hasattr(os, "fork"):
        run = side.setup()
        tracemalloc.start()
        try:
            run()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_end)
            run = side.setup()
            gc.collect()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            run()
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            os.write(write_end, str((after - before) * 1024).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return int(data) if data else 0


def run(bench: Benchmark, *, rounds: int, memory: bool = True) -> list[Result]:
    """Interleave the sides round by round so drift hits all of them alike."""
    sides = [bench.ours, *bench.anchors]
    results = [Result(side.name) for side in sides]
    for _ in range(rounds):
        for side, result in zip(sides, results, strict=True):
            result.seconds.append(_time_once(side))
    if memory:
        for side, result in zip(sides, results, strict=True):
            result.peak_bytes = _peak_once(side)
    return results


def table(bench: Benchmark, results: list[Result]) -> str:
    """A Markdown table: time, rows/s, ratio to ours, peak memory."""
    ours = results[0]
    lines = [
        f"### {bench.name}: {bench.description}",
        "",
        f"target: {bench.target}",
        "",
        "| side | median s | rows/s | ours ÷ this | peak memory growth |",
        "|---|---:|---:|---:|---:|",
    ]
    for result in results:
        ratio = ours.median / result.median if result.median else float("inf")
        memory = f"{result.peak_bytes / 2**20:.1f} MB" if result.peak_bytes else "-"
        lines.append(
            f"| {result.name} | {result.median:.3f} | {bench.rows / result.median:,.0f} "
            f"| {ratio:.2f}× | {memory} |"
        )
    lines.append(f"\nrounds: {len(ours.seconds)}, rows: {bench.rows:,}")
    if bench.extra is not None:
        lines.append(bench.extra())
    return "\n".join(lines)


DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
"""The PostgreSQL the PostgreSQL benchmarks use when ``LMS_TEST_DATABASE_URL`` is unset."""


def pg_base_url() -> tuple[str | None, str]:
    """A reachable PostgreSQL URL, or None and why not."""
    url = os.environ.get("LMS_TEST_DATABASE_URL") or DEFAULT_PG
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: no server to measure against
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return None, f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {reason}"
    return url, ""

"""Staff import: ``lms staff import`` logic against raw ``sqlite3.executemany``.

Target (issue 2): ours within 3x of raw, peak memory under 300 MB, for
100,000 generated people.  Two anchors bracket the job:

* ``sqlite3 csv+executemany``: the least code that does the same job: read the
  same CSV with the csv module, map unit codes to ids, ``executemany`` into the
  same table (same indexes and constraints, made by our migrations).
* ``sqlite3 executemany only``: the rows already in memory, only the insert,
  the floor for any importer.
"""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import Benchmark, Side
from lms_core.db import make_engine, session_factory
from lms_core.schema import upgrade
from lms_core.services.org import import_units_file
from lms_core.services.staff import import_staff_file
from lms_core.synthetic import generate_province, generate_staff, write_staff_csv, write_units_csv


class _Workspace:
    """Generated files, and a fresh migrated database per round."""

    def __init__(self, *, staff: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-staff-"))
        units = generate_province(communes=max(20, staff // 400), seed=1)
        people = generate_staff(units, count=staff, seed=1)
        self.units_csv = self.dir / "units.csv"
        self.staff_csv = self.dir / "staff.csv"
        write_units_csv(self.units_csv, units)
        write_staff_csv(self.staff_csv, people)
        self.template = self.dir / "template.db"
        engine = make_engine(f"sqlite:///{self.template}")
        upgrade(engine)
        with session_factory(engine).begin() as session:
            import_units_file(session, str(self.units_csv))
        engine.dispose()
        self.rounds = 0

    def fresh_db(self) -> Path:
        """A copy of the template database (units imported, no people)."""
        self.rounds += 1
        path = self.dir / f"round{self.rounds}.db"
        src = sqlite3.connect(self.template)
        dst = sqlite3.connect(path)
        src.backup(dst)
        src.close()
        dst.close()
        return path


def _ours(ws: _Workspace) -> Callable[[], object]:
    db = ws.fresh_db()
    engine = make_engine(f"sqlite:///{db}")

    def run() -> object:
        with session_factory(engine).begin() as session:
            _, report = import_staff_file(session, str(ws.staff_csv))
        engine.dispose()
        return report

    return run


_INSERT = (
    "INSERT INTO person (staff_code, full_name, org_unit_id, position, phone, email, active,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)"
)


def _rows(ws: _Workspace, conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    """The CSV read with the csv module, unit codes mapped to ids: nothing checked."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")
    units = dict(conn.execute("SELECT code, id FROM org_unit"))
    with ws.staff_csv.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [(c, n, units[o], p, ph, e, now, now) for c, n, o, p, ph, e in reader]


def _raw_csv(ws: _Workspace) -> Callable[[], object]:
    db = ws.fresh_db()

    def run() -> object:
        conn = sqlite3.connect(db)
        rows = _rows(ws, conn)
        with conn:
            conn.executemany(_INSERT, rows)
        conn.close()
        return len(rows)

    return run


def _raw_insert(ws: _Workspace) -> Callable[[], object]:
    db = ws.fresh_db()
    conn = sqlite3.connect(db)
    rows = _rows(ws, conn)

    def run() -> object:
        with conn:
            conn.executemany(_INSERT, rows)
        conn.close()
        return len(rows)

    return run


def benchmark(*, quick: bool) -> Benchmark:
    """100,000 people (10,000 with --quick) into a fresh SQLite database."""
    staff = 10_000 if quick else 100_000
    ws = _Workspace(staff=staff)
    return Benchmark(
        name="staff_import",
        description=f"{staff:,} people from CSV into SQLite",
        ours=Side("taphuan import_staff_file", lambda: _ours(ws)),
        anchors=(
            Side("sqlite3 csv+executemany", lambda: _raw_csv(ws)),
            Side("sqlite3 executemany only", lambda: _raw_insert(ws)),
        ),
        target="ours ≤ 3× the raw anchors; peak memory < 300 MB",
        rows=staff,
    )

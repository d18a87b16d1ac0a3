"""Report exports: ``write_xlsx`` / ``write_csv`` against the libraries used alone.

Target (issue 8, "Speed"): an XLSX export of 100,000 rows × 8 columns within
1.3× of openpyxl's write-only mode alone.  Both sides write the same rows to a
file on disk in the same run:

* ``openpyxl write-only``: a write-only workbook, one header row, each row
  appended as plain values (openpyxl picks the types and its default date
  format), saved.  No widths, no header style, no filters sheet, no text
  forcing: the floor for any writer built on openpyxl.
* ours: :func:`lms_core.report_formats.write_xlsx` of a
  :class:`~lms_core.reporting.Report` with the same rows: column widths from
  a sample, bold frozen header with autofilter, dates and datetimes with
  formats, percentages with ``0.0``, every text cell forced as text with
  the ``@`` format, a filters sheet, an atomic rename.

``report_export_csv`` does the same for CSV against the stdlib ``csv``
module writing UTF-8 with BOM (the 0.28 s anchor of the performance notes).
Rows look like a completion report: staff code, name, unit, course, due
date, completion time (aware UTC, shown in Vietnam's time), attempts, score.
"""

from __future__ import annotations

import atexit
import csv
import datetime as dt
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook

from benchmarks.harness import Benchmark, Side
from lms_core.report_formats import write_csv, write_xlsx
from lms_core.reporting import Cell, Column, Report
from lms_core.synthetic import generate_province, generate_staff

COLUMNS = (
    Column("staff_code", "Mã cán bộ", "Staff code", "text", "staff_code"),
    Column("full_name", "Họ và tên", "Name", "text", "name"),
    Column("unit", "Đơn vị", "Unit", "text"),
    Column("course", "Khóa học", "Course", "text"),
    Column("due_on", "Hạn hoàn thành", "Due", "date"),
    Column("completed_at", "Hoàn thành lúc", "Completed at", "datetime"),
    Column("attempts", "Số lần làm bài", "Attempts", "int"),
    Column("score", "Điểm (%)", "Score (%)", "percent"),
)
COURSES = ("phong-chong-xam-hai", "chi-thi-28-ke-hoach-tinh", "ky-nang-tham-van")


def _report(count: int) -> Report:
    units = generate_province(communes=max(20, count // 400), seed=8)
    names = {u.code: u.name for u in units}
    people = generate_staff(units, count=count, seed=8)
    rng = random.Random(8)
    start = dt.datetime(2026, 1, 5, 1, 30, tzinfo=dt.UTC)
    rows: list[tuple[Cell, ...]] = []
    for i, person in enumerate(people):
        done = rng.random() < 0.7
        rows.append(
            (
                person.staff_code,
                person.full_name,
                names.get(person.org_code, person.org_code),
                COURSES[i % len(COURSES)],
                dt.date(2026, 3, 31) + dt.timedelta(days=i % 60),
                start + dt.timedelta(minutes=7 * i) if done else None,
                rng.randint(1, 4),
                round(rng.uniform(40, 100), 1) if done else None,
            )
        )
    return Report(
        name="completion",
        title_vi="Hoàn thành khóa học",
        title_en="Course completion",
        columns=COLUMNS,
        rows=rows,
        filters={"unit": "37 Tỉnh Ninh Bình", "subtree": "có", "as_of": "2026-11-29"},
        generated_at=dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC),
    )


_FOLDER: list[Path] = []


def _folder() -> Path:
    """One scratch folder for the whole run (each round overwrites its file), removed at exit."""
    if not _FOLDER:
        folder = Path(tempfile.mkdtemp(prefix="bench-report-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _FOLDER.append(folder)
    return _FOLDER[0]


def _ours_xlsx(report: Report) -> Callable[[], object]:
    out = _folder() / "ours.xlsx"
    return lambda: write_xlsx([report], out, language="vi")


def _anchor_xlsx(report: Report) -> Callable[[], object]:
    out = _folder() / "anchor.xlsx"
    header = [c.title_vi for c in report.columns]
    # openpyxl refuses aware datetimes: give it the same local wall-clock times
    rows = [
        tuple(
            v.astimezone(dt.timezone(dt.timedelta(hours=7))).replace(tzinfo=None)
            if isinstance(v, dt.datetime)
            else v
            for v in row
        )
        for row in report.rows
    ]

    def run() -> object:
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("completion")
        ws.append(header)
        for row in rows:
            ws.append(row)
        wb.save(out)
        return out

    return run


def _ours_csv(report: Report) -> Callable[[], object]:
    out = _folder() / "ours.csv"
    return lambda: write_csv(report, out, language="vi")


def _anchor_csv(report: Report) -> Callable[[], object]:
    out = _folder() / "anchor.csv"
    header = [c.title_vi for c in report.columns]

    def run() -> object:
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(report.rows)
        return out

    return run


def benchmark(*, quick: bool) -> Benchmark:
    """100,000 rows × 8 columns to XLSX (10,000 with --quick)."""
    count = 10_000 if quick else 100_000
    report = _report(count)
    return Benchmark(
        name="report_export",
        description=f"XLSX export, {count:,} rows × {len(COLUMNS)} columns",
        ours=Side("taphuan write_xlsx", lambda: _ours_xlsx(report)),
        anchors=(Side("openpyxl write-only", lambda: _anchor_xlsx(report)),),
        target="ours ≤ 1.3× openpyxl write-only",
        rows=count,
    )


def benchmark_csv(*, quick: bool) -> Benchmark:
    """100,000 rows × 8 columns to CSV (10,000 with --quick)."""
    count = 10_000 if quick else 100_000
    report = _report(count)
    return Benchmark(
        name="report_export_csv",
        description=f"CSV export, {count:,} rows × {len(COLUMNS)} columns",
        ours=Side("taphuan write_csv", lambda: _ours_csv(report)),
        anchors=(Side("stdlib csv (utf-8-sig)", lambda: _anchor_csv(report)),),
        target="none set (for scale: ours neutralises, types and localises every cell)",
        rows=count,
    )

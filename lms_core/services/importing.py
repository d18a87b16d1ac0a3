"""What every bulk import shares: the report, rejected rows, and the all-or-nothing rule.

An import validates every row first and writes nothing until all rows are
known good (or, with ``skip_invalid``, until the bad ones are set aside with
their reasons), so a failed import never leaves half a file in the database.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from lms_core.db import bulk_work
from lms_core.errors import ImportValidationError, Problem
from lms_core.tabular import Row, Table, read_table
from lms_core.text import neutralise_formula


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row left out of an import, with every reason."""

    row: Row
    problems: tuple[Problem, ...]


@dataclass(slots=True)
class ImportReport:
    """Counts of what an import did (or would do, on a dry run)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"rejected {len(self.rejected)}"
        )


class RowProblems:
    """Collects problems per row while validating a table."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.by_line: dict[int, list[Problem]] = defaultdict(list)

    def add(self, row: Row, column: str, message: str, hint: str = "") -> None:
        col = self.table.column_number(column) if column in self.table.columns else 0
        self.by_line[row.line].append(
            Problem(self.table.path, row.line, col, message, hint, field=column)
        )

    def bad(self, row: Row) -> bool:
        return row.line in self.by_line

    def settle(self, *, skip_invalid: bool, what: str) -> list[Rejected]:
        """Raise with every problem (all-or-nothing), or return the rejected rows."""
        if not self.by_line:
            return []
        if not skip_invalid:
            problems = [p for line in sorted(self.by_line) for p in self.by_line[line]]
            raise ImportValidationError(
                problems,
                summary=(
                    f"{len(self.by_line)} of {len(self.table.rows)} {what} rows are invalid; "
                    "nothing was imported (fix them, or pass --skip-invalid to import "
                    "the valid rows and write the others to a file)"
                ),
            )
        return [
            Rejected(row, tuple(self.by_line[row.line]))
            for row in self.table.rows
            if row.line in self.by_line
        ]


def write_rejected(path: Path, *, table: Table, rejected: list[Rejected]) -> None:
    """Write rejected rows with an ``error`` column, in UTF-8 with BOM for Excel.

    Cells are neutralised against formula injection: the file is opened in Excel.
    """
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", *table.columns, "error"])
        for item in rejected:
            reasons = "; ".join(
                (f"{p.field}: " if p.field else "") + p.message + (f" ({p.hint})" if p.hint else "")
                for p in item.problems
            )
            cells = [item.row.values.get(c, "") for c in table.columns]
            writer.writerow([item.row.line, *map(neutralise_formula, [*cells, reasons])])


Importer = Callable[..., ImportReport]
"""``importer(session, table, *, skip_invalid=…, source=…) -> ImportReport``."""


def import_file(
    session: Session,
    path: str,
    *,
    importer: Importer,
    required: Sequence[str],
    optional: Sequence[str] = (),
    encoding: str | None = None,
    sheet: str | None = None,
    skip_invalid: bool = False,
    source: str = "cli",
) -> tuple[Table, ImportReport]:
    """Read a CSV/XLSX file with the importer's columns and run the importer on it."""
    with bulk_work():
        table = read_table(
            path, required=required, optional=optional, encoding=encoding, sheet=sheet
        )
        return table, importer(session, table, skip_invalid=skip_invalid, source=source)

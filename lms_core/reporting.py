"""The shape every report has, between the queries that make it and the writers.

Report services (:mod:`lms_core.services.reports`) answer one question each,
scoped to an org subtree, and return a :class:`Report`; the writers
(:mod:`lms_core.report_formats`: terminal table, CSV, XLSX, HTML) know nothing
about the questions, only columns and rows.  Columns say what kind of value
they hold, so a date stays a date in Excel and a staff code stays text, and
whether they hold personal data, so ``--pseudonymise`` knows what to replace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["text", "int", "float", "percent", "date", "datetime", "bool"]
"""How a column's values are typed and shown (``percent`` holds 0-100 numbers)."""

Cell = str | int | float | bool | dt.date | dt.datetime | None
"""One value; ``None`` is an empty cell."""

PersonalKind = Literal["", "name", "staff_code"]
"""What personal data a column holds: pseudonymised names, pseudonymised codes."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its key, its heading in each language, its kind."""

    key: str
    title_vi: str
    title_en: str
    kind: ColumnKind = "text"
    personal: PersonalKind = ""

    def title(self, language: str) -> str:
        """The heading in ``language`` (Vietnamese for anything but English)."""
        return self.title_en if language == "en" else self.title_vi


@dataclass(frozen=True, slots=True)
class Report:
    """A finished report: what was asked (``filters``) and the answer.

    ``rows`` are tuples in the order of ``columns``.  ``filters`` are the
    human-readable filters used (unit, subtree, course, cohort, period, as of),
    written on a sheet of their own in XLSX and above the table elsewhere.
    """

    name: str
    """Machine name: completion, rollup, overdue, expiring, attempts, items."""
    title_vi: str
    title_en: str
    columns: Sequence[Column]
    rows: Sequence[tuple[Cell, ...]]
    filters: dict[str, str] = field(default_factory=dict)
    generated_at: dt.datetime | None = None

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_vi

    def column(self, key: str) -> int:
        """The index of the column ``key`` (KeyError if there is none)."""
        for i, c in enumerate(self.columns):
            if c.key == key:
                return i
        raise KeyError(key)

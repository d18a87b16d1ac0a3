"""Writers for finished reports: terminal table, CSV, XLSX and a static HTML page.

A :class:`~lms_core.reporting.Report` says what each column holds (its kind)
and whether it is personal data; the writers here turn that into the file an
HR officer opens, without knowing which question the report answered.  The
decisions that matter for safety and for Excel users live here once:

* **Formula injection.**  A cell typed by a learner or imported from a staff
  list (a name, a position, a cohort name) may start with ``=``.  In CSV every
  text cell goes through :func:`lms_core.text.neutralise_formula` (a leading
  ``'`` when the cell starts with ``= + - @``, a tab, a line break or their
  full-width forms, also after leading whitespace).  In XLSX text cells are
  written as strings (``t="inlineStr"``) with the Text number format ``@``:
  never a formula when opened, and still text when someone edits the cell.
  Numbers, dates and booleans are typed by our code, so they are never
  neutralised.
* **Excel and Vietnamese.**  CSV is UTF-8 with a byte order mark (without it
  Excel reads UTF-8 as the ANSI code page and mangles every accent), one
  header row, ISO dates, ``.`` as the decimal point, and CRLF line ends (RFC
  4180, the csv module's default and what Excel itself writes).  XLSX keeps
  dates as dates, staff codes like ``00123`` as text and percentages as
  numbers shown with one decimal.
* **Time.**  Stored timestamps are UTC; reports show them in Vietnam's time
  (UTC+7, no daylight saving).  Naive datetimes are taken as already local.
* **Privacy.**  ``pseudonymise`` replaces the cells of columns marked
  ``personal="name"`` or ``"staff_code"`` with stable pseudonyms
  (:class:`Pseudonymiser`); the secret behind them lives outside the project
  (:func:`project_pseudonymiser`, docs/reports.md "Privacy").

Every writer takes the output as a path (written atomically: a failed export
leaves no half file) or an open binary stream (the HTTP download, stdout), and
returns the number of data rows written, for the export's event.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime as dt
import hashlib
import hmac
import io
import math
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from jinja2 import DictLoader, Environment, StrictUndefined
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as XlsxCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_core.errors import ConfigError, LmsError
from lms_core.models import Event
from lms_core.reporting import Cell, ColumnKind, PersonalKind, Report
from lms_core.services.events import record_event
from lms_core.services.scope import Scope
from lms_core.services.staff import normalise_staff_code
from lms_core.text import clean, neutralise_formula

__all__ = [
    "EXPORT_EVENT",
    "PAGE_CSS",
    "PSEUDONYM_EVENT",
    "REPORT_NAMES",
    "VN_TZ",
    "Pseudonymiser",
    "ReportRequest",
    "display_cell",
    "display_width",
    "filter_label",
    "format_table",
    "layout_context",
    "page_csp",
    "percent_text",
    "project_pseudonymiser",
    "pseudonym_key_path",
    "record_export",
    "render_html",
    "run_report",
    "template_environment",
    "text_of",
    "truncate_to_width",
    "write_csv",
    "write_html",
    "write_xlsx",
]

Output = Path | IO[bytes]
"""Where a writer writes: a file path (atomic) or an open binary stream."""

VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")
"""Vietnam's time (Asia/Ho_Chi_Minh): UTC+7 all year."""

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0"
TEXT_FORMAT = "@"

_NUMERIC: frozenset[ColumnKind] = frozenset({"int", "float", "percent"})

_WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "filters": "Bộ lọc",
        "report": "Báo cáo",
        "filter": "Bộ lọc",
        "value": "Giá trị",
        "rows": "Số dòng",
        "generated": "Lập lúc",
        "pseudonymised": "Bí danh hóa",
        "yes": "có",
        "no": "không",
        "none": "(không có)",
        "skip": "Bỏ qua, đến nội dung chính",
        "brand": "Tập huấn",
        "rows_note": "{n} dòng",
        "no_rows": "Không có dòng nào khớp bộ lọc.",
    },
    "en": {
        "filters": "Filters",
        "report": "Report",
        "filter": "Filter",
        "value": "Value",
        "rows": "Rows",
        "generated": "Generated",
        "pseudonymised": "Pseudonymised",
        "yes": "yes",
        "no": "no",
        "none": "(none)",
        "skip": "Skip to main content",
        "brand": "Tập huấn",
        "rows_note": "{n} rows",
        "no_rows": "No rows match the filters.",
    },
}

_FILTER_LABELS: dict[str, tuple[str, str]] = {
    "unit": ("Đơn vị", "Unit"),
    "org": ("Đơn vị", "Unit"),
    "subtree": ("Gồm đơn vị cấp dưới", "Including units below"),
    "course": ("Khóa học", "Course"),
    "cohort": ("Đợt tập huấn", "Cohort"),
    "from": ("Từ ngày", "From"),
    "to": ("Đến ngày", "To"),
    "period": ("Thời gian", "Period"),
    "as_of": ("Tính đến ngày", "As of"),
    "within": ("Trong vòng", "Within"),
    "exercise": ("Bài tập", "Exercise"),
    "depth": ("Số cấp dưới", "Levels below"),
}


def _words(language: str) -> dict[str, str]:
    return _WORDS["en" if language == "en" else "vi"]


def filter_label(key: str, language: str) -> str:
    """The heading of a filter key (``unit`` → "Đơn vị"); unknown keys as they are."""
    labels = _FILTER_LABELS.get(key)
    if labels is None:
        return key
    return labels[1] if language == "en" else labels[0]


# --------------------------------------------------------------------------- pseudonyms

_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: no I, L, O or U, so a pseudonym read aloud is not misheard."""

NAME_PREFIX = "Người-"
CODE_PREFIX = "P-"
NAME_DIGITS = 6
"""30 bits: among 20,000 distinct names about 0.2 expected collisions (4 digits: 190)."""
CODE_DIGITS = 8
"""40 bits: among 300,000 staff codes about 0.04 expected collisions."""

PSEUDONYM_EVENT = "report.pseudonym_key_created"
"""The event that names the current pseudonym key (its id, never the secret)."""


def _b32(digest: bytes, digits: int) -> str:
    number = int.from_bytes(digest[:8], "big")
    out = []
    for _ in range(digits):
        out.append(_BASE32[number & 31])
        number >>= 5
    return "".join(out)


class Pseudonymiser:
    """Stable pseudonyms: HMAC-SHA256 of the value under a per-project secret.

    The same name or staff code always gives the same pseudonym with the same
    secret (exports made months apart can be joined), and different projects
    have different secrets (two provinces' files cannot be linked).  Without
    the secret a pseudonym cannot be reversed by trying every staff code,
    which a plain hash would allow.  Values are normalised first (names: NFC,
    spaces collapsed, case folded; codes: trimmed, upper-case) so that
    ``nb00123`` and ``NB00123`` are one person.
    """

    __slots__ = ("_cache", "_secret")

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("a pseudonym secret needs at least 16 bytes")
        self._secret = secret
        self._cache: dict[tuple[str, str], str] = {}

    def _digest(self, kind: str, value: str) -> bytes:
        message = f"taphuan/pseudonym/v1\x00{kind}\x00{value}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def name(self, value: str) -> str:
        """``Người-XXXXXX`` for a person's name."""
        key = ("name", clean(value).casefold())
        found = self._cache.get(key)
        if found is None:
            found = NAME_PREFIX + _b32(self._digest(*key), NAME_DIGITS)
            self._cache[key] = found
        return found

    def staff_code(self, value: str) -> str:
        """``P-XXXXXXXX`` for a staff code."""
        key = ("staff_code", normalise_staff_code(value))
        found = self._cache.get(key)
        if found is None:
            found = CODE_PREFIX + _b32(self._digest(*key), CODE_DIGITS)
            self._cache[key] = found
        return found

    def cell(self, personal: PersonalKind, value: Cell) -> Cell:
        """``value`` replaced when its column is personal; empty cells stay empty."""
        if not personal or value is None or value == "":
            return value
        text = value if isinstance(value, str) else str(value)
        return self.name(text) if personal == "name" else self.staff_code(text)


def _rows(report: Report, pseudonymise: Pseudonymiser | None) -> Iterable[Sequence[Cell]]:
    """The report's rows, with personal columns replaced when pseudonymising."""
    if pseudonymise is None:
        return report.rows
    personal = [(i, c.personal) for i, c in enumerate(report.columns) if c.personal]
    if not personal:
        return report.rows

    def replaced() -> Iterator[Sequence[Cell]]:
        for row in report.rows:
            out = list(row)
            for i, kind in personal:
                out[i] = pseudonymise.cell(kind, out[i])
            yield out

    return replaced()


def _check_key_dir(key_dir: Path, project_root: Path | None) -> Path:
    """``key_dir`` resolved; refused inside the project or a Git working tree.

    The same rule as the certificate keys (docs/certificates.md): a secret in
    the project folder gets copied, published or committed.
    """
    resolved = key_dir.expanduser().resolve()
    if project_root is not None:
        root = project_root.resolve()
        if resolved == root or resolved.is_relative_to(root):
            raise ConfigError(
                f"the key folder {resolved} is inside the project ({root}): the pseudonym "
                "secret would be copied or committed with it; set [certificates] key_dir "
                "in lms.toml (or LMS_KEY_DIR) to a folder outside it"
            )
    for folder in (resolved, *resolved.parents):
        if (folder / ".git").exists():
            raise ConfigError(
                f"the key folder {resolved} is inside the Git working tree {folder}: the "
                "pseudonym secret would be committed; set [certificates] key_dir in "
                "lms.toml (or LMS_KEY_DIR) to a folder outside it"
            )
    return resolved


def pseudonym_key_path(key_dir: Path, key_id: str) -> Path:
    """The file holding the secret of pseudonym key ``key_id``."""
    return key_dir / f"pseudonym-{key_id}.key"


def _current_key_id(session: Session) -> str | None:
    return session.scalar(
        select(Event.object_id)
        .where(Event.verb == PSEUDONYM_EVENT)
        .order_by(Event.id.desc())
        .limit(1)
    )


def project_pseudonymiser(
    session: Session,
    *,
    key_dir: Path,
    project_root: Path | None = None,
    new_key: bool = False,
) -> Pseudonymiser:
    """The project's :class:`Pseudonymiser`, creating its secret on first use.

    Where the secret lives: 32 random bytes in ``<key_dir>/pseudonym-<id>.key``
    (mode 0600, folder 0700), beside the certificate signing keys and under
    the same rule (outside the project, the site and Git); the *database*
    records which key is current, as a ``report.pseudonym_key_created`` event
    holding the key id only.  So the pseudonyms belong to the project's
    database (two projects never share them, even with one key folder),
    survive moving the project folder, and are never stored beside the
    exports they protect.  A recorded key whose file is missing is an error,
    not a silent new key: every pseudonym would change.  ``new_key`` starts a
    new series on purpose (earlier exports no longer match).

    Needs a transaction that may write (the first call records the event).
    """
    folder = _check_key_dir(key_dir, project_root)
    key_id = None if new_key else _current_key_id(session)
    if key_id is not None:
        path = pseudonym_key_path(folder, key_id)
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise LmsError(
                f"the pseudonym key {key_id} of this project is not in {folder}: copy "
                f"{path.name} there from the machine that made the first pseudonymised "
                "export (without it every pseudonym would change); if it is lost for good, "
                "run again with --new-pseudonym-key (earlier exports will not match)"
            ) from None
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            secret = b""
        if len(secret) < 16:
            raise LmsError(f"{path}: not a pseudonym key (64 hex digits expected)")
        return Pseudonymiser(secret)

    key_id = secrets.token_hex(8)
    secret = secrets.token_bytes(32)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o700)
    path = pseudonym_key_path(folder, key_id)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret.hex().encode("ascii") + b"\n")
    record_event(
        session,
        verb=PSEUDONYM_EVENT,
        object_type="pseudonym_key",
        object_id=key_id,
        data={"key_id": key_id},
    )
    return Pseudonymiser(secret)


# --------------------------------------------------------------------------- values


def _local(value: dt.datetime) -> dt.datetime:
    """Vietnam's wall-clock time, naive (what Excel and people expect)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(VN_TZ).replace(tzinfo=None)


def text_of(value: Cell, kind: ColumnKind) -> str:
    """A cell as machine-readable text (CSV): ISO dates, ``.`` decimals, true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if kind == "date":
            return _local(value).date().isoformat()
        if value.tzinfo is None:
            return value.isoformat(timespec="seconds")
        return value.astimezone(VN_TZ).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        return repr(round(value, 4)) if kind == "percent" else repr(value)
    return str(value)


def _decimal(text: str, language: str) -> str:
    return text if language == "en" else text.replace(".", ",")


def percent_text(value: float, language: str) -> str:
    """``85,5%`` (Vietnamese decimal comma) or ``85.5%``; whole numbers without decimals."""
    shown = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return _decimal(shown, language) + "%"


def display_cell(value: Cell, kind: ColumnKind, language: str) -> str:
    """A cell as people read it (terminal, HTML): local time, ``85,5%``, có/không.

    Vietnamese uses the decimal comma; dates stay ISO (``2026-03-31``), which
    no reader can take for another date.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return _words(language)["yes" if value else "no"]
    if isinstance(value, dt.datetime):
        local = _local(value)
        return local.date().isoformat() if kind == "date" else f"{local:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and kind == "percent":
        return percent_text(float(value), language) if math.isfinite(value) else ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer():
            return f"{value:.0f}"
        return _decimal(f"{value:.2f}".rstrip("0").rstrip("."), language)
    return str(value)


# --------------------------------------------------------------------------- output


@contextlib.contextmanager
def _binary(out: Output) -> Iterator[IO[bytes]]:
    """An open binary stream: ``out`` itself, or a temporary file renamed into place.

    The rename happens only when the writer finished, so an interrupted or
    failed export never leaves a truncated file under the requested name.
    The file is created readable by its owner only (``mkstemp``'s 0600): an
    export of personal data is not for everyone on a shared server.
    """
    if not isinstance(out, Path):
        yield out
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(name, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


# --------------------------------------------------------------------------- CSV


def write_csv(
    report: Report,
    out: Output,
    *,
    language: str,
    pseudonymise: Pseudonymiser | None = None,
) -> int:
    """Write ``report`` as CSV for Excel and for analysis tools; returns the row count.

    UTF-8 with BOM, one header row (column titles in ``language``), CRLF line
    ends, ISO 8601 dates (datetimes with their ``+07:00`` offset), ``.`` as the
    decimal point, ``true``/``false``; every text cell neutralised against
    formula injection (module docstring).  The filters are not repeated in the
    file (one header row, nothing above it): the XLSX has a sheet for them.
    """
    kinds = [c.kind for c in report.columns]
    count = 0
    with _binary(out) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="")
        try:
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow([neutralise_formula(c.title(language)) for c in report.columns])
            for row in _rows(report, pseudonymise):
                writer.writerow(
                    [
                        neutralise_formula(v) if isinstance(v, str) else text_of(v, k)
                        for v, k in zip(row, kinds, strict=True)
                    ]
                )
                count += 1
            text.flush()
        finally:
            text.detach()
    return count


# --------------------------------------------------------------------------- XLSX

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 cannot hold: replaced by U+FFFD in XLSX (CSV keeps them)."""

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_SAMPLE_ROWS = 200
_MIN_WIDTH, _MAX_WIDTH = 6, 60
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", start_color="FFF3F5F8", end_color="FFF3F5F8")
_HEADER_ALIGN = Alignment(vertical="top", wrap_text=True)


def _sheet_titles(titles: Iterable[str]) -> list[str]:
    """Excel-valid, unique sheet names: no ``[]:*?/\\``, at most 31 characters."""
    out: list[str] = []
    seen: set[str] = set()
    for title in titles:
        base = _SHEET_BAD.sub(" ", _XML_ILLEGAL.sub("", title)).strip().strip("'") or "Sheet"
        name = base[:31]
        n = 2
        while name.casefold() in seen:
            suffix = f" ({n})"
            name = base[: 31 - len(suffix)] + suffix
            n += 1
        seen.add(name.casefold())
        out.append(name)
    return out


def _sample(rows: Sequence[Sequence[Cell]], size: int) -> Sequence[Sequence[Cell]]:
    """Up to ``size`` rows spread over the report: the first ones and an even stride."""
    if len(rows) <= size:
        return rows
    head = size // 2
    step = max(1, (len(rows) - head) // (size - head))
    return [*rows[:head], *rows[head::step][: size - head]]


def _widths(report: Report, language: str, pseudonymise: Pseudonymiser | None) -> list[float]:
    """Column widths (in characters) from the header and a sample of the values."""
    widths = [float(display_width(c.title(language))) for c in report.columns]
    sample = _sample(report.rows, _SAMPLE_ROWS)
    for row in sample:
        for i, (value, column) in enumerate(zip(row, report.columns, strict=True)):
            if column.personal and pseudonymise is not None:
                value = pseudonymise.cell(column.personal, value)
            shown = display_cell(value, column.kind, language)
            widths[i] = max(widths[i], display_width(shown))
    return [min(_MAX_WIDTH, max(_MIN_WIDTH, w + 2)) for w in widths]


def _xml_text(value: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", value) if _XML_ILLEGAL.search(value) else value


def _hook_rows(ws: Any) -> None:
    """Let ``ws.append`` take our prepared cells as they are (a speed-up only).

    openpyxl's write-only ``append`` turns each value into a cell; handed a
    ready cell it first tries to store the cell *as a value*, fails, formats
    an error message and falls back, then allocates a new cell after every
    styled one.  For 800,000 styled cells that is a third more time.  This
    replaces the per-row conversion of this one sheet with a loop that
    accepts cells and values.  If a future openpyxl drops the hook, ``append``
    still receives the same typed cells and writes the same file, slower.
    """
    if not callable(getattr(ws, "_values_to_row", None)):
        return
    scratch = WriteOnlyCell(ws)

    def values_to_row(values: Sequence[Any], row_idx: int) -> Iterator[XlsxCell]:
        for col_idx, value in enumerate(values, 1):
            if value is None:
                continue
            if isinstance(value, XlsxCell):
                cell = value
            else:
                cell = scratch
                cell.value = value
            cell.row = row_idx
            cell.column = col_idx
            yield cell

    ws._values_to_row = values_to_row


def _header(ws: Any, titles: Sequence[str]) -> list[XlsxCell]:
    cells = []
    for title in titles:
        cell = WriteOnlyCell(ws, _xml_text(title))
        cell.data_type = "s"
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _HEADER_ALIGN
        cells.append(cell)
    return cells


_Put = Callable[[Cell], Any]


def _putter(ws: Any, kind: ColumnKind) -> _Put:
    """How one column's values become cells: one reused styled cell per column.

    Each cell is written out before the next value is set (write-only mode
    streams rows), so one cell per column serves every row.  A value that
    does not fit the column's kind (text in a number column) is written as
    text rather than dropped or guessed at; NaN and infinities, which Excel
    cannot store, become empty cells.
    """
    spare = WriteOnlyCell(ws)
    spare.number_format = TEXT_FORMAT

    def as_text(value: Cell) -> XlsxCell:
        spare.value = _xml_text(value if isinstance(value, str) else text_of(value, "text"))
        spare.data_type = "s"  # never a formula ("=…") or an error value ("#N/A")
        return spare

    if kind == "text":
        return lambda value: None if value is None else as_text(value)

    if kind in ("int", "float", "bool"):

        def plain(value: Cell) -> Any:
            if value is None or isinstance(value, bool | int):
                return value
            if isinstance(value, float):
                return value if math.isfinite(value) else None
            return as_text(value)

        return plain

    cell = WriteOnlyCell(ws)
    if kind == "percent":
        cell.number_format = PERCENT_FORMAT

        def percent(value: Cell) -> Any:
            if value is None:
                return None
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, int | float) and not isinstance(value, bool):
                cell.value = value
                return cell
            return as_text(value)

        return percent

    cell.number_format = DATE_FORMAT if kind == "date" else DATETIME_FORMAT

    def when(value: Cell) -> Any:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            cell.value = _local(value).date() if kind == "date" else _local(value)
            return cell
        if isinstance(value, dt.date):
            cell.value = value
            return cell
        return as_text(value)

    return when


def _report_sheet(
    wb: Workbook,
    title: str,
    report: Report,
    *,
    language: str,
    pseudonymise: Pseudonymiser | None,
) -> int:
    ws = wb.create_sheet(title)
    for i, width in enumerate(_widths(report, language, pseudonymise), 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    _hook_rows(ws)
    ws.append(_header(ws, [c.title(language) for c in report.columns]))
    putters = [_putter(ws, c.kind) for c in report.columns]
    count = 0
    append = ws.append
    for row in _rows(report, pseudonymise):
        append([put(v) for put, v in zip(putters, row, strict=True)])
        count += 1
    last = get_column_letter(max(1, len(report.columns)))
    ws.auto_filter.ref = f"A1:{last}{count + 1}"
    return count


def _filters_sheet(
    wb: Workbook,
    title: str,
    reports: Sequence[tuple[Report, int, str]],
    *,
    language: str,
    pseudonymised: bool,
) -> None:
    """One sheet saying, for every report sheet, what was asked: filters, rows, time."""
    words = _words(language)
    ws = wb.create_sheet(title)
    widths = (28, 28, 48)
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.append(_header(ws, [words["report"], words["filter"], words["value"]]))
    count = 0

    def line(*values: str) -> None:
        nonlocal count
        cells = []
        for value in values:
            cell = WriteOnlyCell(ws, _xml_text(value))
            cell.data_type = "s"
            cell.number_format = TEXT_FORMAT
            cells.append(cell)
        ws.append(cells)
        count += 1

    for report, rows, name in reports:
        for key, value in report.filters.items():
            line(name, filter_label(key, language), value)
        line(name, words["rows"], str(rows))
        if report.generated_at is not None:
            line(name, words["generated"], display_cell(report.generated_at, "datetime", language))
        line(name, words["pseudonymised"], words["yes" if pseudonymised else "no"])
    ws.auto_filter.ref = f"A1:C{count + 1}"


def write_xlsx(
    reports: Sequence[Report],
    out: Output,
    *,
    language: str,
    pseudonymise: Pseudonymiser | None = None,
) -> int:
    """Write one sheet per report plus a filters sheet; returns the total row count.

    openpyxl's write-only mode streams rows to disk, so 100,000 rows take
    little memory.  Each report sheet has a bold, frozen header with an
    autofilter, column widths from a sample of up to 200 rows, dates as
    dates (``yyyy-mm-dd``), datetimes in Vietnam's time, percentages as
    numbers (``0.0``) and text forced as text (module docstring).  The last
    sheet, "Bộ lọc" / "Filters", lists each report's filters, row count,
    time and whether names and codes were pseudonymised.
    """
    if not reports:
        raise LmsError("nothing to export: no report given")
    wb = Workbook(write_only=True)
    words = _words(language)
    titles = _sheet_titles([*(r.title(language) for r in reports), words["filters"]])
    done: list[tuple[Report, int, str]] = []
    for report, title in zip(reports, titles, strict=False):
        rows = _report_sheet(wb, title, report, language=language, pseudonymise=pseudonymise)
        done.append((report, rows, title))
    _filters_sheet(wb, titles[-1], done, language=language, pseudonymised=pseudonymise is not None)
    with _binary(out) as handle:
        wb.save(handle)
    return sum(rows for _, rows, _ in done)


# --------------------------------------------------------------------------- terminal


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (CJK) characters 2, combining marks 0.

    Vietnamese stored NFC is one column per letter; text typed decomposed
    (a base letter plus combining accents) is too, thanks to the marks' 0.
    """
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Cc", "Cf", "Mn", "Me"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def truncate_to_width(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns, with ``…`` when cut."""
    if display_width(text) <= width:
        return text
    out = []
    used = 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _pad(text: str, width: int, *, right: bool) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]+")


def format_table(
    report: Report,
    *,
    language: str,
    width: int = 100,
    pseudonymise: Pseudonymiser | None = None,
    max_rows: int | None = None,
) -> str:
    """The report as aligned text for a terminal ``width`` columns wide.

    Widths are measured in terminal columns (:func:`display_width`), numbers
    are right-aligned, control characters become spaces (a cell cannot move
    the cursor or clear the screen) and, when the table is too wide, the
    widest columns are cut with ``…`` until it fits (never below 6 columns).
    The title and the filters come first; the row count last.
    """
    words = _words(language)
    columns = report.columns
    right = [c.kind in _NUMERIC for c in columns]
    header = [_ONE_LINE.sub(" ", c.title(language)) for c in columns]
    body: list[list[str]] = []
    for n, row in enumerate(_rows(report, pseudonymise)):
        if max_rows is not None and n >= max_rows:
            break
        body.append(
            [
                _ONE_LINE.sub(" ", display_cell(v, c.kind, language))
                for v, c in zip(row, columns, strict=True)
            ]
        )
    widths = [display_width(h) for h in header]
    for cells in body:
        for i, cell in enumerate(cells):
            widths[i] = max(widths[i], display_width(cell))
    gap = 2
    floor = 6
    # Text gives way first (names cut well with "…"); numbers and dates last.
    text_first = [c.kind == "text" for c in columns]
    while sum(widths) + gap * (len(widths) - 1) > width:
        candidates = [i for i, w in enumerate(widths) if w > floor and text_first[i]]
        candidates = candidates or [i for i, w in enumerate(widths) if w > floor]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1

    def line(cells: Sequence[str]) -> str:
        parts = [
            _pad(truncate_to_width(cell, w), w, right=r)
            for cell, w, r in zip(cells, widths, right, strict=True)
        ]
        return (" " * gap).join(parts).rstrip()

    out = [report.title(language)]
    for key, value in report.filters.items():
        out.append(f"  {filter_label(key, language)}: {_ONE_LINE.sub(' ', value)}")
    out.append("")
    out.append(line(header))
    out.append((" " * gap).join("-" * w for w in widths))
    out.extend(line(cells) for cells in body)
    total = len(report.rows)
    note = words["rows_note"].format(n=total)
    if len(body) < total:
        note += f" ({len(body)} shown)" if language == "en" else f" (hiện {len(body)})"
    out.append("")
    out.append(note)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML

PAGE_CSS = """\
:root{--fg:#1a1a1a;--muted:#4a4a4a;--bg:#fff;--soft:#f3f5f8;--line:#c4c9d0;--link:#0b57d0;\
--visited:#5a2d91;--bar:#0b57d0;--track:#e3e8ef;--bad:#b3261e;--focus:#b35900}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;color:var(--fg);background:var(--bg);font:1.0625rem/1.6 system-ui,-apple-system,\
"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif;overflow-wrap:anywhere}
main,.site-header p,.site-footer p{max-width:46rem;margin:0 auto;padding:0 1rem}
main{display:block;padding-top:1rem;padding-bottom:2rem}
main:focus{outline:none}
h1,h2{line-height:1.3;margin:1.5em 0 .5em}
h1{font-size:1.6rem;margin-top:.5em}
h2{font-size:1.3rem}
p,ul,ol,dl{margin:0 0 1em}
a{color:var(--link);text-underline-offset:.15em}
a:visited{color:var(--visited)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:.5rem;top:-10rem;z-index:10;padding:.75rem 1rem;background:var(--bg);\
color:var(--link)}
.skip:focus{top:.5rem}
.visually-hidden{position:absolute!important;width:1px;height:1px;overflow:hidden;\
clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap;margin:-1px;padding:0;border:0}
.site-header{background:var(--soft);border-bottom:1px solid var(--line)}
.site-header .brand{font-weight:700;padding-top:.6rem;padding-bottom:.6rem}
.site-footer{border-top:1px solid var(--line);margin-top:2rem;padding:1rem 0;color:var(--muted);\
font-size:.95rem}
.breadcrumb ol{list-style:none;display:flex;flex-wrap:wrap;gap:0 .5rem;padding:0;margin:0 0 .5rem;\
font-size:.95rem}
.breadcrumb li+li::before{content:"›";margin-right:.5rem;color:var(--muted)}
.breadcrumb a{display:inline-block;padding:.5rem 0}
.meta{color:var(--muted);font-size:.95rem}
.filters{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem}
.filters dt{font-weight:600}
.filters dd{margin:0}
.table-wrap{overflow-x:auto;margin:0 0 1em}
table{border-collapse:collapse;min-width:100%}
.table-wrap table{overflow-wrap:normal}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid var(--line);padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:var(--soft)}
.num{text-align:right;font-variant-numeric:tabular-nums}
.stats{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;list-style:none;padding:0}
.stats strong{display:block;font-size:1.4rem}
.late strong{color:var(--bad)}
.chart{width:100%;height:auto;display:block;margin:0 0 1rem;overflow:visible}
.chart text{font-size:15px;fill:var(--fg)}
.chart .n{font-variant-numeric:tabular-nums}
.chart a text{fill:var(--link);text-decoration:underline}
.chart a:focus-visible rect.hit{stroke:var(--focus);stroke-width:3px}
.chart .bar{fill:var(--bar)}
.chart .track{fill:var(--track)}
.chart .hit{fill:transparent}
"""
"""One small stylesheet for every page the reports write (the site's look, no JS).

Inline in each page, allowed by its hash in the page's Content-Security-Policy:
a dashboard folder or a server response is then one self-contained file.
"""


def page_csp(*, frame: bool = False) -> str:
    """The Content-Security-Policy of a report page: nothing but its own inline style.

    No scripts at all, no requests to anyone (images, fonts, forms); the one
    ``<style>`` is allowed by its SHA-256.  ``frame`` adds ``frame-ancestors``,
    which only an HTTP header can carry.
    """
    digest = base64.b64encode(hashlib.sha256(PAGE_CSS.encode()).digest()).decode()
    policy = (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'"
    )
    return policy + ("; frame-ancestors 'none'" if frame else "")


_TEMPLATES: dict[str, str] = {
    "layout.html": """\
<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="robots" content="noindex">
<title>{{ page_title }}</title>
<style>{{ css }}</style>
</head>
<body>
<a class="skip" href="#main">{{ w.skip }}</a>
<header class="site-header"><p class="brand">{{ w.brand }}</p></header>
<main id="main" tabindex="-1">
{% block main %}{% endblock %}
</main>
<footer class="site-footer"><p>{{ footer }}</p></footer>
</body>
</html>
""",
    "report.html": """\
{% extends "layout.html" %}
{% block main %}
<h1>{{ title }}</h1>
{% if filters %}<dl class="filters">
{% for label, value in filters %}<dt>{{ label }}</dt><dd>{{ value }}</dd>
{% endfor %}</dl>
{% endif %}
{% if rows %}<div class="table-wrap" role="region" aria-labelledby="t-cap" tabindex="0">
<table>
<caption id="t-cap">{{ title }}</caption>
<thead><tr>{% for h, num in headers %}<th scope="col"{% if num %} class="num"{% endif %}>\
{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}<tr>{% for cell, num in row %}<td{% if num %} class="num"{% endif %}>\
{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
</div>
{% else %}<p>{{ w.no_rows }}</p>
{% endif %}
<p class="meta">{{ note }}</p>
{% endblock %}
""",
}


def template_environment(extra: Mapping[str, str] | None = None) -> Environment:
    """The Jinja environment of report pages (autoescape on, strict undefined)."""
    return Environment(
        loader=DictLoader({**_TEMPLATES, **(extra or {})}),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


_ENV = template_environment()


def layout_context(language: str, *, page_title: str, footer: str) -> dict[str, Any]:
    """What ``layout.html`` needs: language, policy, inline style, words."""
    return {
        "lang": "en" if language == "en" else "vi",
        "csp": page_csp(),
        "css": Markup(PAGE_CSS),  # our constant; escaping would break its quotes  # noqa: S704
        "w": _words(language),
        "page_title": page_title,
        "footer": footer,
    }


def render_html(report: Report, *, language: str, pseudonymise: Pseudonymiser | None = None) -> str:
    """The report as one accessible HTML page in the site's style (no scripts).

    A real table: caption, column headers with ``scope``, numbers aligned
    right, a scrollable region that keyboard users can focus on a phone.
    """
    words = _words(language)
    columns = report.columns
    numeric = [c.kind in _NUMERIC for c in columns]
    rows = [
        [
            (display_cell(v, c.kind, language), num)
            for v, c, num in zip(row, columns, numeric, strict=True)
        ]
        for row in _rows(report, pseudonymise)
    ]
    note = words["rows_note"].format(n=len(rows))
    if report.generated_at is not None:
        note += f" · {words['generated']} {display_cell(report.generated_at, 'datetime', language)}"
    if pseudonymise is not None:
        note += f" · {words['pseudonymised']}"
    title = report.title(language)
    return _ENV.get_template("report.html").render(
        **layout_context(language, page_title=title, footer=words["brand"]),
        title=title,
        filters=[(filter_label(k, language), v) for k, v in report.filters.items()],
        headers=[(c.title(language), num) for c, num in zip(columns, numeric, strict=True)],
        rows=rows,
        note=note,
    )


def write_html(
    report: Report,
    out: Output,
    *,
    language: str,
    pseudonymise: Pseudonymiser | None = None,
) -> int:
    """Write :func:`render_html` to ``out`` (UTF-8); returns the row count."""
    page = render_html(report, language=language, pseudonymise=pseudonymise)
    with _binary(out) as handle:
        handle.write(page.encode("utf-8"))
    return len(report.rows)


EXPORT_EVENT = "report.exported"


def record_export(
    session: Session,
    *,
    report: str,
    fmt: str,
    filters: Mapping[str, str | bool | None],
    rows: int,
    pseudonymised: bool,
    actor_account_id: int | None = None,
    source: str = "cli",
) -> None:
    """Log one export as a ``report.exported`` event: who, which report, what filters.

    ``filters`` are the options asked for (unit code, subtree, course slug,
    cohort name, dates): never names or staff codes, which no report filter
    takes.  Empty filters are left out; the time and the actor are the
    event's own columns.  The rows themselves are never copied into the log.
    """
    kept = {k: v for k, v in filters.items() if v not in (None, "", False)}
    record_event(
        session,
        verb=EXPORT_EVENT,
        object_type="report",
        object_id=report,
        actor_account_id=actor_account_id,
        source=source,
        data={
            "report": report,
            "format": fmt,
            "filters": kept,
            "rows": rows,
            "pseudonymised": pseudonymised,
        },
    )


# --------------------------------------------------------------------------- requests

REPORT_NAMES = ("completion", "rollup", "overdue", "expiring", "attempts", "items")
"""The reports of :mod:`lms_core.services.reports`, by the name the CLI and URLs use."""

_OPTIONS: dict[str, frozenset[str]] = {
    "completion": frozenset({"cohort"}),
    "rollup": frozenset({"cohort", "period"}),
    "overdue": frozenset({"cohort"}),
    "expiring": frozenset({"within"}),
    "attempts": frozenset({"period"}),
    "items": frozenset({"period", "exercise"}),
}
"""Which options beyond unit and course each report takes."""

_PERSON_ROWS = frozenset({"completion", "overdue", "expiring"})
"""Reports with a row per person: without ``subtree`` they keep the unit's own people."""


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What was asked for: the report and its filters, as the CLI and the API take them.

    One place decides which options a report takes (an option that does not
    apply is an error, not silently ignored) and what an export's event
    records about them.
    """

    name: str
    unit_code: str | None = None
    subtree: bool = True
    """Include units below ``unit_code``: row reports keep only the unit's own
    people without it, the roll-up only the unit and its direct children."""
    course: str | None = None
    cohort: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    within_days: int | None = None
    include_expired: bool = False
    exercise: str | None = None
    today: dt.date | None = None

    def check(self) -> None:
        """:class:`LmsError` for an unknown report or an option it does not take."""
        if self.name not in _OPTIONS:
            raise LmsError(f"no report '{self.name}' (one of: {', '.join(REPORT_NAMES)})")
        takes = _OPTIONS[self.name]
        given = {
            "cohort": self.cohort is not None,
            "period": self.date_from is not None or self.date_to is not None,
            "within": self.within_days is not None or self.include_expired,
            "exercise": self.exercise is not None,
        }
        words = {
            "cohort": "cohort",
            "period": "from/to",
            "within": "within",
            "exercise": "exercise",
        }
        wrong = [words[k] for k, v in given.items() if v and k not in takes]
        if wrong:
            raise LmsError(
                f"the {self.name} report does not take {', '.join(wrong)} "
                f"(it takes: {', '.join(['org', 'course', *(words[k] for k in sorted(takes))])})"
            )
        if self.name == "items" and self.course is None:
            raise LmsError("the items report needs a course (--course SLUG)")

    def event_filters(self) -> dict[str, str | bool | None]:
        """The filters for the export's event: codes, slugs, names of cohorts, dates."""
        return {
            "unit": self.unit_code,
            "subtree": self.subtree,
            "course": self.course,
            "cohort": self.cohort,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "within_days": str(self.within_days) if self.within_days is not None else None,
            "include_expired": self.include_expired,
            "exercise": self.exercise,
        }


def run_report(session: Session, scope: Scope, request: ReportRequest) -> Report:
    """Run the report ``request`` names, in ``scope``, with its filters.

    The services check the unit and course (outside the scope reads as not
    found) and the period; this adds what the request means by ``subtree``.
    """
    from lms_core.services import reports as asked  # the writers do not need the queries

    request.check()
    common: dict[str, Any] = {"unit_code": request.unit_code, "course": request.course}
    period: dict[str, Any] = {"date_from": request.date_from, "date_to": request.date_to}
    name = request.name
    if name == "completion":
        report = asked.completion_matrix(
            session, scope, **common, cohort=request.cohort, today=request.today
        )
    elif name == "rollup":
        report = asked.rollup(
            session,
            scope,
            **common,
            **period,
            cohort=request.cohort,
            depth=None if request.subtree or request.unit_code is None else 1,
            today=request.today,
        )
    elif name == "overdue":
        report = asked.overdue(session, scope, **common, cohort=request.cohort, today=request.today)
    elif name == "expiring":
        within = request.within_days
        report = asked.expiring(
            session,
            scope,
            **common,
            within_days=asked.EXPIRING_WITHIN_DAYS if within is None else within,
            include_expired=request.include_expired,
            today=request.today,
        )
    elif name == "attempts":
        report = asked.attempts_summary(session, scope, **common, **period)
    else:
        assert request.course is not None
        report = asked.item_analysis(
            session,
            scope,
            course=request.course,
            exercise=request.exercise,
            unit_code=request.unit_code,
            **period,
        )
    if request.subtree or request.unit_code is None or name not in _PERSON_ROWS:
        return report
    try:
        at = report.column("unit_code")
    except KeyError:
        return report
    own = [row for row in report.rows if row[at] == request.unit_code]
    return replace(report, rows=own, filters={**report.filters, "subtree": "không / no"})

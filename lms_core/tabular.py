"""The one reader for every tabular import (CSV and XLSX).

Org units, staff lists and every later import go through :func:`read_table`
so that all of them accept the same files and fail the same way.  The people
who prepare these files are HR staff in communes, working in Excel, not
programmers; therefore every failure names the file, the line and (where it
makes sense) the column, and says how to fix the file in Excel.

The reader only turns a file into canonical rows of text.  It checks the
*shape* of the file (encoding, header, extra cells, formulas) but not the
*meaning* of the values: whether a required cell is filled, whether a code
exists, and so on, is the importers' job.

Failures:

* :class:`~lms_core.errors.InputFileError` when the file cannot be read at
  all (missing, too big, binary, wrong encoding, damaged workbook, ambiguous
  sheet).
* :class:`~lms_core.errors.ImportValidationError` with every located
  :class:`~lms_core.errors.Problem` found (bad header, extra cells, formulas,
  broken quoting).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import os
import re
import stat
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lms_core.errors import ImportValidationError, InputFileError, LmsError, Problem

__all__ = ["MAX_BYTES", "Row", "Table", "read_table"]

#: Largest file accepted by default.  Real org-unit and staff lists are a few
#: megabytes; anything far bigger is a mistake (wrong file, export of a whole
#: database) and would only exhaust memory on a small commune server.
MAX_BYTES = 100 * 1024 * 1024

#: How much of the file is inspected to recognise binary data and UTF-16.
_SNIFF_BYTES = 64 * 1024

#: Excel's own row limit; a sheet claiming more rows is damaged or hostile.
_EXCEL_MAX_ROWS = 1_048_576

#: An XLSX is a zip; this bounds how much its parts may expand relative to the
#: file-size limit, so a small "zip bomb" cannot exhaust memory or time.
_XLSX_EXPANSION = 20

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"

_SAVE_AS_CSV = 'In Excel: File → Save As → "CSV UTF-8 (Comma delimited) (*.csv)"'

#: Well-known binary formats people pick by mistake, for a precise message.
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"{\\rtf", "an RTF document"),
)

_HEADER_SEPARATORS = re.compile(r"[\s\-]+")


@dataclass(frozen=True, slots=True)
class Row:
    """One non-empty data row.

    ``line`` is where the row is in the file as the user sees it: for CSV the
    1-based physical line on which the record starts (a quoted cell spanning
    several lines does not shift later numbers), for XLSX the sheet row
    number.  ``values`` holds every required and optional column by canonical
    name; cells are stripped and NFC-normalised, and an optional column that
    is absent from the file, or a cell missing at the end of a short row, is
    ``""``.
    """

    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class Table:
    """A whole file read into canonical rows.

    ``path`` is the display name used in messages, exactly as the caller gave
    it.  ``columns`` lists the canonical names found in the header, in file
    order.  ``positions`` maps those names to their 1-based column in the
    file; use :meth:`column_number` rather than reading it directly.
    """

    path: str
    columns: list[str]
    rows: list[Row]
    positions: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    def column_number(self, name: str) -> int:
        """Return the 1-based column of ``name`` in the file, for :attr:`Problem.column`.

        Returns 0 (meaning "the whole row") for an optional column that the
        file does not have, so a problem about it still formats sensibly.
        """
        if name in self.positions:
            return self.positions[name]
        if name in self.columns:
            return self.columns.index(name) + 1
        return 0


# A record as produced by the CSV or XLSX front end: its line, its raw cell
# texts, and located cell defects found while reading (column, message, hint).
_Record = tuple[int, list[str], list[tuple[int, str, str]]]


def read_table(
    path: str | os.PathLike[str],
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    encoding: str | None = None,
    sheet: str | None = None,
    max_bytes: int = MAX_BYTES,
) -> Table:
    """Read a CSV or XLSX file into a :class:`Table` of canonical rows.

    The format is recognised from the content, not the extension, because
    files are routinely renamed or saved with the wrong one.  ``required``
    and ``optional`` are the canonical column names (lowercase, ``_`` for
    spaces); header cells are matched after stripping, NFC, lowercasing and
    turning spaces/hyphens into ``_``.

    ``encoding`` forces a text encoding for CSV (for example ``"cp1258"``);
    without it only UTF-8 (with or without Excel's BOM) is accepted, because
    guessing between legacy Vietnamese code pages silently corrupts names.
    ``sheet`` selects the worksheet of a workbook with several sheets.  Both
    are ignored for the other format.

    Raises :class:`InputFileError` if the file cannot be read at all and
    :class:`ImportValidationError` listing every header or row problem.
    """
    display = os.fspath(path)
    data = _read_bytes(display, max_bytes)
    names = list(dict.fromkeys([*required, *optional]))
    head = data[:8]
    if head.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        records = _xlsx_records(display, data, sheet, max_bytes)
        return _assemble(display, records, list(required), names, example_sep=None)
    if head.startswith(_OLE_MAGIC):
        raise InputFileError(
            f"{display}: this is an old Excel 97-2003 workbook (.xls) or a password-protected "
            "workbook, which cannot be read. Open it in Excel, remove any password, and "
            'save it as "Excel Workbook (*.xlsx)" or "CSV UTF-8 (Comma delimited) (*.csv)"'
        )
    text = _decode(display, data, encoding)
    delimiter = _sniff_delimiter(text)
    return _assemble(
        display,
        _csv_records(display, text, delimiter),
        list(required),
        names,
        example_sep=delimiter,
    )


# --------------------------------------------------------------------------- file access


def _read_bytes(display: str, max_bytes: int) -> bytes:
    """Read the whole file after checking, *before* reading, that it is a sane size."""
    try:
        info = os.stat(display)
    except FileNotFoundError:
        raise InputFileError(
            f"{display}: file not found (looked for {os.path.abspath(display)}); "
            "check the file name and folder"
        ) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or exc
        raise InputFileError(f"{display}: cannot open the file: {reason}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(
            f"{display}: this is a folder, not a file; give the path of the CSV or XLSX file"
        )
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(
            f"{display}: this is not a regular file; give the path of a CSV or XLSX file"
        )
    if info.st_size > max_bytes:
        raise _too_big(display, info.st_size, max_bytes)
    try:
        with open(display, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except PermissionError:
        raise InputFileError(
            f"{display}: permission denied; ask your administrator for read access, "
            "or copy the file to a folder you own"
        ) from None
    except OSError as exc:
        raise InputFileError(f"{display}: cannot read the file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # the file grew after stat()
        raise _too_big(display, len(data), max_bytes)
    return data


def _too_big(display: str, size: int, max_bytes: int) -> InputFileError:
    return InputFileError(
        f"{display}: the file is {_human_size(size)} ({size} bytes), more than the limit of "
        f"{_human_size(max_bytes)} ({max_bytes} bytes); split it into several smaller files "
        "and import them one after another"
    )


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------- CSV decoding


def _decode(display: str, data: bytes, encoding: str | None) -> str:
    """Decode CSV bytes; without an explicit encoding accept only UTF-8 and explain the rest."""
    if encoding is not None:
        text = _decode_forced(display, data, encoding)
    else:
        text = _decode_auto(display, data)
    if text.startswith("\ufeff"):  # BOM left by e.g. encoding="utf-8" on an Excel file
        text = text[1:]
    if "\x00" in text[:_SNIFF_BYTES]:
        raise _binary_error(display, "")
    return text


def _decode_forced(display: str, data: bytes, encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputFileError(
            f"{display}: unknown encoding {encoding!r}; use a name such as utf-8, cp1258 or utf-16"
        ) from None
    try:
        return data.decode(encoding)
    except LookupError:  # a codec that exists but is not a text encoding, e.g. "base64"
        raise InputFileError(
            f"{display}: {encoding!r} is not a text encoding; "
            "use a name such as utf-8, cp1258 or utf-16"
        ) from None
    except UnicodeDecodeError as exc:
        line = _line_of_byte(data, exc.start)
        raise InputFileError(
            f"{display}:{line}: this file cannot be read as {encoding} "
            f"(byte 0x{data[exc.start]:02X} on line {line} is invalid); check the encoding, "
            f"or {_SAVE_AS_CSV} and import that file without --encoding"
        ) from None


def _decode_auto(display: str, data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"  # what Excel writes for "CSV UTF-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _utf16_error(display)
    else:
        encoding = "utf-8"
        sample = data[:_SNIFF_BYTES]
        if b"\x00" in sample:
            if _looks_like_utf16(sample):
                raise _utf16_error(display)
            raise _binary_error(display, _binary_kind(data))
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        kind = _binary_kind(data)
        if kind:
            raise _binary_error(display, kind) from None
        line = _line_of_byte(data, exc.start)
        try:
            data.decode("cp1258")
        except UnicodeDecodeError:
            guess = "a legacy (non-Unicode) code page such as TCVN3 or VNI"
        else:
            guess = "probably Windows-1258 (cp1258), a legacy Vietnamese code page"
        raise InputFileError(
            f"{display}:{line}: this file is not UTF-8 (first bad character on line {line}); "
            f"its encoding is {guess}. {_SAVE_AS_CSV} and import the new file, "
            "or pass --encoding cp1258 if you are sure it is Windows-1258"
        ) from None


def _looks_like_utf16(sample: bytes) -> bool:
    """True when NULs sit in alternating positions, as in UTF-16 text without a BOM."""
    half = len(sample) // 2
    if half < 2:
        return False
    even = sample[0 : 2 * half : 2].count(0)
    odd = sample[1 : 2 * half : 2].count(0)
    return (odd > 0.3 * half and even < 0.05 * half) or (even > 0.3 * half and odd < 0.05 * half)


def _utf16_error(display: str) -> InputFileError:
    return InputFileError(
        f"{display}: this file is UTF-16 text, which is what Excel writes for "
        '"Unicode Text (*.txt)". In Excel: File → Save As → "CSV UTF-8 (Comma delimited) (*.csv)" '
        "and import the new file, or pass --encoding utf-16"
    )


def _binary_kind(data: bytes) -> str:
    for magic, kind in _BINARY_MAGIC:
        if data.startswith(magic):
            return kind
    return ""


def _binary_error(display: str, kind: str) -> InputFileError:
    what = f" (it looks like {kind})" if kind else " (it contains binary data)"
    return InputFileError(
        f"{display}: not a CSV or XLSX file{what}. Open your spreadsheet in Excel and save it as "
        '"CSV UTF-8 (Comma delimited) (*.csv)" or "Excel Workbook (*.xlsx)", then import that file'
    )


def _line_of_byte(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


# --------------------------------------------------------------------------- CSV parsing


def _sniff_delimiter(text: str) -> str:
    """Pick comma, semicolon or tab from the header line only.

    Excel writes ``;`` in locales whose decimal separator is a comma; the
    header never contains numbers or free text, so counting separators there
    (outside quotes) is reliable, unlike sniffing data rows.
    """
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        line = text[start:end]
        start = end + 1
        if not line.strip(" \t\r\f\v,;\"'"):
            continue  # blank, or only separators as Excel writes for empty rows
        counts = {",": 0, ";": 0, "\t": 0}
        quoted = False
        for char in line:
            if char == '"':
                quoted = not quoted
            elif not quoted and char in counts:
                counts[char] += 1
        best = max(counts, key=lambda sep: counts[sep])  # ties keep the comma (first key)
        return best if counts[best] else ","
    return ","


def _csv_records(display: str, text: str, delimiter: str) -> Iterator[_Record]:
    """Yield ``(line, cells, [])`` with the physical line on which each record starts."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    no_defects: list[tuple[int, str, str]] = []
    try:
        for cells in reader:
            yield start, cells, no_defects
            start = reader.line_num + 1
    except csv.Error as exc:
        message = str(exc)
        if "end of data" in message:
            problem = Problem(
                display,
                start,
                0,
                'a quoted cell starting on this line is never closed (a " with no matching ")',
                hint='add the missing closing ", or re-save the file from Excel',
            )
        elif "field larger than field limit" in message:
            problem = Problem(
                display,
                start,
                0,
                f"a cell is longer than {csv.field_size_limit()} characters",
                hint='usually a " that is never closed; check the quotes on this line',
            )
        else:
            problem = Problem(
                display,
                reader.line_num,
                0,
                f"the CSV quoting is broken: {message}",
                hint='after a closing " there must be the separator or the end of the line; '
                "re-save the file from Excel",
            )
        raise ImportValidationError([problem]) from None


# --------------------------------------------------------------------------- XLSX


def _xlsx_records(display: str, data: bytes, sheet: str | None, max_bytes: int) -> list[_Record]:
    """Read one worksheet into records, flagging formula and error cells.

    The workbook is loaded with ``data_only=False`` on purpose: the cached
    results of formulas may be stale or missing, so a formula is reported
    instead of trusting a value the user never saw being computed.
    """
    _check_zip(display, data, max_bytes)
    from openpyxl import load_workbook  # heavy: imported only for XLSX

    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # openpyxl's style/extension warnings mean nothing to users
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
            try:
                worksheet = _choose_sheet(display, workbook, sheet)
                # Never trust the declared sheet size: some tools write it wrong and
                # openpyxl's read-only mode would then silently drop cells.
                worksheet.reset_dimensions()
                return _sheet_records(display, worksheet.iter_rows())
            finally:
                workbook.close()
    except LmsError:
        raise
    except Exception as exc:  # openpyxl raises many unrelated types for broken files
        raise _damaged_xlsx(display, exc) from exc


def _check_zip(display: str, data: bytes, max_bytes: int) -> None:
    """Recognise non-XLSX zips and zip bombs before handing the file to openpyxl."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        KeyError,
        NotImplementedError,
    ) as exc:
        raise _damaged_xlsx(display, exc) from None
    if b"opendocument.spreadsheet" in mimetype:
        raise InputFileError(
            f"{display}: this is an OpenDocument spreadsheet (.ods), not XLSX; open it and save it "
            'as "Excel Workbook (*.xlsx)" or "CSV UTF-8 (Comma delimited) (*.csv)"'
        )
    if "xl/workbook.bin" in names:
        raise InputFileError(
            f"{display}: this is an Excel binary workbook (.xlsb), which cannot be read; in Excel "
            'save it as "Excel Workbook (*.xlsx)" or "CSV UTF-8 (Comma delimited) (*.csv)"'
        )
    if "xl/workbook.xml" not in names:
        if "word/document.xml" in names or "ppt/presentation.xml" in names:
            raise InputFileError(
                f"{display}: this is a Word or PowerPoint file, not a spreadsheet; "
                'put the table in Excel and save it as "Excel Workbook (*.xlsx)"'
            )
        raise _damaged_xlsx(display, None)
    expanded = sum(info.file_size for info in infos)
    if expanded > _XLSX_EXPANSION * max_bytes:
        raise InputFileError(
            f"{display}: the workbook expands to {_human_size(expanded)} when unpacked, more than "
            f"the limit of {_human_size(_XLSX_EXPANSION * max_bytes)}; "
            "split it into several smaller files"
        )


def _damaged_xlsx(display: str, exc: BaseException | None) -> InputFileError:
    detail = f" ({type(exc).__name__}: {exc})" if exc is not None and str(exc) else ""
    return InputFileError(
        f"{display}: the file starts like an XLSX workbook but is damaged "
        f"or not a real XLSX{detail}. "
        'Open it in Excel and save it again as "Excel Workbook (*.xlsx)" or '
        '"CSV UTF-8 (Comma delimited) (*.csv)"'
    )


def _choose_sheet(display: str, workbook: Any, sheet: str | None) -> Any:
    """Pick the worksheet; with several visible sheets the user must say which."""
    sheets = list(workbook.worksheets)
    titles = [ws.title for ws in sheets]

    def listing() -> str:
        return ", ".join(
            repr(ws.title) + ("" if ws.sheet_state == "visible" else " (hidden)") for ws in sheets
        )

    if not sheets:
        raise InputFileError(f"{display}: the workbook has no worksheets")
    if sheet is not None:
        if sheet in titles:
            return sheets[titles.index(sheet)]
        folded = [ws for ws in sheets if ws.title.strip().casefold() == sheet.strip().casefold()]
        if len(folded) == 1:
            return folded[0]
        raise InputFileError(
            f"{display}: there is no sheet named {sheet!r}; the sheets are: {listing()}. "
            "Pass one of these names with --sheet"
        )
    visible = [ws for ws in sheets if ws.sheet_state == "visible"]
    if len(sheets) == 1 or len(visible) == 1:
        # Hidden sheets are invisible to the user in Excel; they would not
        # understand being asked to choose between sheets they cannot see.
        return sheets[0] if len(sheets) == 1 else visible[0]
    raise InputFileError(
        f"{display}: the workbook has {len(sheets)} sheets: {listing()}; say which one to import "
        "with --sheet NAME (for example --sheet "
        + repr(titles[0])
        + "), or delete the other sheets"
    )


def _sheet_records(display: str, rows: Iterable[Sequence[Any]]) -> list[_Record]:
    records: list[_Record] = []
    for number, cells in enumerate(rows, start=1):
        if number > _EXCEL_MAX_ROWS:
            raise _damaged_xlsx(display, None)
        if not cells:
            continue
        texts: list[str] = []
        defects: list[tuple[int, str, str]] = []
        for column, cell in enumerate(cells, start=1):
            value = cell.value
            kind = cell.data_type
            if kind == "f" or (isinstance(value, str) and value.startswith("=")):
                defects.append(
                    (
                        column,
                        "contains a formula",
                        "paste values only (Copy, then Paste Special → Values)",
                    )
                )
                texts.append(
                    value if isinstance(value, str) else str(getattr(value, "text", value))
                )
            elif kind == "e":
                defects.append(
                    (column, f"contains the Excel error {value}", "correct or clear this cell")
                )
                texts.append(str(value))
            else:
                texts.append(_render(value))
        records.append((number, texts, defects))
    return records


def _render(value: object) -> str:
    """Cell value as the text the user sees in Excel, in a stable form.

    Whole numbers lose Excel's float ``.0`` (a code typed as 13285 must stay
    "13285"); other numbers keep Excel's 15 significant digits; dates are ISO
    ``YYYY-MM-DD`` so importers parse one format whatever the locale.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- common assembly


def _clean(cell: str) -> str:
    """Strip and NFC-normalise one cell; NFC is skipped for ASCII, which it cannot change."""
    if not cell.isascii():
        cell = unicodedata.normalize("NFC", cell)
    return cell.strip()


def _canonical_header(cell: str) -> str:
    return _HEADER_SEPARATORS.sub("_", _clean(cell.replace("\ufeff", "")).lower())


def _assemble(
    display: str,
    records: Iterable[_Record],
    required: list[str],
    names: list[str],
    *,
    example_sep: str | None,
) -> Table:
    """Find the header, check it, and turn the remaining records into rows."""
    iterator = iter(records)
    for record in iterator:
        if "".join(record[1]).strip():
            header_line, header_cells, header_defects = record
            break
    else:
        raise InputFileError(
            f"{display}: the file has no data; its first row must be the header: "
            + _example_header(names, example_sep)
        )

    positions: dict[str, int] = {}
    problems = [
        Problem(display, header_line, column, message, hint=hint)
        for column, message, hint in header_defects
    ]
    known = set(names)
    canonical = [_canonical_header(cell) for cell in header_cells]
    unknown: list[tuple[int, str, str]] = []
    for column, (raw, name) in enumerate(zip(header_cells, canonical, strict=True), start=1):
        if not name:
            continue
        if name in positions:
            problems.append(
                Problem(
                    display,
                    header_line,
                    column,
                    f'column "{name}" appears twice (columns {positions[name]} and {column})',
                    hint="delete one of the two columns",
                    field=name,
                )
            )
        elif name in known:
            positions[name] = column
        else:
            unknown.append((column, raw.strip(), name))
    for column, raw, name in unknown:
        candidates = [n for n in names if n not in positions]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        hint = f'did you mean "{close[0]}"? ' if close else ""
        hint += "allowed columns: " + ", ".join(names)
        problems.append(
            Problem(display, header_line, column, f'unknown column "{raw}"', hint=hint, field=raw)
        )
    missing = [name for name in required if name not in positions]
    if missing:
        hint = "the first non-empty row must be the header, for example: " + _example_header(
            names, example_sep
        )
        if not positions:
            hint = (
                f"row {header_line} is read as the header but none of its cells is a column name; "
                "add a header row at the top; " + hint
            )
        problems.append(
            Problem(
                display,
                header_line,
                0,
                "missing required column(s): " + ", ".join(missing),
                hint=hint,
            )
        )
    if problems:
        problems.sort(key=lambda p: p.column)
        raise ImportValidationError(problems)

    width = len(header_cells)
    unnamed = [i for i, name in enumerate(canonical) if not name]  # empty header cells
    present = [(name, positions[name] - 1) for name in names if name in positions]
    absent = {name: "" for name in names if name not in positions}
    header_name = {index: name for name, index in present}
    nfc = unicodedata.normalize
    rows: list[Row] = []
    # Hot loop (100k+ rows): keep per-row work to a few C-level calls.
    for line, cells, defects in iterator:
        if not "".join(cells).strip():
            continue  # Excel leaves empty rows (often as ",,,,") between and after data
        count = len(cells)
        for column, message, hint in defects:
            problems.append(
                Problem(
                    display, line, column, message, hint=hint, field=header_name.get(column - 1, "")
                )
            )
        if count > width or unnamed:
            stray = _stray_cell(cells, width, unnamed)
            if stray is not None:
                filled = max(i for i, cell in enumerate(cells) if cell.strip()) + 1
                problems.append(_stray_problem(display, line, stray, filled, width, example_sep))
        if count >= width:
            # Inlined _clean(): a Python call per cell would double the cost.
            values = {
                name: (cell if (cell := cells[i]).isascii() else nfc("NFC", cell)).strip()
                for name, i in present
            }
        else:  # short row: the missing trailing cells are empty
            values = {name: _clean(cells[i]) if i < count else "" for name, i in present}
        if absent:
            values.update(absent)
        rows.append(Row(line, values))
    if problems:
        raise ImportValidationError(problems)
    return Table(display, [n for n in positions], rows, positions)


def _stray_cell(cells: list[str], width: int, unnamed: list[int]) -> int | None:
    """0-based index of the first non-empty cell outside the named columns, if any."""
    for index in unnamed:
        if index < len(cells) and cells[index].strip():
            return index
    if len(cells) > width:
        for index in range(width, len(cells)):
            if cells[index].strip():
                return index
    return None


def _stray_problem(
    display: str, line: int, index: int, count: int, width: int, example_sep: str | None
) -> Problem:
    if index < width:
        return Problem(
            display,
            line,
            index + 1,
            f"column {index + 1} has a value but no header",
            hint="add a column name in the header row, or delete the value",
        )
    if example_sep is not None:
        sep = "tab" if example_sep == "\t" else f'"{example_sep}"'
        hint = (
            f"a value probably contains the separator {sep}; put such values in double quotes, "
            "or re-save the file from Excel, or delete the extra cells"
        )
    else:
        hint = "delete the extra cells, or add a column name in the header row"
    return Problem(
        display,
        line,
        index + 1,
        f"this row has {count} cells but the header has only {width} columns",
        hint=hint,
    )


def _example_header(names: list[str], sep: str | None) -> str:
    if sep is None or sep == "\t":
        return " | ".join(names) + " (one name per cell)"
    return sep.join(names)

"""The report writers: CSV, XLSX, terminal table, HTML page, and pseudonyms.

Formula injection is property-tested: whatever text a cell holds, the CSV
read back is the neutralised text and never starts a formula, and the XLSX
re-opened holds it as a string cell (never a formula, never an error value).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import stat
import unicodedata
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_core.db import session_factory
from lms_core.errors import ConfigError, LmsError
from lms_core.models import Event
from lms_core.project import init_project, open_database
from lms_core.report_formats import (
    PSEUDONYM_EVENT,
    Pseudonymiser,
    display_width,
    format_table,
    project_pseudonymiser,
    pseudonym_key_path,
    render_html,
    write_csv,
    write_html,
    write_xlsx,
)
from lms_core.reporting import Cell, Column, Report
from lms_core.text import neutralise_formula

FORMULA_STARTS = set("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
SECRET = bytes(range(32))


def starts_formula(cell: str) -> bool:
    """What a spreadsheet (or a CSV import that trims spaces) would run as a formula."""
    return bool(cell) and (
        cell[0] in FORMULA_STARTS or (cell[0].isspace() and cell.lstrip()[:1] in FORMULA_STARTS)
    )


COLUMNS = (
    Column("unit_code", "Mã đơn vị", "Unit code"),
    Column("staff_code", "Mã cán bộ", "Staff code", personal="staff_code"),
    Column("full_name", "Họ và tên", "Full name", personal="name"),
    Column("due_on", "Hạn hoàn thành", "Due", "date"),
    Column("completed_at", "Hoàn thành lúc", "Completed at", "datetime"),
    Column("attempts", "Số lần", "Attempts", "int"),
    Column("score", "Điểm (%)", "Score (%)", "percent"),
    Column("passed", "Đạt", "Passed", "bool"),
)
ROWS: list[tuple[Cell, ...]] = [
    (
        "13285",
        "00123",
        "Nguyễn Thị Thu Hà",
        dt.date(2026, 3, 31),
        dt.datetime(2026, 3, 30, 17, 5, tzinfo=dt.UTC),  # 00:05 on the 31st in Vietnam
        2,
        87.5,
        True,
    ),
    ("13285-TDP01", "=1+1", "@SUM(A1)", None, None, None, None, False),
    ("13291", "NB000124", "-Trần Văn Nam", dt.date(2026, 4, 1), None, 1, 40.0, None),
]


def report(rows: list[tuple[Cell, ...]] | None = None, **extra: object) -> Report:
    return Report(
        name="completion",
        title_vi="Tình hình hoàn thành khóa học",
        title_en="Course completion",
        columns=COLUMNS,
        rows=ROWS if rows is None else rows,
        filters={"unit": "37 — Tỉnh Ninh Bình", "course": "phong-chong-xam-hai"},
        generated_at=dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC),
        **extra,  # type: ignore[arg-type]
    )


def text_report(rows: list[list[str]]) -> Report:
    width = len(rows[0]) if rows else 1
    return Report(
        name="t",
        title_vi="Văn bản",
        title_en="Text",
        columns=[Column(f"c{i}", f"Cột {i}", f"Column {i}") for i in range(width)],
        rows=[tuple(r) for r in rows],
    )


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --------------------------------------------------------------------------- neutralising


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+84912345678", "'+84912345678"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ('  =HYPERLINK("http://x")', '\'  =HYPERLINK("http://x")'),
        ("\u00a0=1", "'\u00a0=1"),
        ("＝1+1", "'＝1+1"),
        ("Nguyễn Thị Hà", "Nguyễn Thị Hà"),
        ("00123", "00123"),
        ("a=b", "a=b"),
        ("  Hà", "  Hà"),
        ("", ""),
    ],
)
def test_neutralise_formula_rule(cell: str, expected: str) -> None:
    assert neutralise_formula(cell) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.text(max_size=30), min_size=3, max_size=3), min_size=1, max_size=8))
def test_csv_cells_round_trip_as_text_and_never_a_formula(rows: list[list[str]]) -> None:
    buffer = io.BytesIO()
    count = write_csv(text_report(rows), buffer, language="vi")
    data = buffer.getvalue()
    assert count == len(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    back = read_csv(data)
    assert back[0] == ["Cột 0", "Cột 1", "Cột 2"]
    assert back[1:] == [[neutralise_formula(c) for c in row] for row in rows]
    for row in back:
        for cell in row:
            assert not starts_formula(cell), cell


def test_csv_types_dates_and_layout() -> None:
    buffer = io.BytesIO()
    write_csv(report(), buffer, language="en")
    data = buffer.getvalue()
    assert data.startswith(b"\xef\xbb\xbfUnit code,Staff code,")
    assert data.count(b"\r\n") == 4 and b"\n" not in data.replace(b"\r\n", b"")
    header, first, second, third = read_csv(data)
    assert header[3:] == ["Due", "Completed at", "Attempts", "Score (%)", "Passed"]
    assert first == [
        "13285",
        "00123",
        "Nguyễn Thị Thu Hà",
        "2026-03-31",
        "2026-03-31T00:05:00+07:00",
        "2",
        "87.5",
        "true",
    ]
    assert second == ["13285-TDP01", "'=1+1", "'@SUM(A1)", "", "", "", "", "false"]
    assert third[2] == "'-Trần Văn Nam"


def test_csv_to_a_path_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    broken = report(rows=[("x", "y", "z", "not a date", None, None, None, None)])
    write_csv(broken, out, language="vi")  # odd values are written as text, not refused
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # personal data: the owner's only
    with pytest.raises(ValueError):
        write_csv(report(rows=[("only", "two")]), out, language="vi")  # type: ignore[list-item]
    assert read_csv(out.read_bytes())[1][0] == "x"  # the earlier file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]  # no temporary left


# --------------------------------------------------------------------------- XLSX

XLSX_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40
)  # surrogates cannot be encoded at all


def xlsx_expected(value: str) -> str:
    """What an XLSX can hold: XML 1.0 characters (others become U+FFFD), CR read as LF."""
    bad = set(range(0x00, 0x09)) | {0x0B, 0x0C} | set(range(0x0E, 0x20)) | {0xFFFE, 0xFFFF}
    cleaned = "".join("\ufffd" if ord(c) in bad else c for c in value)
    return cleaned.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(XLSX_TEXT, min_size=2, max_size=2), min_size=1, max_size=6))
def test_xlsx_text_cells_are_strings_never_formulas(rows: list[list[str]]) -> None:
    buffer = io.BytesIO()
    write_xlsx([text_report(rows)], buffer, language="vi")
    buffer.seek(0)
    sheet = openpyxl.load_workbook(buffer).worksheets[0]
    got = list(sheet.iter_rows(min_row=2))
    assert len(got) == len(rows)
    for cells, row in zip(got, rows, strict=True):
        for cell, value in zip(cells, row, strict=True):
            if value == "":
                assert cell.value is None
                continue
            assert cell.data_type == "s", (value, cell.data_type)
            assert cell.value == xlsx_expected(value)
            assert cell.number_format == "@"


def test_xlsx_layout_types_and_filters_sheet(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    second = Report(
        name="rollup",
        title_vi="Tỷ lệ hoàn thành theo đơn vị",
        title_en="Completion by unit",
        columns=[Column("unit", "Đơn vị", "Unit"), Column("rate", "Tỷ lệ", "Rate", "percent")],
        rows=[("Phường Phủ Lý", 50.0)],
        filters={"unit": "37 — Tỉnh Ninh Bình", "depth": "1"},
    )
    assert write_xlsx([report(), second], out, language="vi") == 4
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "Tình hình hoàn thành khóa học",
        "Tỷ lệ hoàn thành theo đơn vị",
        "Bộ lọc",
    ]
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:H4"
    assert all(c.font.b for c in sheet[1])
    assert [c.value for c in sheet[1]][:3] == ["Mã đơn vị", "Mã cán bộ", "Họ và tên"]
    widths = [sheet.column_dimensions[letter].width for letter in "ABCDEFGH"]
    assert widths[2] > widths[0] >= 6  # names are wider than codes
    row = sheet[2]
    assert (row[1].value, row[1].data_type) == ("00123", "s")  # the zero stays
    assert row[3].value == dt.datetime(2026, 3, 31) and row[3].is_date
    assert row[3].number_format == "yyyy-mm-dd"
    assert row[4].value == dt.datetime(2026, 3, 31, 0, 5) and row[4].is_date  # Vietnam time
    assert (row[5].value, row[5].data_type) == (2, "n")
    assert (row[6].value, row[6].number_format) == (87.5, "0.0")
    assert row[7].value is True
    formula_like = sheet[3]
    assert (formula_like[1].value, formula_like[1].data_type) == ("=1+1", "s")
    assert (formula_like[2].value, formula_like[2].data_type) == ("@SUM(A1)", "s")
    assert sheet[4][2].value == "-Trần Văn Nam"
    filters = [tuple(r) for r in book["Bộ lọc"].iter_rows(values_only=True)]
    assert filters[0] == ("Báo cáo", "Bộ lọc", "Giá trị")
    assert ("Tình hình hoàn thành khóa học", "Khóa học", "phong-chong-xam-hai") in filters
    assert ("Tình hình hoàn thành khóa học", "Số dòng", "3") in filters
    assert ("Tình hình hoàn thành khóa học", "Bí danh hóa", "không") in filters
    assert ("Tỷ lệ hoàn thành theo đơn vị", "Số cấp dưới", "1") in filters
    assert book["Bộ lọc"].freeze_panes == "A2"


def test_xlsx_sheet_names_are_valid_and_unique(tmp_path: Path) -> None:
    long = Report("x", "Báo cáo: [tháng 3/2026] * rất dài, dài hơn 31 ký tự", "x", COLUMNS, [])
    write_xlsx([long, long], tmp_path / "r.xlsx", language="en")
    names = openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames
    assert len(set(names)) == 3 and names[-1] == "Filters"
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)


def test_xlsx_needs_a_report(tmp_path: Path) -> None:
    with pytest.raises(LmsError):
        write_xlsx([], tmp_path / "r.xlsx", language="vi")


# --------------------------------------------------------------------------- pseudonyms


def test_pseudonyms_are_stable_shaped_and_keyed() -> None:
    one, again, other = Pseudonymiser(SECRET), Pseudonymiser(SECRET), Pseudonymiser(b"x" * 32)
    name = one.name("Nguyễn Thị Thu Hà")
    assert name.startswith("Người-") and len(name) == len("Người-") + 6
    assert again.name("nguyễn  thị thu hà") == name  # case and spacing do not matter
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Thu Hà")
    assert again.name(decomposed) == name
    assert other.name("Nguyễn Thị Thu Hà") != name
    code = one.staff_code("nb000123 ")
    assert code == again.staff_code("NB000123") and code.startswith("P-") and len(code) == 10
    assert one.staff_code("NB000124") != code
    assert one.cell("", "Hà") == "Hà" and one.cell("name", None) is None
    with pytest.raises(ValueError):
        Pseudonymiser(b"short")


def test_pseudonymised_exports_hide_names_and_codes(tmp_path: Path) -> None:
    p = Pseudonymiser(SECRET)
    buffer = io.BytesIO()
    write_csv(report(), buffer, language="vi", pseudonymise=p)
    text = buffer.getvalue().decode("utf-8-sig")
    for secret in ("00123", "Nguyễn Thị Thu Hà", "NB000124", "Trần Văn Nam"):
        assert secret not in text
    assert p.staff_code("00123") in text and p.name("Nguyễn Thị Thu Hà") in text
    write_xlsx([report()], tmp_path / "p.xlsx", language="vi", pseudonymise=p)
    values = {
        c
        for row in openpyxl.load_workbook(tmp_path / "p.xlsx")
        .worksheets[0]
        .iter_rows(values_only=True)
        for c in row
    }
    assert "00123" not in values and p.staff_code("00123") in values
    assert "13285" in values  # unit codes are not personal
    html = render_html(report(), language="vi", pseudonymise=p)
    assert "Nguyễn Thị Thu Hà" not in html and p.name("Nguyễn Thị Thu Hà") in html
    table = format_table(report(), language="vi", width=200, pseudonymise=p)
    assert "00123" not in table


def _project_session(tmp_path: Path, name: str) -> tuple[Path, Session]:
    project = init_project(tmp_path / name, database_url=f"sqlite:///{tmp_path / name}.db")
    engine = open_database(project)
    return project.root, session_factory(engine)()


def test_project_secret_lives_in_key_dir_and_the_key_id_in_the_database(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    root, session = _project_session(tmp_path, "a")
    with session.begin():
        first = project_pseudonymiser(session, key_dir=keys, project_root=root)
    with session.begin():
        key_id = session.scalars(select(Event.object_id).where(Event.verb == PSEUDONYM_EVENT)).one()
        data = session.scalars(select(Event.data).where(Event.verb == PSEUDONYM_EVENT)).one()
    path = pseudonym_key_path(keys, key_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    secret_hex = path.read_text().strip()
    assert len(secret_hex) == 64 and secret_hex not in str(data)  # only the id is logged
    with session.begin():
        again = project_pseudonymiser(session, key_dir=keys, project_root=root)
    assert again.staff_code("NB1") == first.staff_code("NB1")

    other_root, other = _project_session(tmp_path, "b")
    with other.begin():
        theirs = project_pseudonymiser(other, key_dir=keys, project_root=other_root)
    assert theirs.staff_code("NB1") != first.staff_code("NB1")
    assert len(list(keys.iterdir())) == 2

    with session.begin():
        renewed = project_pseudonymiser(session, key_dir=keys, project_root=root, new_key=True)
    assert renewed.staff_code("NB1") != first.staff_code("NB1")
    with session.begin():
        assert project_pseudonymiser(session, key_dir=keys).staff_code("NB1") == (
            renewed.staff_code("NB1")
        )
    session.close()
    other.close()


def test_project_secret_missing_or_badly_placed(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    root, session = _project_session(tmp_path, "a")
    with session.begin():
        project_pseudonymiser(session, key_dir=keys, project_root=root)
    for file in keys.iterdir():
        os.unlink(file)
    with session.begin(), pytest.raises(LmsError, match=r"not in .*copy pseudonym-"):
        project_pseudonymiser(session, key_dir=keys, project_root=root)
    with session.begin(), pytest.raises(ConfigError, match="inside the project"):
        project_pseudonymiser(session, key_dir=root / "keys", project_root=root)
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    with session.begin(), pytest.raises(ConfigError, match="Git working tree"):
        project_pseudonymiser(session, key_dir=tmp_path / "repo" / "keys", new_key=True)
    session.close()


# --------------------------------------------------------------------------- terminal


def test_table_aligns_vietnamese_decomposed_and_wide_text() -> None:
    names = [
        "Nguyễn Thị Thu Hà",
        unicodedata.normalize("NFD", "Đỗ Minh Khắc"),  # accents as combining marks
        "Lý 李小龙",  # wide characters take two columns
        "An",
    ]
    rep = Report(
        name="t",
        title_vi="Bảng",
        title_en="Table",
        columns=[Column("name", "Họ và tên", "Name"), Column("n", "Số lần", "Tries", "int")],
        rows=[(n, i * 10) for i, n in enumerate(names)],
        filters={"unit": "13285"},
    )
    lines = format_table(rep, language="vi", width=80).splitlines()
    block = lines[lines.index("") + 1 : lines.index("", lines.index("") + 1)]
    assert len(block) == 2 + len(names)
    widths = {display_width(line) for line in block}
    assert len(widths) == 1, block  # numbers right-aligned: every line ends at one column
    assert lines[1] == "  Đơn vị: 13285"
    assert lines[-1] == "4 dòng"


def test_table_cuts_text_to_the_width_and_keeps_numbers() -> None:
    rep = report()
    out = format_table(rep, language="en", width=84)
    table = out.splitlines()[4:-2]
    assert all(display_width(line) <= 84 for line in table)
    assert "Nguyễn…" in out  # text gives way first…
    assert "87.5%" in out and "2026-03-31 00:05" in out  # …numbers and times stay whole
    narrow = format_table(rep, language="en", width=20)  # never below 6 columns a column
    assert "Nguyễ…" in narrow and "Compl…" in narrow
    evil = text_report([["a\x1b[2Jb", "c\rd", "e"]])
    assert "\x1b" not in format_table(evil, language="vi", width=80)


def test_display_width() -> None:
    assert display_width("Hà") == 2
    assert display_width(unicodedata.normalize("NFD", "Hà")) == 2
    assert display_width("李") == 2
    assert display_width("abc") == 3


# --------------------------------------------------------------------------- HTML


def test_html_page_is_escaped_accessible_and_script_free(tmp_path: Path) -> None:
    rows: list[tuple[Cell, ...]] = [
        ("<b>13285</b>", "00123", "<script>alert(1)</script>", None, None, 1, 50.0, True)
    ]
    out = tmp_path / "r.html"
    assert write_html(report(rows=rows), out, language="vi") == 1
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "&lt;script&gt;" in html
    assert '<html lang="vi">' in html and "Content-Security-Policy" in html
    assert '<th scope="col"' in html and "<caption" in html
    assert "50%" in html and "có" in html  # Vietnamese numbers and yes
    english = render_html(report(), language="en")
    assert '<html lang="en">' in english and "87.5%" in english
    assert "Course completion" in english and "3 rows" in english
    empty = render_html(report(rows=[]), language="vi")
    assert "Không có dòng nào" in empty

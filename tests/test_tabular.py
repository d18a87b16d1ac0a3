"""Tests for lms_core.tabular: real files in tmp_path, no mocks."""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import unicodedata
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from lms_core.errors import ImportValidationError, InputFileError, LmsError
from lms_core.tabular import MAX_BYTES, Row, Table, read_table

REQUIRED = ("code", "name")
OPTIONAL = ("parent_code", "phone")

VIETNAMESE = "Nguyễn Thị Ánh, Phường Hàng Bạc, Quận Hoàn Kiếm, Đắk Lắk, Ậu Ứng Ỵ"


def write_text(
    tmp_path: Path, text: str, *, name: str = "units.csv", encoding: str = "utf-8"
) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def write_bytes(tmp_path: Path, data: bytes, *, name: str = "units.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def read(path: str, **kwargs: object) -> Table:
    return read_table(path, required=REQUIRED, optional=OPTIONAL, **kwargs)  # type: ignore[arg-type]


def problems_of(path: str, **kwargs: object) -> ImportValidationError:
    with pytest.raises(ImportValidationError) as info:
        read(path, **kwargs)
    return info.value


_CP1258_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")


def to_cp1258(text: str) -> bytes:
    """Encode like Windows does: precomposed base letter (â, ơ, ...) + combining tone mark.

    Python's cp1258 codec cannot encode precomposed toned letters such as "ễ",
    and has no combining circumflex/breve/horn, so split off only the tone.
    """
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _CP1258_TONES))
            tones = "".join(c for c in parts if c in _CP1258_TONES)
            out += (base + tones).encode("cp1258")
    return bytes(out)


# --------------------------------------------------------------------------- basic CSV


def test_basic_csv_with_header_normalisation(tmp_path: Path) -> None:
    path = write_text(
        tmp_path,
        " Code ,NAME,Parent-Code\n"
        "X01, Xã Một ,T01\n"
        "X02,Xã Hai\n",  # short row: the missing cell is ""
    )
    table = read(path)
    assert table.path == path
    assert table.columns == ["code", "name", "parent_code"]
    assert table.rows == [
        Row(2, {"code": "X01", "name": "Xã Một", "parent_code": "T01", "phone": ""}),
        Row(3, {"code": "X02", "name": "Xã Hai", "parent_code": "", "phone": ""}),
    ]
    assert table.column_number("code") == 1
    assert table.column_number("parent_code") == 3
    assert table.column_number("phone") == 0  # absent optional column


def test_header_spaces_become_underscores(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,name,Parent  code\nA,B,C\n")
    assert read(path).rows[0].values["parent_code"] == "C"


def test_column_number_is_file_position_with_empty_header_cells(tmp_path: Path) -> None:
    path = write_text(tmp_path, ",code,,name\n,A,,B\n")
    table = read(path)
    assert table.columns == ["code", "name"]
    assert table.column_number("name") == 4
    assert table.rows[0].values == {"code": "A", "name": "B", "parent_code": "", "phone": ""}


def test_value_under_empty_header_is_a_problem(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,,name\nA,oops,B\n")
    error = problems_of(path)
    assert [(p.line, p.column) for p in error.problems] == [(2, 2)]
    assert "no header" in str(error)


def test_accepts_path_objects(tmp_path: Path) -> None:
    path = Path(write_text(tmp_path, "code,name\nA,B\n"))
    table = read_table(path, required=REQUIRED)
    assert table.path == str(path)
    assert table.rows[0].values == {"code": "A", "name": "B"}


def test_header_only_file_gives_no_rows(tmp_path: Path) -> None:
    assert read(write_text(tmp_path, "code,name\n")).rows == []


@pytest.mark.parametrize("text", ["", "\n\n", ",,,\n , ,\r\n"])
def test_empty_file_is_rejected(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputFileError, match=r"no data.*code,name,parent_code,phone"):
        read(write_text(tmp_path, text))


# --------------------------------------------------------------------------- encodings


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,name\r\nX01,Phường Hàng Bạc\r\n", encoding="utf-8-sig")
    table = read(path)
    assert table.columns == ["code", "name"]
    assert table.rows[0].values["name"] == "Phường Hàng Bạc"


def test_bom_is_ignored_even_with_explicit_utf8(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,name\nX01,Y\n", encoding="utf-8-sig")
    assert read(path, encoding="utf-8").columns == ["code", "name"]


def test_decomposed_utf8_is_nfc_normalised(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", VIETNAMESE)
    path = write_text(tmp_path, f'code,name\nX01,"{nfd}"\n')
    assert read(path).rows[0].values["name"] == unicodedata.normalize("NFC", VIETNAMESE)


def test_cp1258_is_detected_then_read_with_encoding(tmp_path: Path) -> None:
    text = f'code,name\nX01,ASCII only\nX02,"{VIETNAMESE}"\n'
    data = to_cp1258(text)
    assert unicodedata.normalize("NFC", data.decode("cp1258")) == text  # the fixture round-trips
    path = write_bytes(tmp_path, data)

    with pytest.raises(InputFileError) as info:
        read(path)
    message = str(info.value)
    assert f"{path}:3:" in message  # first bad line
    assert "probably Windows-1258 (cp1258)" in message
    assert "CSV UTF-8" in message
    assert "--encoding cp1258" in message

    table = read(path, encoding="cp1258")
    name = table.rows[1].values["name"]
    assert name == VIETNAMESE
    assert unicodedata.is_normalized("NFC", name)


def test_non_cp1258_legacy_bytes_get_generic_hint(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"code,name\nX01,\x81\x8d\n")  # undefined in cp1258
    with pytest.raises(InputFileError, match=r"units\.csv:2: .*legacy") as info:
        read(path)
    assert "probably" not in str(info.value)


def test_wrong_explicit_encoding_names_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"code,name\nX01,ok\nX02,\xff\xfe\n")
    with pytest.raises(InputFileError, match=r"units\.csv:3: .*cannot be read as utf-8"):
        read(path, encoding="utf-8")


@pytest.mark.parametrize("name", ["no-such-codec", "base64"])
def test_unknown_or_non_text_encoding(tmp_path: Path, name: str) -> None:
    path = write_text(tmp_path, "code,name\n")
    with pytest.raises(InputFileError, match=r"encoding|text encoding"):
        read(path, encoding=name)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_detected(tmp_path: Path, codec: str) -> None:
    path = write_text(tmp_path, f"code\tname\r\nX01\t{VIETNAMESE}\r\n", encoding=codec)
    with pytest.raises(InputFileError) as info:
        read(path)
    message = str(info.value)
    assert "UTF-16" in message
    assert "Unicode Text" in message
    assert "CSV UTF-8 (Comma delimited)" in message
    assert "--encoding utf-16" in message


def test_utf16_can_be_read_when_asked(tmp_path: Path) -> None:
    path = write_text(tmp_path, f"code\tname\r\nX01\t{VIETNAMESE}\r\n", encoding="utf-16")
    table = read(path, encoding="utf-16")
    assert table.rows == [
        Row(2, {"code": "X01", "name": VIETNAMESE, "parent_code": "", "phone": ""})
    ]


# --------------------------------------------------------------------------- binary, size, access


def test_random_binary_is_rejected(tmp_path: Path) -> None:
    data = random.Random(1234).randbytes(10_000)
    path = write_bytes(tmp_path, data)
    with pytest.raises(InputFileError, match="not a CSV or XLSX file"):
        read(path)


def test_png_is_rejected(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    path = write_bytes(tmp_path, png + bytes(100), name="photo.csv")
    with pytest.raises(InputFileError, match=r"not a CSV or XLSX file.*PNG"):
        read(path)


def test_nul_in_text_is_rejected_even_with_encoding(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"code,name\nA\x00,B\n")
    with pytest.raises(InputFileError, match="not a CSV or XLSX file"):
        read(path, encoding="cp1258")


def test_huge_sparse_file_is_rejected_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "wb") as handle:
        handle.truncate(1 << 30)  # 1 GiB of holes: nothing is written to disk
    with pytest.raises(InputFileError) as info:
        read(str(path))
    message = str(info.value)
    assert "1.0 GiB" in message
    assert "100.0 MiB" in message
    assert "split" in message
    assert MAX_BYTES == 100 * 1024 * 1024


def test_max_bytes_is_configurable(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,name\nA,B\n")
    with pytest.raises(InputFileError, match=r"\(14 bytes\).*limit of 10 bytes"):
        read(path, max_bytes=10)
    assert read(path, max_bytes=14).rows


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match=r"nope\.csv: file not found"):
        read(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="folder, not a file"):
        read(str(tmp_path))


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read anything"
)
def test_permission_denied(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,name\n")
    os.chmod(path, 0)
    try:
        with pytest.raises(InputFileError, match="permission denied"):
            read(path)
    finally:
        os.chmod(path, 0o600)


def test_errors_are_lms_errors() -> None:
    assert issubclass(InputFileError, LmsError)
    assert issubclass(ImportValidationError, LmsError)


# --------------------------------------------------------------------------- header problems


def test_misspelled_column_suggests_the_right_one(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,nmae,parnet_code\nA,B,C\n", name="staff.csv")
    error = problems_of(path)
    rendered = str(error)
    assert f'{path}:1:2: error: nmae: unknown column "nmae" (did you mean "name"?' in rendered
    assert (
        f'{path}:1:3: error: parnet_code: unknown column "parnet_code" (did you mean "parent_code"?'
        in rendered
    )
    # "name" is missing because it was misspelled; that is reported too
    assert "missing required column(s): name" in rendered


def test_unknown_column_without_close_match_lists_allowed(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,name,favourite_colour\nA,B,C\n")
    (problem,) = problems_of(path).problems
    assert (problem.line, problem.column) == (1, 3)
    assert "did you mean" not in problem.hint
    assert "code, name, parent_code, phone" in problem.hint


def test_missing_required_column(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,phone\nA,0900\n")
    (problem,) = problems_of(path).problems
    assert problem.line == 1
    assert problem.message == "missing required column(s): name"
    assert "code,name,parent_code,phone" in problem.hint


def test_data_without_header_says_so(tmp_path: Path) -> None:
    path = write_text(tmp_path, "X01,Xã Một\n")
    error = problems_of(path)
    assert "none of its cells is a column name" in str(error)
    assert "missing required column(s): code, name" in str(error)


def test_duplicate_column(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,name,Name \nA,B,C\n")
    (problem,) = problems_of(path).problems
    assert (problem.line, problem.column, problem.field) == (1, 3, "name")
    assert "appears twice (columns 2 and 3)" in problem.message


def test_all_header_problems_are_collected(tmp_path: Path) -> None:
    path = write_text(tmp_path, "\n\ncode,code,nam,extra\nA,B,C,D\n")
    error = problems_of(path)
    assert {p.line for p in error.problems} == {3}  # the header's physical line
    messages = " | ".join(p.message for p in error.problems)
    assert "appears twice" in messages
    assert 'unknown column "nam"' in messages
    assert 'unknown column "extra"' in messages
    assert "missing required column(s): name" in messages
    assert "nothing was written" in str(error)


# ------------------------------------------------------------------------ delimiters, rows, lines


def test_semicolon_delimiter(tmp_path: Path) -> None:
    path = write_text(tmp_path, 'code;name;phone\r\nX01;"Xã Một, Huyện A";0,5\r\n')
    table = read(path)
    assert table.rows[0].values == {
        "code": "X01",
        "name": "Xã Một, Huyện A",
        "parent_code": "",
        "phone": "0,5",
    }


def test_tab_delimiter(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code\tname\nX01\tXã Một, Huyện A\n")
    assert read(path).rows[0].values["name"] == "Xã Một, Huyện A"


def test_delimiter_comes_from_header_only(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,name\nX01,a;b;c;d;e\n")
    assert read(path).rows[0].values["name"] == "a;b;c;d;e"


def test_blank_rows_skipped_and_lines_stay_physical(tmp_path: Path) -> None:
    text = (
        "\r\n"  # 1 blank before the header
        "code,name,parent_code\r\n"  # 2 header
        "X01,One,\r\n"  # 3
        ",,\r\n"  # 4 Excel's empty row
        'X02,"Two\r\nlines\r\nhere",T\r\n'  # 5-7 one record over three lines
        "   ,  ,  \r\n"  # 8 only spaces
        "X03,Three,T\r\n"  # 9
        "\r\n"  # 10
    )
    table = read(write_text(tmp_path, text))
    assert [row.line for row in table.rows] == [3, 5, 9]
    assert table.rows[1].values["name"] == "Two\r\nlines\r\nhere"


def test_lf_line_endings(tmp_path: Path) -> None:
    table = read(write_text(tmp_path, 'code,name\n"A\nB",C\n\nD,E\n'))
    assert [(row.line, row.values["code"]) for row in table.rows] == [(2, "A\nB"), (5, "D")]


def test_too_many_cells(tmp_path: Path) -> None:
    path = write_text(tmp_path, "code,name\nX01,Nguyễn Văn A, Jr\nX02,ok,,\nX03,b,c,d\n")
    error = problems_of(path)
    assert [(p.line, p.column) for p in error.problems] == [(2, 3), (4, 3)]  # empty extras are fine
    assert "this row has 3 cells but the header has only 2 columns" in error.problems[0].message
    assert "double quotes" in error.problems[0].hint
    assert f"{path}:2:3: error:" in str(error)


def test_unclosed_quote(tmp_path: Path) -> None:
    path = write_text(tmp_path, 'code,name\nX01,ok\nX02,"never closed\nX03,lost\n')
    (problem,) = problems_of(path).problems
    assert problem.line == 3
    assert "never closed" in problem.message


def test_text_after_closing_quote(tmp_path: Path) -> None:
    path = write_text(tmp_path, 'code,name\nX01,"A" B\n')
    (problem,) = problems_of(path).problems
    assert problem.line == 2
    assert "quoting" in problem.message


def test_large_csv_reads_every_row(tmp_path: Path) -> None:
    """100k rows read completely with physical line numbers (speed: benchmarks/)."""
    columns = ["code", "name", "parent_code", "phone", "level", "email"]
    path = tmp_path / "big.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(100_000):
            writer.writerow([f"X{i}", f"Xã Nguyễn Văn {i}", f"T{i // 10}", "09", "xa", "a@b.vn"])
    table = read_table(path, required=columns[:2], optional=columns[2:])
    assert len(table.rows) == 100_000
    assert table.rows[-1].line == 100_001


# --------------------------------------------------------------------------- XLSX


def save_workbook(
    tmp_path: Path, rows: Sequence[Sequence[object]], *, name: str = "units.xlsx"
) -> str:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Units"
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return str(path)


def test_xlsx_basic(tmp_path: Path) -> None:
    path = save_workbook(
        tmp_path,
        [
            ["Code", "Name", "Parent code"],
            ["X01", f"  {VIETNAMESE} ", None],
            [None, None, None],
            ["X02", unicodedata.normalize("NFD", "Xã Hai"), "T01"],
        ],
    )
    table = read(path)
    assert table.columns == ["code", "name", "parent_code"]
    assert table.rows == [
        Row(2, {"code": "X01", "name": VIETNAMESE, "parent_code": "", "phone": ""}),
        Row(4, {"code": "X02", "name": "Xã Hai", "parent_code": "T01", "phone": ""}),
    ]
    assert table.column_number("parent_code") == 3


def test_xlsx_is_recognised_by_content_not_extension(tmp_path: Path) -> None:
    path = save_workbook(tmp_path, [["code", "name"], ["A", "B"]], name="renamed.csv")
    assert read(path).rows[0].values["name"] == "B"


def test_xlsx_numbers_and_dates(tmp_path: Path) -> None:
    path = save_workbook(
        tmp_path,
        [
            ["code", "name", "phone"],
            [13285, 13285.0, 2.5],
            [dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 14, 30), 0.1 + 0.2],
            [True, 1e20, -7],
        ],
    )
    values = [row.values for row in read(path).rows]
    assert values[0] == {"code": "13285", "name": "13285", "phone": "2.5", "parent_code": ""}
    assert values[1]["code"] == "2024-03-05"
    assert values[1]["name"] == "2024-03-05 14:30:00"
    assert values[1]["phone"] == "0.3"
    assert values[2]["code"] == "TRUE"
    assert values[2]["name"] == "1e+20"
    assert values[2]["phone"] == "-7"


def test_xlsx_formula_is_rejected_with_row_and_column(tmp_path: Path) -> None:
    path = save_workbook(
        tmp_path,
        [["code", "name"], ["X01", "ok"], ["X02", '=UPPER("a")'], ['=A2&"b"', "x"]],
    )
    error = problems_of(path)
    assert [(p.line, p.column, p.field) for p in error.problems] == [
        (3, 2, "name"),
        (4, 1, "code"),
    ]
    assert "contains a formula" in error.problems[0].message
    assert "Paste Special → Values" in error.problems[0].hint
    assert f"{path}:3:2: error: name: contains a formula" in str(error)


def test_xlsx_error_value_is_rejected(tmp_path: Path) -> None:
    path = save_workbook(tmp_path, [["code", "name"], ["X01", "#N/A"]])
    (problem,) = problems_of(path).problems
    assert (problem.line, problem.column) == (2, 2)
    assert "#N/A" in problem.message


def test_xlsx_extra_cells(tmp_path: Path) -> None:
    path = save_workbook(tmp_path, [["code", "name"], ["X01", "ok", None, "stray"]])
    (problem,) = problems_of(path).problems
    assert (problem.line, problem.column) == (2, 4)


def test_xlsx_header_problems(tmp_path: Path) -> None:
    path = save_workbook(tmp_path, [[None], ["code", "nmae"], ["A", "B"]])
    error = problems_of(path)
    assert {p.line for p in error.problems} == {2}
    assert 'did you mean "name"' in str(error)
    assert "code | name | parent_code | phone (one name per cell)" in str(error)


def several_sheets(tmp_path: Path, *, hide_second: bool = False) -> str:
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Units"
    first.append(["code", "name"])
    first.append(["U1", "Unit"])
    second = workbook.create_sheet("Staff")
    second.append(["code", "name"])
    second.append(["S1", "Person"])
    if hide_second:
        second.sheet_state = "hidden"
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    return str(path)


def test_xlsx_several_sheets_require_sheet(tmp_path: Path) -> None:
    path = several_sheets(tmp_path)
    with pytest.raises(InputFileError) as info:
        read(path)
    message = str(info.value)
    assert "'Units'" in message
    assert "'Staff'" in message
    assert "--sheet" in message
    assert read(path, sheet="Staff").rows[0].values["code"] == "S1"
    assert read(path, sheet="units").rows[0].values["code"] == "U1"  # case-insensitive fallback


def test_xlsx_unknown_sheet(tmp_path: Path) -> None:
    path = several_sheets(tmp_path)
    with pytest.raises(InputFileError, match=r"no sheet named 'Nhân viên'.*'Units', 'Staff'"):
        read(path, sheet="Nhân viên")


def test_xlsx_hidden_sheets_do_not_count(tmp_path: Path) -> None:
    path = several_sheets(tmp_path, hide_second=True)
    assert read(path).rows[0].values["code"] == "U1"
    assert read(path, sheet="Staff").rows[0].values["code"] == "S1"


def test_old_xls_is_rejected(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), name="old.xls")
    with pytest.raises(InputFileError, match=r"\.xls.*\.xlsx.*CSV UTF-8"):
        read(path)


def test_damaged_zip(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"PK\x03\x04" + b"garbage" * 50, name="broken.xlsx")
    with pytest.raises(InputFileError, match="damaged or not a real XLSX"):
        read(path)


def test_truncated_xlsx(tmp_path: Path) -> None:
    good = Path(save_workbook(tmp_path, [["code", "name"], ["A", "B"]]))
    data = good.read_bytes()
    path = write_bytes(tmp_path, data[: len(data) // 2], name="cut.xlsx")
    with pytest.raises(InputFileError, match="damaged or not a real XLSX"):
        read(path)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "other.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(InputFileError, match="damaged or not a real XLSX"):
        read(str(path))


def test_ods_is_named(tmp_path: Path) -> None:
    path = tmp_path / "calc.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(InputFileError, match=r"OpenDocument spreadsheet \(\.ods\)"):
        read(str(path))


def test_xlsx_zip_bomb_is_rejected(tmp_path: Path) -> None:
    path = save_workbook(tmp_path, [["code", "name"]] + [["X" * 200, "Y" * 200]] * 3000)
    size = os.path.getsize(path)
    with zipfile.ZipFile(path) as archive:
        expanded = sum(info.file_size for info in archive.infolist())
    assert expanded > 20 * size  # the fixture really is highly compressed
    with pytest.raises(InputFileError, match="expands to"):
        read(path, max_bytes=size)


# --------------------------------------------------------------------------- property


_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    " .,;:'\"-_/()\t\n\r"
    "ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵĐĂÂÊÔƠƯ"
    "\u0300\u0301\u0303\u0309\u0323"  # stray combining tone marks (NFD input)
)
_cell = st.text(alphabet=_ALPHABET, max_size=12)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(_cell, _cell, _cell), max_size=15))
def test_csv_round_trip(tmp_path: Path, rows: list[tuple[str, str, str]]) -> None:
    path = tmp_path / "prop.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "phone"])
        writer.writerows(rows)
    table = read_table(path, required=("code", "name"), optional=("phone",))

    def clean(value: str) -> str:
        return unicodedata.normalize("NFC", value).strip()

    expected = [
        {"code": clean(a), "name": clean(b), "phone": clean(c)}
        for a, b, c in rows
        if (a + b + c).strip()
    ]
    assert [row.values for row in table.rows] == expected

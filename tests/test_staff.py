from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lms_core.db import session_factory
from lms_core.errors import ImportValidationError, InputFileError
from lms_core.models import Person
from lms_core.services.importing import write_rejected
from lms_core.services.org import import_units_file, load_builtin_tree
from lms_core.services.staff import import_staff_file, list_staff, normalise_phone

HEADER = "staff_code,full_name,org_code,position,phone,email\n"
ROWS = (
    "nb001,Nguyễn Thị Thu Hà,13285,Giáo viên mầm non,0912 345 678,ha@example.com\n"
    "NB002,Trần Văn Nam,13291,Công an xã,,\n"
    "NB003,  Lê   Thị Lan ,37-SYT,Chuyên viên,912345678,\n"
)


@pytest.fixture
def tree(session: Session) -> Session:
    load_builtin_tree(session)
    return session


def staff_csv(
    tmp_path: Path,
    body: str = ROWS,
    *,
    name: str = "staff.csv",
    encoding: str = "utf-8",
    header: str = HEADER,
) -> str:
    path = tmp_path / name
    path.write_bytes((header + body).encode(encoding))
    return str(path)


def people(session: Session) -> dict[str, tuple[str, str, str, str]]:
    rows = session.execute(
        select(Person.staff_code, Person.full_name, Person.phone, Person.position)
    ).all()
    return {c: (n, p, pos) for c, n, p, pos in rows}


def test_import_normalises_and_counts(tree: Session, tmp_path: Path) -> None:
    _, report = import_staff_file(tree, staff_csv(tmp_path))
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    got = people(tree)
    assert got["NB001"] == ("Nguyễn Thị Thu Hà", "0912345678", "Giáo viên mầm non")
    assert got["NB003"] == ("Lê Thị Lan", "0912345678", "Chuyên viên")  # leading 0 restored


def test_decomposed_names_are_stored_nfc(tree: Session, tmp_path: Path) -> None:
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Phạm Thị Hồng Nhung")
    import_staff_file(tree, staff_csv(tmp_path, f"NB9,{nfd},13285,Giáo viên,,\n"))
    assert people(tree)["NB9"][0] == unicodedata.normalize("NFC", nfd)


def test_reimport_unchanged_then_update(engine: Engine, tmp_path: Path) -> None:
    factory = session_factory(engine)
    with factory.begin() as s:
        load_builtin_tree(s)
        import_staff_file(s, staff_csv(tmp_path))
    with factory.begin() as s:
        _, again = import_staff_file(s, staff_csv(tmp_path))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    changed = ROWS.replace("Công an xã", "Công an phường")
    with factory.begin() as s:
        _, report = import_staff_file(s, staff_csv(tmp_path, changed, name="b.csv"))
        assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
        assert people(s)["NB002"][2] == "Công an phường"


def test_all_problems_at_once_and_nothing_written(tree: Session, tmp_path: Path) -> None:
    body = (
        ROWS + "NB004,,13285,Giáo viên,,\n"  # line 5: empty name
        "NB005,Hà,99999,Giáo viên,,\n"  # line 6: unknown unit
        "NB001,Hà 2,13285,Giáo viên,,\n"  # line 7: duplicate
        "NB006,Hà,13285,,abc,not-mail\n"
    )  # line 8: position, phone, email
    with pytest.raises(ImportValidationError) as info:
        import_staff_file(tree, staff_csv(tmp_path, body))
    text = str(info.value)
    assert "staff.csv:5:2: error: full_name: empty" in text
    assert "staff.csv:6:3: error: org_code: unknown unit '99999'" in text
    assert "staff.csv:7:1: error: staff_code: duplicate staff code 'NB001' (also on line 2)" in text
    assert "staff.csv:8:4: error: position: empty" in text
    assert "staff.csv:8:5: error: phone: 'abc' is not a phone number" in text
    assert "staff.csv:8:6: error: email: 'not-mail' is not an e-mail address" in text
    assert "4 of 7 staff rows are invalid; nothing was imported" in text
    assert tree.scalar(select(func.count()).select_from(Person)) == 0


def test_misspelled_and_missing_columns(tree: Session, tmp_path: Path) -> None:
    path = staff_csv(tmp_path, "NB1,Hà,13285\n", header="staff_code,fullname,org_code\n")
    with pytest.raises(ImportValidationError) as info:
        import_staff_file(tree, path)
    text = str(info.value)
    assert "fullname" in text and 'did you mean "full_name"' in text
    assert "position" in text


def test_excel_bom_accepted(tree: Session, tmp_path: Path) -> None:
    _, report = import_staff_file(tree, staff_csv(tmp_path, encoding="utf-8-sig"))
    assert report.created == 3


def test_legacy_code_page_detected_then_accepted(tree: Session, tmp_path: Path) -> None:
    from test_tabular import to_cp1258

    path = tmp_path / "staff.csv"
    path.write_bytes(to_cp1258(HEADER + "NB1,Nguyễn Văn An,13285,Giáo viên,,\n"))
    with pytest.raises(InputFileError, match="--encoding cp1258"):
        import_staff_file(tree, str(path))
    import_staff_file(tree, str(path), encoding="cp1258")
    assert people(tree)["NB1"][0] == "Nguyễn Văn An"


def test_utf16_detected(tree: Session, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="UTF-16"):
        import_staff_file(tree, staff_csv(tmp_path, encoding="utf-16"))


def test_huge_and_binary_files_refused(tree: Session, tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as f:
        f.truncate(1 << 30)
    with pytest.raises(InputFileError, match="split"):
        import_staff_file(tree, str(huge))
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    with pytest.raises(InputFileError, match="not a CSV or XLSX"):
        import_staff_file(tree, str(binary))


def test_xlsx_formulas_and_sheets(tree: Session, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    ws.append(["staff_code", "full_name", "org_code", "position"])
    ws.append(["NB1", "Nguyễn Văn An", 13285, "Giáo viên"])
    ws.append(["NB2", '=CONCAT("Trần ","Bình")', 13285, "Giáo viên"])
    notes = wb.create_sheet("Hướng dẫn")
    notes.append(["đọc kỹ"])
    path = tmp_path / "staff.xlsx"
    wb.save(path)
    with pytest.raises(InputFileError, match="--sheet"):
        import_staff_file(tree, str(path))
    with pytest.raises(ImportValidationError, match=r"staff.xlsx:3:2: .*formula"):
        import_staff_file(tree, str(path), sheet="Danh sách")
    ws["B3"] = "Trần Bình"
    wb.save(path)
    _, report = import_staff_file(tree, str(path), sheet="Danh sách")
    assert report.created == 2  # 13285 stored as a number still matches the unit code


def test_skip_invalid_writes_rejected_rows(tree: Session, tmp_path: Path) -> None:
    path = staff_csv(tmp_path, ROWS + 'NB4,=HYPERLINK("x"),99999,GV,,\n')
    table, report = import_staff_file(tree, path, skip_invalid=True)
    assert report.created == 3 and len(report.rejected) == 1
    out = tmp_path / "rejected.csv"
    write_rejected(out, table=table, rejected=report.rejected)
    text = out.read_text(encoding="utf-8-sig")
    assert "unknown unit '99999'" in text
    assert "'=HYPERLINK" in text  # neutralised for Excel


def test_list_by_unit_and_subtree(tree: Session, tmp_path: Path) -> None:
    import_units_file(
        tree,
        str(
            _write(
                tmp_path / "v.csv",
                "code,name,kind,parent_code\n13285-01,Tổ 1,residential_group,13285\n",
            )
        ),
    )
    import_staff_file(tree, staff_csv(tmp_path, ROWS + "NB4,Đỗ Mai,13285-01,CTV,,\n"))
    assert [p.staff_code for p in list_staff(tree, org="13285")] == ["NB001"]
    assert {p.staff_code for p in list_staff(tree, org="13285", subtree=True)} == {"NB001", "NB4"}
    assert len(list_staff(tree, org="37", subtree=True)) == 4
    assert len(list_staff(tree)) == 4


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0912 345 678", "0912345678"),
        ("912345678", "0912345678"),
        ("+84 912-345-678", "+84912345678"),
        ("", ""),
        ("12", None),
        ("abc", None),
        ("02293.871.234", "02293871234"),
    ],
)
def test_phone_normalisation(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_bulk_timestamps_read_back_as_aware_utc(tree: Session, tmp_path: Path) -> None:
    import datetime as dt

    before = dt.datetime.now(dt.UTC)
    import_staff_file(tree, staff_csv(tmp_path))
    person = tree.scalars(select(Person).where(Person.staff_code == "NB001")).one()
    assert person.created_at.tzinfo is dt.UTC and person.active is True
    assert before - dt.timedelta(seconds=5) < person.created_at < before + dt.timedelta(minutes=1)


def test_dissolved_unit_is_named_as_such(tree: Session, tmp_path: Path) -> None:
    import_units_file(
        tree,
        str(
            _write(
                tmp_path / "u.csv",
                "code,name,kind,parent_code,valid_to\nOLD,Xã cũ,xã,37,2025-06-30\n",
            )
        ),
    )
    with pytest.raises(ImportValidationError, match="unit 'OLD' was dissolved on 2025-06-30"):
        import_staff_file(tree, staff_csv(tmp_path, "NB1,An,OLD,GV,,\n"))

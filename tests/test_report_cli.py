"""``lms report …`` through the CLI fixture, on the manager tests' world.

The operator at the command line reads the whole tree (``Scope.everything``);
every file export is a ``report.exported`` event without an actor, and
``--pseudonymise`` replaces names and staff codes the same way on every run.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, select
from test_manage import PEOPLE, world  # noqa: F401 - the shared world fixture

from conftest import Cli
from lms_core.db import session_factory
from lms_core.models import Event

pytestmark = pytest.mark.usefixtures("world")

ENROLLED = {"PL001", "PL002", "PL004", "PV001", "GD001", "YT001"}  # PL003 withdrew


@pytest.fixture(autouse=True)
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pseudonym secrets go to a folder of the test, never the user's home."""
    keys = tmp_path / "keys"
    monkeypatch.setenv("LMS_KEY_DIR", str(keys))
    return keys


def events(engine: Engine, verb: str = "report.exported") -> list[Event]:
    with session_factory(engine).begin() as s:
        found = list(s.scalars(select(Event).where(Event.verb == verb).order_by(Event.id)))
        s.expunge_all()
        return found


def csv_rows(output: bytes) -> list[list[str]]:
    assert output.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(output.decode("utf-8-sig"), newline="")))


def test_a_table_on_the_terminal_by_default(cli: Cli, engine: Engine) -> None:
    result = cli("report", "completion", "--org", "13285", "--subtree")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Tình hình hoàn thành khóa học"
    assert any(line.startswith("  Đơn vị: 13285") for line in lines)
    for code in ("PL001", "PL002", "PL004"):
        assert code in result.output
    assert "PV001" not in result.output and "PL003" not in result.output
    assert lines[-1] == "3 dòng"
    assert events(engine) == []  # looking is not exporting
    own = cli("report", "completion", "--org", "13285")  # without --subtree: the ward itself
    assert "PL004" in own.output and "PL001" not in own.output
    assert "Gồm đơn vị cấp dưới: không" in own.output
    english = cli("report", "rollup", "--lang", "en")
    assert english.exit_code == 0, english.output
    assert english.output.startswith("Completion by unit\n  Unit: 37")


def test_csv_to_stdout_and_the_event(cli: Cli, engine: Engine) -> None:
    result = cli(
        "report",
        "completion",
        "--format",
        "csv",
        "--out",
        "-",
        "--course",
        "chi-thi-28-ke-hoach-tinh",
    )
    assert result.exit_code == 0, result.output
    table = csv_rows(result.stdout_bytes)
    header, rows = table[0], table[1:]
    assert header[:3] == ["Mã đơn vị", "Đơn vị", "Mã cán bộ"]
    assert {row[2] for row in rows} == ENROLLED
    [logged] = events(engine)
    assert logged.actor_account_id is None and logged.source == "cli"
    assert logged.data == {
        "report": "completion",
        "format": "csv",
        "filters": {"subtree": True, "course": "chi-thi-28-ke-hoach-tinh"},
        "rows": len(rows),
        "pseudonymised": False,
    }
    text = str(logged.data)
    for code, (name, _, _) in PEOPLE.items():
        assert code not in text and name not in text


def test_xlsx_and_html_files(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    xlsx = tmp_path / "out" / "ty-le.xlsx"
    result = cli(
        "report", "rollup", "--org", "37", "--subtree", "--format", "xlsx", "--out", str(xlsx)
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["Tỷ lệ hoàn thành theo đơn vị", "Bộ lọc"]
    assert book.worksheets[0].freeze_panes == "A2"
    html = tmp_path / "qua-han.html"
    result = cli(
        "report", "overdue", "--org", "13285", "--subtree", "--format", "html", "--out", str(html)
    )
    assert result.exit_code == 0, result.output
    page = html.read_text(encoding="utf-8")
    assert "PL002" in page and "PL004" in page and "<script" not in page
    assert [e.data["format"] for e in events(engine)] == ["xlsx", "html"]
    assert events(engine)[1].data["filters"] == {"unit": "13285", "subtree": True}


def test_pseudonyms_are_stable_and_hide_people(cli: Cli, engine: Engine, key_dir: Path) -> None:
    args = ("report", "completion", "--format", "csv", "--out", "-", "--pseudonymise")
    first = cli(*args)
    assert first.exit_code == 0, first.output
    again = cli(*args)
    assert first.stdout_bytes == again.stdout_bytes
    text = first.stdout_bytes.decode("utf-8-sig")
    for code, (name, _, _) in PEOPLE.items():
        assert code not in text and name not in text
    codes = {row[2] for row in csv_rows(first.stdout_bytes)[1:]}
    assert len(codes) == len(ENROLLED) and all(c.startswith("P-") for c in codes)
    assert len(list(key_dir.iterdir())) == 1
    assert [e.data["pseudonymised"] for e in events(engine)] == [True, True]
    assert len(events(engine, "report.pseudonym_key_created")) == 1
    renewed = cli(*args, "--new-pseudonym-key")
    assert renewed.exit_code == 0, renewed.output
    assert renewed.stdout_bytes != first.stdout_bytes
    table = cli("report", "completion", "--pseudonymise")
    assert "P-" in table.output and "PL001" not in table.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("completion", "--format", "csv"), "needs --out"),
        (("completion", "--format", "xlsx", "--out", "-"), "for CSV only"),
        (("completion", "--subtree"), "--subtree needs --org"),
        (("completion", "--out", "x.csv"), "--out is for"),
        (("attempts", "--cohort", "x"), "No such option"),
        (("expiring", "--within", "soon"), "e.g. 60d"),
        (("completion", "--new-pseudonym-key"), "goes with --pseudonymise"),
    ],
)
def test_usage_errors(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli("report", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_errors_are_one_line(cli: Cli) -> None:
    for args, message in [
        (("items",), "needs a course"),
        (("completion", "--org", "99999"), "no unit with code '99999'"),
        (("completion", "--course", "khong-co"), "no course 'khong-co'"),
    ]:
        result = cli("report", *args)
        assert result.exit_code == 1, result.output
        assert result.output.startswith("error: ") and message in result.output
        assert "Traceback" not in result.output


def test_expiring_takes_weeks(cli: Cli) -> None:
    result = cli("report", "expiring", "--within", "8w")
    assert result.exit_code == 0, result.output
    assert "56" in result.output


def test_dashboard_command(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "bang-theo-doi"
    result = cli("report", "dashboard", "--org", "13285", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "3 pages" in result.output
    assert (out / "index.html").is_file() and (out / "u" / "13285-TDP01.html").is_file()
    [logged] = events(engine)
    assert logged.data["report"] == "dashboard" and logged.data["rows"] == 3
    again = cli("report", "dashboard", "--org", "13285", "--out", str(out))
    assert again.exit_code == 0, again.output
    refused = cli("report", "dashboard", "--org", "13285", "--out", str(tmp_path))
    assert refused.exit_code == 1 and "not a dashboard folder" in refused.output

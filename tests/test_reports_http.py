"""Reports and the dashboard over HTTP, through a real server, on SQLite and PostgreSQL.

The world, the accounts and the URL check (no staff code or name in any URL
sent) are the manager tests' (tests/test_manage.py), whose fixtures are
imported here (hence test arguments named like imports).
"""

# ruff: noqa: F811

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import Engine, select
from test_manage import (  # noqa: F401 - shared fixtures
    ADMIN,
    LEARNER,
    MANAGER,
    OTHER_WARD,
    PEOPLE,
    TRAINER,
    as_,
    base,
    world,
)

from lms_core.config import Project
from lms_core.db import session_factory
from lms_core.models import Account, Event, Person

WARD_STAFF = {"PL001", "PL002", "PL004"}  # PL003 withdrew; readers are not enrolled


def rows_by_key(body: dict[str, Any]) -> list[dict[str, Any]]:
    keys = [c["key"] for c in body["columns"]]
    return [dict(zip(keys, row, strict=True)) for row in body["rows"]]


def account_id(engine: Engine, staff: str) -> int:
    with session_factory(engine).begin() as s:
        return s.scalars(
            select(Account.id)
            .join(Person, Account.person_id == Person.id)
            .where(Person.staff_code == staff)
        ).one()


def exports(engine: Engine) -> list[Event]:
    with session_factory(engine).begin() as s:
        found = list(s.scalars(select(Event).where(Event.verb == "report.exported")))
        s.expunge_all()
        return found


def test_a_manager_reads_their_area_as_json(as_: Callable[[str], httpx.Client]) -> None:
    manager = as_(MANAGER)
    r = manager.get("/api/manage/reports/completion", params={"unit": "13285"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["report"] == "completion" and body["title"]
    assert {c["key"]: c["personal"] for c in body["columns"]}["staff_code"] == "staff_code"
    rows = rows_by_key(body)
    assert {row["staff_code"] for row in rows} == WARD_STAFF
    assert all(row["unit_code"].startswith("13285") for row in rows)
    assert body["filters"]["unit"].startswith("13285")
    # without a unit: the manager's whole area, still nothing outside it
    whole = rows_by_key(manager.get("/api/manage/reports/completion").json())
    assert {row["staff_code"] for row in whole} == WARD_STAFF
    trainer = rows_by_key(as_(TRAINER).get("/api/manage/reports/completion").json())
    assert {row["staff_code"] for row in trainer} == WARD_STAFF


def test_outside_the_area_is_not_found_and_learners_are_refused(
    as_: Callable[[str], httpx.Client], base: str
) -> None:
    manager = as_(MANAGER)
    for name in ("completion", "rollup", "overdue", "expiring", "attempts"):
        r = manager.get(f"/api/manage/reports/{name}", params={"unit": "13291"})
        assert r.status_code == 404, (name, r.text)
    assert manager.get("/api/manage/dashboard/13291").status_code == 404
    assert manager.get("/api/manage/dashboard/37").status_code == 404
    other = as_(OTHER_WARD)
    assert other.get("/api/manage/reports/overdue", params={"unit": "13285"}).status_code == 404
    learner = as_(LEARNER)
    assert learner.get("/api/manage/reports/completion").status_code == 403
    assert learner.get("/api/manage/dashboard/13285").status_code == 403
    with httpx.Client(base_url=base) as anonymous:
        assert anonymous.get("/api/manage/reports/completion").status_code == 401
        assert anonymous.get("/api/manage/dashboard/13285").status_code == 401


def test_bad_requests_are_readable(as_: Callable[[str], httpx.Client]) -> None:
    admin = as_(ADMIN)
    assert admin.get("/api/manage/reports/salaries").status_code == 422
    r = admin.get("/api/manage/reports/attempts", params={"cohort": "Đợt 1"})
    assert r.status_code == 400 and "does not take cohort" in r.json()["error"]
    r = admin.get("/api/manage/reports/items")
    assert r.status_code == 400 and "needs a course" in r.json()["error"]
    r = admin.get("/api/manage/reports/rollup", params={"from": "2026-13-01"})
    assert r.status_code == 422
    r = admin.get("/api/manage/reports/completion", params={"format": "pdf"})
    assert r.status_code == 422
    r = admin.get("/api/manage/reports/completion", params={"unit": "../37"})
    assert r.status_code == 422


def test_csv_download_is_logged_without_personal_data(
    as_: Callable[[str], httpx.Client], engine: Engine
) -> None:
    manager = as_(MANAGER)
    r = manager.get(
        "/api/manage/reports/completion", params={"unit": "13285", "format": "csv", "lang": "en"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="completion-13285-')
    assert disposition.endswith('.csv"')
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    assert table[0][:3] == ["Unit code", "Unit", "Staff code"]
    assert {row[2] for row in table[1:]} == WARD_STAFF
    [logged] = exports(engine)
    assert logged.actor_account_id == account_id(engine, MANAGER)
    assert logged.source == "web" and logged.object_id == "completion"
    assert logged.data == {
        "report": "completion",
        "format": "csv",
        "filters": {"unit": "13285", "subtree": True},
        "rows": len(table) - 1,
        "pseudonymised": False,
    }
    text = str(logged.data)
    for code, (name, _, _) in PEOPLE.items():
        assert code not in text and name not in text
    # JSON reads are views, like the manager's pages: not logged as exports
    manager.get("/api/manage/reports/completion")
    assert len(exports(engine)) == 1


def test_xlsx_download(as_: Callable[[str], httpx.Client], engine: Engine) -> None:
    admin = as_(ADMIN)
    r = admin.get("/api/manage/reports/rollup", params={"unit": "37", "format": "xlsx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert r.headers["content-disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2" and all(c.font.b for c in sheet[1])
    assert book.sheetnames[-1] == "Bộ lọc"
    [logged] = exports(engine)
    assert logged.actor_account_id == account_id(engine, ADMIN)
    assert logged.data["format"] == "xlsx" and logged.data["filters"]["unit"] == "37"


def test_the_dashboard_page_links_down_within_the_area(
    as_: Callable[[str], httpx.Client],
) -> None:
    manager = as_(MANAGER)
    r = manager.get("/api/manage/dashboard/13285")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script" not in policy
    html = r.text
    assert "<h1>Phường Phủ Lý</h1>" in html and "<script" not in html
    assert 'href="13285-TDP01"' in html  # relative: works behind any path prefix
    assert 'class="breadcrumb"' not in html  # the province is not theirs
    child = manager.get(r.url.join("13285-TDP01"))
    assert child.status_code == 200
    assert '<a href="13285">Phường Phủ Lý</a>' in child.text  # and back up
    admin_view = as_(ADMIN).get("/api/manage/dashboard/13285-TDP01", params={"lang": "en"})
    assert '<a href="37">Tỉnh Ninh Bình</a>' in admin_view.text
    assert '<html lang="en">' in admin_view.text


def test_pseudonymised_downloads_hide_people_and_are_stable(
    as_: Callable[[str], httpx.Client],
    engine: Engine,
    project: Project,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the server finds the key folder in the project's configuration, as `lms serve` sets it
    monkeypatch.setenv("LMS_CONFIG", str(project.config_path))
    manager = as_(MANAGER)
    asked = {"unit": "13285", "format": "csv", "lang": "en", "pseudonymise": "1"}
    first = manager.get("/api/manage/reports/completion", params=asked)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    second = manager.get("/api/manage/reports/completion", params=asked)
    assert second.content == first.content  # the same pseudonyms on every download
    text = first.content.decode("utf-8-sig")
    for code, (name, _, _) in PEOPLE.items():
        assert code not in text and name not in text
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0][2:4] == ["Staff code", "Full name"]
    codes = {row[2] for row in table[1:]}
    assert len(codes) == len(WARD_STAFF)  # one pseudonym per person
    assert all(c.startswith("P-") for c in codes)
    assert all(row[3].startswith("Người-") for row in table[1:])
    assert {row[0] for row in table[1:]} <= {"13285", "13285-TDP01", "13285-TDP02"}  # units stay
    # XLSX: the same pseudonyms, and the filters sheet says so
    r = manager.get("/api/manage/reports/completion", params={**asked, "format": "xlsx"})
    assert r.status_code == 200, r.text
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    cells = [
        str(c)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for c in row
        if c is not None
    ]
    for code, (name, _, _) in PEOPLE.items():
        assert all(code not in c and name not in c for c in cells)
    assert {row[2] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)} == codes
    logged = exports(engine)
    assert [(e.data["format"], e.data["pseudonymised"]) for e in logged] == [
        ("csv", True),
        ("csv", True),
        ("xlsx", True),
    ]
    assert all(e.actor_account_id == account_id(engine, MANAGER) for e in logged)
    # pseudonyms are for files; the manager's JSON view is not one
    r = manager.get("/api/manage/reports/completion", params={"pseudonymise": "1"})
    assert r.status_code == 400 and "format=csv" in r.json()["error"]
    # the key's file is gone: no file with other pseudonyms, no path in the answer
    for key in Path(os.environ["LMS_KEY_DIR"]).glob("pseudonym-*.key"):
        key.unlink()
    r = manager.get("/api/manage/reports/completion", params=asked)
    assert r.status_code == 503 and "operator" in r.json()["error"]
    assert os.environ["LMS_KEY_DIR"] not in r.text
    assert len(exports(engine)) == 3

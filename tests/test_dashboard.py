"""The static dashboard: a page per unit, links down and up the tree, SVG bars, budgets.

The world is the manager tests' (tests/test_manage.py): the built-in Ninh
Bình tree (129 communes and wards, provincial agencies), two residential
groups under ward 13285, learners with real progress, on SQLite and
PostgreSQL.  Every static page is compared with the page the server renders
for the same unit, and the rates with the ``rollup`` report's (one current
enrolment per active person and course), including a renewal, a
re-enrolment and someone who left, where counting every enrolment would
differ.  The browser checks (axe-core, a 360 px phone, no CSP violation,
keyboard) skip cleanly without Chromium.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import Engine, event, func, select, update
from test_http_learner import COURSE
from test_manage import TODAY, world  # noqa: F401 - the shared world fixture

from lms_core.dashboard import HTML_BUDGET, MARKER, UnitPage, dashboard_page, render_unit_page
from lms_core.dashboard import write_dashboard as write
from lms_core.db import session_factory
from lms_core.errors import LmsError, NotFoundError
from lms_core.models import Course, Enrolment, OrgUnit, Person
from lms_core.report_formats import PAGE_CSS, percent_text
from lms_core.services.enrolment import enrol
from lms_core.services.reports import rollup
from lms_core.services.scope import Scope, UnitRef

EVERYTHING = Scope.everything()
HREF = re.compile(r'href="([^"#]+)"')


def write_all(engine: Engine, out: Path, **options: Any) -> Any:
    with session_factory(engine).begin() as s:
        options.setdefault("language", "vi")
        options.setdefault("today", TODAY)
        return write(s, EVERYTHING, unit_code=options.pop("unit", "37"), out_dir=out, **options)


def static_link(root: str, at_root: bool) -> Any:
    def link(unit: UnitRef) -> str:
        if unit.code == root:
            return "index.html" if at_root else "../index.html"
        return f"u/{unit.code}.html" if at_root else f"{unit.code}.html"

    return link


@pytest.mark.usefixtures("world")
def test_a_page_per_unit_and_every_link_resolves(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "dash"
    result = write_all(engine, out)
    with session_factory(engine).begin() as s:
        units = s.scalar(select(func.count(OrgUnit.id)))
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert result.pages == units == len(pages)
    assert "index.html" in pages and "u/13285-TDP01.html" in pages and "u/13285.html" in pages
    assert (out / MARKER).exists()
    for page in pages:
        html = (out / page).read_text(encoding="utf-8")
        for href in HREF.findall(html):
            target = (out / page).parent / unquote(href.split("?")[0])
            assert target.resolve().is_file(), (page, href)
    ward = (out / "u/13285.html").read_text(encoding="utf-8")
    assert 'href="13285-TDP01.html"' in ward and 'href="13285-TDP02.html"' in ward
    assert '<a href="../index.html">Tỉnh Ninh Bình</a>' in ward  # breadcrumbs up
    group = (out / "u/13285-TDP01.html").read_text(encoding="utf-8")
    assert '<a href="13285.html">Phường Phủ Lý</a>' in group
    assert '<li aria-current="page">Tổ dân phố số 1</li>' in group
    top = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="u/13285.html"' in top and 'class="breadcrumb"' not in top


@pytest.mark.usefixtures("world")
def test_static_pages_match_the_servers_pages(engine: Engine, tmp_path: Path) -> None:
    """Each page of the folder (one roll-up of the whole tree) equals the server's page
    for that unit (the same queries on the unit's own subtree)."""
    out = tmp_path / "dash"
    write_all(engine, out)
    sample = ["37", "13285", "13285-TDP01", "13285-TDP02", "13291", "37-SGDDT", "37-SYT"]
    with session_factory(engine).begin() as s:
        sample += list(s.scalars(select(OrgUnit.code).order_by(OrgUnit.code).limit(5)))
        for code in sample:
            page = dashboard_page(s, EVERYTHING, unit_code=code, today=TODAY)
            at_root = code == "37"
            html = render_unit_page(page, language="vi", link=static_link("37", at_root))
            path = out / ("index.html" if at_root else f"u/{code}.html")
            assert path.read_text(encoding="utf-8") == html, code


RATE_UNITS = ("37", "13285", "13285-TDP01", "13285-TDP02", "13291", "37-SGDDT", "37-SYT")


def assert_rates_match_the_rollup(engine: Engine, out: Path) -> dict[str, tuple[int, int, int]]:
    """For each unit of RATE_UNITS and each course: the dashboard's numbers (server page and
    static page) equal the rollup report's row for that unit and course.  Returns the
    (completed, enrolled, overdue) of COURSE by unit."""
    write_all(engine, out)
    found: dict[str, tuple[int, int, int]] = {}
    with session_factory(engine).begin() as s:
        for code in RATE_UNITS:
            found[code] = (0, 0, 0)
            report = rollup(s, EVERYTHING, unit_code=code, depth=0, today=TODAY)
            keys = [c.key for c in report.columns]
            rows = {r[keys.index("course")]: dict(zip(keys, r, strict=True)) for r in report.rows}
            page = dashboard_page(s, EVERYTHING, unit_code=code, today=TODAY)
            assert {c.course for c in page.progress.courses} == set(rows), code
            html = (out / ("index.html" if code == "37" else f"u/{code}.html")).read_text("utf-8")
            for course in page.progress.courses:
                row, counts = rows[course.course], course.counts
                enrolled = counts.enrolled + counts.in_progress + counts.completed
                assert (counts.completed, enrolled, counts.overdue) == (
                    row["completed"],
                    row["enrolled"],
                    row["overdue"],
                ), (code, course.course)
                assert counts.withdrawn == 0
                if row["enrolled"]:
                    shown = f"{percent_text(row['rate'], 'vi')} ({row['completed']}/{enrolled})"
                    assert shown in html, (code, shown)  # the rate HR reads in both
                if course.course == COURSE:
                    found[code] = (counts.completed, enrolled, counts.overdue)
    return found


@pytest.mark.usefixtures("world")
def test_rates_are_the_rollup_reports(engine: Engine, tmp_path: Path) -> None:
    """The dashboard counts as the rollup report: the current enrolment of each active
    person and course.  Counting every enrolment would disagree after a renewal (two
    enrolments, the old one completed) and for someone who has left."""
    before = assert_rates_match_the_rollup(engine, tmp_path / "before")
    assert before["13285"] == (1, 3, 2)  # PL001 done; PL002, PL004 late; PL003 withdrawn
    assert before["13291"] == (0, 1, 0)  # PV001, due in a month
    assert before["37"] == (1, 6, 2)  # and GD001, YT001 (no due date)
    yesterday = TODAY - dt.timedelta(days=1)
    with session_factory(engine).begin() as s:
        pl001 = s.scalars(select(Person.id).where(Person.staff_code == "PL001")).one()
        done = s.scalars(
            select(Enrolment)
            .join(Course, Enrolment.course_id == Course.id)
            .where(Enrolment.person_id == pl001, Course.slug == COURSE)
        ).one()
        assert done.status == "completed"
        # enrolled again to renew (what a renewal round does; the enrol service refuses
        # people who completed), not started, due yesterday
        s.add(
            Enrolment(
                person_id=pl001,
                course_id=done.course_id,
                course_version_id=done.course_version_id,
                status="enrolled",
                due_on=yesterday,
            )
        )
        assert enrol(s, course=COURSE, staff_codes=["PL003"], due=TODAY).enrolled_count == 1
        s.execute(update(Person).where(Person.staff_code == "PV001").values(active=False))
    after = assert_rates_match_the_rollup(engine, tmp_path / "after")
    # PL001 counts once, with the open renewal (late); PL003's new enrolment counts, PV001
    # (left) does not: counting every enrolment would say 1/5 and 0/1.
    assert after["13285"] == (0, 4, 3)
    assert after["13285-TDP01"] == (0, 2, 2)
    assert after["13291"] == (0, 0, 0)
    assert after["37"] == (0, 6, 3)  # + PL003 again, − PV001
    ward = (tmp_path / "after" / "u" / "13285.html").read_text(encoding="utf-8")
    assert "Lượt ghi danh<strong>4</strong>" in ward and "0% (0/4)" in ward


@pytest.mark.usefixtures("world")
def test_the_ward_page_shows_its_numbers(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "dash"
    write_all(engine, out, unit="13285")
    html = (out / "index.html").read_text(encoding="utf-8")
    # PL001 completed, PL002 in progress, PL004 not started; PL003 withdrawn (not counted)
    assert "<h1>Phường Phủ Lý</h1>" in html
    assert "Lượt ghi danh<strong>3</strong>" in html
    assert "Đã hoàn thành<strong>1</strong>" in html
    assert "Tỷ lệ hoàn thành<strong>33,3%</strong>" in html
    assert '<li class="late">Quá hạn<strong>2</strong></li>' in html
    assert "33,3% (1/3)" in html
    assert "50% (1/2)" in html  # residential group 1: one of two done
    assert "Trực tiếp tại đơn vị: 0% hoàn thành (0/1)" in html  # PL004, in the ward itself
    assert sorted(p.name for p in (out / "u").iterdir()) == [
        "13285-TDP01.html",
        "13285-TDP02.html",
    ]


@pytest.mark.usefixtures("world")
def test_svg_charts_are_labelled_for_everyone(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "dash"
    write_all(engine, out, unit="13285", language="en")
    html = (out / "index.html").read_text(encoding="utf-8")
    assert '<svg class="chart"' in html and "<script" not in html
    assert 'role="img" aria-labelledby="c-t"' in html
    assert '<title id="c-t">Chart of the completion rate by course in Phường Phủ Lý</title>' in html
    titles = re.findall(r"<g><title>([^<]+)</title>", html)
    assert "Directly in this unit: 0% completed (0/1)" in titles  # a bar without a link
    assert any(t.startswith("Chỉ thị 28-CT/TW") and "33.3% completed (1/3)" in t for t in titles)
    # a linked bar is named by what it shows: its label and its numbers
    assert re.search(
        r'<a href="u/13285-TDP01.html"><g><rect [^>]*/><text [^>]*>Tổ dân phố số 1</text> '
        r"<text [^>]*>50% \(1/2\)</text>",
        html,
    )
    # the same numbers as a table for screen readers, hidden from the eye
    assert '<div class="visually-hidden"><table><caption>Numbers by unit below' in html
    assert '<th scope="row">Tổ dân phố số 1</th><td>2</td><td>2</td><td>1</td><td>50%</td>' in html
    assert '<html lang="en">' in html


@pytest.mark.usefixtures("world")
def test_budgets_and_the_biggest_page(engine: Engine, tmp_path: Path) -> None:
    """The province page lists every commune (130 bars) and stays within 30 KB gzip."""
    out = tmp_path / "dash"
    result = write_all(engine, out)
    assert result.over_budget == []
    sizes = {p.name: len(gzip.compress(p.read_bytes(), mtime=0)) for p in out.rglob("*.html")}
    assert max(sizes.values()) == result.largest_gzip <= HTML_BUDGET
    top = (out / "index.html").read_text(encoding="utf-8")
    assert top.count('<a href="u/') >= 129
    assert len(gzip.compress(PAGE_CSS.encode())) <= 15 * 1024


@pytest.mark.usefixtures("world")
def test_queries_do_not_grow_with_the_number_of_units(engine: Engine, tmp_path: Path) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        whole = write_all(engine, tmp_path / "all")
        whole_queries = len(statements)
        statements.clear()
        write_all(engine, tmp_path / "ward", unit="13285")
        ward_queries = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert whole.pages > 130
    assert whole_queries <= 12 and ward_queries <= 12  # 140 pages or 3: the same few queries


@pytest.mark.usefixtures("world")
def test_same_data_same_bytes_and_old_pages_go(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "dash"
    write_all(engine, out, unit="13285")
    before = {p: p.read_bytes() for p in out.rglob("*.html")}
    stale = out / "u" / "13999.html"
    stale.write_text("old", encoding="utf-8")
    mtime = (out / "index.html").stat().st_mtime_ns
    result = write_all(engine, out, unit="13285")
    assert {p: p.read_bytes() for p in out.rglob("*.html")} == before
    assert not stale.exists() and result.removed == 1
    assert (out / "index.html").stat().st_mtime_ns == mtime  # unchanged files not rewritten


@pytest.mark.usefixtures("world")
def test_a_foreign_folder_is_refused(engine: Engine, tmp_path: Path) -> None:
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "luong.xlsx").write_text("x", encoding="utf-8")
    with pytest.raises(LmsError, match="not a dashboard folder"):
        write_all(engine, mine, unit="13285")
    assert sorted(p.name for p in mine.iterdir()) == ["luong.xlsx"]


@pytest.mark.usefixtures("world")
def test_scope_and_course_filters(engine: Engine, tmp_path: Path) -> None:
    with session_factory(engine).begin() as s:
        ward = s.scalars(select(OrgUnit).where(OrgUnit.code == "13285")).one()
        scope = Scope(0, "manager", ward.id, ward.path, ward.code)
        with pytest.raises(NotFoundError):
            write(s, scope, unit_code="37", out_dir=tmp_path / "a", language="vi", today=TODAY)
        with pytest.raises(NotFoundError):
            dashboard_page(s, scope, unit_code="13291", today=TODAY)
        result = write(s, scope, unit_code="13285", out_dir=tmp_path / "b", language="vi")
        assert result.pages == 3
        page = dashboard_page(s, scope, unit_code="13285-TDP01", today=TODAY)
        assert [u.code for u in page.trail] == ["13285"]  # 37 is outside the area
        with pytest.raises(NotFoundError):
            write(
                s,
                EVERYTHING,
                unit_code="37",
                out_dir=tmp_path / "c",
                language="vi",
                course="no-such-course",
            )
    filtered = write_all(engine, tmp_path / "d", unit="13285", course=COURSE)
    html = (filtered.out_dir / "index.html").read_text(encoding="utf-8")
    assert "Khóa học: Chỉ thị 28-CT/TW" in html


def test_names_are_escaped() -> None:
    from lms_core.services.scope import ChildProgress, Counts, CourseCounts, UnitProgress

    evil = UnitRef("X1", '<script>alert("x")</script>', "unit")
    counts = [CourseCounts("c", "<img src=x onerror=alert(1)>", Counts(enrolled=1))]
    progress = UnitProgress(
        unit=evil,
        parent=None,
        as_of=dt.date(2026, 11, 29),
        people=1,
        courses=counts,
        here=counts,
        children=[ChildProgress(UnitRef("X2", "<b>con</b>", "unit"), 1, counts)],
    )
    html = render_unit_page(
        UnitPage(progress, [UnitRef("X0", "a&b", "unit")]),
        language="vi",
        link=lambda u: f"{u.code}.html",
    )
    assert "<script" not in html and "<img" not in html and "<b>con" not in html
    assert "&lt;script&gt;" in html and "a&amp;b" in html


# --------------------------------------------------------------------------- browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def chromium() -> Any:
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize("page_path", ["index.html", "u/13285.html", "u/13285-TDP01.html"])
def test_pages_in_a_phone_browser(
    engine: Engine, tmp_path: Path, chromium: Any, page_path: str
) -> None:
    """360 px wide: no sideways scrolling, the inline style allowed by the CSP, keyboard
    reaches the child links, and axe-core finds no serious violation."""
    out = tmp_path / "dash"
    write_all(engine, out)
    context = chromium.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto((out / page_path).as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    header = page.evaluate(
        "getComputedStyle(document.querySelector('.site-header')).backgroundColor"
    )
    assert header == "rgb(243, 245, 248)"  # the inline style applied (its hash matched)
    assert problems == []
    if page_path == "u/13285.html":
        page.keyboard.press("Tab")  # the skip link
        for _ in range(6):
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.getAttribute('href')")
            if focused == "13285-TDP01.html":
                break
        assert focused == "13285-TDP01.html"
        page.keyboard.press("Enter")
        page.wait_for_url("**/13285-TDP01.html")
    context.close()
    axe = os.environ.get("LMS_AXE_JS", "")
    if axe and Path(axe).is_file():
        context = chromium.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True)
        page = context.new_page()
        page.goto((out / page_path).as_uri())
        page.add_script_tag(path=axe)  # a script: only with the page's CSP bypassed
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [
            (v["id"], v["impact"], len(v["nodes"]))
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == []
        context.close()
    if not (axe and Path(axe).is_file()):
        pytest.skip("LMS_AXE_JS does not point at axe.min.js: layout checked, axe not run")

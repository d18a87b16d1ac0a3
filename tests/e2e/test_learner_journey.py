"""The learner's whole journey in a real headless Chromium against ``lms serve``.

Sign in with an invite code and choose a password, read the lessons, fail the
graded final quiz, try again and pass, see the course completed; and a second
learner who loses the network mid-course, answers and submits offline, and
sees the attempt synced exactly once when the network returns.  Runs on
SQLite and PostgreSQL (the ``engine`` fixture), with the sample courses.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from test_http import serving

from lms_core.config import Project, load_config
from lms_core.courses import check_courses
from lms_core.db import session_factory
from lms_core.http import create_app
from lms_core.models import Attempt, Completion, CourseVersion, Enrolment, Person
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.services.accounts import invite_people
from lms_core.services.courses import publish
from lms_core.services.enrolment import enrol
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff_file
from lms_quiz.view import practice_key
from site_builder import build_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

TYPES = exercise_types(make_plugin_manager())
SAMPLES = Path(__file__).resolve().parents[2] / "courses"
COURSE = "chi-thi-28-ke-hoach-tinh"
FINAL = "kiem-tra-cuoi"
LESSONS = ["chi-thi-28", "sau-nhom-nhiem-vu", "phan-cong-co-quan", "cap-xa-thon", "kiem-tra"]
PASSWORD = "mat-khau-cua-toi-2026"
STAFF = (
    "staff_code,full_name,org_code,position\n"
    "NB101,Lê Thị Hồng,13285,Cộng tác viên thôn\n"
    "NB102,Phạm Văn Đức,13285,Cộng tác viên thôn\n"
)
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture
def served(project: Project, engine: Engine) -> Iterator[tuple[str, dict[str, str]]]:
    """The sample course published, two invited learners enrolled, the site built
    for ``/api`` and both served by the real server; yields (url, invite codes)."""
    config = project.config_path
    assert config is not None
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('api_url = ""', 'api_url = "/api"'), encoding="utf-8")
    project = load_config(config)
    shutil.rmtree(project.courses_dir, ignore_errors=True)
    shutil.copytree(SAMPLES / COURSE, project.courses_dir / COURSE)
    with session_factory(engine).begin() as s:
        load_builtin_tree(s)
        staff = project.root / "staff.csv"
        staff.write_text(STAFF, encoding="utf-8")
        import_staff_file(s, str(staff))
        loaded, problems = check_courses(project.courses_dir, types=TYPES)
        assert not [p for p in problems if p.severity == "error"], problems
        for course in loaded:
            publish(s, course)
        assert enrol(s, course=COURSE, staff_codes=["NB101", "NB102"]).enrolled_count == 2
        codes = {i.staff_code: i.code for i in invite_people(s, org="13285")}
    build_site(project, types=TYPES)
    with serving(create_app(project, engine=engine)) as url:
        yield url + "/", codes


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def first_sign_in(page: Any, url: str, staff: str, code: str) -> None:
    page.goto(url + "signin.html")
    page.fill("#redeem-staff", staff)
    page.fill("#redeem-code", code)
    page.fill("#redeem-password", PASSWORD)
    page.fill("#redeem-repeat", PASSWORD)
    page.click("#redeem-form button[type=submit]")
    page.wait_for_url(url + "index.html")
    page.wait_for_selector(".account-name")


def key_answers(engine: Engine, *, staff: str, seed: int | None = None) -> dict[str, Any]:
    """Full-marks answers for the learner's attempt in progress (or for ``seed``)."""
    with session_factory(engine)() as s:
        version = s.scalars(select(CourseVersion)).one()
        if seed is None:
            seed = s.scalars(
                select(Attempt.seed)
                .join(Enrolment, Attempt.enrolment_id == Enrolment.id)
                .join(Person, Enrolment.person_id == Person.id)
                .where(Person.staff_code == staff, Attempt.state == "in_progress")
            ).one()
        entry = next(e for e in version.snapshot["exercises"] if e["id"] == FINAL)
        quiz = TYPES["quiz"].model.model_validate(entry["data"])
        answers: dict[str, Any] = practice_key(quiz, seed=seed)["answers"]
        return answers


def attempts_of(engine: Engine, staff: str) -> list[tuple[str, str, float | None]]:
    with session_factory(engine)() as s:
        rows = s.execute(
            select(Attempt.state, Attempt.source, Attempt.score)
            .join(Enrolment, Attempt.enrolment_id == Enrolment.id)
            .join(Person, Enrolment.person_id == Person.id)
            .where(Person.staff_code == staff)
            .order_by(Attempt.id)
        ).all()
        return [(r.state, r.source, r.score) for r in rows]


def test_invite_lessons_fail_retry_pass_completed(
    browser: Any, served: tuple[str, dict[str, str]], engine: Engine
) -> None:
    url, codes = served
    context, page, errors = new_page(browser)
    first_sign_in(page, url, "NB101", codes["NB101"])
    for lesson in LESSONS:
        with page.expect_response(lambda r: r.url.endswith("/api/my/lessons/viewed")) as seen:
            page.goto(f"{url}courses/{COURSE}/{lesson}.html")
        assert seen.value.status == 200
    # the final quiz: start on the server, submit nothing, fail
    page.click("button.quiz-begin")
    page.wait_for_selector("section.quiz form:not([hidden]) fieldset")
    page.click("section.quiz button.quiz-submit")
    result = page.locator("section.quiz .quiz-result")
    result.locator("text=Chưa đạt").wait_for()
    assert "is-fail" in (result.get_attribute("class") or "")
    # try again with the right answers for this attempt's own order and ids
    page.click("button.quiz-again")
    page.wait_for_selector("section.quiz button.quiz-submit:not([hidden])")
    page.evaluate(
        "a => LMS._fill(document.querySelector('section.quiz'), a)",
        key_answers(engine, staff="NB101"),
    )
    page.click("section.quiz button.quiz-submit")
    page.locator("section.quiz .quiz-completed").wait_for()
    assert "Đạt" in page.locator("section.quiz .quiz-result").inner_text()
    # the course page and the progress page say so, from the server
    page.goto(f"{url}courses/{COURSE}/index.html")
    page.locator("#course-status .is-pass").first.wait_for()
    page.goto(url + "progress.html")
    page.locator(".progress-server .is-pass").first.wait_for()
    assert [(s, src) for s, src, _ in attempts_of(engine, "NB101")] == [
        ("graded", "web"),
        ("graded", "web"),
    ]
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Completion)) == 1
    assert errors == []
    context.close()


def test_offline_attempt_is_synced_exactly_once(
    browser: Any, served: tuple[str, dict[str, str]], engine: Engine
) -> None:
    url, codes = served
    context, page, errors = new_page(browser)
    first_sign_in(page, url, "NB102", codes["NB102"])
    page.goto(f"{url}courses/{COURSE}/kiem-tra.html")
    page.wait_for_selector("button.quiz-begin")
    context.set_offline(True)
    page.click("button.quiz-begin")  # the server cannot be reached: the page's own form
    page.wait_for_selector("section.quiz form:not([hidden]) fieldset")
    page.evaluate(
        "a => LMS._fill(document.querySelector('section.quiz'), a)",
        key_answers(engine, staff="NB102", seed=0),
    )
    page.click("section.quiz button.quiz-submit")
    page.locator("section.quiz .quiz-result", has_text="mạng").wait_for()
    assert attempts_of(engine, "NB102") == []
    with page.expect_response(lambda r: r.url.endswith("/api/my/sync")) as synced:
        context.set_offline(False)
    assert synced.value.status == 200
    page.locator("section.quiz .quiz-result.is-pass").wait_for()
    # coming back (a reload syncs again) adds nothing
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("LMS.queued().then(q => q.length)") == 0
    assert [(s, src) for s, src, _ in attempts_of(engine, "NB102")] == [("graded", "offline")]
    assert errors == []
    context.close()


def serious_violations(page: Any) -> list[tuple[str, str, int]]:
    axe = os.environ.get("LMS_AXE_JS", "")
    if not axe or not Path(axe).is_file():
        pytest.skip("LMS_AXE_JS does not point at axe.min.js (npm install axe-core)")
    page.add_script_tag(path=axe)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_signin_and_server_quiz_pages_are_accessible(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    url, codes = served
    context = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True)
    page = context.new_page()
    page.goto(url + "signin.html")
    assert serious_violations(page) == []
    first_sign_in(page, url, "NB101", codes["NB101"])
    page.goto(f"{url}courses/{COURSE}/kiem-tra.html")
    page.click("button.quiz-begin")
    page.wait_for_selector("section.quiz form:not([hidden]) fieldset")
    assert serious_violations(page) == []
    context.close()

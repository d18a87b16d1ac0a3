"""The built site in a real headless Chromium (Debian's), driven by Playwright.

Skips with a reason when Chromium or Playwright is missing; ``.ci/run``
installs both, and axe-core from the npm registry (``LMS_AXE_JS`` points at
``axe.min.js``).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lms_core.config import load_config
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.project import init_project
from site_builder import build_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

SAMPLES = Path(__file__).parent.parent.parent / "courses"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample courses built and served on 127.0.0.1 (a secure context for the SW)."""
    root = tmp_path_factory.mktemp("e2e")
    project = init_project(root / "p", database_url=f"sqlite:///{root}/x.db")
    # a static copy: no learner server behind it
    config = project.root / "lms.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace('api_url = "/api"', 'api_url = ""'),
        encoding="utf-8",
    )
    project = load_config(config)
    shutil.rmtree(project.courses_dir)
    shutil.copytree(SAMPLES, project.courses_dir)
    build_site(project, types=exercise_types(make_plugin_manager()))
    handler = functools.partial(_Quiet, directory=str(project.output_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def golden_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The golden fixture project (every question type in one quiz), built and served."""
    root = tmp_path_factory.mktemp("golden")
    fixture = Path(__file__).parent.parent / "fixtures" / "golden"
    shutil.copytree(fixture, root / "p", ignore=shutil.ignore_patterns("expected-site"))
    project = load_config(root / "p" / "lms.toml")
    build_site(project, types=exercise_types(make_plugin_manager()), use_cache=False)
    handler = functools.partial(_Quiet, directory=str(project.output_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=False)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], errors


def no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width


def test_catalog_search_with_and_without_diacritics(page: Any, site: str) -> None:
    page.goto(site + "index.html")
    no_horizontal_scroll(page)
    page.fill("#search", "tre em")
    page.wait_for_selector("#search-results li")
    plain = page.locator("#search-results li").all_inner_texts()
    page.fill("#search", "trẻ em")
    page.wait_for_selector("#search-results li")
    assert page.locator("#search-results li").all_inner_texts() == plain
    page.fill("#search", "duoi nuoc")
    page.wait_for_selector("#search-results li")
    assert any(
        "nước" in text.lower() or "an toàn" in text.lower()
        for text in page.locator("#search-results li").all_inner_texts()
    )


def test_read_a_lesson_and_answer_a_practice_quiz(page: Any, site: str) -> None:
    page.goto(site + "courses/phong-chong-xam-hai/thong-bao.html")
    no_horizontal_scroll(page)
    assert page.locator("h1").inner_text() == "Thông báo, tố giác"
    quiz = page.locator("section.quiz[data-graded='false']").first
    quiz.locator("input[type=radio], input[type=checkbox]").first.check()
    quiz.locator("button.quiz-submit").click()
    result = quiz.locator(".quiz-result")
    result.wait_for(state="visible")
    assert result.inner_text().strip()


def test_every_exercise_by_keyboard_only(page: Any, site: str) -> None:
    page.goto(site + "courses/chi-thi-28-ke-hoach-tinh/sau-nhom-nhiem-vu.html")
    quiz = page.locator("section.quiz").first
    first = quiz.locator("input, select, button").first
    first.focus()
    page.keyboard.press("Space")
    for _ in range(60):  # tab through the quiz to its submit button
        if page.evaluate("document.activeElement.classList.contains('quiz-submit')"):
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('quiz-submit')")
    page.keyboard.press("Enter")
    quiz.locator(".quiz-result").wait_for(state="visible")
    assert quiz.locator(".quiz-result").inner_text().strip()


def test_switch_language(page: Any, site: str) -> None:
    page.goto(site + "index.html")
    assert "Danh mục khóa học" in page.locator("h1").inner_text()
    page.click("#lang-switch")
    page.wait_for_function("document.querySelector('h1').textContent.includes('Course')")
    page.reload()
    assert "Course catalogue" in page.locator("h1").inner_text()


def test_course_read_offline_after_opening(browser: Any, site: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(site + "courses/moi-truong-an-toan/index.html")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # the first visit installs the worker; from now on it controls the page
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)
    page.click("#download-course")
    page.wait_for_function(
        "document.querySelector('#offline-note').textContent.length > 0", timeout=15000
    )
    page.wait_for_timeout(1500)
    context.set_offline(True)
    page.goto(site + "courses/moi-truong-an-toan/phong-chong-duoi-nuoc.html")
    assert "đuối nước" in page.locator("h1").inner_text().lower()
    context.close()


@pytest.mark.parametrize(
    "path",
    [
        "index.html",
        "courses/phong-chong-xam-hai/index.html",
        "courses/phong-chong-xam-hai/kiem-tra-cuoi.html",
    ],
)
def test_axe_finds_no_serious_violations(browser: Any, site: str, path: str) -> None:
    axe = os.environ.get("LMS_AXE_JS", "")
    if not axe or not Path(axe).is_file():
        pytest.skip("LMS_AXE_JS does not point at axe.min.js (npm install axe-core)")
    context = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True)
    page = context.new_page()
    page.goto(site + path)
    page.add_script_tag(path=axe)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    context.close()
    assert bad == []


def test_every_question_type_by_keyboard_only(page: Any, golden_site: str) -> None:
    """Tab through a quiz holding every question type and answer it with keys alone."""
    page.goto(golden_site + "courses/moi-loai-cau-hoi/cau-hoi.html")
    quiz = page.locator("section.quiz").first
    kinds = set(
        quiz.locator("fieldset").evaluate_all(
            "els => els.map(e => [...e.classList].find(c => c.startsWith('quiz-') && "
            "c !== 'quiz-question')).filter(Boolean)"
        )
    )
    assert {
        "quiz-single",
        "quiz-multiple",
        "quiz-truefalse",
        "quiz-short",
        "quiz-numeric",
        "quiz-matching",
        "quiz-ordering",
        "quiz-blanks",
    } <= kinds, kinds
    quiz.locator("input, select, button, textarea").first.focus()
    used: set[str] = set()
    for _ in range(200):  # bounded walk through every control of the form
        control = page.evaluate(
            "(() => { const e = document.activeElement; return e ? "
            "[e.tagName.toLowerCase(), e.type || '', e.className || ''] : null })()"
        )
        tag, kind, classes = control
        if "quiz-submit" in classes:
            break
        if tag == "input" and kind in ("radio", "checkbox"):
            page.keyboard.press("Space")
            used.add(kind)
        elif tag == "input":
            page.keyboard.type("16")
            used.add("text")
        elif tag == "select":
            page.keyboard.press("ArrowDown")
            used.add("select")
        elif tag == "button":
            page.keyboard.press("Enter")
            used.add("button")
        page.keyboard.press("Tab")
    assert "quiz-submit" in page.evaluate("document.activeElement.className")
    assert {"radio", "checkbox", "text", "select", "button"} <= used, used
    page.keyboard.press("Enter")
    result = quiz.locator(".quiz-result")
    result.wait_for(state="visible")
    assert any(ch.isdigit() for ch in result.inner_text())

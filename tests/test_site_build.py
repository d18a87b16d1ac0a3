"""``lms build``: the site's pages, safety, determinism, incremental writes, budgets, theming."""

from __future__ import annotations

import json
import random
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lms_core.config import Project
from lms_core.courses import check_courses
from lms_core.errors import LmsError
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.project import init_project
from lms_quiz.model import FillBlanks, MultipleChoice, Numeric, ShortAnswer, SingleChoice
from site_builder import BuildError, build_site

TYPES = exercise_types(make_plugin_manager())
SAMPLES = Path(__file__).parent.parent / "courses"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project with the three sample courses (SQLite; building needs no database)."""
    project = init_project(tmp_path / "p", database_url=f"sqlite:///{tmp_path}/x.db")
    shutil.rmtree(project.courses_dir)
    shutil.copytree(SAMPLES, project.courses_dir)
    return project


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    page = _Page()
    page.feed(html)
    return page.tags


def test_builds_every_page(project: Project) -> None:
    report = build_site(project, types=TYPES)
    out = project.output_dir
    for path in (
        "index.html",
        "progress.html",
        "404.html",
        "offline.html",
        "verify/index.html",
        "search-index.json",
        "sw.js",
        "manifest.webmanifest",
        "assets/site.css",
        "assets/site.js",
        "courses/phong-chong-xam-hai/index.html",
        "courses/phong-chong-xam-hai/thong-bao.html",
        "courses/phong-chong-xam-hai/images/goi-111.svg",
        "courses/phong-chong-xam-hai/offline.json",
    ):
        assert (out / path).is_file(), path
    # course pages, lessons, catalog/progress/404/offline/verify/signin
    assert report.pages == 3 + 15 + 6
    offline = json.loads((out / "courses/phong-chong-xam-hai/offline.json").read_text())
    assert "thong-bao.html" in offline and "images/goi-111.svg" in offline


def test_pages_are_relative_accessible_and_script_free(project: Project) -> None:
    build_site(project, types=TYPES)
    for path in sorted(project.output_dir.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        tags = parse(text)
        html_tag = next(attrs for tag, attrs in tags if tag == "html")
        assert html_tag.get("lang") in ("vi", "en"), path
        assert sum(1 for tag, _ in tags if tag == "h1") == 1, path
        assert any(tag == "main" for tag, _ in tags), path
        assert "Content-Security-Policy" in text, path
        for tag, attrs in tags:
            for name in ("href", "src"):
                value = attrs.get(name) or ""
                assert not value.startswith("/"), (path, value)
                assert not value.startswith("http://"), (path, value)
            assert not any(k.startswith("on") for k in attrs), (path, tag, attrs)
            if tag == "img":
                assert attrs.get("alt"), (path, attrs)
            if tag == "script":
                assert attrs.get("src") or attrs.get("type") == "application/json", path


def _graded(project: Project) -> dict[str, tuple[set[str], set[str]]]:
    """Per graded quiz id: (feedback texts, accepted answers) of the sample courses."""
    loaded, _ = check_courses(project.courses_dir, types=TYPES)
    found: dict[str, tuple[set[str], set[str]]] = {}
    for course in loaded:
        for item in course.exercises():
            quiz = item.exercise
            if not quiz.graded:
                continue
            feedback: set[str] = set()
            answers: set[str] = set()
            for q in quiz.questions():  # type: ignore[attr-defined]
                feedback.update(x for x in (q.feedback,) if x)
                if isinstance(q, SingleChoice | MultipleChoice):
                    feedback.update(o.feedback for o in q.options if o.feedback)
                if isinstance(q, ShortAnswer):
                    answers.update(a.text for a in q.answers)
                if isinstance(q, Numeric):
                    answers.update(a.source for a in q.answers)
                if isinstance(q, FillBlanks):
                    answers.update(a for gap in q.gaps for a in gap.answers)
            found[f"{course.slug}/{quiz.id}"] = (feedback, answers)
    return found


def test_no_graded_answer_anywhere_in_the_output(project: Project) -> None:
    """Feedback of graded quizzes appears nowhere; their answers not in their own form."""
    build_site(project, types=TYPES)
    graded = _graded(project)
    assert graded
    site = {p: d.decode("utf-8", errors="ignore") for p, d in tree(project.output_dir).items()}
    for key, (feedback, answers) in graded.items():
        slug, quiz_id = key.split("/")
        for text in feedback:
            assert not any(text in page for page in site.values()), (key, text)
        pages = [t for p, t in site.items() if p.startswith(f"courses/{slug}/")]
        sections = [
            m
            for page in pages
            for m in re.findall(
                rf'<section class="quiz" data-quiz-id="{quiz_id}".*?class="quiz-data">.*?</script>',
                page,
                re.S,
            )
        ]
        assert len(sections) == 1, key
        data = json.loads(re.findall(r'class="quiz-data">(.*?)</script>', sections[0], re.S)[0])
        assert data["view"]["graded"] and "key" not in data
        for word in ('"correct"', '"credit"', '"feedback"', '"answers"'):
            assert word not in sections[0], (key, word)
        # Accepted answers are checked with unique markers in test_quiz_grading (a
        # common phrase like "cha mẹ" may rightly appear in a prompt).
        del answers


def test_deterministic_and_incremental(project: Project, tmp_path: Path) -> None:
    build_site(project, types=TYPES, out=tmp_path / "a")
    build_site(project, types=TYPES, out=tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    again = build_site(project, types=TYPES, out=tmp_path / "a")
    assert again.written == 0 and again.removed == 0
    lesson = project.courses_dir / "phong-chong-xam-hai" / "02-thong-bao.md"
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\nMột câu mới.\n", encoding="utf-8")
    others = {p: d for p, d in tree(tmp_path / "a").items() if "phong-chong-xam-hai" not in p}
    changed = build_site(project, types=TYPES, out=tmp_path / "a")
    # that course's pages (each names the course version, which changed), the
    # search index and the service worker; nothing of the other courses
    assert 1 <= changed.written <= 9
    after = tree(tmp_path / "a")
    assert {p: after[p] for p in others if p not in ("search-index.json", "sw.js")} == {
        p: d for p, d in others.items() if p not in ("search-index.json", "sw.js")
    }
    extra = project.courses_dir / "phong-chong-xam-hai" / "06-tam.md"
    extra.write_text("---\ntitle: Tạm\nminutes: 1\nrequired: false\n---\nTạm.\n", encoding="utf-8")
    build_site(project, types=TYPES, out=tmp_path / "a")
    assert (tmp_path / "a/courses/phong-chong-xam-hai/tam.html").exists()
    extra.unlink()
    shrunk = build_site(project, types=TYPES, out=tmp_path / "a")
    assert not (tmp_path / "a/courses/phong-chong-xam-hai/tam.html").exists()
    assert shrunk.removed >= 1


def test_search_index_folds_vietnamese(project: Project) -> None:
    build_site(project, types=TYPES)
    index = json.loads((project.output_dir / "search-index.json").read_text(encoding="utf-8"))
    assert "tre" in index["words"] and "duoi" in index["words"]
    urls = {index["docs"][i][1] for i in index["words"]["nuoc"]}
    assert any("moi-truong-an-toan" in url for url in urls)


def test_budgets_and_weights(project: Project) -> None:
    report = build_site(project, types=TYPES)
    assert report.over_budget == []
    assert max(report.html_gzip.values()) <= 30 * 1024
    assert report.css_gzip <= 15 * 1024 and report.js_gzip <= 20 * 1024
    big = project.courses_dir / "chi-thi-28-ke-hoach-tinh" / "01-chi-thi-28.md"
    text = big.read_text(encoding="utf-8")
    big.write_text(
        text.replace("minutes: ", "minutes: 9")
        + "\n".join(
            f"Đoạn {i} " + "".join(chr(0x4E00 + (i * 97 + k) % 20000) for k in range(200))
            for i in range(400)
        ),
        encoding="utf-8",
    )
    with pytest.raises(BuildError, match="over budget"):
        build_site(project, types=TYPES)


def test_theme_overrides_a_template_and_an_asset(project: Project) -> None:
    theme = project.root / "theme"
    (theme / "assets").mkdir(parents=True)
    (theme / "assets" / "site.css").write_text("body{color:#111}", encoding="utf-8")
    (theme / "simple.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>TỈNH TÙY CHỈNH</h1>{% endblock %}',
        encoding="utf-8",
    )
    build_site(project, types=TYPES)
    assert (project.output_dir / "assets/site.css").read_text() == "body{color:#111}"
    assert "TỈNH TÙY CHỈNH" in (project.output_dir / "404.html").read_text(encoding="utf-8")


def test_refuses_errors_and_foreign_folders(project: Project, tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious", encoding="utf-8")
    with pytest.raises(BuildError, match="not empty"):
        build_site(project, types=TYPES, out=foreign)
    assert (foreign / "thesis.docx").exists()
    (project.courses_dir / "phong-chong-xam-hai" / "index.md").write_text("x", encoding="utf-8")
    with pytest.raises(LmsError, match="nothing was built"):
        build_site(project, types=TYPES, out=tmp_path / "out")


def test_parallel_build_gives_the_same_site(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Course jobs in worker processes produce byte-identical output, and the same errors."""
    import site_builder.build as build_module

    build_site(project, types=TYPES, out=tmp_path / "serial")
    monkeypatch.setattr(build_module, "PARALLEL_MIN_LESSONS", 1)
    build_site(project, types=TYPES, out=tmp_path / "parallel")
    assert tree(tmp_path / "serial") == tree(tmp_path / "parallel")
    (project.courses_dir / "moi-truong-an-toan" / "index.md").write_text("x", encoding="utf-8")
    with pytest.raises(LmsError, match=r"moi-truong-an-toan/index\.md:1:1"):
        build_site(project, types=TYPES, out=tmp_path / "parallel")


def test_preview_serves_and_rebuilds_on_change(project: Project) -> None:
    import time
    import urllib.request

    from site_builder.preview import Preview

    results: list[object] = []
    preview = Preview(
        project, types=TYPES, port=0, poll_seconds=0.1, on_build=results.append
    ).start()
    try:
        page = preview.url + "courses/phong-chong-xam-hai/thong-bao.html"
        with urllib.request.urlopen(page, timeout=10) as response:
            assert "Thông báo" in response.read().decode("utf-8")
        lesson = project.courses_dir / "phong-chong-xam-hai" / "02-thong-bao.md"
        lesson.write_text(
            lesson.read_text(encoding="utf-8") + "\nCâu mới xem trước.\n", encoding="utf-8"
        )
        for _ in range(100):  # bounded: at most about 10 s
            with urllib.request.urlopen(page, timeout=10) as response:
                if "Câu mới xem trước" in response.read().decode("utf-8"):
                    break
            time.sleep(0.1)
        else:
            pytest.fail("the preview did not rebuild after a lesson changed")
        (project.courses_dir / "phong-chong-xam-hai" / "index.md").write_text("x")
        for _ in range(100):
            if isinstance(results[-1], LmsError):
                break
            time.sleep(0.1)
        assert isinstance(results[-1], LmsError)  # reported; the last good site stays
        with urllib.request.urlopen(page, timeout=10) as response:
            assert response.status == 200
    finally:
        preview.stop()


def test_cached_rebuilds_equal_clean_builds(project: Project, tmp_path: Path) -> None:
    """Whatever changes (a lesson, another course's title, the theme), a rebuild that
    reuses cached courses gives exactly what a clean build gives."""
    out = tmp_path / "site"
    build_site(project, types=TYPES, out=out)
    edits = [
        (project.courses_dir / "phong-chong-xam-hai" / "02-thong-bao.md", "\nThêm một câu.\n"),
        (project.courses_dir / "chi-thi-28-ke-hoach-tinh" / "index.md", ""),
    ]
    for path, extra in edits:
        text = path.read_text(encoding="utf-8")
        if not extra:  # rename the course: other courses list it as a prerequisite
            text = text.replace("title: ", "title: (Mới) ", 1)
        path.write_text(text + extra, encoding="utf-8")
        build_site(project, types=TYPES, out=out)
        clean = tmp_path / f"clean-{len(extra)}"
        build_site(project, types=TYPES, out=clean, use_cache=False)
        assert tree(out) == tree(clean)
    (project.root / "theme").mkdir()
    (project.root / "theme" / "lesson.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>{{ lesson.title }}!</h1>{% endblock %}',
        encoding="utf-8",
    )
    build_site(project, types=TYPES, out=out)
    build_site(project, types=TYPES, out=tmp_path / "clean-theme", use_cache=False)
    assert tree(out) == tree(tmp_path / "clean-theme")
    assert "!</h1>" in (out / "courses/phong-chong-xam-hai/thong-bao.html").read_text()


def test_raw_html_dropped_or_sanitised(project: Project, tmp_path: Path) -> None:
    lesson = project.courses_dir / "phong-chong-xam-hai" / "02-thong-bao.md"
    lesson.write_text(
        lesson.read_text(encoding="utf-8")
        + (
            "\n<div onclick='steal()'><script>alert(1)</script><b>Chữ đậm</b>"
            "<a href='javascript:alert(2)'>x</a><img src=x onerror=alert(3)></div>\n"
        ),
        encoding="utf-8",
    )
    build_site(project, types=TYPES, out=tmp_path / "off")
    page = (tmp_path / "off/courses/phong-chong-xam-hai/thong-bao.html").read_text()
    assert "<script>alert" not in page and "onclick" not in page and "Chữ đậm" not in page
    config = project.config_path
    assert config is not None
    config.write_text(
        config.read_text(encoding="utf-8").replace('raw_html = "off"', 'raw_html = "sanitised"'),
        encoding="utf-8",
    )
    from lms_core.config import load_config

    build_site(load_config(config), types=TYPES, out=tmp_path / "on")
    page = (tmp_path / "on/courses/phong-chong-xam-hai/thong-bao.html").read_text()
    assert "<b>Chữ đậm</b>" in page
    for bad in ("<script>alert", "onclick", "javascript:", "onerror"):
        assert bad not in page, bad


def test_api_url_configures_graded_submission(project: Project, tmp_path: Path) -> None:
    from lms_core.config import load_config

    config = project.config_path
    assert config is not None
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'api_url = "/api"', 'api_url = "https://hoc.example.gov.vn/api"'
        ),
        encoding="utf-8",
    )
    build_site(load_config(config), types=TYPES, out=tmp_path / "s")
    page = (tmp_path / "s/courses/phong-chong-xam-hai/kiem-tra-cuoi.html").read_text()
    assert 'data-api="https://hoc.example.gov.vn/api"' in page
    assert "connect-src 'self' https://hoc.example.gov.vn;" in page


def test_pages_name_the_course_version_publishing_stores(project: Project, tmp_path: Path) -> None:
    """An offline attempt is graded against the version its page showed: the
    ``data-version`` on each course page is the hash ``lms course publish`` stores."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from lms_core.db import make_engine
    from lms_core.models import Course, CourseVersion
    from lms_core.schema import upgrade
    from lms_core.services.courses import publish

    build_site(project, types=TYPES, out=tmp_path / "s")
    engine = make_engine(f"sqlite:///{(tmp_path / 'v.db').as_posix()}")
    upgrade(engine)
    loaded, _ = check_courses(project.courses_dir, types=TYPES)
    with Session(engine) as s, s.begin():
        for course in loaded:
            publish(s, course)
        rows = s.execute(select(Course.slug, CourseVersion.content_hash).join(CourseVersion))
        hashes = {slug: digest for slug, digest in rows.tuples()}
    engine.dispose()
    assert len(hashes) == 3
    for slug, digest in hashes.items():
        for page in (tmp_path / "s" / "courses" / slug).glob("*.html"):
            assert f'data-version="{digest}"' in page.read_text(encoding="utf-8"), page


def test_verify_page_and_its_script(project: Project) -> None:
    """verify/index.html: the form, a status region, its own script and strings."""
    build_site(project, types=TYPES)
    out = project.output_dir
    page = (out / "verify/index.html").read_text(encoding="utf-8")
    tags = parse(page)
    assert ("div", {"id": "verify-status", "role": "status", "aria-live": "polite"}) in tags
    field = next(attrs for tag, attrs in tags if tag == "textarea")
    assert field["id"] == "verify-token" and field["aria-describedby"] == "verify-token-help"
    assert ("label", {"for": "verify-token", "data-i18n": "verify_paste"}) in tags
    # no name: without JavaScript the form cannot send the token anywhere
    assert 'name="token"' not in page
    scripts = [a.get("src") for t, a in tags if t == "script" and a.get("src")]
    assert scripts == ["../assets/site.js", "../assets/verify.js"]
    assert ("script", {"src": "../assets/verify.js", "defer": None}) in tags
    assert ("link", {"rel": "stylesheet", "href": "../assets/verify.css"}) in tags
    assert "Họ và tên" in page and "Cấp lại cho" in page and "Full name" in page
    assert (out / "assets/verify.js").is_file() and (out / "assets/verify.css").is_file()
    for path in sorted(out.rglob("*.html")):
        if path != out / "verify/index.html":
            text = path.read_text(encoding="utf-8")
            assert "verify.js" not in text and "verify.css" not in text, path
            assert "Cấp lại cho" not in text, path  # the verify strings stay on their page
    offline = json.loads((out / "courses/phong-chong-xam-hai/offline.json").read_text())
    assert not any("verify" in url for url in offline)
    # with a learner server the page names it, for the server check
    assert 'data-api="/api"' in page


def test_plugins_add_files_that_are_kept_and_budgeted(project: Project, tmp_path: Path) -> None:
    """``lms_site_built`` runs after the build's files are written; what plugins return
    stays (a rebuild never deletes it, even for a moment), is listed in the manifest,
    and is weighed like the build's own files."""
    from lms_core.hookspecs import hookimpl

    class Publisher:
        def __init__(self) -> None:
            self.seen_before: list[bool] = []
            self.script = b"// tiny\n"

        @hookimpl
        def lms_site_built(self, project: Project, output_dir: Path) -> list[Path]:
            keys = output_dir / "verify" / "keys.json"
            assert (output_dir / "verify" / "index.html").is_file()  # the site is written
            self.seen_before.append(keys.is_file())
            keys.write_text('{"keys": []}', encoding="utf-8")
            (output_dir / "verify" / "extra.js").write_bytes(self.script)
            return [Path("verify/keys.json"), output_dir / "verify" / "extra.js"]

    publisher = Publisher()
    pm = make_plugin_manager(load_entry_points=False, plugins=[publisher])
    out = tmp_path / "site"
    plain = build_site(project, types=TYPES, out=out)
    report = build_site(project, types=TYPES, out=out, pm=pm)
    assert report.plugin_files == ["verify/extra.js", "verify/keys.json"]
    assert report.files == plain.files + 2 and report.removed == 0
    assert "verify/extra.js" in report.page_js_gzip and report.over_budget == []
    again = build_site(project, types=TYPES, out=out, pm=pm)
    assert again.written == 0 and again.removed == 0
    assert publisher.seen_before == [False, True]
    manifests = list((project.root / ".lms-cache").glob("site-*.json"))
    listed = {k for m in manifests for k in json.loads(m.read_text(encoding="utf-8"))}
    assert {"verify/keys.json", "verify/extra.js"} <= listed
    # a plugin's script is budgeted on its own
    publisher.script = random.Random(5).randbytes(40 * 1024)
    heavy = build_site(project, types=TYPES, out=out, pm=pm, enforce_budgets=False)
    assert heavy.over_budget == [
        f"verify/extra.js: JS {heavy.page_js_gzip['verify/extra.js'] / 1024:.1f} KB > 10 KB"
    ]
    with pytest.raises(BuildError, match="over budget"):
        build_site(project, types=TYPES, out=out, pm=pm)
    # without the plugin its files are stale: removed
    gone = build_site(project, types=TYPES, out=out)
    assert gone.removed == 2 and not (out / "verify" / "keys.json").exists()
    assert (out / "verify" / "index.html").is_file()


def test_plugins_may_not_write_outside_the_site_or_over_its_pages(
    project: Project, tmp_path: Path
) -> None:
    from lms_core.hookspecs import hookimpl

    class Bad:
        def __init__(self, target: str) -> None:
            self.target = target

        @hookimpl
        def lms_site_built(self, project: Project, output_dir: Path) -> list[Path]:
            path = output_dir / self.target
            path.write_text("x", encoding="utf-8")
            return [path]

    out = tmp_path / "site"
    for target, message in (("../outside.txt", "outside the site"), ("index.html", "overwrote")):
        pm = make_plugin_manager(load_entry_points=False, plugins=[Bad(target)])
        with pytest.raises(BuildError, match=message):
            build_site(project, types=TYPES, out=out, pm=pm)
    # the next build repairs the page the plugin overwrote
    build_site(project, types=TYPES, out=out)
    assert (out / "index.html").read_text(encoding="utf-8").startswith("<!doctype html>")

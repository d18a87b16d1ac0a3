"""``lms course check``: every error and warning, each on a small fixture course."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lms_core.courses import check_courses, new_course
from lms_core.errors import Problem
from lms_core.messages import MESSAGES
from lms_core.plugins import exercise_types, make_plugin_manager

TYPES = exercise_types(make_plugin_manager())

INDEX = """---
title: Khóa thử
summary: Một khóa học để kiểm tra.
minutes: 10
{extra}---

Giới thiệu.
"""

LESSON = """---
title: Bài {n}
minutes: 5
---

## Phần một

Nội dung.
"""

QUIZ = """
```quiz id={id}{graded}
? Tổng đài bảo vệ trẻ em?
- ( ) 113
- (x) 111
```
"""


def make(tmp_path: Path, files: dict[str, str | bytes], slug: str = "khoa-thu") -> Path:
    root = tmp_path / "courses" / slug
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return tmp_path / "courses"


def check(courses: Path, *, language: str = "en", slugs: tuple[str, ...] = ()) -> list[str]:
    _, problems = check_courses(courses, slugs=slugs, types=TYPES, language=language)
    return [p.format() for p in problems]


def base(extra: str = "", **lessons: str) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {"index.md": INDEX.format(extra=extra)}
    files["01-mot.md"] = LESSON.format(n=1)
    for name, text in lessons.items():
        files[name.replace("_", "-") + ".md"] = text
    return files


def only(messages: list[str], needle: str) -> str:
    found = [m for m in messages if needle in m]
    assert len(found) == 1, messages
    return found[0]


def test_a_clean_course_and_the_skeleton_pass(tmp_path: Path) -> None:
    courses = make(tmp_path, base())
    assert check(courses) == []
    new_course(courses, "khoa-moi")
    assert check(courses, slugs=("khoa-moi",)) == []


def test_front_matter_errors(tmp_path: Path) -> None:
    files = base(extra="titel: x\nminutes: nhiều\n")
    files["index.md"] = str(files["index.md"]).replace("minutes: 10\n", "")
    files["02-hai.md"] = "no front matter\n"
    files["03-ba.md"] = "---\ntitle: [unclosed\n---\n"
    files["04-bon.md"] = "---\ntitle: Bốn\nminutes: 5\n"
    out = check(make(tmp_path, files))
    assert only(out, "titel").startswith("courses/khoa-thu/index.md:4:1: error: unknown setting")
    assert "did you mean 'title'" in only(out, "titel")
    assert "index.md:5:1: error: setting 'minutes'" in only(out, "'minutes'")
    assert "02-hai.md:1:1: error: the file must start with settings" in only(out, "02-hai")
    assert "03-ba.md:2:1: error: cannot read the settings" in only(out, "03-ba")
    assert "04-bon.md:1:1: error: the settings block is not closed" in only(out, "04-bon")


def test_missing_key_in_vietnamese(tmp_path: Path) -> None:
    files = base()
    files["01-mot.md"] = "---\nminutes: 5\n---\nNội dung.\n"
    out = check(make(tmp_path, files), language="vi")
    assert "01-mot.md:1:1: error: thiếu cài đặt 'title'" in only(out, "title")


def test_lesson_files(tmp_path: Path) -> None:
    files = base(extra="lessons: [mot, hai, ba]\n")
    files["02-mot.md"] = LESSON.format(n=2)
    files["ghi-chu.md"] = "notes"
    files["03-bon.md"] = LESSON.format(n=4)
    out = check(make(tmp_path, files))
    assert "error: lesson 'hai' is listed in 'lessons'" in only(out, "'hai'")
    assert "error: two lessons have the slug 'mot'" in only(out, "two lessons")
    assert "warning: 'ghi-chu.md' is not named like a lesson" in only(out, "ghi-chu")
    assert "warning: lesson 'bon' is not listed" in only(out, "'bon'")


def test_exercises(tmp_path: Path) -> None:
    lesson = LESSON.format(n=2) + QUIZ.format(id="q1", graded="") + QUIZ.format(id="q1", graded="")
    lesson += "\n```quizz id=q9\n? x\n```\n\n```python\nprint('code is fine')\n```\n"
    lesson += "\n```quiz id=q2\n? Câu hỏi\n- [ ] a\n- [ ] b\n```\n"
    out = check(make(tmp_path, base(**{"02_hai": lesson})))
    assert "02-hai.md:16:1: error: exercise id 'q1' is used twice" in only(out, "used twice")
    assert "error: no installed plugin provides the exercise type 'quizz'" in only(out, "quizz")
    assert "did you mean 'quiz'" in only(out, "quizz")
    assert any("02-hai.md:3" in m and "error" in m for m in out if "q2" in m or "correct" in m)


def test_links_anchors_and_outside(tmp_path: Path) -> None:
    lesson = LESSON.format(n=2) + (
        "\n[ok](01-mot.md#phan-mot) [same](#phan-mot) [web](https://example.com)\n"
        "[bad anchor](01-mot.md#khong-co) [here](#nowhere) [gone](05-nam.md)\n"
        "[up](../khac/index.md) [abs](/etc/passwd) [ftp](ftp://example.com/x)\n"
    )
    out = check(make(tmp_path, base(**{"02_hai": lesson})))
    assert (
        "courses/khoa-thu/02-hai.md:11:14: error: there is no heading '#khong-co' in 01-mot.md"
        in out
    )
    assert any("'#nowhere' in 02-hai.md" in m for m in out)
    assert any("'05-nam.md' does not exist" in m for m in out)
    assert any("'../khac/index.md' points outside" in m for m in out)
    assert any("'/etc/passwd' points outside" in m for m in out)
    assert any("ftp://example.com/x" in m and "not allowed" in m for m in out)
    assert not any("phan-mot" in m for m in out)


def test_images_files_and_symlinks(tmp_path: Path) -> None:
    lesson = LESSON.format(n=2) + (
        "\n![Sơ đồ](images/so-do.svg)\n\n![](images/khong-mo-ta.svg)\n\n"
        "![Ảnh lớn](images/lon.png)\n\n![Liên kết](images/lien-ket.svg)\n"
    )
    files = base(**{"02_hai": lesson})
    files["images/so-do.svg"] = "<svg xmlns='http://www.w3.org/2000/svg'/>"
    files["images/khong-mo-ta.svg"] = "<svg xmlns='http://www.w3.org/2000/svg'/>"
    files["images/lon.png"] = b"\x89PNG" + b"0" * (300 * 1024)
    files["images/thua.svg"] = "<svg/>"
    courses = make(tmp_path, files)
    secret = tmp_path / "secret.svg"
    secret.write_text("<svg/>", encoding="utf-8")
    os.symlink(secret, courses / "khoa-thu" / "images" / "lien-ket.svg")
    out = check(courses)
    assert "warning: image 'images/khong-mo-ta.svg' has no description" in only(out, "khong-mo-ta")
    assert "warning: image 'images/lon.png' is 300 KB" in only(out, "lon.png")
    assert "warning: 'images/thua.svg' is not used" in only(out, "thua")
    assert any("lien-ket.svg' is a symbolic link" in m and "error" in m for m in out)
    assert not any("so-do" in m for m in out)


def test_reading_time_warning(tmp_path: Path) -> None:
    long = LESSON.format(n=2) + ("chữ " * 4000)
    out = check(make(tmp_path, base(**{"02_hai": long})))
    assert "warning: the lesson has about 40" in only(out, "02-hai")


def test_prerequisites_and_completion(tmp_path: Path) -> None:
    a = base(extra="prerequisites: [khoa-b]\ncompletion:\n  rule: final\n  exercise: cuoi\n")
    make(tmp_path, a, slug="khoa-a")
    b = base(extra="prerequisites: [khoa-a, khoa-z]\n")
    b["02-hai.md"] = LESSON.format(n=2) + QUIZ.format(id="cuoi", graded="")
    courses = make(tmp_path, b, slug="khoa-b")
    out = check(courses)
    assert (
        "courses/khoa-a/index.md:5:1: error: prerequisites form a cycle: khoa-a → khoa-b → khoa-a"
        in " ".join(out)
    )
    assert "error: prerequisite 'khoa-z' is not a course" in only(out, "khoa-z")
    assert "khoa-a/index.md:8:1: error: the completion rule names exercise 'cuoi'" in only(
        out, "completion rule"
    )
    c = base(extra="completion:\n  rule: final\n  exercise: cuoi\n")
    c["02-hai.md"] = LESSON.format(n=2) + QUIZ.format(id="cuoi", graded="")
    out = check(make(tmp_path, c, slug="khoa-c"), slugs=("khoa-c",))
    assert "error: the final exercise 'cuoi' must be graded" in only(out, "final exercise")


def test_encodings_bom_crlf_and_bad_names(tmp_path: Path) -> None:
    files = base()
    files["01-mot.md"] = ("\ufeff" + LESSON.format(n=1)).replace("\n", "\r\n").encode("utf-8")
    files["02-hai.md"] = "---\ntitle: Bài hai\nminutes: 5\n---\nTiếng Việt\n".encode(
        "cp1258", "replace"
    )
    out = check(make(tmp_path, files))
    assert "02-hai.md:2:1: error: not UTF-8 text" in only(out, "UTF-8")
    assert not any("01-mot" in m for m in out)
    make(tmp_path, base(), slug="Khoa_Sai")
    out = check(tmp_path / "courses", slugs=("Khoa_Sai",))
    assert "is not a valid course folder name" in only(out, "Khoa_Sai")
    assert "there is no course 'khoa-tu'" in only(
        check(tmp_path / "courses", slugs=("khoa-tu",)), "khoa-tu"
    )


def test_messages_have_both_languages_with_the_same_fields() -> None:
    import string

    for key, (en, vi) in MESSAGES.items():
        fields_en = {f for _, f, _, _ in string.Formatter().parse(en) if f}
        fields_vi = {f for _, f, _, _ in string.Formatter().parse(vi) if f}
        assert fields_en == fields_vi, key


@pytest.mark.parametrize(
    "course", ["chi-thi-28-ke-hoach-tinh", "phong-chong-xam-hai", "moi-truong-an-toan"]
)
def test_sample_courses_pass_without_warnings(course: str) -> None:
    courses = Path(__file__).parent.parent / "courses"
    if not (courses / course).is_dir():
        pytest.fail(f"sample course {course} is missing")
    problems: list[Problem]
    loaded, problems = check_courses(courses, slugs=(course,), types=TYPES, language="vi")
    assert [p.format() for p in problems] == []
    kinds = {q.kind for e in loaded[0].exercises() for q in e.exercise.questions()}  # type: ignore[attr-defined]
    scenarios = any(
        entry.kind == "scenario" for e in loaded[0].exercises() for entry in e.exercise.entries
    )  # type: ignore[attr-defined]
    assert len(kinds) >= 5 and scenarios
    assert any(e.exercise.graded for e in loaded[0].exercises())
    assert len(loaded[0].lessons) >= 3


def test_raw_html_is_a_warning_unless_allowed(tmp_path: Path) -> None:
    lesson = LESSON.format(n=2) + "\n<div onclick='x()'>khối</div>\n\nChữ <b>đậm</b> ở đây.\n"
    courses = make(tmp_path, base(**{"02_hai": lesson}))
    out = check(courses)
    assert "02-hai.md:10:1: warning: raw HTML is not shown" in only(out, ":10:")
    assert "02-hai.md:12:5: warning: raw HTML is not shown" in only(out, ":12:")
    _, problems = check_courses(courses, types=TYPES, allow_html=True)
    assert problems == []

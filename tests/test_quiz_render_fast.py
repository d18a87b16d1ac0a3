"""The quiz form's HTML, byte for byte, against outputs frozen before render.py was sped up.

``render_quiz`` runs at every attempt start on the server, so it compiles each
quiz's fixed markup once and only fills in what the attempt's seed changes
(order, public ids, numbers).  Nothing about the page may change with that:
tests/data/quiz_render_golden.json holds, for a corpus of quizzes (every
sample course's quizzes, the golden-site course and synthetic quizzes that use
every question kind, every option and hostile text), the quizzes themselves as
JSON and the SHA-256 of each page rendered by the Jinja implementation for
many seeds and three languages (``fr`` falls back to Vietnamese).  The quizzes
are read back from the fixture rather than from courses/, so editing a sample
course does not break this test.

When a change to the page is intended, regenerate the fixture with
``LMS_UPDATE_GOLDEN=1 python -m pytest tests/test_quiz_render_fast.py`` and
review the diff of the sample pages (``samples``) like any other change.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from lms_core.courses import check_courses
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_quiz.model import (
    QUESTION_KINDS,
    AcceptedAnswer,
    DrawRule,
    FillBlanks,
    Gap,
    Item,
    Matching,
    MultipleChoice,
    Numeric,
    NumericAnswer,
    Option,
    Ordering,
    Pair,
    Quiz,
    Scenario,
    ShortAnswer,
    SingleChoice,
    TrueFalse,
)
from lms_quiz.render import render_quiz
from lms_quiz.view import public_view, shared_view

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "data" / "quiz_render_golden.json"
LANGUAGES = ("vi", "en", "fr")
SEEDS = (*range(31), 987_654_321, 2**63 - 1)
SAMPLES = (("synthetic/every-kind", "vi", 0), ("synthetic/every-kind", "en", 5))
"""Pages kept whole in the fixture, so that a failure can be read as a diff."""

HOSTILE = (
    "<b>\"x\"</b> & 'y' <script>alert(1)</script> {n} {item} {0} {{ s }} {% if %} %s \u2028 \u2029"
)
"""Text that must come out escaped wherever it lands, and that no str.format or
template syntax may interpret."""


def _every_kind_quiz() -> Quiz:
    return Quiz(
        id='bai-"1"&<x>{n}',
        title=f"Kiểm tra **cuối** bài {HOSTILE}",
        shuffle_questions=True,
        shuffle_options=True,
        entries=[
            SingleChoice(
                id="q1",
                prompt=f"Tổng đài **nào**? {HOSTILE} [x](javascript:alert(2))"
                " [ok](https://e.vn?a=1&b=2)",
                options=[
                    Option(id="a", text="113"),
                    Option(id="b", text="*111*", correct=True, feedback="FEEDBACK-OPTION"),
                    Option(id="c", text=HOSTILE),
                    Option(id="d", text="Tất cả các ý trên", fixed=True),
                    Option(id="e", text="`code <x>` &amp; &copy; \\* "),
                ],
                feedback="FEEDBACK-GENERAL",
                hint="Nghĩ đến **trách nhiệm** thông báo.\n\n- một\n- hai <i>",
            ),
            MultipleChoice(
                id='q"2<&>',
                prompt="Dấu hiệu?\n\n> trích dẫn\n\n```\n<pre>\n```",
                points=2,
                scoring="all-or-nothing",
                options=[
                    Option(id="a", text="Vết bầm", correct=True),
                    Option(id="b", text="Sợ hãi", correct=True, credit=0.5),
                    Option(id="c", text="Thể thao", credit=-1),
                    Option(id="d", text=" "),
                ],
            ),
            MultipleChoice(
                id="q2b",
                prompt="Không xáo trộn",
                shuffle=False,
                options=[Option(id="a", text="A", correct=True), Option(id="b", text="B")],
            ),
            TrueFalse(
                id="q3",
                prompt=f"Trẻ em là người dưới 16 tuổi. {HOSTILE}",
                points=0.5,
                answer=True,
                feedback_true="FEEDBACK-TRUE",
                feedback_false="FEEDBACK-FALSE",
                hint="   ",
            ),
            ShortAnswer(
                id="q4",
                prompt="",
                points=1.25,
                answers=[AcceptedAnswer(text="ANSWER-SHORT", feedback="FEEDBACK-SHORT")],
                hint=HOSTILE,
            ),
            Numeric(
                id="q5",
                prompt="Tỉ lệ?",
                points=1e-7,
                answers=[NumericAnswer(low=17.7, high=18.7, source="SOURCE-NUMERIC")],
            ),
            Matching(
                id="q6",
                prompt="Nối",
                points=3,
                pairs=[
                    Pair(id="p1", left="Sở *Y tế*", right="Dinh dưỡng"),
                    Pair(id="p2", left=HOSTILE, right=HOSTILE),
                    Pair(id="p3", left="", right="Khai sinh </script>"),
                    Pair(id="p4", left="Sở GD&ĐT", right="Dinh dưỡng"),
                    Pair(id="p5", left="  ", right="*không phải Markdown*"),
                ],
            ),
            Matching(
                id="q6b",
                prompt="Nối, không xáo trộn bên trái",
                shuffle=False,
                pairs=[
                    Pair(id="p1", left="Một", right="1"),
                    Pair(id="p2", left="Hai", right="2"),
                ],
            ),
            Ordering(
                id="q7",
                prompt="Sắp xếp",
                items=[
                    Item(id="i1", text="Tiếp nhận"),
                    Item(id="i2", text=HOSTILE),
                    Item(id="i3", text="**Báo cáo** {item}"),
                    Item(id="i4", text="Tiếp nhận"),
                ],
            ),
            Ordering(
                id="q7b",
                prompt="Hai mục",
                items=[Item(id="i1", text="Trước"), Item(id="i2", text="Sau")],
            ),
            FillBlanks(
                id="q9",
                prompt="Gap at both ends",
                segments=["", " giữa ", ""],
                gaps=[Gap(id="g1", answers=["a"]), Gap(id="g2", answers=["b"])],
            ),
            FillBlanks(
                id="q10",
                prompt="A gap inside a link destination and inside an image description",
                segments=["Xem [trang](https://e.vn/", ") và ![ảnh ", " nữa](a.png) hết."],
                gaps=[Gap(id="g1", answers=["a"]), Gap(id="g2", answers=["b"])],
            ),
            FillBlanks(
                id="q11",
                prompt="Segments holding the private-use gap markers",
                segments=["Ký tự \ue000 lạ ", " và \ue0010\ue001 nữa"],
                gaps=[Gap(id="g1", answers=["a"])],
            ),
            FillBlanks(
                id="q12",
                prompt="Fewer segments than gaps need",
                segments=["Chỉ một đoạn "],
                gaps=[Gap(id="g1", answers=["a"]), Gap(id="g2", answers=["b"])],
            ),
            FillBlanks(
                id="q13",
                prompt="More segments than gaps need",
                segments=["Một ", " hai ", " ba", " bốn"],
                gaps=[Gap(id="g1", answers=["a"])],
            ),
            FillBlanks(
                id="q14",
                prompt="Gaps across paragraphs",
                segments=[f"Đoạn một {HOSTILE} ", "\n\nĐoạn *hai* ", "\n\n- mục ", " cuối."],
                gaps=[Gap(id=f"g{i}", answers=["x"]) for i in range(3)],
            ),
            Scenario(
                id="s1",
                title=f"Tình huống: Em H. {HOSTILE}",
                description="Giáo viên thấy *vết bầm*.",
                questions=[
                    FillBlanks(
                        id="q8",
                        prompt="Trẻ em là người dưới  tuổi.",
                        segments=["Trẻ em là người **dưới** ", " tuổi, từ ", "."],
                        gaps=[
                            Gap(id="g1", answers=["ANSWER-GAP"]),
                            Gap(id="g2", answers=["16"]),
                        ],
                    ),
                    SingleChoice(
                        id="q8b",
                        prompt="Trong tình huống",
                        options=[
                            Option(id="a", text="Có", correct=True),
                            Option(id="b", text="Không"),
                        ],
                    ),
                ],
            ),
            Scenario(
                id="s2",
                title="",
                description="",
                questions=[TrueFalse(id="q15", prompt="Không mô tả", answer=False)],
            ),
        ],
    )


def _graded_drawn_quiz() -> Quiz:
    return Quiz(
        id="kiem-tra",
        graded=True,
        pass_mark=72.5,
        max_attempts=2,
        time_limit_minutes=45,
        grading="average",
        shuffle_questions=True,
        draw=[DrawRule(tag="luat", count=2), DrawRule(count=3)],
        entries=[
            SingleChoice(
                id=f"c{i}",
                prompt=f"Câu **{i}** {HOSTILE if i % 3 == 0 else ''}",
                tags=["luat"] if i % 2 else [],
                points=1 if i % 4 else 2.5,
                options=[
                    Option(id="a", text=f"Đáp án {i}", correct=True),
                    Option(id="b", text="Sai"),
                    Option(id="c", text="Sai nữa"),
                ],
            )
            for i in range(8)
        ]
        + [
            Scenario(
                id="tinh-huong",
                title="Tình huống",
                description="Mô tả **tình huống**.",
                tags=["luat"],
                questions=[
                    Ordering(
                        id="o1",
                        prompt="Thứ tự",
                        items=[Item(id="i1", text="Một"), Item(id="i2", text="Hai")],
                    ),
                    Numeric(
                        id="n1",
                        prompt="Bao nhiêu?",
                        answers=[NumericAnswer(low=16, high=16, source="16")],
                    ),
                ],
            )
        ],
    )


def _graded_plain_quiz() -> Quiz:
    return Quiz(
        id="q",
        title="Một câu",
        graded=True,
        pass_mark=0,
        entries=[
            ShortAnswer(id="q1", prompt="Tên?", answers=[AcceptedAnswer(text="A")]),
        ],
    )


def _practice_limits_quiz() -> Quiz:
    return Quiz(
        id="luyen",
        max_attempts=5,
        time_limit_minutes=1,
        shuffle_options=True,
        entries=[
            Matching(
                id="m",
                prompt="Nối",
                pairs=[Pair(id="p1", left="A", right="1"), Pair(id="p2", left="B", right="1")],
            ),
            TrueFalse(id="t", prompt="Đúng?", answer=True, points=1.0),
        ],
    )


def synthetic_quizzes() -> dict[str, Quiz]:
    """Hand-made quizzes: every kind, option and meta line, and hostile text everywhere."""
    return {
        "synthetic/every-kind": _every_kind_quiz(),
        "synthetic/every-kind-graded": _every_kind_quiz().model_copy(
            update={"graded": True, "max_attempts": 3}
        ),
        "synthetic/graded-drawn": _graded_drawn_quiz(),
        "synthetic/graded-plain": _graded_plain_quiz(),
        "synthetic/practice-limits": _practice_limits_quiz(),
    }


def course_quizzes() -> dict[str, Quiz]:
    """Every quiz of the sample courses and of the golden-site course, as written today."""
    types = exercise_types(make_plugin_manager())
    out: dict[str, Quiz] = {}
    for folder in (ROOT / "courses", ROOT / "tests" / "fixtures" / "golden" / "courses"):
        loaded, problems = check_courses(folder, types=types)
        assert not [p for p in problems if p.severity == "error"], problems
        for course in loaded:
            for found in course.exercises():
                if isinstance(found.exercise, Quiz):
                    out[f"{course.slug}/{found.exercise.id}"] = found.exercise
    return out


def _digest(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


def _renders(quiz: Quiz) -> dict[str, list[str]]:
    return {
        language: [_digest(render_quiz(quiz, seed=seed, language=language)) for seed in SEEDS]
        for language in LANGUAGES
    }


def _write_fixture() -> None:
    quizzes = {**course_quizzes(), **synthetic_quizzes()}
    stored = {name: quiz.model_dump(mode="json") for name, quiz in quizzes.items()}
    frozen = {name: Quiz.model_validate(data) for name, data in stored.items()}
    fixture = {
        "seeds": list(SEEDS),
        "languages": list(LANGUAGES),
        "quizzes": stored,
        "renders": {name: _renders(quiz) for name, quiz in frozen.items()},
        "samples": {
            f"{name} {language} {seed}": render_quiz(frozen[name], seed=seed, language=language)
            for name, language, seed in SAMPLES
        },
    }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(
        json.dumps(fixture, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


if os.environ.get("LMS_UPDATE_GOLDEN"):
    _write_fixture()


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert data["seeds"] == list(SEEDS)
    assert data["languages"] == list(LANGUAGES)
    return data


def _names() -> list[str]:
    return sorted(json.loads(FIXTURE.read_text(encoding="utf-8"))["quizzes"])


def test_fixture_covers_every_kind_and_option(golden: dict[str, Any]) -> None:
    quizzes = [Quiz.model_validate(data) for data in golden["quizzes"].values()]
    kinds = {q.kind for quiz in quizzes for q in quiz.questions()}
    assert kinds == set(QUESTION_KINDS)
    assert any(e.kind == "scenario" for quiz in quizzes for e in quiz.entries)
    assert {quiz.graded for quiz in quizzes} == {True, False}
    assert any(quiz.time_limit_minutes and quiz.max_attempts for quiz in quizzes)
    assert any(quiz.draw for quiz in quizzes)
    assert len([name for name in golden["quizzes"] if not name.startswith("synthetic/")]) >= 15


def test_fixture_holds_the_synthetic_quizzes_of_this_file(golden: dict[str, Any]) -> None:
    for name, quiz in synthetic_quizzes().items():
        assert Quiz.model_validate(golden["quizzes"][name]) == quiz, name


@pytest.mark.parametrize("name", _names())
def test_pages_are_byte_identical_to_the_frozen_ones(golden: dict[str, Any], name: str) -> None:
    quiz = Quiz.model_validate(golden["quizzes"][name])
    for language in LANGUAGES:
        for seed, expected in zip(SEEDS, golden["renders"][name][language], strict=True):
            html = render_quiz(quiz, seed=seed, language=language)
            sample = golden["samples"].get(f"{name} {language} {seed}")
            if sample is not None:
                assert html == sample
            assert _digest(html) == expected, (name, language, seed)


def test_an_equal_quiz_object_and_interleaved_languages_give_the_same_pages(
    golden: dict[str, Any],
) -> None:
    """Compiled markup is remembered per quiz object: a fresh copy and a mix of
    languages on one object must not see each other's markup."""
    name = "synthetic/every-kind"
    first = Quiz.model_validate(golden["quizzes"][name])
    second = Quiz.model_validate(golden["quizzes"][name])
    for index, seed in enumerate(SEEDS):
        for language in ("en", "vi", "fr") if index % 2 else LANGUAGES:
            position = LANGUAGES.index(language)
            expected = golden["renders"][name][LANGUAGES[position]][index]
            assert _digest(render_quiz(second, seed=seed, language=language)) == expected
            assert _digest(render_quiz(first, seed=seed, language=language)) == expected


def test_a_changed_public_view_does_not_change_the_page(golden: dict[str, Any]) -> None:
    """The server asks for the view and then for the form of the same attempt;
    whatever a caller does to the view it was given, the form stays the same."""
    name = "synthetic/every-kind"
    quiz = Quiz.model_validate(golden["quizzes"][name])
    view = public_view(quiz, seed=3)
    pristine = json.loads(json.dumps(view))
    view["title"] = "<script>changed</script>"
    view["entries"].clear()
    assert _digest(render_quiz(quiz, seed=3, language="vi")) == golden["renders"][name]["vi"][3]
    assert public_view(quiz, seed=3) == pristine
    assert public_view(quiz, seed=3) is not public_view(quiz, seed=3)


def _containers(value: object) -> dict[int, object]:
    """Every dict and list inside ``value``, by identity."""
    found: dict[int, object] = {}
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found[id(item)] = item
            stack.extend(item.values())
        elif isinstance(item, list):
            found[id(item)] = item
            stack.extend(item)
    return found


def test_public_view_shares_no_container_with_the_view_the_form_reads(
    golden: dict[str, Any],
) -> None:
    """public_view copies the remembered view with a copier written for its
    shape: a list or dict added to the view must be copied too."""
    for name, data in golden["quizzes"].items():
        quiz = Quiz.model_validate(data)
        for seed in (0, 1, 2):
            copied = public_view(quiz, seed=seed)
            shared = shared_view(quiz, seed=seed)
            assert copied == shared, name
            assert not _containers(copied).keys() & _containers(shared).keys(), name

"""The quiz as HTML: accessible structure, escaping, and nothing secret in graded pages.

The HTML is parsed with :mod:`html.parser` (what a browser's DOM would see
structurally), not matched with regular expressions.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest

from lms_quiz.model import (
    AcceptedAnswer,
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
from lms_quiz.view import practice_key, public_view

SECRETS = [
    "FEEDBACK-OPTION",
    "FEEDBACK-GENERAL",
    "FEEDBACK-TRUE",
    "FEEDBACK-FALSE",
    "ANSWER-SHORT",
    "FEEDBACK-SHORT",
    "SOURCE-NUMERIC",
    "ANSWER-GAP",
]


def quiz(*, graded: bool, **options: Any) -> Quiz:
    return Quiz(
        id="bai-1",
        title="Kiểm tra **cuối** bài",
        graded=graded,
        shuffle_options=True,
        shuffle_questions=True,
        entries=[
            SingleChoice(
                id="q1",
                prompt="Tổng đài **nào**? <script>alert(1)</script> [x](javascript:alert(2))",
                options=[
                    Option(id="a", text="113"),
                    Option(id="b", text="*111*", correct=True, feedback="FEEDBACK-OPTION"),
                ],
                feedback="FEEDBACK-GENERAL",
                hint="Nghĩ đến **trách nhiệm** thông báo.",
            ),
            MultipleChoice(
                id="q2",
                prompt="Dấu hiệu?",
                options=[
                    Option(id="a", text="Vết bầm", correct=True),
                    Option(id="b", text="Sợ hãi", correct=True),
                    Option(id="c", text="Thể thao"),
                ],
            ),
            TrueFalse(
                id="q3",
                prompt="Trẻ em là người dưới 16 tuổi.",
                answer=True,
                feedback_true="FEEDBACK-TRUE",
                feedback_false="FEEDBACK-FALSE",
            ),
            ShortAnswer(
                id="q4",
                prompt="Cơ quan?",
                answers=[AcceptedAnswer(text="ANSWER-SHORT", feedback="FEEDBACK-SHORT")],
            ),
            Numeric(
                id="q5",
                prompt="Tỉ lệ?",
                answers=[NumericAnswer(low=17.7, high=18.7, source="SOURCE-NUMERIC")],
            ),
            Matching(
                id="q6",
                prompt="Nối",
                pairs=[
                    Pair(id="p1", left="Sở Y tế", right="Dinh dưỡng"),
                    Pair(id="p2", left="Công an", right="Phòng chống tội phạm"),
                    Pair(id="p3", left="", right="Khai sinh </script>"),
                ],
            ),
            Ordering(
                id="q7",
                prompt="Sắp xếp",
                items=[Item(id="i1", text="Tiếp nhận"), Item(id="i2", text="Báo cáo")],
            ),
            Scenario(
                id="s1",
                title="Tình huống: Em H.",
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
                    )
                ],
            ),
        ],
        **options,
    )


class Page(HTMLParser):
    """Elements with attributes, text, and the label structure of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.label_for: set[str] = set()
        self.wrapped: set[int] = set()  # indices of controls inside a <label>
        self.fieldsets: list[list[str]] = []  # child tags of each fieldset, in order
        self.scripts: dict[str, str] = {}
        self.noscript = ""
        self._script: str | None = None
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if self.stack and self.stack[-1] == "fieldset" and self.fieldsets:
            self.fieldsets[-1].append(tag)
        self.elements.append((tag, a))
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"] or "")
        if tag in ("input", "select", "textarea") and "label" in self.stack:
            self.wrapped.add(len(self.elements) - 1)
        if tag == "fieldset":
            self.fieldsets.append([])
        if tag == "script":
            self._script = a.get("class") or ""
            self.scripts[self._script] = ""
        if tag not in ("input", "br", "img", "hr", "meta", "link"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts[self._script] += data
        elif "noscript" in self.stack:
            self.noscript += data
        else:
            self.text.append(data)

    def controls(self) -> list[tuple[int, str, dict[str, str | None]]]:
        return [
            (i, tag, a)
            for i, (tag, a) in enumerate(self.elements)
            if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit")
        ]

    def data(self) -> dict[str, Any]:
        return json.loads(self.scripts["quiz-data"])


@pytest.mark.parametrize("graded", [True, False])
@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_control_has_a_label_and_every_question_a_legend(graded, language):
    page = Page(render_quiz(quiz(graded=graded), seed=7, language=language))
    controls = page.controls()
    assert (
        len(controls) >= 2 + 3 + 2 + 1 + 1 + 2 + 2
    )  # radios, boxes, t/f, text, number, selects, gaps
    for index, tag, a in controls:
        labelled = a.get("id") in page.label_for or index in page.wrapped or a.get("aria-label")
        assert labelled, (tag, a)
    ids = [a["id"] for _, a in page.elements if a.get("id")]
    assert len(ids) == len(set(ids)), "duplicate element ids"
    assert len(page.fieldsets) == 8
    assert all(children and children[0] == "legend" for children in page.fieldsets)


def test_structure_of_each_question_type():
    html = render_quiz(quiz(graded=True), seed=7, language="vi")
    page = Page(html)
    by_tag = [(t, a) for t, a in page.elements]
    section = next(
        a for t, a in by_tag if t == "section" and "quiz" in (a.get("class") or "").split()
    )
    assert section["data-quiz-id"] == "bai-1"
    kinds = {a["data-question-id"]: a["data-kind"] for t, a in by_tag if t == "fieldset"}
    assert kinds == {
        "q1": "single",
        "q2": "multiple",
        "q3": "truefalse",
        "q4": "short",
        "q5": "numeric",
        "q6": "matching",
        "q7": "ordering",
        "q8": "blanks",
    }
    radios = [a for t, a in by_tag if t == "input" and a.get("type") == "radio"]
    assert {a["name"] for a in radios} == {"bai-1--q1", "bai-1--q3"}
    assert len([a for t, a in by_tag if t == "input" and a.get("type") == "checkbox"]) == 3
    numeric = next(a for t, a in by_tag if t == "input" and a.get("name") == "bai-1--q5")
    assert numeric["inputmode"] == "decimal"
    selects = [a for t, a in by_tag if t == "select"]
    assert len(selects) == 2
    options = [a for t, a in by_tag if t == "option"]
    assert len(options) == 2 * (3 + 1)  # three choices and "choose" in each select
    buttons = [a for t, a in by_tag if t == "button"]
    moves = [a for a in buttons if a.get("class") in ("quiz-up", "quiz-down")]
    assert len(moves) == 4 and all(a["type"] == "button" and a.get("aria-label") for a in moves)
    assert any(a.get("type") == "submit" for a in buttons)
    assert any(t == "ol" and a.get("class") == "quiz-ordering" for t, a in by_tag)
    gaps = [a for t, a in by_tag if t == "input" and a.get("class") == "quiz-gap"]
    assert len(gaps) == 2
    assert "Tình huống: Em H." in page.text
    assert "Nộp bài" in "".join(page.text)
    assert page.noscript.strip() == "Bài kiểm tra này cần bật JavaScript."
    assert "<strong>nào</strong>" in html and "<em>vết bầm</em>" in html
    assert "<strong>trách nhiệm</strong>" in html  # the hint, in a <details>


def test_english_interface_strings():
    page = Page(render_quiz(quiz(graded=False), seed=7, language="en"))
    assert page.noscript.strip() == "This quiz needs JavaScript to be enabled."
    assert "Check answers" in "".join(page.text)
    assert "True" in page.text and "False" in page.text


def test_unknown_language_falls_back_to_vietnamese():
    page = Page(render_quiz(quiz(graded=False), seed=7, language="fr"))
    assert page.noscript.strip() == "Bài kiểm tra này cần bật JavaScript."


def test_raw_html_and_scripts_never_pass_through():
    html = render_quiz(quiz(graded=True), seed=7, language="vi")
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html  # left as text, never a link
    page = Page(html)
    assert list(page.scripts) == ["quiz-data"]  # the only script element is the data block
    assert html.count("</script>") == 1
    assert page.data()["view"]["entries"]  # still valid JSON despite "</script>" in a text


def test_graded_html_holds_the_public_view_and_no_secret():
    graded = quiz(graded=True)
    html = render_quiz(graded, seed=7, language="vi")
    for secret in SECRETS:
        assert secret not in html
    data = Page(html).data()
    assert set(data) == {"view"}
    assert data["view"] == json.loads(json.dumps(public_view(graded, seed=7)))
    for author_id in ('value="a"', 'value="b"', 'value="p1"', 'data-item-id="i1"'):
        assert author_id not in html


def test_practice_html_embeds_the_key():
    practice = quiz(graded=False)
    html = render_quiz(practice, seed=7, language="vi")
    data = Page(html).data()
    assert set(data) == {"view", "key"}
    assert data["key"] == json.loads(json.dumps(practice_key(practice, seed=7)))
    text = json.dumps(data, ensure_ascii=False)
    for secret in ("FEEDBACK-OPTION", "FEEDBACK-GENERAL", "FEEDBACK-TRUE", "ANSWER-SHORT"):
        assert secret in text


def test_shown_order_and_ids_follow_the_seed():
    practice = quiz(graded=False)
    assert render_quiz(practice, seed=7, language="vi") == render_quiz(
        practice, seed=7, language="vi"
    )
    assert render_quiz(practice, seed=7, language="vi") != render_quiz(
        practice, seed=8, language="vi"
    )


def test_gap_inside_an_image_description_falls_back_safely():
    q = FillBlanks(
        id="q1",
        prompt="",
        segments=["Xem ![ảnh ", "](hinh.png) và ", "."],
        gaps=[Gap(id="g1", answers=["a"]), Gap(id="g2", answers=["b"])],
    )
    html = render_quiz(Quiz(id="x", entries=[q], graded=True), seed=1, language="vi")
    page = Page(html)
    gaps = [a for t, a in page.elements if t == "input" and a.get("class") == "quiz-gap"]
    assert len(gaps) == 2
    for _, tag, a in page.controls():
        assert a.get("id") in page.label_for, (tag, a)
    assert "\ue000" not in html


def test_meta_lines_for_graded_quizzes():
    html = render_quiz(
        quiz(graded=True, max_attempts=3, time_limit_minutes=20), seed=1, language="vi"
    )
    text = "".join(Page(html).text)
    assert "Điểm đạt: 80%" in text
    assert "Số lần làm tối đa: 3" in text
    assert "Thời gian: 20 phút" in text
    assert "Kiểm tra **cuối** bài" in text  # the title is text, not Markdown

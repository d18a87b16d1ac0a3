"""GIFT import and export, and the Markdown writer they rely on.

Three round trips are checked, on hand-written samples and on generated data:

* Markdown: ``parse_quiz(write_quiz(q)) == q`` for any quiz the syntax can hold;
* GIFT → ours → GIFT: a corpus of GIFT files (Moodle documentation style and
  real Vietnamese child-protection content) re-imports equal after export;
* ours → GIFT → ours: generated quizzes that GIFT can express come back equal.

``line`` fields are ignored in every comparison.  Malformed GIFT never raises:
each bad question is reported with its line and column.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lms_core.errors import LmsError
from lms_core.exercises import extract_blocks
from lms_quiz.gift import ImportResult, export_gift, import_gift, slugify
from lms_quiz.model import (
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
    Question,
    Quiz,
    Scenario,
    ShortAnswer,
    SingleChoice,
    TrueFalse,
)
from lms_quiz.write import (
    BLANK,
    answer_text,
    one_line,
    option_id,
    protect_lines,
    write_lesson,
    write_quiz,
)

# ------------------------------------------------------------------ helpers


def plain(value: Any) -> Any:
    """A model as data with every ``line`` set to 0 (line numbers are not content)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        return {k: 0 if k == "line" else plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def gift(text: str, **options: Any) -> ImportResult:
    options.setdefault("language", "en")
    return import_gift(text, file="bai-kiem-tra.gift", quiz_id="kiem-tra", **options)


def one(text: str) -> Question:
    """The only question of a GIFT text, asserting nothing was skipped or lost."""
    result = gift(text)
    assert result.skipped == [], [p.format() for p in result.skipped]
    assert result.quiz is not None
    [question] = result.quiz.questions()
    return question


def reparse(quiz: Quiz) -> Quiz:
    """Write the quiz as Markdown and parse it back (needs ``lms_quiz.parse``)."""
    parse = pytest.importorskip("lms_quiz.parse")
    text = write_quiz(quiz)
    blocks, problems = extract_blocks(text, file="bai.md", kinds={"quiz": object()})
    assert problems == []
    assert len(blocks) == 1
    parsed: Quiz = parse.parse_quiz(blocks[0])
    return parsed


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two plain structures differ, as readable paths (for assertion messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += differences(a.get(key), b.get(key), f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def assert_markdown_round_trip(quiz: Quiz) -> None:
    try:
        back = reparse(quiz)
    except Exception as exc:  # show the Markdown that failed
        problems = getattr(exc, "problems", [])
        detail = "\n".join(p.format() for p in problems)
        raise AssertionError(f"{detail}\n--- written:\n{write_quiz(quiz)}") from exc
    diff = differences(plain(quiz), plain(back))
    assert not diff, "\n".join(diff) + "\n--- written:\n" + write_quiz(quiz)


def assert_gift_round_trip(quiz: Quiz) -> None:
    """Export → import gives the same quiz; nothing skipped on the way back."""
    exported = export_gift(quiz)
    back = import_gift(exported.text, file="x.gift", quiz_id=quiz.id, graded=quiz.graded)
    assert back.skipped == [], (exported.text, [p.format() for p in back.skipped])
    assert back.quiz is not None, exported.text
    diff = differences(plain(quiz), plain(back.quiz))
    assert not diff, "\n".join(diff) + "\n--- exported:\n" + exported.text


def where(result: ImportResult) -> list[tuple[int, int]]:
    return [(p.line, p.column) for p in result.skipped]


# ------------------------------------------------------------------ the writer


def every_type_quiz() -> Quiz:
    return Quiz(
        id="kiem-tra-cuoi",
        graded=True,
        pass_mark=62.5,
        max_attempts=3,
        grading="last",
        time_limit_minutes=20,
        title='Kiểm tra "cuối" khoá',
        shuffle_questions=True,
        shuffle_options=True,
        draw=[DrawRule(tag="luat", count=2), DrawRule(count=2)],
        entries=[
            SingleChoice(
                id="tong-dai",
                prompt="Tổng đài quốc gia bảo vệ trẻ em là số nào?",
                points=2,
                tags=["luat", "lien-he"],
                hint="Số có ba chữ số.",
                feedback="Tổng đài 111 miễn phí, 24/7.",
                options=[
                    Option(id="a", text="113"),
                    Option(id="b", text="111", correct=True, feedback="Đúng.\nMiễn phí."),
                    Option(id="c", text="115", credit=0.5, feedback="Gần đúng."),
                    Option(id="d", text=answer_text("{50%} không phải điểm"), credit=-0.25),
                ],
                shuffle=False,
            ),
            MultipleChoice(
                id="q2",
                prompt="Những dấu hiệu nào có thể cho thấy trẻ bị bạo lực?\n\n* Chọn mọi ý đúng.",
                tags=["luat"],
                options=[
                    Option(id="a", text="Vết bầm tím không rõ nguyên nhân", correct=True),
                    Option(id="b", text="Thích chơi thể thao"),
                    Option(id="c", text="Thay đổi hành vi đột ngột", correct=True),
                ],
                scoring="all-or-nothing",
            ),
            MultipleChoice(
                id="q3",
                prompt="Chọn các cơ quan phối hợp (có trọng số).",
                options=[
                    Option(id="a", text="Sở Y tế", correct=True, credit=0.6),
                    Option(id="b", text="Công an tỉnh", correct=True, credit=0.4),
                    Option(id="c", text="Ngân hàng", credit=-1.0),
                ],
            ),
            MultipleChoice(
                id="q4",
                prompt="Chỉ một đáp án đúng nhưng là câu nhiều đáp án.",
                options=[
                    Option(id="a", text="Đúng", correct=True),
                    Option(id="b", text="Sai"),
                ],
            ),
            TrueFalse(
                id="q5",
                prompt="Trẻ em là người dưới 16 tuổi.",
                answer=True,
                feedback_true="Đúng: Điều 1.",
                feedback_false="Xem lại Điều 1.",
            ),
            ShortAnswer(
                id="q6",
                prompt="Cơ quan thường trực về công tác trẻ em của tỉnh?",
                answers=[
                    AcceptedAnswer(text="Sở Y tế"),
                    AcceptedAnswer(text="SYT", credit=0.5, feedback="Viết tắt."),
                ],
                ignore_accents=True,
            ),
            ShortAnswer(
                id="q7",
                prompt="Số tổng đài (gõ như chữ)?",
                answers=[AcceptedAnswer(text="111"), AcceptedAnswer(text="1..2")],
            ),
            Numeric(
                id="q8",
                prompt="Tỉ lệ suy dinh dưỡng thấp còi (%)?",
                answers=[
                    NumericAnswer(low=18.2 - 0.5, high=18.2 + 0.5, source="18,2 ± 0,5"),
                    NumericAnswer(low=30, high=60, source="30..60", credit=0.5, feedback="Gần."),
                    NumericAnswer(low=16, high=16, source="16"),
                ],
            ),
            Matching(
                id="q9",
                prompt="Nối mỗi cơ quan với nhiệm vụ chính.",
                pairs=[
                    Pair(id="p1", left="Sở Y tế", right="Dinh dưỡng, tiêm chủng"),
                    Pair(id="p2", left="Công an tỉnh", right="Phòng chống tội phạm"),
                    Pair(id="p3", left="", right="Cấp giấy khai sinh"),
                ],
                shuffle=False,
            ),
            Ordering(
                id="q10",
                prompt="Sắp xếp các bước xử lý.",
                items=[
                    Item(id="i1", text="Tiếp nhận thông tin"),
                    Item(id="i2", text="Báo cáo"),
                    Item(id="i3", text="Theo dõi"),
                ],
            ),
            FillBlanks(
                id="q11",
                prompt=BLANK.join(["Trẻ em là người dưới ", " tuổi; từ ", " đến dưới 18."]),
                segments=["Trẻ em là người dưới ", " tuổi; từ ", " đến dưới 18."],
                gaps=[Gap(id="g1", answers=["16", "mười sáu"]), Gap(id="g2", answers=["16"])],
                ignore_accents=True,
            ),
            Scenario(
                id="s1",
                title="Tình huống: Em H., 9 tuổi",
                description="Giáo viên thấy em H. có vết bầm.\n\n- Em thường ngồi một mình.",
                questions=[
                    SingleChoice(
                        id="q12",
                        prompt="Việc đầu tiên giáo viên nên làm?",
                        options=[
                            Option(id="a", text="Trách phạt cha mẹ em"),
                            Option(id="b", text="Trò chuyện riêng, nhẹ nhàng", correct=True),
                        ],
                    ),
                    TrueFalse(id="bao-cao", prompt="Cần báo Ban giám hiệu.", answer=False),
                ],
            ),
            TrueFalse(id="q14", prompt="Câu sau tình huống.", answer=False, points=0.5),
        ],
    )


def test_write_quiz_round_trips_every_type_and_field() -> None:
    quiz = every_type_quiz()
    text = write_quiz(quiz)
    assert text.startswith("```quiz id=kiem-tra-cuoi graded pass=62.5 attempts=3 ")
    assert 'title="Kiểm tra \\"cuối\\" khoá"' in text
    assert "draw=luat:2,2" in text
    for expected in (
        "- ( ) {50%} 115",
        "- ( ) {-25%} \\{50%} không phải điểm",
        "  > Đúng.\n  > Miễn phí.",
        "type: multiple",
        "scoring: all-or-nothing",
        "match: ignore-accents",
        "shuffle: no",
        "if-false: Xem lại Điều 1.",
        "type: short",
        "= 18,2 ± 0,5",
        "= {50%} 30..60",
        "- -> Cấp giấy khai sinh",
        "type: ordering\n1. Tiếp nhận thông tin",
        "? Trẻ em là người dưới [[16|mười sáu]] tuổi; từ [[16]] đến dưới 18.",
        "## Tình huống: Em H., 9 tuổi",
        "## end",
        "id: bao-cao",
        "points: 0.5",
    ):
        assert expected in text, expected
    assert "id: q12" not in text  # default numbering counts the case study's questions
    assert_markdown_round_trip(quiz)


def test_write_escapes_prompt_lines_that_would_read_as_syntax() -> None:
    raw = "Đọc kỹ:\n- [ ] không phải phương án\n= không phải đáp án\nhint: không phải gợi ý\n"
    raw += "---\n? không phải câu hỏi\n## không phải tình huống\n[[không phải ô trống]]"
    raw += "\n- gạch đầu dòng thường\n1. danh sách\n> trích dẫn\nLưu ý: văn xuôi"
    written = protect_lines(raw)
    assert written.split("\n")[1:] == [
        "\\- [ ] không phải phương án",
        "\\= không phải đáp án",
        "hint\\: không phải gợi ý",
        "\\---",
        "\\? không phải câu hỏi",
        "\\## không phải tình huống",
        "\\[\\[không phải ô trống]]",
        "- gạch đầu dòng thường",
        "1. danh sách",
        "> trích dẫn",
        "Lưu ý: văn xuôi",
    ]
    assert protect_lines(written) == written  # idempotent
    quiz = Quiz(
        id="t",
        entries=[
            TrueFalse(id="q1", prompt=written, answer=True),
            Scenario(
                id="s1",
                title="Tình huống",
                description=protect_lines(
                    "? không phải câu hỏi\n## end\n- [ ] mô tả", description=True
                ),
                questions=[TrueFalse(id="q2", prompt="Câu hỏi.", answer=False)],
            ),
        ],
    )
    assert_markdown_round_trip(quiz)


def test_write_uses_a_longer_fence_when_the_prompt_has_one() -> None:
    prompt = "Đoạn mã:\n```\nbáo cáo\n```"
    quiz = Quiz(id="t", entries=[TrueFalse(id="q1", prompt=prompt, answer=True)])
    text = write_quiz(quiz)
    assert text.startswith("````quiz id=t\n") and text.endswith("\n````\n")
    assert_markdown_round_trip(quiz)


def test_write_lesson_has_front_matter_and_every_block() -> None:
    quizzes = [
        Quiz(id="a", entries=[TrueFalse(id="q1", prompt="Một.", answer=True)]),
        Quiz(id="b", entries=[TrueFalse(id="q1", prompt="Hai.", answer=False)]),
    ]
    text = write_lesson(quizzes, title="Bài 5: Kiểm tra #1")
    assert text.startswith("---\n")
    front = text.split("---\n")[1]
    assert yaml.safe_load(front) == {"title": "Bài 5: Kiểm tra #1"}
    blocks, problems = extract_blocks(text, file="bai.md", kinds={"quiz": object()})
    assert problems == [] and [b.options["id"] for b in blocks] == ["a", "b"]


def test_write_true_false_in_english() -> None:
    quiz = Quiz(id="t", entries=[TrueFalse(id="q1", prompt="Yes?", answer=True)])
    assert "answer: true" in write_quiz(quiz, language="en")
    assert "answer: đúng" in write_quiz(quiz)


# ------------------------------------------------------------------ GIFT: every type


def test_true_false_forms_and_feedback() -> None:
    for answer, value in (("T", True), ("TRUE", True), ("F", False), ("FALSE", False)):
        question = one(f"Trẻ em là người dưới 16 tuổi.{{{answer}}}")
        assert isinstance(question, TrueFalse) and question.answer is value
    question = one("Trẻ em là người dưới 16 tuổi.{TRUE#Sai: xem Điều 1.#Đúng.####Luật Trẻ em.}")
    assert isinstance(question, TrueFalse)
    assert (question.feedback_true, question.feedback_false) == ("Đúng.", "Sai: xem Điều 1.")
    assert question.feedback == "Luật Trẻ em."
    question = one("Người 17 tuổi là trẻ em.{F#Sai rồi, 17 tuổi là người chưa thành niên.#Đúng.}")
    assert isinstance(question, TrueFalse) and question.answer is False
    assert question.feedback_true.startswith("Sai rồi")
    assert question.feedback_false == "Đúng."


def test_lower_case_true_is_a_short_answer_as_in_moodle() -> None:
    question = one("Trẻ em được bảo vệ?{true}")
    assert isinstance(question, ShortAnswer)
    assert [a.text for a in question.answers] == ["true"]


def test_multiple_choice_with_feedback_and_partial_credit() -> None:
    question = one(
        """::Tổng đài::Tổng đài quốc gia bảo vệ trẻ em là số nào?{
            ~113#Đó là số của công an.
            =111#Đúng: miễn phí, 24/7.
            ~%50%115#Gần đúng.
            ~%-25%114
            ####Ghi nhớ: 111.
        }"""
    )
    assert isinstance(question, SingleChoice)
    assert question.id == "tong-dai"
    assert [(o.id, o.text, o.correct, o.credit) for o in question.options] == [
        ("a", "113", False, None),
        ("b", "111", True, None),
        ("c", "115", False, 0.5),
        ("d", "114", False, -0.25),
    ]
    assert question.options[1].feedback == "Đúng: miễn phí, 24/7."
    assert question.feedback == "Ghi nhớ: 111."


def test_two_equal_signs_give_a_second_full_credit_option() -> None:
    question = one("Số nào gọi được miễn phí?{=111 =112 ~113}")
    assert isinstance(question, SingleChoice)
    assert [(o.correct, o.credit) for o in question.options] == [
        (True, None),
        (False, 1.0),
        (False, None),
    ]


def test_multiple_answers_with_weights() -> None:
    question = one(
        """Những cơ quan nào phối hợp?{
            ~%50%Sở Y tế
            ~%50%Công an tỉnh
            ~%-100%Ngân hàng thương mại
            ~Doanh nghiệp tư nhân
        }"""
    )
    assert isinstance(question, MultipleChoice)
    assert [(o.correct, o.credit) for o in question.options] == [
        (True, 0.5),
        (True, 0.5),
        (False, -1.0),
        (False, None),
    ]


def test_multiple_answers_with_the_default_rule_have_no_credits() -> None:
    question = one(
        "Dấu hiệu bạo lực?{~%33.33333%Vết bầm ~%33.33333%Sợ hãi ~%-33.33333%Thể thao "
        "~%33.33333%Thay đổi hành vi ~%-33.33333%Hay cười}"
    )
    assert isinstance(question, MultipleChoice)
    assert [o.credit for o in question.options] == [None] * 5
    assert [o.correct for o in question.options] == [True, True, False, True, False]


def test_short_answer_with_weights_and_feedback() -> None:
    question = one(
        "Cơ quan thường trực?{=Sở Y tế =%50%SYT#Viết tắt được nửa điểm =%0%Bộ Y tế#Không}"
    )
    assert isinstance(question, ShortAnswer)
    assert [(a.text, a.credit, a.feedback) for a in question.answers] == [
        ("Sở Y tế", 1.0, ""),
        ("SYT", 0.5, "Viết tắt được nửa điểm"),
        ("Bộ Y tế", 0.0, "Không"),
    ]


def test_short_answer_that_looks_numeric_stays_short() -> None:
    question = one("Số tổng đài?{=111 =1..2}")
    assert isinstance(question, ShortAnswer)
    assert_markdown_round_trip(Quiz(id="t", entries=[question]))


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ("#3.14:0.01", [(3.14 - 0.01, 3.14 + 0.01, "3.14 ± 0.01", 1.0)]),
        ("#1..5", [(1.0, 5.0, "1..5", 1.0)]),
        ("#16", [(16.0, 16.0, "16", 1.0)]),
        ("#-5..-1", [(-5.0, -1.0, "-5..-1", 1.0)]),
        ("#=2:0 =%50%3:1", [(2.0, 2.0, "2 ± 0", 1.0), (2.0, 4.0, "3 ± 1", 0.5)]),
        ("# =18,2:0,5", [(18.2 - 0.5, 18.2 + 0.5, "18,2 ± 0,5", 1.0)]),
    ],
)
def test_numeric_forms(answers: str, expected: list[tuple[float, float, str, float]]) -> None:
    question = one(f"Con số?{{{answers}}}")
    assert isinstance(question, Numeric)
    assert [(a.low, a.high, a.source, a.credit) for a in question.answers] == expected
    assert_markdown_round_trip(Quiz(id="t", entries=[question]))


def test_numeric_feedback_and_what_is_not_kept() -> None:
    result = gift("Năm Luật Trẻ em?{#=2016#Đúng =%50%2015:1#Gần ~#Xem lại Luật}")
    [question] = result.quiz.questions() if result.quiz else []
    assert isinstance(question, Numeric)
    assert [a.feedback for a in question.answers] == ["Đúng", "Gần"]
    assert [p.message for p in result.warnings] == [
        "feedback for any other answer ('~…') is not kept"
    ]
    assert result.warnings[0].severity == "warning"


def test_matching_with_an_extra_choice() -> None:
    question = one(
        """Nối mỗi cơ quan với nhiệm vụ.{
            =Sở Y tế -> Dinh dưỡng, tiêm chủng
            =Sở Giáo dục và Đào tạo -> Trường học an toàn
            =Công an tỉnh -> Phòng chống tội phạm xâm hại trẻ em
            = -> Cấp giấy khai sinh
        }"""
    )
    assert isinstance(question, Matching)
    assert [(p.id, p.left, p.right) for p in question.pairs] == [
        ("p1", "Sở Y tế", "Dinh dưỡng, tiêm chủng"),
        ("p2", "Sở Giáo dục và Đào tạo", "Trường học an toàn"),
        ("p3", "Công an tỉnh", "Phòng chống tội phạm xâm hại trẻ em"),
        ("p4", "", "Cấp giấy khai sinh"),
    ]


def test_numbered_matching_is_read_as_ordering() -> None:
    question = one("Sắp xếp các bước.{=1 -> Tiếp nhận =2 -> Báo cáo =3 -> Theo dõi}")
    assert isinstance(question, Ordering)
    assert [(i.id, i.text) for i in question.items] == [
        ("i1", "Tiếp nhận"),
        ("i2", "Báo cáo"),
        ("i3", "Theo dõi"),
    ]


def test_missing_word_short_answer_becomes_fill_in_the_blanks() -> None:
    question = one("Trẻ em là người dưới {=16 =mười sáu} tuổi.")
    assert isinstance(question, FillBlanks)
    assert question.segments == ["Trẻ em là người dưới ", " tuổi."]
    assert question.gaps == [Gap(id="g1", answers=["16", "mười sáu"])]
    assert question.prompt == "Trẻ em là người dưới _____ tuổi."


def test_missing_word_with_weights_keeps_short_answer_with_a_blank() -> None:
    question = one("Trẻ em là người dưới {=16 =%50%15} tuổi.")
    assert isinstance(question, ShortAnswer)
    assert question.prompt == "Trẻ em là người dưới _____ tuổi."


def test_missing_word_multiple_choice_becomes_single_choice_with_a_blank() -> None:
    question = one("Grant is {~buried =entombed ~living} in Grant's tomb.")
    assert isinstance(question, SingleChoice)
    assert question.prompt == "Grant is _____ in Grant's tomb."
    question = one("Trẻ em {T} được bảo vệ.")
    assert isinstance(question, TrueFalse) and question.prompt == "Trẻ em _____ được bảo vệ."


def test_description_becomes_a_case_study_of_the_questions_after_it() -> None:
    result = gift(
        """::Tình huống H::Tình huống\\: Em H., 9 tuổi\\nGiáo viên thấy em có vết bầm.

Việc đầu tiên?{~Trách phạt cha mẹ =Trò chuyện riêng}

Báo Ban giám hiệu?{T}

// ## end

Câu độc lập.{F}
"""
    )
    assert result.skipped == []
    assert result.quiz is not None
    first, last = result.quiz.entries
    assert isinstance(first, Scenario)
    assert (first.id, first.title) == ("s1", "Tình huống: Em H., 9 tuổi")
    assert first.description == "Giáo viên thấy em có vết bầm."
    assert [q.id for q in first.questions] == ["q1", "q2"]
    assert isinstance(last, TrueFalse) and last.id == "q3"
    assert [(p.line, p.severity) for p in result.warnings] == [(1, "warning")]
    assert "case study" in result.warnings[0].message


def test_a_category_or_a_new_description_ends_a_case_study() -> None:
    result = gift("Tình huống A\n\nCâu 1{T}\n\n$CATEGORY: Luật\n\nCâu 2{T}\n\nB\n\nCâu 3{F}")
    assert result.quiz is not None
    kinds = [type(e).__name__ for e in result.quiz.entries]
    assert kinds == ["Scenario", "TrueFalse", "Scenario"]


def test_essay_and_lonely_description_are_skipped_with_their_lines() -> None:
    result = gift(
        "// ngân hàng câu hỏi\n"
        "::Câu 1::Trẻ em có quyền gì?{=được bảo vệ}\n"
        "\n"
        "::Tự luận::Viết cảm nghĩ của bạn về\n"
        "   công tác bảo vệ trẻ em.{}\n"
        "\n"
        "Chỉ là một đoạn giới thiệu, không có câu hỏi nào sau nó."
    )
    assert result.quiz is not None and len(result.quiz.questions()) == 1
    assert where(result) == [(5, 27), (7, 1)]
    assert result.skipped[0].message.startswith("essay question")
    assert result.skipped[1].message.startswith("description with no question")
    assert result.skipped[0].format().startswith("bai-kiem-tra.gift:5:27: error: essay")


def test_essay_with_general_feedback_is_an_essay() -> None:
    result = gift("Viết về quyền trẻ em.{####Bài viết được chấm tay.}")
    assert result.quiz is None
    assert [p.message.split(" (")[0] for p in result.skipped] == ["essay question"]


# ------------------------------------------------------------------ GIFT: syntax


def test_comments_blank_lines_bom_and_crlf() -> None:
    text = "\ufeff// chú thích\r\n::A::Một?{T}\r\n// chú thích giữa câu\r\n\r\n\r\n::B::Hai?{F}\r\n"
    result = gift(text)
    assert result.quiz is not None
    assert [q.id for q in result.quiz.questions()] == ["a", "b"]
    assert [q.line for q in result.quiz.questions()] == [2, 6]


def test_comment_inside_a_question_does_not_split_it() -> None:
    question = one("Tổng đài?{\n// đáp án đúng là 111\n=111\n~113}")
    assert isinstance(question, SingleChoice)


def test_escapes() -> None:
    question = one(
        "::Ký tự\\:đặc biệt::1 + 1 \\= 2\\; dấu \\{ngoặc\\} \\~ \\# \\\\ và\\ndòng mới?{"
        "=a\\=b#phản hồi có \\# và \\: ~c\\~d ~e\\{f\\}}"
    )
    assert isinstance(question, SingleChoice)
    assert question.id == "ky-tu-dac-biet"
    assert question.prompt == "1 + 1 = 2\\; dấu {ngoặc} ~ # \\ và\ndòng mới?"
    assert [o.text for o in question.options] == ["a=b", "c~d", "e{f}"]
    assert question.options[0].feedback == "phản hồi có # và :"


def test_categories_become_tags() -> None:
    result = gift(
        "$CATEGORY: $course$/top/Bảo vệ trẻ em/Luật Trẻ em\n\nMột?{T}\n\nHai?{T}\n\n"
        "$CATEGORY: $course$/top\n\nBa?{T}\n\n$CATEGORY: Tình huống\nBốn?{T}"
    )
    assert result.quiz is not None
    assert [q.tags for q in result.quiz.questions()] == [
        ["luat-tre-em"],
        ["luat-tre-em"],
        [],
        ["tinh-huong"],
    ]


def test_category_named_after_the_quiz_gives_no_tag() -> None:
    result = gift("$CATEGORY: $course$/top/kiem-tra\n\nMột?{T}")
    assert result.quiz is not None and result.quiz.questions()[0].tags == []


def test_titles_become_unique_ids_and_untitled_questions_keep_their_number() -> None:
    result = gift(
        "::Câu hỏi 1::A?{T}\n\nB?{T}\n\n::Câu hỏi 1::C?{T}\n\n::q4::D?{T}\n\n"
        "::???::E?{T}\n\n::q2::F?{T}"
    )
    assert result.quiz is not None
    assert [q.id for q in result.quiz.questions()] == [
        "cau-hoi-1",
        "q2-2",
        "cau-hoi-1-2",
        "q4",
        "q5",
        "q2",
    ]
    assert_markdown_round_trip(result.quiz)


def test_slugify() -> None:
    assert slugify("Câu 1: Luật Trẻ em — Điều 4") == "cau-1-luat-tre-em-dieu-4"
    assert slugify("Đường dây nóng 111") == "duong-day-nong-111"
    assert slugify("???") == ""
    assert len(slugify("a" * 100)) == 64


def test_html_is_converted_to_text_and_removals_are_reported() -> None:
    result = gift(
        '[html]<p>Điều nào sau đây <b>không</b> đúng?</p><p><img src="@@PLUGINFILE@@/a.png">'
        '<a href="https://luatvietnam.vn">Luật</a> &amp; <i>Nghị định</i></p>'
        "<script>alert(1)</script>{=<b>Sai</b> ~Đúng}"
    )
    assert result.quiz is not None
    [question] = result.quiz.questions()
    assert isinstance(question, SingleChoice)
    assert question.prompt == (
        "Điều nào sau đây **không** đúng?\n\n[Luật](https://luatvietnam.vn) & *Nghị định*"
    )
    assert [o.text for o in question.options] == ["**Sai**", "Đúng"]
    assert [p.message for p in result.warnings] == ["HTML converted to text; removed: img, script"]


def test_markdown_and_plain_prefixes_keep_the_text() -> None:
    question = one("[markdown]Chọn **một** ý.{=a ~b}")
    assert question.prompt == "Chọn **một** ý."
    question = one("[plain]<b>không</b> phải HTML.{T}")
    assert question.prompt == "<b>không</b> phải HTML."


def test_prompt_lines_that_look_like_quiz_syntax_are_escaped() -> None:
    question = one("Đọc đoạn sau\\n- [x] không phải đáp án\\nhint\\: không phải gợi ý{T}")
    assert question.prompt == "Đọc đoạn sau\n\\- [x] không phải đáp án\nhint\\: không phải gợi ý"
    assert_markdown_round_trip(Quiz(id="t", entries=[question]))


# ------------------------------------------------------------------ GIFT: malformed input


@pytest.mark.parametrize(
    ("text", "position", "start"),
    [
        ("Câu hỏi {=a ~b", (1, 9), "'{' is not closed"),
        ("Câu hỏi\n{=a\n~b", (2, 1), "'{' is not closed"),
        ("Câu hỏi =a ~b}", (1, 14), "'}' without a '{'"),
        ("Câu } hỏi {=a ~b}", (1, 5), "'}' without a '{'"),
        ("Câu hỏi {=a {~b}", (1, 13), "a second '{'"),
        ("Câu hỏi {=a ~b} và {=c}", (1, 20), "a second answer set"),
        ("::Tiêu đề chưa đóng Câu hỏi {T}", (1, 1), "the title '::…' is not closed"),
        ("Câu hỏi {~chỉ một}", (1, 10), "a multiple-choice question needs at least 2"),
        ("Câu hỏi {~a ~b ~c}", (1, 10), "no answer is right"),
        ("Câu hỏi {~%50%a ~%20%b ~c}", (1, 10), "the positive weights add up to 70%"),
        ("Câu hỏi {=a ~%150%b}", (1, 13), "weight 150% is outside -100%..100%"),
        ("Câu hỏi {=a ~ ~b}", (1, 13), "an answer has no text"),
        ("Câu hỏi {=Một ~một ~b}", (1, 15), "answer 'một' is written twice"),
        ("Câu hỏi {=a -> b =c}", (1, 18), "matching answer 'c' has no '->'"),
        ("Câu hỏi {=a -> b = -> c}", (1, 10), "a matching question needs at least 2 pairs"),
        ("Câu hỏi {#abc}", (1, 11), "'abc' is not a number"),
        ("Câu hỏi {#5..1}", (1, 11), "the range '5..1' goes from high to low"),
        ("Câu hỏi {#5:-1}", (1, 11), "the tolerance in '5:-1' is negative"),
        ("Câu hỏi {#}", (1, 10), "a numeric question without answers"),
        ("Câu hỏi {=a =%-50%b}", (1, 13), "weight -50% is outside 0%..100%"),
        ("Câu hỏi {= =a}", (1, 10), "an accepted answer is empty"),
        ("{=a ~b}", (1, 1), "the question has no text"),
    ],
)
def test_malformed_questions_are_skipped_with_line_and_column(
    text: str, position: tuple[int, int], start: str
) -> None:
    result = gift("::Tốt::Câu đúng?{T}\n\n" + text)
    assert result.quiz is not None and [q.id for q in result.quiz.questions()] == ["tot"]
    assert len(result.skipped) == 1, [p.format() for p in result.skipped]
    problem = result.skipped[0]
    assert (problem.line - 2, problem.column) == position
    assert problem.message.startswith(start), problem.message
    assert problem.hint or problem.message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n   \n",
        "// chỉ có chú thích\n// và chú thích",
        "}}}{{{",
        "::::::",
        "{",
        "}",
        "\\",
        "{#",
        "{=->}",
        "$CATEGORY:",
        "::a::[html]<p>",
        "\x01\x02\x03 {\x7f}",
        "\ud7ff\ue000\ue006 {=\ue001}",
        "x{#1e309:1}",
        "x{#99999999999999999999999999999999999999999999999999999999999999999999..1}",
        "x{~%99999999999999999999%a =b}",
        "%%%%{=%%}",
        "a{=1 -> 2 =2 -> 1}",
        bytes(range(1, 256)).decode("latin-1"),
    ],
)
def test_garbage_never_raises(text: str) -> None:
    result = gift(text)
    assert isinstance(result, ImportResult)
    if result.quiz is not None:
        assert_markdown_round_trip(result.quiz)


def test_a_blank_line_inside_the_answers_ends_the_question_as_in_moodle() -> None:
    result = gift("Câu hỏi\n{=a\n\n~b}")
    assert result.quiz is None
    assert [(p.line, p.column, p.message) for p in result.skipped] == [
        (2, 1, "'{' is not closed with '}'"),
        (4, 3, "'}' without a '{' before it"),
    ]
    assert "a blank line ends a question" in result.skipped[0].hint


def test_binary_input_is_refused_in_one_problem() -> None:
    result = gift("::a::x{T}\n\x00\x00\xff")
    assert result.quiz is None
    assert [(p.line, p.message.split(";")[0]) for p in result.skipped] == [
        (0, "the file contains binary data (NUL bytes)")
    ]


def test_messages_in_vietnamese_by_default() -> None:
    result = import_gift("Viết cảm nghĩ.{}", file="a.gift", quiz_id="a")
    assert result.skipped[0].message.startswith("câu hỏi tự luận")


def test_an_invalid_quiz_id_is_the_callers_error() -> None:
    with pytest.raises(LmsError, match="quiz id 'Kiểm tra' is not valid"):
        import_gift("a{T}", file="a.gift", quiz_id="Kiểm tra")


def test_graded_flag() -> None:
    result = gift("a{T}", graded=True)
    assert result.quiz is not None and result.quiz.graded


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    result = gift(text)
    assert isinstance(result, ImportResult)


GIFT_PIECES = st.sampled_from(
    [
        "{", "}", "~", "=", "#", "####", "::", ":", "->", "%", "%50%", "%-100%", "\\", "\\n",
        "\n", "\n\n", "//", "// ## end", "$CATEGORY: a/b", "[html]", "[markdown]", "<b>",
        "</p>", "T", "TRUE", "F", "..", "1", "3.14", "-2", "x", "Trẻ em", " ", "\t", "_____",
        "[[", "]]", "|", "- [ ] ", "? ", "## ", "hint: ", "→", "[x] ", "( ) ", "```", "1. ",
        "answer: ", "{50%}", "Tpye: ", "---", "=%50%", "~%-50%", "end", "# ", "  ", "Đ", "đúng",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(GIFT_PIECES, max_size=60).map("".join))
def test_random_gift_like_text_never_raises_and_what_is_read_writes_back(text: str) -> None:
    result = gift(text)
    assert isinstance(result, ImportResult)
    for problem in result.skipped:
        assert problem.line >= 1 and problem.column >= 1
    if result.quiz is not None:
        assert_markdown_round_trip(result.quiz)
        assert_gift_round_trip(result.quiz)


# ------------------------------------------------------------------ export


def test_export_writes_every_type() -> None:
    exported = export_gift(every_type_quiz())
    text = exported.text
    for expected in (
        "$CATEGORY: $course$/top/kiem-tra-cuoi/luat\n",
        "::tong-dai::[markdown]Tổng đài quốc gia bảo vệ trẻ em là số nào? {\n",
        "\t=111#Đúng.\\nMiễn phí.\n",
        "\t~%50%115#Gần đúng.\n",
        "\t~%-25%\\\\\\{50%\\} không phải điểm\n",
        "\t####Tổng đài 111 miễn phí, 24/7.\n",
        "\t~%50%Vết bầm tím không rõ nguyên nhân\n\t~%-50%Thích chơi thể thao\n",
        "\t~%60%Sở Y tế\n\t~%40%Công an tỉnh\n\t~%-100%Ngân hàng\n",
        "\t~%100%Đúng\n\t~%-100%Sai\n",
        "{TRUE#Xem lại Điều 1.#Đúng\\: Điều 1.}",
        "\t=Sở Y tế\n\t=%50%SYT#Viết tắt.\n",
        "\t#\n\t=18.2:0.5\n\t=%50%30..60#Gần.\n\t=16\n",
        "\t=Sở Y tế -> Dinh dưỡng, tiêm chủng\n",
        "\t= -> Cấp giấy khai sinh\n",
        "\t=1 -> Tiếp nhận thông tin\n\t=2 -> Báo cáo\n",
        "::s1::[markdown]Tình huống\\: Em H., 9 tuổi\\nGiáo viên thấy em H. có vết bầm.",
        "// ## end\n",
    ):
        assert expected in text, expected
    assert exported.skipped == ["q11: 2 gaps; GIFT has one answer set per question (split it "
                                "into one question per gap)"]  # fmt: skip
    lost = "\n".join(exported.lost)
    for expected in (
        "kiem-tra-cuoi: quiz settings not kept (graded, pass=62.5, attempts=3, grading=last",
        "tong-dai: points: 2 not kept",
        "tong-dai: hint not kept",
        "tong-dai: tags lien-he not kept",
        "tong-dai: shuffle: no not kept",
        "q2: scoring: all-or-nothing not kept",
        "q6: match: ignore-accents not kept",
        "q7: every answer is a number",
        "q10: ordering written as matching",
        "q14: points: 0.5 not kept",
    ):
        assert expected in lost, expected


def test_export_then_import_keeps_what_gift_can_hold() -> None:
    quiz = every_type_quiz()
    back = import_gift(export_gift(quiz).text, file="x.gift", quiz_id=quiz.id)
    assert back.skipped == []
    assert back.quiz is not None
    ids = [q.id for q in back.quiz.questions()]
    assert ids == ["tong-dai", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q10",
                   "q12", "bao-cao", "q14"]  # fmt: skip
    by_id = {q.id: q for q in back.quiz.questions()}
    assert isinstance(by_id["q10"], Ordering)
    assert isinstance(by_id["q2"], MultipleChoice) and by_id["q2"].scoring == "partial"
    assert isinstance(by_id["q8"], Numeric)
    assert [a.source for a in by_id["q8"].answers] == ["18.2 ± 0.5", "30..60", "16"]
    assert [(a.low, a.high) for a in by_id["q8"].answers] == [
        (a.low, a.high)
        for a in every_type_quiz().entries[7].answers  # type: ignore[union-attr]
    ]
    assert isinstance(back.quiz.entries[10], Scenario)


def test_export_skips_what_gift_cannot_express() -> None:
    quiz = Quiz(
        id="t",
        entries=[
            ShortAnswer(id="a", prompt="Mũi tên?", answers=[AcceptedAnswer(text="a -> b")]),
            Matching(
                id="b",
                prompt="Nối.",
                pairs=[Pair(id="p1", left="x -> y", right="1"), Pair(id="p2", left="z", right="2")],
            ),
            TrueFalse(id="c", prompt="Còn lại.", answer=True),
        ],
    )
    exported = export_gift(quiz)
    assert [s.split(":")[0] for s in exported.skipped] == ["a", "b"]
    assert "::c::" in exported.text and "::a::" not in exported.text


def test_export_fill_in_the_blanks_with_the_gap_at_the_end() -> None:
    quiz = Quiz(
        id="t",
        entries=[
            FillBlanks(
                id="q1",
                prompt="Tổng đài là _____",
                segments=["Tổng đài là ", ""],
                gaps=[Gap(id="g1", answers=["111"])],
            )
        ],
    )
    exported = export_gift(quiz)
    assert "q1: the gap ends the text" in exported.lost[0]
    back = import_gift(exported.text, file="x", quiz_id="t")
    assert back.quiz is not None and isinstance(back.quiz.entries[0], ShortAnswer)


def test_export_escapes_special_characters() -> None:
    quiz = Quiz(
        id="t",
        entries=[
            SingleChoice(
                id="q1",
                prompt="Giá trị {x} = 1: đúng ~ sai # \\ ?",
                options=[
                    Option(id="a", text="%5% lãi", correct=True),
                    Option(id="b", text="[html]<b>không</b>"),
                ],
            )
        ],
    )
    text = export_gift(quiz).text
    assert "Giá trị \\{x\\} \\= 1\\: đúng \\~ sai \\# \\\\ ?" in text
    assert "\t=%5% lãi\n" in text and "\t~[markdown][html]<b>không</b>\n" in text
    assert_gift_round_trip(quiz)


# ------------------------------------------------------------------ GIFT → ours → GIFT corpus

CORPUS = {
    "moodle-doc-samples": r"""// true/false
::Q1:: 1+1=2 {T}

// multiple choice with specified feedback for right and wrong answers
::Q2:: What's between orange and green in the spectrum?
{ =yellow # right; good! ~red # wrong, it's yellow ~blue # wrong, it's yellow }

// fill-in-the-blank
::Q3:: Two plus {=two =2} equals four.

// matching
::Q4:: Which animal eats which food? { =cat -> cat food =dog -> dog food }

// math range question
::Q5:: What is a number from 1 to 5? {#3:2}

// math range specified with interval end points
::Q6:: What is a number from 1 to 5? {#1..5}

// multiple choice with multiple right answers
::Q7:: Jesus Christ was from {
~Jerusalem
~%25%Bethlehem
~%50%Galilee
=Nazareth
}

::Q8:: Which two people are buried in Grant's tomb? {
~%-100%No one
~%50%Grant
~%50%Grant's wife
~%-100%Grant's father
}

::Q9:: When was Ulysses S. Grant born? {#
=1822:0 #Correct! 100% credit
=%50%1822:2 #He was born in 1822. You get 50% credit for being close.
}

Grant is {~buried =entombed ~living} in Grant's tomb.

Japanese characters originally came from what country? {
    ~India
    =China
    ~Korea
    ~Egypt}

::Grant's tomb::Who's buried in Grant's tomb?{=Grant =Ulysses S. Grant =Ulysses Grant}

Grant is buried in Grant's tomb.{FALSE}

The sun rises in the east.{T#This is the wrong answer.#This is the right answer.}

How are you? {=Fine####We hope you're feeling well.}
""",
    "bao-ve-tre-em": r"""// Ngân hàng câu hỏi tập huấn bảo vệ trẻ em — Ninh Bình
$CATEGORY: $course$/top/Tập huấn bảo vệ trẻ em/Luật Trẻ em

::Tuổi trẻ em::Theo Luật Trẻ em 2016, trẻ em là người dưới bao nhiêu tuổi?
{#16####Luật Trẻ em 2016, Điều 1.}

::Tổng đài 111::Tổng đài quốc gia bảo vệ trẻ em là số nào?{
	~113#Đó là số của cảnh sát.
	=111#Đúng\: miễn phí, 24/7.
	~115#Đó là số cấp cứu y tế.
}

::Trách nhiệm thông báo::Mọi người có trách nhiệm thông báo, tố giác hành vi xâm hại trẻ em.
{TRUE##Đúng. Luật Trẻ em, Điều 51.}

::Người chưa thành niên::Người từ đủ {=16 =mười sáu} tuổi đến dưới 18 tuổi là người chưa thành niên.

$CATEGORY: $course$/top/Tập huấn bảo vệ trẻ em/Nhận biết

::Dấu hiệu::Những dấu hiệu nào có thể cho thấy trẻ bị bạo lực?{
	~%50%Vết bầm tím không rõ nguyên nhân
	~%50%Sợ hãi khi gặp một người lớn cụ thể
	~%-100%Thích chơi thể thao#Đây là hoạt động bình thường.
}

::Phối hợp::Nối mỗi cơ quan với nhiệm vụ chính trong kế hoạch của tỉnh.{
	=Sở Y tế -> Dinh dưỡng, tiêm chủng, sức khỏe tâm thần trẻ em
	=Sở Giáo dục và Đào tạo -> Trường học an toàn, tư vấn tâm lý
	=Công an tỉnh -> Phòng chống tội phạm xâm hại trẻ em
	= -> Cấp giấy khai sinh
	####Kế hoạch thực hiện Chỉ thị 28-CT/TW.
}

::Quy trình::Sắp xếp các bước xử lý khi nhận tin báo trẻ bị xâm hại.{
	=1 -> Tiếp nhận thông tin, bảo đảm an toàn cho trẻ
	=2 -> Báo cáo Chủ tịch UBND xã và cơ quan công an
	=3 -> Đánh giá nguy cơ và lập kế hoạch hỗ trợ
	=4 -> Theo dõi, đánh giá kết quả can thiệp
}

::Thường trực::Cơ quan nào là cơ quan thường trực về công tác trẻ em của tỉnh?{
	=Sở Y tế
	=%50%SYT#Nên viết đầy đủ.
}

::Suy dinh dưỡng::Tỉ lệ (phần trăm) trẻ dưới 5 tuổi suy dinh dưỡng thấp còi năm 2024?{#
	=18.2:0.5#Chính xác.
	=%50%18.2:2#Gần đúng.
}

::Tình huống H::Tình huống\: Em H., 9 tuổi\nGiáo viên chủ nhiệm thấy em H. nhiều lần đến lớp
với vết bầm trên tay và thường ngồi một mình.\n\nKhi được hỏi, em im lặng và khóc.

::Việc đầu tiên::Việc đầu tiên giáo viên nên làm là gì?{
	~Gọi điện trách phạt cha mẹ em
	=Trò chuyện riêng, nhẹ nhàng để em cảm thấy an toàn
	~Kể lại sự việc trước lớp để các bạn cùng giúp đỡ
}

::Ai cần biết::Những ai cần được thông báo?{
	~%50%Ban giám hiệu nhà trường
	~%50%Công chức văn hóa - xã hội của xã
	~%-100%Tất cả phụ huynh trong lớp
}

// ## end

[html]<p>Trẻ em có quyền được <b>bảo vệ</b> để không bị xâm hại.</p>{T}

Mô hình "Ngôi nhà {~thông minh =an toàn ~xanh}" là một trong các mô hình của tỉnh.
""",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_gift_to_ours_to_gift(name: str) -> None:
    first = gift(CORPUS[name])
    assert first.skipped == [], [p.format() for p in first.skipped]
    assert first.quiz is not None
    exported = export_gift(first.quiz)
    assert exported.skipped == []
    again = gift(exported.text)
    assert again.skipped == []
    assert again.quiz is not None
    assert plain(again.quiz) == plain(first.quiz), exported.text
    # and the second export is the same text: the conversion is stable
    assert export_gift(again.quiz).text == exported.text
    assert_markdown_round_trip(first.quiz)


def test_corpus_reads_as_moodle_does() -> None:
    result = gift(CORPUS["moodle-doc-samples"])
    assert result.quiz is not None
    kinds = {q.id: q.kind for q in result.quiz.questions()}
    assert kinds == {
        "q1": "truefalse",
        "q2": "single",
        "q3": "blanks",
        "q4": "matching",
        "q5": "numeric",
        "q6": "numeric",
        "q7": "single",
        "q8": "multiple",
        "q9": "numeric",
        "q10": "single",
        "q11": "single",
        "grant-s-tomb": "short",
        "q13": "truefalse",
        "q14": "truefalse",
        "q15": "short",
    }
    q5 = next(q for q in result.quiz.questions() if q.id == "q5")
    assert isinstance(q5, Numeric) and (q5.answers[0].low, q5.answers[0].high) == (1.0, 5.0)
    vi = gift(CORPUS["bao-ve-tre-em"])
    assert vi.quiz is not None
    tags = {q.id: q.tags for q in vi.quiz.questions()}
    assert tags["tuoi-tre-em"] == ["luat-tre-em"]
    assert tags["dau-hieu"] == ["nhan-biet"]
    assert tags["viec-dau-tien"] == ["nhan-biet"]
    [case] = [e for e in vi.quiz.entries if isinstance(e, Scenario)]
    assert case.title == "Tình huống: Em H., 9 tuổi"
    assert case.description.endswith("\n\nKhi được hỏi, em im lặng và khóc.")


# ------------------------------------------------------------------ generated quizzes

WORD = st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạéèẹíìóòọúùýAĐHT0123456789",
    min_size=1,
    max_size=8,
)
SPECIAL = st.sampled_from(["~", "=", "#", "{", "}", ":", "%", "\\", "[", "]", "*", "?", "-", "!"])
TEXT = st.lists(st.one_of(WORD, WORD, SPECIAL), min_size=1, max_size=6).map(" ".join)
LINE = TEXT.map(one_line).filter(bool)
SLUG = st.from_regex(r"[a-z]{1,6}(-[a-z0-9]{1,4})?", fullmatch=True)
CREDIT = st.integers(-100, 100).filter(bool).map(lambda k: k / 100)
NUMBER = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False).map(
    lambda d: format(d.normalize(), "f")
)


@st.composite
def prompts(draw: st.DrawFn) -> str:
    lines = draw(st.lists(LINE, min_size=1, max_size=3))
    return protect_lines("\n".join(lines))


def distinct(texts: list[str]) -> bool:
    folded = [" ".join(t.casefold().split()) for t in texts]
    return len(set(folded)) == len(folded)


@st.composite
def single_choices(draw: st.DrawFn) -> SingleChoice:
    texts = draw(st.lists(LINE.map(answer_text), min_size=2, max_size=5))
    assume(distinct(texts))
    right = draw(st.integers(0, len(texts) - 1))
    options = [
        Option(
            id=option_id(n),
            text=t,
            correct=n == right + 1,
            credit=None if n == right + 1 else draw(st.none() | CREDIT),
            feedback=draw(st.just("") | LINE),
        )
        for n, t in enumerate(texts, 1)
    ]
    return SingleChoice(id="x", prompt=draw(prompts()), options=options)


@st.composite
def multiple_choices(draw: st.DrawFn) -> MultipleChoice:
    texts = draw(st.lists(LINE.map(answer_text), min_size=2, max_size=5))
    assume(distinct(texts))
    right = draw(st.lists(st.booleans(), min_size=len(texts), max_size=len(texts)))
    assume(any(right))
    if draw(st.booleans()):
        credits: list[float | None] = [None] * len(texts)
    else:
        credits = [
            draw(st.integers(1, 100).map(lambda k: k / 100))
            if r
            else draw(st.none() | st.integers(-100, -1).map(lambda k: k / 100))
            for r in right
        ]
        assume(sum(c for c in credits if c is not None and c > 0) >= 1)
        r = sum(right)
        assume(
            not all(
                c is not None and abs(c - (1 / r if ok else -1 / r)) < 1e-5
                for c, ok in zip(credits, right, strict=True)
            )
        )
    options = [
        Option(id=option_id(n), text=t, correct=ok, credit=c)
        for n, (t, ok, c) in enumerate(zip(texts, right, credits, strict=True), 1)
    ]
    return MultipleChoice(id="x", prompt=draw(prompts()), options=options)


@st.composite
def true_falses(draw: st.DrawFn) -> TrueFalse:
    return TrueFalse(
        id="x",
        prompt=draw(prompts()),
        answer=draw(st.booleans()),
        feedback_true=draw(st.just("") | LINE),
        feedback_false=draw(st.just("") | LINE),
    )


@st.composite
def short_answers(draw: st.DrawFn) -> ShortAnswer:
    answers = draw(
        st.lists(
            st.builds(
                AcceptedAnswer,
                text=LINE.map(answer_text),
                credit=st.integers(0, 100).map(lambda k: k / 100),
                feedback=st.just("") | LINE,
            ),
            min_size=1,
            max_size=3,
        )
    )
    return ShortAnswer(id="x", prompt=draw(prompts()), answers=answers)


@st.composite
def numeric_answers(draw: st.DrawFn) -> NumericAnswer:
    form = draw(st.sampled_from(["exact", "tolerance", "range"]))
    a = draw(NUMBER)
    credit = draw(st.integers(0, 100).map(lambda k: k / 100))
    feedback = draw(st.just("") | LINE)
    if form == "exact":
        return NumericAnswer(low=float(a), high=float(a), source=a, credit=credit,
                             feedback=feedback)  # fmt: skip
    b = draw(NUMBER.filter(lambda t: not t.startswith("-")))
    if form == "tolerance":
        low, high = float(a) - float(b), float(a) + float(b)
        return NumericAnswer(low=low, high=high, source=f"{a} ± {b}", credit=credit,
                             feedback=feedback)  # fmt: skip
    low_text, high_text = sorted([a, b], key=float)
    return NumericAnswer(low=float(low_text), high=float(high_text),
                         source=f"{low_text}..{high_text}", credit=credit,
                         feedback=feedback)  # fmt: skip


@st.composite
def numerics(draw: st.DrawFn) -> Numeric:
    answers = draw(st.lists(numeric_answers(), min_size=1, max_size=3))
    return Numeric(id="x", prompt=draw(prompts()), answers=answers)


LETTERS = st.text(alphabet="abcdeghiklmnoprstuvxyđơư ", min_size=1, max_size=12).map(one_line)


@st.composite
def matchings(draw: st.DrawFn) -> Matching:
    lefts = draw(st.lists(LETTERS.filter(bool), min_size=2, max_size=4))
    extra = draw(st.integers(0, 2))
    sides = [(left, draw(LINE)) for left in lefts] + [("", draw(LINE)) for _ in range(extra)]
    pairs = [Pair(id=f"p{n}", left=lt, right=rt) for n, (lt, rt) in enumerate(sides, 1)]
    return Matching(id="x", prompt=draw(prompts()), pairs=pairs)


@st.composite
def orderings(draw: st.DrawFn) -> Ordering:
    texts = draw(st.lists(LINE, min_size=2, max_size=5))
    items = [Item(id=f"i{n}", text=t) for n, t in enumerate(texts, 1)]
    return Ordering(id="x", prompt=draw(prompts()), items=items)


@st.composite
def fill_blanks(draw: st.DrawFn) -> FillBlanks:
    before = draw(st.just("") | LETTERS.filter(bool).map(lambda t: t + " "))
    after = " " + draw(LETTERS.filter(bool))
    answers = draw(st.lists(LETTERS.filter(bool), min_size=1, max_size=3))
    return FillBlanks(
        id="x",
        prompt=before + BLANK + after,
        segments=[before, after],
        gaps=[Gap(id="g1", answers=answers)],
    )


QUESTIONS = st.one_of(
    single_choices(),
    multiple_choices(),
    true_falses(),
    short_answers(),
    numerics(),
    matchings(),
    orderings(),
    fill_blanks(),
)


@st.composite
def gift_quizzes(draw: st.DrawFn) -> Quiz:
    """Quizzes that GIFT can hold: default settings, one tag at most, points 1, no hints."""
    ids = iter(draw(st.lists(SLUG.filter(lambda s: not re.fullmatch(r"[sq]\d+", s)),
                             min_size=12, max_size=12, unique=True)))  # fmt: skip
    tags = st.none() | SLUG.filter(lambda s: s != "hq")

    def question(tag: str | None) -> Question:
        q = draw(QUESTIONS)
        return q.model_copy(
            update={
                "id": next(ids),
                "tags": [tag] if tag else [],
                "feedback": draw(st.just("") | LINE),
            }
        )

    entries: list[Question | Scenario] = []
    cases = 0
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 3)) == 0:
            cases += 1
            tag = draw(tags)
            description = draw(st.lists(LINE, max_size=3).map("\n".join))
            entries.append(
                Scenario(
                    id=f"s{cases}",
                    title=draw(LINE.filter(lambda t: t.casefold() != "end")),
                    description=protect_lines(description, description=True),
                    questions=[question(tag) for _ in range(draw(st.integers(1, 2)))],
                )
            )
        else:
            entries.append(question(draw(tags)))
    return Quiz(id="hq", entries=entries)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gift_quizzes())
def test_generated_quizzes_survive_gift_and_markdown(quiz: Quiz) -> None:
    exported = export_gift(quiz)
    assert exported.skipped == []
    assert_gift_round_trip(quiz)
    assert_markdown_round_trip(quiz)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gift_quizzes(), st.booleans(), st.integers(0, 100), st.integers(0, 5))
def test_generated_quizzes_with_settings_write_back(
    quiz: Quiz, graded: bool, pass_mark: int, attempts: int
) -> None:
    quiz = quiz.model_copy(
        update={
            "graded": graded,
            "pass_mark": float(pass_mark),
            "max_attempts": attempts,
            "shuffle_questions": graded,
            "title": "Kiểm tra: " + quiz.id,
        }
    )
    assert_markdown_round_trip(quiz)

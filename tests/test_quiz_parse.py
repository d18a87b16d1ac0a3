"""The quiz syntax of docs/authoring-quizzes.md: every type, every mistake, fuzzing."""

from __future__ import annotations

import re
import string
import unicodedata
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from lms_core.exercises import Block, ExerciseParseError, extract_blocks, parse_info
from lms_quiz import parse as parse_module
from lms_quiz.messages import MESSAGES, msg
from lms_quiz.model import (
    FillBlanks,
    Matching,
    MultipleChoice,
    Numeric,
    Ordering,
    Quiz,
    Scenario,
    ShortAnswer,
    SingleChoice,
    TrueFalse,
)
from lms_quiz.parse import GAP_MARK, parse_quiz

DOC = Path(__file__).resolve().parents[1] / "docs" / "authoring-quizzes.md"
FENCE_LINE = 10
"""Test blocks open at line 10 of lesson.md: body line n is file line 10 + n."""


Language = Literal["vi", "en"]


def block(body: str, language: Language = "vi", **options: str) -> Block:
    return Block(
        kind="quiz",
        options=options or {"id": "x"},
        body=body,
        file="lesson.md",
        line=FENCE_LINE,
        language=language,
    )


def parse(body: str, language: Language = "vi", **options: str) -> Quiz:
    return parse_quiz(block(body, language, **options))


def problems(body: str, language: Language = "en", **options: str) -> list[str]:
    with pytest.raises(ExerciseParseError) as info:
        parse_quiz(block(body, language, **options))
    return [p.format() for p in info.value.problems]


def problem(body: str, language: Language = "en", **options: str) -> str:
    found = problems(body, language, **options)
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------ each question type


def test_single_choice_round_brackets() -> None:
    quiz = parse(
        "? Tổng đài quốc gia bảo vệ trẻ em là số nào?\n"
        "- ( ) 113\n"
        "- (x) 111\n"
        "  > Đúng: Tổng đài 111, miễn phí, 24/7.\n"
        "- ( ) 115\n"
    )
    (question,) = quiz.entries
    assert isinstance(question, SingleChoice)
    assert question.id == "q1"
    assert question.prompt == "Tổng đài quốc gia bảo vệ trẻ em là số nào?"
    assert [(o.id, o.text, o.correct) for o in question.options] == [
        ("a", "113", False),
        ("b", "111", True),
        ("c", "115", False),
    ]
    assert question.options[1].feedback == "Đúng: Tổng đài 111, miễn phí, 24/7."
    assert question.line == FENCE_LINE + 1
    assert question.shuffle is True


def test_single_choice_from_one_ticked_box_with_every_bullet_and_x() -> None:
    quiz = parse("? Q\n* [ ] a\n+ [X] b\n- [ ] c\nhint: nghĩ kỹ\nfeedback: chung\n")
    (question,) = quiz.entries
    assert isinstance(question, SingleChoice)
    assert [o.correct for o in question.options] == [False, True, False]
    assert (question.hint, question.feedback) == ("nghĩ kỹ", "chung")


def test_multiple_choice() -> None:
    quiz = parse(
        "? Những dấu hiệu nào có thể cho thấy trẻ bị bạo lực?\n"
        "- [x] Vết bầm tím không rõ nguyên nhân\n"
        "- [x] Sợ hãi khi gặp một người lớn cụ thể\n"
        "- [ ] Thích chơi thể thao\n"
        "- [x] Thay đổi hành vi đột ngột\n"
        "scoring: partial\n"
    )
    (question,) = quiz.entries
    assert isinstance(question, MultipleChoice)
    assert [o.correct for o in question.options] == [True, True, False, True]
    assert question.scoring == "partial"


def test_multiple_choice_forced_and_all_or_nothing_and_no_shuffle() -> None:
    quiz = parse(
        "? Q\n- [x] a\n- [ ] b\n- [ ] Tất cả đều đúng\n"
        "type: multiple\nscoring: all-or-nothing\nshuffle: no\n"
    )
    (question,) = quiz.entries
    assert isinstance(question, MultipleChoice)
    assert question.scoring == "all-or-nothing"
    assert question.shuffle is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("đúng", True),
        ("Đúng", True),
        ("ĐÚNG", True),
        ("sai", False),
        ("TRUE", True),
        ("false", False),
    ],
)
def test_true_false(value: str, expected: bool) -> None:
    quiz = parse(
        f"? Trẻ em là người dưới 16 tuổi.\nanswer: {value}\n"
        "feedback: Luật Trẻ em 2016, Điều 1.\nif-true: Chính xác.\nif-false: Xem lại Điều 1.\n"
    )
    (question,) = quiz.entries
    assert isinstance(question, TrueFalse)
    assert question.answer is expected
    assert question.feedback == "Luật Trẻ em 2016, Điều 1."
    assert (question.feedback_true, question.feedback_false) == ("Chính xác.", "Xem lại Điều 1.")


def test_short_answer() -> None:
    quiz = parse(
        "? Cơ quan nào là cơ quan thường trực về công tác trẻ em của tỉnh?\n"
        "= Sở Y tế\n"
        "= SYT\n"
        "  > Viết tắt cũng được chấp nhận.\n"
        "match: ignore-accents\n"
    )
    (question,) = quiz.entries
    assert isinstance(question, ShortAnswer)
    assert [(a.text, a.credit, a.feedback) for a in question.answers] == [
        ("Sở Y tế", 1.0, ""),
        ("SYT", 1.0, "Viết tắt cũng được chấp nhận."),
    ]
    assert question.ignore_accents is True


def test_numeric_number_tolerance_and_range() -> None:
    quiz = parse(
        "? Trẻ em có quyền được bảo vệ đến bao nhiêu tuổi (chưa đủ)?\n"
        "= 16\n"
        "? Tỉ lệ (phần trăm) trẻ dưới 5 tuổi suy dinh dưỡng thấp còi năm 2024 là bao nhiêu?\n"
        "= 18,2 ± 0,5\n"
        "? Một buổi tư vấn tâm lý nên kéo dài bao nhiêu phút?\n"
        "= 30..60\n"
        "? Nhiệt độ thấp nhất?\n"
        "= -5 +- 1.5\n"
        "= {50%} -10..-6\n"
    )
    answers = []
    for question in quiz.entries:
        assert isinstance(question, Numeric)
        answers.extend((a.low, a.high, a.source, a.credit) for a in question.answers)
    assert [q.id for q in quiz.entries] == ["q1", "q2", "q3", "q4"]
    assert answers == [
        (16.0, 16.0, "16", 1.0),
        (pytest.approx(17.7), pytest.approx(18.7), "18,2 ± 0,5", 1.0),
        (30.0, 60.0, "30..60", 1.0),
        (-6.5, -3.5, "-5 +- 1.5", 1.0),
        (-10.0, -6.0, "-10..-6", 0.5),
    ]


def test_numbers_mixed_with_text_are_a_short_answer() -> None:
    (question,) = parse("? Bao nhiêu tuổi?\n= 16\n= mười sáu\n").entries
    assert isinstance(question, ShortAnswer)
    assert [a.text for a in question.answers] == ["16", "mười sáu"]


def test_type_short_keeps_numbers_as_text() -> None:
    (question,) = parse("? Số tổng đài?\n= 111\ntype: short\n").entries
    assert isinstance(question, ShortAnswer)


def test_matching() -> None:
    quiz = parse(
        "? Nối mỗi cơ quan với nhiệm vụ chính trong kế hoạch của tỉnh.\n"
        "- Sở Y tế -> Dinh dưỡng, tiêm chủng, sức khỏe tâm thần trẻ em\n"
        "- Sở Giáo dục và Đào tạo -> Trường học an toàn, tư vấn tâm lý\n"
        "- Công an tỉnh → Phòng chống tội phạm xâm hại trẻ em\n"
        "- -> Cấp giấy khai sinh\n"
    )
    (question,) = quiz.entries
    assert isinstance(question, Matching)
    assert [(p.id, p.left, p.right) for p in question.pairs] == [
        ("p1", "Sở Y tế", "Dinh dưỡng, tiêm chủng, sức khỏe tâm thần trẻ em"),
        ("p2", "Sở Giáo dục và Đào tạo", "Trường học an toàn, tư vấn tâm lý"),
        ("p3", "Công an tỉnh", "Phòng chống tội phạm xâm hại trẻ em"),
        ("p4", "", "Cấp giấy khai sinh"),
    ]


def test_ordering() -> None:
    quiz = parse(
        "? Sắp xếp các bước xử lý khi nhận tin báo trẻ bị xâm hại.\n"
        "type: ordering\n"
        "1. Tiếp nhận thông tin, bảo đảm an toàn cho trẻ\n"
        "2. Báo cáo Chủ tịch UBND xã và cơ quan công an\n"
        "3) Đánh giá nguy cơ và lập kế hoạch hỗ trợ\n"
        "4. Theo dõi, đánh giá kết quả can thiệp\n"
    )
    (question,) = quiz.entries
    assert isinstance(question, Ordering)
    assert [(i.id, i.text) for i in question.items] == [
        ("i1", "Tiếp nhận thông tin, bảo đảm an toàn cho trẻ"),
        ("i2", "Báo cáo Chủ tịch UBND xã và cơ quan công an"),
        ("i3", "Đánh giá nguy cơ và lập kế hoạch hỗ trợ"),
        ("i4", "Theo dõi, đánh giá kết quả can thiệp"),
    ]


def test_fill_in_the_blanks() -> None:
    quiz = parse(
        "? Theo Luật Trẻ em, trẻ em là người dưới [[16|mười sáu]] tuổi; người từ đủ\n"
        "[[16]] đến dưới [[ 18 ]] tuổi được gọi là người chưa thành niên.\n"
        "match: ignore-accents\n"
    )
    (question,) = quiz.entries
    assert isinstance(question, FillBlanks)
    assert question.segments == [
        "Theo Luật Trẻ em, trẻ em là người dưới ",
        " tuổi; người từ đủ\n",
        " đến dưới ",
        " tuổi được gọi là người chưa thành niên.",
    ]
    assert [(g.id, g.answers) for g in question.gaps] == [
        ("g1", ["16", "mười sáu"]),
        ("g2", ["16"]),
        ("g3", ["18"]),
    ]
    assert question.prompt == GAP_MARK.join(question.segments)
    assert "16" not in question.prompt  # no answer in what every view may show
    assert question.ignore_accents is True


def test_scenario_and_ids_across_the_quiz() -> None:
    quiz = parse(
        "? Câu mở đầu\n= a\n\n"
        "## Tình huống: Em H., 9 tuổi\n"
        "Giáo viên chủ nhiệm thấy em H. nhiều lần đến lớp với vết bầm trên tay và\n"
        "thường ngồi một mình. Khi được hỏi, em im lặng và khóc.\n"
        "\n"
        "? Việc đầu tiên giáo viên nên làm là gì?\n"
        "- [ ] Gọi điện trách phạt cha mẹ em\n"
        "- [x] Trò chuyện riêng, nhẹ nhàng để em cảm thấy an toàn\n"
        "\n"
        "? Những ai cần được thông báo?\n"
        "- [x] Ban giám hiệu nhà trường\n"
        "- [x] Công chức văn hóa - xã hội của xã\n"
        "id: ai-can-biet\n"
        "## end\n"
        "\n"
        "---\n"
        "? Câu cuối\nanswer: sai\n"
        "## Tình huống 2\n"
        "? Câu trong tình huống 2\nanswer: đúng\n"
    )
    first, scenario, last, second = quiz.entries
    assert isinstance(first, ShortAnswer) and first.id == "q1"
    assert isinstance(scenario, Scenario)
    assert scenario.id == "s1"
    assert scenario.title == "Tình huống: Em H., 9 tuổi"
    assert scenario.description == (
        "Giáo viên chủ nhiệm thấy em H. nhiều lần đến lớp với vết bầm trên tay và\n"
        "thường ngồi một mình. Khi được hỏi, em im lặng và khóc."
    )
    assert scenario.line == FENCE_LINE + 4
    assert [q.id for q in scenario.questions] == ["q2", "ai-can-biet"]
    assert [q.line for q in scenario.questions] == [FENCE_LINE + 8, FENCE_LINE + 12]
    assert isinstance(last, TrueFalse) and last.id == "q4"
    assert isinstance(second, Scenario) and second.id == "s2"
    assert [q.id for q in second.questions] == ["q5"]
    assert [q.id for q in quiz.questions()] == ["q1", "q2", "ai-can-biet", "q4", "q5"]


def test_multi_line_prompt_with_markdown() -> None:
    (question,) = parse(
        "? Đọc đoạn sau:\n"
        "\n"
        "> Trẻ em có quyền được bảo vệ.\n"
        "\n"
        "* **in đậm**\n"
        "* [liên kết](https://example.org)\n"
        "1. mục đánh số trong câu hỏi\n"
        "Ghi chú: đây vẫn là câu hỏi\n"
        "Answers: cũng vậy\n"
        "- [x] a\n"
        "- [ ] b\n"
    ).entries
    assert question.prompt == (
        "Đọc đoạn sau:\n\n> Trẻ em có quyền được bảo vệ.\n\n* **in đậm**\n"
        "* [liên kết](https://example.org)\n1. mục đánh số trong câu hỏi\n"
        "Ghi chú: đây vẫn là câu hỏi\nAnswers: cũng vậy"
    )


def test_partial_credits() -> None:
    single, multiple, short = parse(
        "? Một đáp án\n- ( ) {50%} gần đúng\n- (x) đúng\n- ( ) {-25%} sai\n"
        "? Nhiều đáp án\n- [x] {60%} a\n- [x] {40 %} b\n- [ ] {-50%} c\n"
        "? Ngắn\n= Sở Y tế\n= {50%} Y tế\n  > Gần đúng.\n"
    ).entries
    assert isinstance(single, SingleChoice)
    assert [o.credit for o in single.options] == [0.5, None, -0.25]
    assert isinstance(multiple, MultipleChoice)
    assert [o.credit for o in multiple.options] == [0.6, 0.4, -0.5]
    assert isinstance(short, ShortAnswer)
    assert [(a.text, a.credit, a.feedback) for a in short.answers] == [
        ("Sở Y tế", 1.0, ""),
        ("Y tế", 0.5, "Gần đúng."),
    ]


def test_settings_id_points_tags() -> None:
    (question,) = parse("? Q\n= a\nid: cau-1\npoints: 2,5\ntags: luat, tinh-huong, luat\n").entries
    assert (question.id, question.points, question.tags) == ("cau-1", 2.5, ["luat", "tinh-huong"])


def test_many_options_get_double_letter_ids() -> None:
    body = "? Q\n- [x] o0\n" + "".join(f"- [ ] o{i}\n" for i in range(1, 28))
    (question,) = parse(body).entries
    assert isinstance(question, SingleChoice)
    assert [o.id for o in question.options][24:] == ["y", "z", "aa", "ab"]


def test_quiz_line_options() -> None:
    body = "".join(f"? Q{i}\n= a\ntags: {'luat' if i < 4 else 'khac'}\n" for i in range(6))
    quiz = parse(
        body,
        id="kiem-tra-cuoi",
        graded="",
        **{"pass": "75,5", "attempts": "3", "grading": "average", "time": "20"},
        shuffle="",
        draw="luat:3,2",
        title="Kiểm tra cuối khóa",
    )
    assert quiz.id == "kiem-tra-cuoi"
    assert quiz.graded is True
    assert (quiz.pass_mark, quiz.max_attempts, quiz.grading, quiz.time_limit_minutes) == (
        75.5,
        3,
        "average",
        20,
    )
    assert (quiz.shuffle_questions, quiz.shuffle_options) == (True, True)
    assert [(r.tag, r.count) for r in quiz.draw] == [("luat", 3), (None, 2)]
    assert quiz.title == "Kiểm tra cuối khóa"


def test_quiz_line_defaults() -> None:
    quiz = parse("? Q\n= a\n", id="x", practice="")
    assert (quiz.graded, quiz.pass_mark, quiz.max_attempts, quiz.grading) == (
        False,
        80.0,
        0,
        "highest",
    )
    assert (quiz.time_limit_minutes, quiz.shuffle_questions, quiz.shuffle_options) == (
        0,
        False,
        False,
    )
    assert (quiz.draw, quiz.title) == ([], "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("all", (True, True)),
        ("questions", (True, False)),
        ("options", (False, True)),
        ("none", (False, False)),
    ],
)
def test_quiz_shuffle_values(value: str, expected: tuple[bool, bool]) -> None:
    quiz = parse("? Q\n= a\n", id="x", shuffle=value)
    assert (quiz.shuffle_questions, quiz.shuffle_options) == expected


def test_draw_counts_a_scenario_as_one_entry_with_its_questions_tags() -> None:
    quiz = parse(
        "## Tình huống\nMô tả\n? A\n= a\ntags: th\n? B\n= b\ntags: th\n## end\n? C\n= c\n",
        id="x",
        draw="th:1,1",
    )
    assert [(r.tag, r.count) for r in quiz.draw] == [("th", 1), (None, 1)]


def test_text_is_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "? Trẻ em   \r\n= Sở Y tế  \r\n")
    (question,) = parse(decomposed).entries
    assert isinstance(question, ShortAnswer)
    assert question.prompt == "Trẻ em"
    assert question.answers[0].text == "Sở Y tế"
    assert unicodedata.is_normalized("NFC", question.answers[0].text)


def test_lone_carriage_returns_are_line_breaks() -> None:
    (question,) = parse("? Q\r- [x] a\r- [ ] b\r").entries
    assert isinstance(question, SingleChoice)


def test_blocks_found_in_a_lesson_keep_file_lines() -> None:
    lesson = "# Bài 1\n\nVăn bản.\n\n```quiz id=bai-1\n? Q\n- [x] a\n- [ ] b\n```\n"
    (found,), errors = extract_blocks(lesson, file="bai-1.md", kinds={"quiz": None})
    assert errors == []
    (question,) = parse_quiz(found).entries
    assert question.line == 6
    broken = lesson.replace("- [x] a", "- [ ] a")
    (found,), _ = extract_blocks(broken, file="bai-1.md", kinds={"quiz": None})
    with pytest.raises(ExerciseParseError) as info:
        parse_quiz(found)
    assert info.value.problems[0].format().startswith("bai-1.md:7:1: error: thiếu đáp án đúng")


def test_parsed_quiz_survives_json() -> None:
    quiz = parse("## T\n? A\n- [x] a\n- [ ] b\n## end\n? B\n= 1..2\n? C [[x]]\n")
    assert Quiz.model_validate_json(quiz.model_dump_json()) == quiz


# ------------------------------------------------------------------ mistakes


def test_empty_prompt() -> None:
    assert problem("?\n- [x] a\n- [ ] b\n").startswith(
        "lesson.md:11:1: error: the question has no text (write the question after '? ')"
    )


def test_question_with_no_answers() -> None:
    found = problems("? Q1\n\n? Q2\n- [x] a\n- [ ] b\n")
    assert found == [
        "lesson.md:11:1: error: the question has no answers (add options ('- [ ] …', "
        "'- [x] …'), accepted answers ('= …') or 'answer: đúng')"
    ]


def test_no_correct_option_in_both_languages() -> None:
    body = "? Q\n- [ ] a\n- [ ] b\n"
    assert problem(body) == (
        "lesson.md:12:1: error: no correct option (tick the right option: '- [x] …' (or '- (x) …'))"
    )
    assert problem(body, "vi") == (
        "lesson.md:12:1: error: thiếu đáp án đúng "
        "(hãy đánh dấu [x] trước phương án đúng (hoặc (x)))"
    )


def test_two_correct_options_in_single_choice_in_both_languages() -> None:
    body = "? Q\n- (x) a\n- ( ) b\n- (x) c\n"
    assert problem(body).startswith(
        "lesson.md:14:1: error: 2 correct options in a single-choice question (tick only one"
    )
    assert problem(body, "vi").startswith(
        "lesson.md:14:1: error: câu hỏi một đáp án nhưng có 2 phương án được đánh dấu đúng "
        "(chỉ đánh dấu một phương án"
    )
    typed = "? Q\n- [x] a\n- [x] b\ntype: single\n"
    assert problem(typed).startswith("lesson.md:13:1: error: 2 correct options in a single-")


def test_option_with_empty_text() -> None:
    assert problem("? Q\n- [x]\n- [ ] b\n").startswith(
        "lesson.md:12:1: error: option with empty text"
    )
    assert problem("? Q\n= {50%}\n").startswith("lesson.md:12:1: error: empty accepted answer")


def test_duplicate_question_ids_name_both_lines() -> None:
    found = problems("? A\n= a\nid: same\n? B\n= b\nid: same\n")
    assert found == [
        "lesson.md:16:5: error: id 'same' is used twice: lines 13 and 16 "
        "(give each question its own 'id:')"
    ]
    # an explicit id taking a later question's default one
    found = problems("? A\n= a\nid: q2\n? B\n= b\n")
    assert found[0].startswith("lesson.md:14:1: error: id 'q2' is used twice: lines 13 and 14")


@pytest.mark.parametrize("value", ["120", "-1", "abc", "80x"])
def test_pass_mark_outside_0_100_or_not_a_number(value: str) -> None:
    found = problem("? Q\n= a\n", id="x", **{"pass": value})
    assert found.startswith(f"lesson.md:10:1: error: pass mark '{value}' is not a number from 0")


@pytest.mark.parametrize(("name", "value"), [("attempts", "2.5"), ("time", "20m"), ("time", "-5")])
def test_attempts_and_time_must_be_whole_numbers(name: str, value: str) -> None:
    found = problem("? Q\n= a\n", id="x", **{name: value})
    assert found.startswith(f"lesson.md:10:1: error: {name}={value} is not a whole number")


def test_draw_more_questions_than_the_quiz_has() -> None:
    found = problem("? A\n= a\n? B\n= b\n", id="x", draw="3")
    assert found.startswith("lesson.md:10:1: error: draw takes 3 questions but the quiz has only 2")


def test_draw_more_questions_than_a_tag_has() -> None:
    body = "? A\n= a\ntags: luat\n? B\n= b\n? C\n= c\n"
    found = problem(body, id="x", draw="luat:2")
    assert found.startswith(
        "lesson.md:10:1: error: draw takes 2 questions tagged 'luat' but only 1 have that tag"
    )


def test_draw_tag_no_question_has() -> None:
    found = problem("? A\n= a\ntags: luat\n? B\n= b\n", id="x", draw="luta:1")
    assert found == (
        "lesson.md:10:1: error: draw uses tag 'luta' but no question has it "
        "(did you mean 'luat'? add 'tags: luta' to the questions to draw from)"
    )


@pytest.mark.parametrize("value", ["", "0", "x", "luat:", ":3", "3,3", "luat:1,luat:2"])
def test_draw_that_cannot_be_read(value: str) -> None:
    found = problem("? A\n= a\n? B\n= b\n", id="x", draw=value)
    assert found.startswith("lesson.md:10:1: error: ")
    assert "draw" in found


@pytest.mark.parametrize(
    ("answer", "column", "message"),
    [
        ("abc", 3, "'abc' is not a number"),
        ("12 ± x", 3, "'12 ± x' is not a number"),
        ("{50%} 12 +- x", 9, "'12 +- x' is not a number"),
        ("60..30", 3, "the range '60..30' goes from high to low"),
        ("18 ± -1", 3, "the tolerance in '18 ± -1' is negative"),
    ],
)
def test_numeric_answer_that_is_not_a_number(answer: str, column: int, message: str) -> None:
    found = problem(f"? Q\n= {answer}\ntype: numeric\n")
    assert found.startswith(f"lesson.md:12:{column}: error: {message}")


def test_tolerance_among_text_answers() -> None:
    found = problem("? Q\n= mười sáu\n= 16 ± 1\n")
    assert found.startswith(
        "lesson.md:13:3: error: '16 ± 1' is a tolerance or a range, but other accepted answers"
    )


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan"])
def test_points_not_a_positive_number(value: str) -> None:
    found = problem(f"? Q\n= a\npoints: {value}\n")
    assert found.startswith(
        f"lesson.md:13:9: error: points must be a positive number, not '{value}'"
    )


def test_unknown_setting_with_did_you_mean_in_both_languages() -> None:
    body = "? Q\n= a\nhnit: xem lại\n"
    assert problem(body).startswith(
        "lesson.md:13:1: error: unknown setting 'hnit:' (did you mean 'hint'? the settings are:"
    )
    assert problem(body, "vi").startswith(
        "lesson.md:13:1: error: thiết lập 'hnit:' không tồn tại "
        "(có phải bạn muốn viết 'hint'? các thiết lập hợp lệ:"
    )


def test_misspelt_setting_right_after_the_prompt() -> None:
    found = problems("? Q\ntpye: ordering\n1. a\n2. b\n")
    assert [f.split(" (")[0] for f in found] == [
        "lesson.md:12:1: error: unknown setting 'tpye:'",
        "lesson.md:13:1: error: numbered item in a question that is not an ordering question",
    ]
    assert "did you mean 'type'?" in found[0]


def test_unknown_quiz_option_with_did_you_mean() -> None:
    found = problem("? Q\n= a\n", id="x", pas="80")
    assert found.startswith(
        "lesson.md:10:1: error: unknown option 'pas' on the quiz line (did you mean 'pass'?"
    )


def test_quiz_line_mistakes() -> None:
    assert problem("? Q\n= a\n", graded="").startswith("lesson.md:10:1: error: the quiz has no id")
    assert problem("? Q\n= a\n", id="bad id").startswith(
        "lesson.md:10:1: error: id 'bad id' is not valid"
    )
    assert "both graded and practice" in problem("? Q\n= a\n", id="x", graded="", practice="")
    assert "'graded' takes no value" in problem("? Q\n= a\n", id="x", graded="yes")
    assert "grading=best is not valid" in problem("? Q\n= a\n", id="x", grading="best")
    assert "did you mean 'all'?" in problem("? Q\n= a\n", id="x", shuffle="al")
    assert "'title' needs a value" in problem("? Q\n= a\n", id="x", title="")


def test_text_outside_a_question() -> None:
    found = problems("Giới thiệu\nvẫn giới thiệu\n\n? Q\n= a\n---\nchữ lạc\n")
    assert found == [
        "lesson.md:11:1: error: text outside a question (start a question with '? ' "
        "(a case study with '## '), or delete this line)",
        "lesson.md:17:1: error: text outside a question (start a question with '? ' "
        "(a case study with '## '), or delete this line)",
    ]


def test_matching_with_fewer_than_two_pairs() -> None:
    assert problem("? Q\n- a -> b\n- -> c\n").startswith(
        "lesson.md:11:1: error: a matching question needs at least 2 pairs; this one has 1"
    )


def test_matching_pair_without_right_side() -> None:
    assert problem("? Q\n- a -> b\n- c ->\n- d -> e\n").startswith(
        "lesson.md:13:1: error: pair '- c ->' has no right side"
    )


def test_ordering_with_fewer_than_two_items() -> None:
    assert problem("? Q\ntype: ordering\n1. a\n").startswith(
        "lesson.md:11:1: error: an ordering question needs at least 2 items; this one has 1"
    )
    assert problem("? Q\n1. a\n2. b\ntype: ordering\n").startswith(
        "lesson.md:11:1: error: an ordering question needs at least 2 items; this one has 0 "
        "(list the items '1. …', '2. …' in the right order, below the line 'type: ordering')"
    )


def test_numbered_items_without_type_ordering() -> None:
    assert problem("? Q\n= a\n1. b\n").startswith(
        "lesson.md:13:1: error: numbered item in a question that is not an ordering question"
    )


def test_empty_and_unclosed_gaps() -> None:
    prompt = "? Trẻ em dưới [[ | ]] tuổi và [[16"
    found = problems(prompt + "\n")
    assert found == [
        f"lesson.md:11:{prompt.index('[[') + 1}: error: empty gap '[[ ]]' (write the accepted "
        "answer inside, alternatives separated by '|': [[16|mười sáu]])",
        f"lesson.md:11:{prompt.rindex('[[') + 1}: error: gap '[[' is not closed on this line "
        "(close it with ']]' on the same line: [[16]])",
    ]


def test_unknown_type() -> None:
    assert problem("? Q\n- [x] a\n- [ ] b\ntype: singel\n").startswith(
        "lesson.md:14:7: error: unknown question type 'singel' (did you mean 'single'?"
    )


def test_type_that_does_not_fit_the_answers() -> None:
    assert problem("? Q\n= a\ntype: multiple\n").startswith(
        "lesson.md:13:7: error: 'type: multiple' does not fit the answers, which are accepted"
    )


def test_mixing_answer_styles() -> None:
    assert problem("? Q\n- [x] a\n- [ ] b\n= c\n").startswith(
        "lesson.md:14:1: error: this question mixes options '- [ ]' (line 12) with accepted "
        "answers '= …'"
    )
    assert problem("? Q\n= a\nanswer: đúng\n").startswith(
        "lesson.md:13:1: error: this question mixes accepted answers '= …' (line 12) with 'answer:'"
    )
    assert problem("? Q\n- [x] a\n- ( ) b\n").startswith(
        "lesson.md:13:1: error: '[ ]' boxes and '( )' round brackets are mixed in one question"
    )
    assert problem("? Q\n- (x) a\n- ( ) b\ntype: multiple\n").startswith(
        "lesson.md:14:7: error: 'type: multiple' cannot use round brackets"
    )


def test_gaps_cannot_be_combined_with_other_answers() -> None:
    assert problem("? Trẻ em dưới [[16]] tuổi\n= 16\n").startswith(
        "lesson.md:12:1: error: the gaps '[[…]]' in the question text (line 11) cannot be "
        "combined with accepted answers '= …'"
    )


def test_block_with_no_questions() -> None:
    for body in ("", "\n\n", "---\n"):
        assert problem(body) == (
            "lesson.md:10:1: error: the quiz has no questions "
            "(start each question with a line '? …')"
        )


def test_scenario_mistakes() -> None:
    found = problems("##\n? Q\n= a\n## Tình huống trống\nMô tả\n## end\n")
    assert found == [
        "lesson.md:11:1: error: the case study has no title (write the title after '## ', "
        "e.g. '## Tình huống: Em H., 9 tuổi')",
        "lesson.md:14:1: error: the case study 'Tình huống trống' has no questions (add "
        "questions '? …' below its description, or remove it)",
    ]


def test_layout_mistakes() -> None:
    found = problems("? Q\n- [x] a\n- b\n> orphan?\nhint: h\n> after a setting\nloose text\n")
    assert [f.split(" (")[0] for f in found] == [
        "lesson.md:11:1: error: a choice question needs at least 2 options; this one has 1",
        "lesson.md:13:1: error: option 'b' has no box",
        "lesson.md:16:1: error: a feedback line '>' must come right below an option or "
        "accepted answer",
        "lesson.md:17:1: error: unexpected text after the answers",
    ]


def test_setting_mistakes() -> None:
    found = problems(
        "? Q\n= a\nhint: một\nhint: hai\nfeedback:\nscoring: partial\nmatch: bo-dau\n"
        "? R\nanswer: có lẽ\n? S\n- [x] a\n- [ ] b\nshuffle: maybe\nid: không hợp lệ\n"
    )
    assert [f.split(" (")[0] for f in found] == [
        "lesson.md:14:1: error: 'hint:' is given twice in this question",
        "lesson.md:15:1: error: 'feedback:' has no value",
        "lesson.md:16:1: error: 'scoring:' only applies to multiple-choice questions",
        "lesson.md:17:8: error: 'match: bo-dau' is not valid",
        "lesson.md:19:9: error: 'answer: có lẽ' must be đúng/sai or true/false",
        "lesson.md:23:10: error: 'shuffle: maybe' is not valid",
        "lesson.md:24:5: error: question id 'không hợp lệ' is not valid",
    ]


def test_credit_mistakes() -> None:
    found = problems(
        "? A\n- [x] {50} a\n- [ ] b\n"
        "? B\n- (x) {50%} a\n- ( ) b\n"
        "? C\n- [x] {50%} a\n- [x] {30%} b\n- [ ] {10%} c\n"
        "? D\n= {-20%} a\n= {250%} b\n"
    )
    assert [f.split(" (")[0] for f in found] == [
        "lesson.md:12:7: error: credit '{50}' cannot be read",
        "lesson.md:15:1: error: the right option of a single-choice question always earns 100%",
        "lesson.md:18:1: error: the credits of the ticked options add up to 80%, so full marks "
        "are impossible",
        "lesson.md:20:1: error: a ticked option needs a positive credit, an unticked one zero "
        "or negative",
        "lesson.md:22:3: error: the credit of an accepted answer must be from 0% to 100%, not -20%",
        "lesson.md:23:3: error: credit '{250%}' cannot be read",
    ]


def test_too_few_and_duplicate_options() -> None:
    assert problem("? Q\n- [x] a\n").startswith(
        "lesson.md:11:1: error: a choice question needs at least 2 options; this one has 1"
    )
    assert problem("? Q\n- [x] Có\n- [ ] có \n").startswith(
        "lesson.md:13:1: error: option 'có' is already written on line 12"
    )


def test_every_problem_is_reported_not_just_the_first() -> None:
    found = problems(
        "? A\n- [ ] a\n- [ ] b\n"  # no correct option
        "?\n= x\n"  # empty prompt
        "? C\n= c\npoints: -1\n",  # bad points
        id="x",
        attempts="many",
    )
    assert [f.split(": error")[0] for f in found] == [
        "lesson.md:10:1",
        "lesson.md:12:1",
        "lesson.md:14:1",
        "lesson.md:18:9",
    ]


def test_a_bug_is_still_reported_as_a_located_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(parse_module._Parser, "read_layout", broken)
    found = problem("? Q\n= a\n", "vi")
    assert found.startswith("lesson.md:10:1: error: lỗi nội bộ khi đọc quiz (RuntimeError: boom)")


def test_problems_are_exercise_parse_errors_with_a_summary() -> None:
    with pytest.raises(ExerciseParseError) as info:
        parse("? Q\n")
    assert str(info.value).endswith("1 problem(s) found; nothing was written")


# ------------------------------------------------------------------ messages


def test_every_message_has_both_languages_with_the_same_fields() -> None:
    formatter = string.Formatter()
    for key, (english, vietnamese) in MESSAGES.items():
        assert english.strip() and vietnamese.strip(), key
        fields_en = {f for _, f, _, _ in formatter.parse(english) if f}
        fields_vi = {f for _, f, _, _ in formatter.parse(vietnamese) if f}
        assert fields_en == fields_vi, key
        if not key.endswith(".hint") and "." not in key:
            assert english != vietnamese or key.startswith("style."), key


def test_msg_fills_fields_and_picks_the_language() -> None:
    assert msg("no_correct", "vi") == "thiếu đáp án đúng"
    assert msg("no_correct.hint", "vi") == "hãy đánh dấu [x] trước phương án đúng (hoặc (x))"
    assert msg("no_correct", "en") == "no correct option"
    assert msg("duplicate_id", "en", id="q1", first=3, second=9) == (
        "id 'q1' is used twice: lines 3 and 9"
    )
    assert msg("credit_invalid.hint", "en").endswith("e.g. {50%}")


# ------------------------------------------------------------------ the guide's examples


def _doc_examples() -> list[tuple[str, Block]]:
    """Every quiz in the guide: ```quiz blocks (also those shown inside ````markdown),
    and the bare examples of each question type, wrapped as ```quiz id=x."""
    text = DOC.read_text(encoding="utf-8")
    out: list[tuple[str, Block]] = []
    heading = ""
    tokens = MarkdownIt("commonmark").parse(text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = tokens[index + 1].content
        if token.type != "fence" or token.map is None:
            continue
        line = token.map[0] + 1
        info = token.info.strip()
        if info.startswith("markdown"):
            inner, errors = extract_blocks(token.content, file=DOC.name, kinds={"quiz": None})
            assert errors == []
            out.extend((heading, b.model_copy(update={"line": line + b.line})) for b in inner)
        elif info.startswith("quiz"):
            kind, options = parse_info(info, file=DOC.name, line=line)
            out.append(
                (
                    heading,
                    Block(kind=kind, options=options, body=token.content, file=DOC.name, line=line),
                )
            )
        elif not info and token.content.lstrip().startswith(("? ", "## ")):
            out.append(
                (
                    heading,
                    Block(
                        kind="quiz",
                        options={"id": "x"},
                        body=token.content,
                        file=DOC.name,
                        line=line,
                    ),
                )
            )
    return out


EXPECTED_KINDS = {
    "A first quiz": ["single"],
    "Single choice": ["single"],
    "Multiple choice": ["multiple"],
    "True or false": ["truefalse"],
    "Short answer": ["short"],
    "Numeric": ["numeric", "numeric", "numeric"],
    "Matching": ["matching"],
    "Ordering": ["ordering"],
    "Fill in the blanks": ["blanks"],
    "Scenario (case study)": ["scenario"],
}


def test_every_example_of_the_guide_parses() -> None:
    examples = _doc_examples()
    assert sorted(heading for heading, _ in examples) == sorted(EXPECTED_KINDS)
    for heading, example in examples:
        quiz = parse_quiz(example)
        assert [entry.kind for entry in quiz.entries] == EXPECTED_KINDS[heading], heading


def test_the_guides_quiz_line_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"Example: `+\s*`*(quiz [^`]+?)\s*`+", text)
    assert match is not None
    kind, options = parse_info(match.group(1), file=DOC.name, line=1)
    body = "".join(f"? Câu {i}\n= {i}\n" for i in range(12))
    quiz = parse_quiz(Block(kind=kind, options=options, body=body, file=DOC.name, line=1))
    assert quiz.id == "kiem-tra-cuoi"
    assert (quiz.graded, quiz.pass_mark, quiz.max_attempts) == (True, 80.0, 3)
    assert (quiz.grading, quiz.time_limit_minutes) == ("highest", 20)
    assert (quiz.shuffle_questions, quiz.shuffle_options) == (True, True)
    assert [(r.tag, r.count) for r in quiz.draw] == [(None, 10)]


def test_the_guides_partial_credit_examples() -> None:
    (single, multiple, short) = parse(
        "? Q\n- ( ) {50%} gần đúng\n- (x) đúng\n"
        "? Q\n- [x] a\n- [x] b\n- [ ] {-50%} c\n"
        "? Q\n= {50%} gần đúng\n= đúng\n"
    ).entries
    assert isinstance(single, SingleChoice) and single.options[0].credit == 0.5
    assert isinstance(multiple, MultipleChoice) and multiple.options[2].credit == -0.5
    assert isinstance(short, ShortAnswer) and short.answers[0].credit == 0.5


# ------------------------------------------------------------------ robustness

VALID = (
    "? Tổng đài quốc gia bảo vệ trẻ em là số nào?\n- ( ) 113\n- (x) 111\n  > Đúng.\n- ( ) 115\n"
    "hint: gợi ý\nfeedback: chung\nid: tong-dai\npoints: 2\ntags: luat\n\n"
    "? Dấu hiệu?\n- [x] {50%} a\n- [x] {50%} b\n- [ ] {-50%} c\ntype: multiple\n"
    "scoring: partial\nshuffle: no\n---\n"
    "? Trẻ em là người dưới 16 tuổi.\nanswer: đúng\nif-true: ừ\nif-false: không\n"
    "? Cơ quan?\n= Sở Y tế\n= {50%} SYT\n  > Viết tắt.\nmatch: ignore-accents\n"
    "? Tỉ lệ?\n= 18,2 ± 0,5\n= 30..60\n"
    "## Tình huống\nMô tả **đậm**.\n\n"
    "? Nối.\n- Sở Y tế -> Dinh dưỡng\n- Công an -> Phòng chống\n- -> Khai sinh\n"
    "? Sắp xếp.\ntype: ordering\n1. Một\n2. Hai\n3. Ba\n"
    "## end\n"
    "? Trẻ em dưới [[16|mười sáu]] tuổi; từ [[16]] đến dưới [[18]].\n"
)
FRAGMENTS = [
    "? ",
    "?",
    "- [ ] ",
    "- [x] ",
    "- ( ) ",
    "- (x) ",
    "* [X] ",
    "= ",
    "> ",
    "## ",
    "## end",
    "---",
    "1. ",
    "2) ",
    "->",
    "→",
    "[[",
    "]]",
    "|",
    "{50%} ",
    "{-50%}",
    "{",
    "}",
    "%",
    "±",
    "+-",
    "..",
    ":",
    "id: ",
    "points: ",
    "tags: ",
    "hint: ",
    "feedback: ",
    "type: ",
    "scoring: ",
    "match: ",
    "shuffle: ",
    "answer: ",
    "if-true: ",
    "if-false: ",
    "ordering",
    "multiple",
    "single",
    "numeric",
    "đúng",
    "sai",
    "12",
    "-3,5",
    "1e400",
    "9" * 30,
    "a",
    "Ư",
    " ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\u0301",
    "\x00",
    "\ufeff",
]


def _assert_well_behaved(body: str, options: dict[str, str] | None = None) -> None:
    try:
        quiz = parse_quiz(block(body, **(options or {"id": "x"})))
    except ExerciseParseError as exc:
        assert exc.problems
        last = FENCE_LINE + body.count("\n") + body.count("\r") + 1
        for found in exc.problems:
            assert found.file == "lesson.md"
            assert FENCE_LINE <= found.line <= last
            assert found.column >= 1
            assert found.message and "internal error" not in found.message
    else:
        assert quiz.entries


def test_valid_fuzz_seed_parses() -> None:
    quiz = parse(VALID, id="x", draw="luat:1,2", shuffle="")
    assert len(quiz.questions()) == 8


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text_never_raises_anything_else(body: str) -> None:
    _assert_well_behaved(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=80))
def test_random_syntax_never_raises_anything_else(pieces: list[str]) -> None:
    _assert_well_behaved("".join(pieces))


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    text = VALID
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "swap-lines"]))
        if action == "delete":
            end = position + draw(st.integers(1, 20))
            text = text[:position] + text[end:]
        elif action == "insert":
            text = text[:position] + draw(st.sampled_from(FRAGMENTS)) + text[position:]
        elif action == "replace":
            text = text[:position] + draw(st.text(max_size=3)) + text[position + 3 :]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_quizzes_never_raise_anything_else(body: str) -> None:
    _assert_well_behaved(body)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "graded",
                "practice",
                "pass",
                "attempts",
                "grading",
                "time",
                "shuffle",
                "draw",
                "title",
                "pas",
                "Ïd",
                "",
            ]
        ),
        st.one_of(
            st.sampled_from(["", "x", "80", "-1", "luat:1,2", "9" * 5000, "all"]),
            st.text(max_size=12),
        ),
    )
)
def test_random_quiz_lines_never_raise_anything_else(options: dict[str, str]) -> None:
    _assert_well_behaved(VALID, options or {"id": "x"})


@pytest.mark.parametrize(
    "body",
    [
        "? " + "[[" * 60_000 + "]]",
        "? " + "[[a" * 50_000,
        "? q\n- " + " " * 120_000 + "x",
        "? q\n= " + "1" * 120_000 + "..",
        "? q\n= {" + "5" * 120_000 + "%} a",
        "? q\n" + "ab: c\n" * 30_000,
        "? q\n= a\n" + "zz: c\n" * 30_000,
        "? q\n- [x] a\n- [ ] b\n" * 8_000,
        "x\n" * 100_000,
        "? " + "a" * 200_000,
    ],
    ids=[
        "brackets",
        "unclosed-gaps",
        "spaces",
        "long-range",
        "long-credit",
        "prompt-keys",
        "unknown-settings",
        "many-questions",
        "outside",
        "long-prompt",
    ],
)
def test_hostile_blocks_give_parse_errors_only(body: str) -> None:
    """Hostile bodies end in a parse result or ExerciseParseError (timing: benchmarks)."""
    _assert_well_behaved(body)

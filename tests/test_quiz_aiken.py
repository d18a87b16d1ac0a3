"""Aiken import: well-formed files convert, malformed questions are reported by line."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms_core.errors import LmsError
from lms_core.exercises import extract_blocks
from lms_quiz.aiken import import_aiken
from lms_quiz.gift import ImportResult, export_gift, import_gift
from lms_quiz.model import MultipleChoice, Quiz, SingleChoice
from lms_quiz.write import one_line, write_quiz


def aiken(text: str, **options: object) -> ImportResult:
    return import_aiken(text, file="cau-hoi.txt", quiz_id="aiken", language="en", **options)  # type: ignore[arg-type]


def round_trips(quiz: Quiz) -> None:
    """The imported quiz writes as Markdown that parses back to it, and survives GIFT."""
    parse = pytest.importorskip("lms_quiz.parse")
    blocks, problems = extract_blocks(write_quiz(quiz), file="b.md", kinds={"quiz": object()})
    assert problems == []
    back = parse.parse_quiz(blocks[0])
    assert back.model_dump(exclude={"entries"}) == quiz.model_dump(exclude={"entries"})
    assert [q.model_copy(update={"line": 0}) for q in back.questions()] == [
        q.model_copy(update={"line": 0}) for q in quiz.questions()
    ]
    gift = import_gift(export_gift(quiz).text, file="x.gift", quiz_id=quiz.id)
    assert gift.quiz is not None
    assert [q.model_copy(update={"line": 0}) for q in gift.quiz.questions()] == [
        q.model_copy(update={"line": 0}) for q in quiz.questions()
    ]


SAMPLE = """Theo Luật Trẻ em 2016, trẻ em là người dưới bao nhiêu tuổi?
A. 15 tuổi
B) 16 tuổi
C. 18 tuổi
ANSWER: B

Tổng đài quốc gia bảo vệ trẻ em là số nào?
A) 113
B) 111
C) 115
D) 114
ANSWER: B
Cơ quan nào là cơ quan thường trực về công tác trẻ em của tỉnh?
A. Sở Y tế
B. Sở Tư pháp
ANSWER: A
"""


def test_well_formed_file() -> None:
    result = aiken(SAMPLE)
    assert result.skipped == [] and result.warnings == []
    assert result.quiz is not None
    questions = result.quiz.questions()
    assert [q.id for q in questions] == ["q1", "q2", "q3"]
    assert [q.line for q in questions] == [1, 7, 13]
    first = questions[0]
    assert isinstance(first, SingleChoice)
    assert first.prompt == "Theo Luật Trẻ em 2016, trẻ em là người dưới bao nhiêu tuổi?"
    assert [(o.id, o.text, o.correct) for o in first.options] == [
        ("a", "15 tuổi", False),
        ("b", "16 tuổi", True),
        ("c", "18 tuổi", False),
    ]
    assert [o.text for o in questions[1].options] == ["113", "111", "115", "114"]  # type: ignore[union-attr]
    round_trips(result.quiz)


def test_multi_line_question_crlf_bom_and_lower_case_answer() -> None:
    text = "\ufeffĐọc tình huống sau.\r\nEm H. có vết bầm.\r\nViệc cần làm?\r\n"
    text += "A. Trò chuyện riêng\r\nB. Trách phạt\r\nanswer: a\r\n"
    result = aiken(text)
    assert result.skipped == []
    assert result.quiz is not None
    [question] = result.quiz.questions()
    assert question.prompt == "Đọc tình huống sau.\nEm H. có vết bầm.\nViệc cần làm?"
    round_trips(result.quiz)


def test_several_answer_letters_give_multiple_choice() -> None:
    result = aiken("Dấu hiệu bạo lực?\nA. Vết bầm\nB. Thích thể thao\nC. Sợ hãi\nANSWER: A, C")
    assert result.quiz is not None
    [question] = result.quiz.questions()
    assert isinstance(question, MultipleChoice)
    assert [o.correct for o in question.options] == [True, False, True]
    round_trips(result.quiz)


def test_question_text_that_looks_like_quiz_syntax_is_escaped() -> None:
    result = aiken(
        "Chọn đúng:\n- [x] không phải đáp án\nhint: không phải gợi ý\nA. Một\nB. Hai\nANSWER: A"
    )
    assert result.quiz is not None
    [question] = result.quiz.questions()
    assert question.prompt == "Chọn đúng:\n\\- [x] không phải đáp án\nhint\\: không phải gợi ý"
    round_trips(result.quiz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Câu hỏi?\nA. x\nB. y\n\nCâu tiếp?\nA. x\nB. y\nANSWER: A",
            [(1, 1, "the question has no 'ANSWER:' line")],
        ),
        ("Câu hỏi?\nA. x\nB. y\n", [(1, 1, "the question has no 'ANSWER:' line")]),
        ("Câu hỏi?\nA. x\nB. y\nANSWER: E", [(4, 9, "answer 'E' is not one of the options A, B")]),
        (
            "Câu hỏi?\nA. x\nANSWER: A",
            [(1, 1, "a question needs at least 2 options; this one has 1")],
        ),
        ("Câu hỏi?\nANSWER: A", [(1, 1, "a question needs at least 2 options; this one has 0")]),
        ("Câu hỏi?\nA. x\nB. y\nANSWER:", [(4, 8, "'ANSWER:' has no letter")]),
        ("Câu hỏi?\nA. x\nA. y\nANSWER: A", [(3, 1, "option A is written twice (line 7)")]),
        ("Câu hỏi?\nA. Một\nB. một\nANSWER: A", [(3, 4, "option 'một' is written twice")]),
        ("ANSWER: A", [(1, 1, "'ANSWER:' line without a question before it")]),
        ("A. x\nB. y\nANSWER: A", [(1, 1, "options without a question text")]),
        (
            "Câu hỏi?\nA. x\nB. y\nANSWER: A\nANSWER: B",
            [(5, 1, "'ANSWER:' line without a question before it")],
        ),
    ],
)
def test_malformed_questions_are_skipped_with_their_line(
    text: str, expected: list[tuple[int, int, str]]
) -> None:
    result = aiken("Câu tốt?\nA. Có\nB. Không\nANSWER: A\n\n" + text)
    assert result.quiz is not None and result.quiz.questions()[0].prompt == "Câu tốt?"
    found = [(p.line - 5, p.column, p.message) for p in result.skipped]
    assert found == expected
    assert all(p.file == "cau-hoi.txt" and p.severity == "error" for p in result.skipped)


def test_a_good_question_after_a_bad_one_is_kept() -> None:
    result = aiken("Thiếu đáp án?\nA. x\nB. y\nCâu sau?\nA. Có\nB. Không\nANSWER: B")
    assert [p.line for p in result.skipped] == [1]
    assert result.quiz is not None
    [question] = result.quiz.questions()
    assert question.prompt == "Câu sau?" and question.line == 4


def test_lower_case_option_letters_are_text_as_in_moodle() -> None:
    result = aiken("Câu hỏi\na. không phải phương án\nA. x\nB. y\nANSWER: A")
    assert result.quiz is not None
    assert result.quiz.questions()[0].prompt == "Câu hỏi\na. không phải phương án"


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "ANSWER:", "A.", "A. \nB. \nANSWER: A", "?\nA) \nB) x\nANSWER: A", "\x7f" * 10],
)
def test_degenerate_input_never_raises(text: str) -> None:
    assert isinstance(aiken(text), ImportResult)


def test_binary_input_is_refused() -> None:
    result = aiken("Câu?\nA. x\x00\nB. y\nANSWER: A")
    assert result.quiz is None
    assert [(p.line, p.column) for p in result.skipped] == [(0, 0)]


def test_messages_in_vietnamese_by_default() -> None:
    result = import_aiken("Câu hỏi?\nA. x\nB. y", file="a.txt", quiz_id="a")
    assert result.skipped[0].message == "câu hỏi thiếu dòng 'ANSWER:'"


def test_graded_and_invalid_quiz_id() -> None:
    result = aiken(SAMPLE, graded=True)
    assert result.quiz is not None and result.quiz.graded
    with pytest.raises(LmsError):
        import_aiken(SAMPLE, file="a.txt", quiz_id="không hợp lệ")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    assert isinstance(aiken(text), ImportResult)


AIKEN_LINES = st.sampled_from(
    ["Câu hỏi?", "A. x", "B) y", "C. z", "D) ", "ANSWER: A", "ANSWER: C", "ANSWER:", "", "a. x",
     "ANSWER: A, B", "  B. thụt lề", "E.x"]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(AIKEN_LINES, max_size=30).map("\n".join))
def test_random_aiken_like_text_never_raises_and_writes_back(text: str) -> None:
    result = aiken(text)
    for problem in result.skipped:
        assert 1 <= problem.line <= text.count("\n") + 1
    if result.quiz is not None:
        round_trips(result.quiz)


OPTION = st.text(alphabet="abcđơư0123456789 -=#{}:%?", min_size=1, max_size=12).map(one_line)


@st.composite
def aiken_questions(draw: st.DrawFn) -> tuple[str, list[str], int]:
    prompt = draw(st.text(alphabet="Trẻemlàngườidưới 16?", min_size=1, max_size=30).map(one_line))
    options = draw(st.lists(OPTION.filter(bool), min_size=2, max_size=6, unique_by=str.casefold))
    right = draw(st.integers(0, len(options) - 1))
    return prompt or "?", options, right


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(aiken_questions(), min_size=1, max_size=5), st.booleans())
def test_generated_files_import_exactly(
    questions: list[tuple[str, list[str], int]], bracket: bool
) -> None:
    lines: list[str] = []
    for prompt, options, right in questions:
        lines.append(prompt)
        for n, option in enumerate(options):
            lines.append(f"{'ABCDEF'[n]}{')' if bracket else '.'} {option}")
        lines += [f"ANSWER: {'ABCDEF'[right]}", ""]
    result = aiken("\n".join(lines))
    assert result.skipped == []
    assert result.quiz is not None
    got = result.quiz.questions()
    assert len(got) == len(questions)
    for question, (_, options, right) in zip(got, questions, strict=True):
        assert isinstance(question, SingleChoice)
        assert [o.correct for o in question.options] == [n == right for n in range(len(options))]
    round_trips(result.quiz)

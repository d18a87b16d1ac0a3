"""``Grade.to_json`` is written out by hand for speed: it must stay what ``asdict`` gives."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from lms_core.exercises import Grade, QuestionGrade

_text = st.text(max_size=12)
_number = st.floats(allow_nan=False, allow_infinity=False, width=32)
_question = st.builds(
    QuestionGrade,
    id=_text,
    points=_number,
    max_points=_number,
    correct=st.booleans(),
    feedback=st.lists(_text, max_size=3),
    response=_text,
)


@given(
    questions=st.lists(_question, max_size=5),
    score=_number,
    max_score=_number,
    passed=st.booleans(),
    feedback=st.lists(_text, max_size=3),
)
def test_to_json_is_asdict(
    questions: list[QuestionGrade],
    score: float,
    max_score: float,
    passed: bool,
    feedback: list[str],
) -> None:
    grade = Grade(
        questions=questions, score=score, max_score=max_score, passed=passed, feedback=feedback
    )
    out = grade.to_json()
    assert out == dataclasses.asdict(grade)
    assert repr(out) == repr(dataclasses.asdict(grade))  # same key order, same value types


def test_to_json_copies_lists() -> None:
    """The stored result must not share lists with the grade (the grader may reuse them)."""
    question = QuestionGrade(id="q1", points=1, max_points=1, correct=True, feedback=["a"])
    grade = Grade(questions=[question], score=1, max_score=1, passed=True, feedback=["b"])
    out = grade.to_json()
    question.feedback.append("changed")
    grade.feedback.append("changed")
    assert out["questions"][0]["feedback"] == ["a"]
    assert out["feedback"] == ["b"]


def test_every_field_is_written() -> None:
    """A field added to the dataclasses later must be added to ``to_json`` too."""
    question = QuestionGrade(id="q", points=0, max_points=1, correct=False)
    grade = Grade(questions=[question], score=0, max_score=1, passed=False)
    out = grade.to_json()
    assert list(out) == [f.name for f in dataclasses.fields(Grade)]
    assert list(out["questions"][0]) == [f.name for f in dataclasses.fields(QuestionGrade)]

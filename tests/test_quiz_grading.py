"""Quiz attempts, grading, public view and xAPI: the rules of docs/authoring-quizzes.md.

Quizzes are built as pydantic models directly (no parser involved), so these
tests pin the marking rules themselves.  Property tests generate random valid
quizzes over every question type and check what must hold whatever the quiz:
scores stay in [0, max], marking is deterministic, the shown order never
changes a score, and a graded quiz's public view leaks nothing.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms_quiz import attempt
from lms_quiz.attempt import (
    choice_order,
    item_order,
    left_order,
    option_order,
    public_ids,
    select_entries,
    selected_questions,
)
from lms_quiz.grading import (
    grade_quiz,
    grade_quiz_reference,
    mark_question,
    normalise,
    parse_number,
)
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
from lms_quiz.view import full_marks, practice_key, public_view
from lms_quiz.xapi import interactions

SEED = 12345

# ------------------------------------------------------------------ helpers


def make_quiz(*entries: Any, **options: Any) -> Quiz:
    return Quiz(id="kiem-tra", entries=list(entries), **options)


def pid(quiz: Quiz, question: Question, author_id: str, *, role: str = "option", seed: int = SEED):
    """The public id of an author's option (pair, item, gap) for attempt ``seed``."""
    ids = public_ids(quiz, question, seed=seed, role=role)
    authors = {
        "option": lambda q: [o.id for o in q.options],
        "left": lambda q: [p.id for p in q.pairs],
        "right": lambda q: [p.id for p in q.pairs],
        "item": lambda q: [i.id for i in q.items],
        "gap": lambda q: [g.id for g in q.gaps],
    }[role](question)
    return ids.ids[authors.index(author_id)]


def one(question: Question, answer: object, **quiz_options: Any):
    """Grade one question answered with ``answer`` (a function of the quiz, or a value)."""
    quiz = make_quiz(question, **quiz_options)
    value = answer(quiz) if callable(answer) else answer
    return grade_quiz(quiz, {question.id: value}, seed=SEED)


def fraction(question: Question, answer: object, **quiz_options: Any) -> float:
    grade = one(question, answer, **quiz_options)
    return grade.score / grade.max_score


def single() -> SingleChoice:
    return SingleChoice(
        id="q1",
        prompt="Tổng đài quốc gia bảo vệ trẻ em là số nào?",
        options=[
            Option(id="a", text="113", feedback="Số của công an."),
            Option(id="b", text="111", correct=True, feedback="Đúng: Tổng đài 111."),
            Option(id="c", text="115", credit=0.5),
            Option(id="d", text="112", credit=-1),
        ],
        feedback="Luật Trẻ em 2016.",
        points=2,
    )


def multiple(**kw: Any) -> MultipleChoice:
    options = kw.pop(
        "options",
        [
            Option(id="a", text="Vết bầm tím", correct=True),
            Option(id="b", text="Sợ hãi người lớn", correct=True),
            Option(id="c", text="Thích thể thao"),
            Option(id="d", text="Thay đổi hành vi", correct=True),
        ],
    )
    return MultipleChoice(id="q2", prompt="Dấu hiệu?", options=options, **kw)


def ticks(*author_ids: str):
    def answer(quiz: Quiz) -> list[str]:
        question = quiz.questions()[0]
        return [pid(quiz, question, a) for a in author_ids]

    return answer


# ------------------------------------------------------------------ single choice


def test_single_choice_right_wrong_and_credit():
    q = single()
    assert one(q, lambda z: pid(z, q, "b")).score == 2
    assert one(q, lambda z: pid(z, q, "a")).score == 0
    assert one(q, lambda z: pid(z, q, "c")).score == 1  # {50%} of 2 points
    assert one(q, lambda z: pid(z, q, "d")).score == 0  # negative credit never below 0


def test_single_choice_feedback_then_general_feedback_and_report_text():
    q = single()
    grade = one(q, lambda z: pid(z, q, "a"))
    assert grade.questions[0].feedback == ["Số của công an.", "Luật Trẻ em 2016."]
    assert grade.questions[0].response == "113"
    assert grade.questions[0].correct is False
    right = one(q, lambda z: pid(z, q, "b")).questions[0]
    assert right.correct and right.feedback[0] == "Đúng: Tổng đài 111."


def test_single_choice_author_ids_are_not_answers():
    q = single()
    assert one(q, "b").score == 0  # the author's id is not a public id
    assert one(q, ["b"]).score == 0


# ------------------------------------------------------------------ multiple choice


def test_multiple_partial_rule_examples():
    q = multiple()  # R = 3 right options of 4
    assert fraction(q, ticks("a", "b", "d")) == 1
    assert fraction(q, ticks("a", "b")) == pytest.approx(2 / 3, abs=1e-4)
    assert fraction(q, ticks("a", "b", "c")) == pytest.approx(1 / 3, abs=1e-4)
    assert fraction(q, ticks("a", "c")) == 0
    assert fraction(q, ticks("c")) == 0  # floored at 0, not -1/3
    assert fraction(q, ticks()) == 0


def test_multiple_ticking_everything_scores_zero_when_as_many_wrong_as_right():
    q = multiple(
        options=[
            Option(id="a", text="1", correct=True),
            Option(id="b", text="2", correct=True),
            Option(id="c", text="3"),
            Option(id="d", text="4"),
        ]
    )
    assert fraction(q, ticks("a", "b", "c", "d")) == 0


def test_multiple_duplicate_and_unknown_ticks_count_once():
    q = multiple()

    def answer(quiz: Quiz) -> list[object]:
        a = pid(quiz, q, "a")
        return [a, a, a, "zzzz", 7, None, ["x"], {"y": 1}]

    assert fraction(q, answer) == pytest.approx(1 / 3, abs=1e-4)


def test_multiple_all_or_nothing():
    q = multiple(scoring="all-or-nothing")
    assert fraction(q, ticks("a", "b", "d")) == 1
    assert fraction(q, ticks("a", "b")) == 0
    assert fraction(q, ticks("a", "b", "c", "d")) == 0


def test_multiple_explicit_credits_replace_the_rule():
    q = multiple(
        options=[
            Option(id="a", text="1", correct=True, credit=0.5),
            Option(id="b", text="2", correct=True, credit=0.5),
            Option(id="c", text="3", credit=-0.5),
            Option(id="d", text="4"),
        ]
    )
    assert fraction(q, ticks("a", "b")) == 1
    assert fraction(q, ticks("a")) == 0.5
    assert fraction(q, ticks("a", "b", "c")) == 0.5
    assert fraction(q, ticks("a", "c")) == 0  # 0.5 - 0.5
    assert fraction(q, ticks("c")) == 0  # never below 0
    assert fraction(q, ticks("a", "b", "d")) == 1  # no credit on a wrong option: 0


def test_multiple_credits_clamped_to_one():
    q = multiple(
        options=[
            Option(id="a", text="1", correct=True, credit=1),
            Option(id="b", text="2", correct=True, credit=1),
            Option(id="c", text="3"),
        ]
    )
    assert fraction(q, ticks("a", "b")) == 1


def test_multiple_with_no_right_option_wants_nothing_ticked():
    q = multiple(options=[Option(id="a", text="1"), Option(id="b", text="2")])
    assert fraction(q, ticks()) == 1
    assert fraction(q, ticks("a")) == 0


def test_multiple_feedback_of_each_ticked_option():
    q = multiple(
        options=[
            Option(id="a", text="1", correct=True, feedback="A!"),
            Option(id="b", text="2", feedback="B?"),
            Option(id="c", text="3", correct=True, feedback="C!"),
        ],
        feedback="chung",
    )
    grade = one(q, ticks("c", "b"))
    assert grade.questions[0].feedback == ["B?", "C!", "chung"]
    assert grade.questions[0].response == "2; 3"


# ------------------------------------------------------------------ true / false


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (True, 1),
        ("true", 1),
        (" TRUE ", 1),
        (False, 0),
        ("false", 0),
        ("yes", 0),
        (1, 0),
        (None, 0),
    ],
)
def test_truefalse_answers(answer, expected):
    q = TrueFalse(id="q3", prompt="Trẻ em là người dưới 16 tuổi.", answer=True)
    assert fraction(q, answer) == expected


def test_truefalse_feedback_follows_the_answer_given():
    q = TrueFalse(
        id="q3",
        prompt="x",
        answer=False,
        feedback_true="Sai rồi",
        feedback_false="Đúng",
        feedback="Đ1",
    )
    assert one(q, True).questions[0].feedback == ["Sai rồi", "Đ1"]
    assert one(q, "false").questions[0].feedback == ["Đúng", "Đ1"]
    assert one(q, "false").questions[0].response == "false"


# ------------------------------------------------------------------ short answer


def short(*answers: AcceptedAnswer, ignore_accents: bool = False) -> ShortAnswer:
    return ShortAnswer(
        id="q4", prompt="Cơ quan nào?", answers=list(answers), ignore_accents=ignore_accents
    )


def test_short_answer_case_spaces_and_unicode_forms():
    q = short(AcceptedAnswer(text="Sở Y tế"), AcceptedAnswer(text="SYT", feedback="Viết tắt."))
    assert fraction(q, "Sở Y tế") == 1
    assert fraction(q, "  sở   y\tTẾ ") == 1
    assert fraction(q, unicodedata.normalize("NFD", "Sở Y tế")) == 1
    assert fraction(q, "syt") == 1
    assert one(q, "syt").questions[0].feedback == ["Viết tắt."]


def test_short_answer_accents_count_unless_ignored():
    strict = short(AcceptedAnswer(text="Sở Y tế"))
    assert fraction(strict, "so y te") == 0
    assert fraction(strict, "Sở Y tê") == 0
    relaxed = short(AcceptedAnswer(text="Sở Y tế"), ignore_accents=True)
    assert fraction(relaxed, "so y te") == 1
    assert fraction(relaxed, "SO Y TE") == 1


def test_short_answer_vietnamese_tones_are_different_words():
    q = short(AcceptedAnswer(text="má"))
    assert fraction(q, "ma") == 0
    assert fraction(q, "mà") == 0
    assert fraction(q, "Má") == 1
    assert fraction(short(AcceptedAnswer(text="má"), ignore_accents=True), "ma") == 1


def test_short_answer_ignore_accents_maps_d_with_stroke():
    q = short(AcceptedAnswer(text="Đồng Hới"), ignore_accents=True)
    assert fraction(q, "dong hoi") == 1
    assert fraction(short(AcceptedAnswer(text="Đồng Hới")), "dong hoi") == 0
    assert normalise("Đồng  Hới", ignore_accents=True) == "dong hoi"


def test_short_answer_best_credit_among_matching_answers():
    q = short(
        AcceptedAnswer(text="so y te", credit=0.5, feedback="half"),
        AcceptedAnswer(text="Sở Y tế", feedback="full"),
        ignore_accents=True,
    )
    grade = one(q, "Sở Y tế")
    assert grade.score == 1 and grade.questions[0].feedback == ["full"]
    q2 = short(AcceptedAnswer(text="SYT", credit=0.5), AcceptedAnswer(text="Sở Y tế"))
    assert fraction(q2, "syt") == 0.5


def test_short_answer_refuses_non_text_and_huge_text():
    q = short(AcceptedAnswer(text="a"))
    assert fraction(q, ["a"]) == 0
    assert fraction(q, 1) == 0
    assert fraction(q, "a" * 1_000_000) == 0


# ------------------------------------------------------------------ numeric


def numeric(*answers: NumericAnswer) -> Numeric:
    return Numeric(id="q5", prompt="Bao nhiêu?", answers=list(answers))


TOLERANCE = NumericAnswer(low=18.2 - 0.5, high=18.2 + 0.5, source="18,2 ± 0,5")


@pytest.mark.parametrize(
    "answer", ["18,2", "18.2", " 18,2 ", "17,7", "18.7", "18,7", 18.2, 18, "1.82e1", "+18"]
)
def test_numeric_accepted(answer):
    assert fraction(numeric(TOLERANCE), answer) == 1


@pytest.mark.parametrize(
    "answer",
    [
        "19",
        "17,6",
        "abc",
        "",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "1e999",
        float("nan"),
        float("inf"),
        10**400,
        True,
        "1_8",
        "18,2,0",
        "1.018,2",
        None,
        [18.2],
        {"x": 18.2},
        "18,2" * 100,
    ],
)
def test_numeric_refused(answer):
    assert fraction(numeric(TOLERANCE), answer) == 0


def test_numeric_exact_range_and_best_credit():
    q = numeric(
        NumericAnswer(low=16, high=16, source="16", feedback="đúng"),
        NumericAnswer(low=15, high=17, source="15..17", credit=0.5, feedback="gần đúng"),
    )
    assert fraction(q, "16") == 1
    assert one(q, "16").questions[0].feedback == ["đúng"]
    assert fraction(q, "15,5") == 0.5
    assert one(q, "15,5").questions[0].feedback == ["gần đúng"]
    assert fraction(numeric(NumericAnswer(low=30, high=60, source="30..60")), 45) == 1


def test_parse_number():
    assert parse_number("3,5") == 3.5
    assert parse_number(" −2 ") == -2
    assert parse_number(".5") == 0.5
    assert parse_number("5.") == 5
    assert parse_number(False) is None
    assert parse_number(2**1100) is None


# ------------------------------------------------------------------ matching


def matching(**kw: Any) -> Matching:
    pairs = kw.pop(
        "pairs",
        [
            Pair(id="p1", left="Sở Y tế", right="Dinh dưỡng"),
            Pair(id="p2", left="Sở GD&ĐT", right="Trường học an toàn"),
            Pair(id="p3", left="Công an tỉnh", right="Phòng chống tội phạm"),
            Pair(id="p4", left="", right="Cấp giấy khai sinh"),
        ],
    )
    return Matching(id="q6", prompt="Nối", pairs=pairs, **kw)


def matched(**choices: str):
    def answer(quiz: Quiz) -> dict[str, str]:
        q = quiz.questions()[0]
        return {
            pid(quiz, q, left, role="left"): pid(quiz, q, right, role="right")
            for left, right in choices.items()
        }

    return answer


def test_matching_fraction_of_real_pairs():
    q = matching()
    assert fraction(q, matched(p1="p1", p2="p2", p3="p3")) == 1
    assert fraction(q, matched(p1="p1", p2="p3", p3="p2")) == pytest.approx(1 / 3, abs=1e-4)
    assert fraction(q, matched(p1="p4", p2="p2")) == pytest.approx(1 / 3, abs=1e-4)
    assert fraction(q, matched(p4="p4")) == 0  # the extra choice has no left side
    assert one(q, matched(p1="p1")).questions[0].response == "Sở Y tế → Dinh dưỡng"


def test_matching_left_and_right_ids_differ():
    q = matching()
    quiz = make_quiz(q)
    for pair in q.pairs:
        assert pid(quiz, q, pair.id, role="left") != pid(quiz, q, pair.id, role="right")
    # Answering with the left id as the right id is wrong.
    same = {pid(quiz, q, p, role="left"): pid(quiz, q, p, role="left") for p in ("p1", "p2", "p3")}
    assert grade_quiz(quiz, {"q6": same}, seed=SEED).score == 0


def test_matching_equal_right_sides_are_interchangeable_and_shown_once():
    q = matching(
        pairs=[
            Pair(id="p1", left="Tiêm chủng", right="Sở Y tế"),
            Pair(id="p2", left="Dinh dưỡng", right="Sở Y tế"),
            Pair(id="p3", left="Trường học", right="Sở GD&ĐT"),
        ]
    )
    assert fraction(q, matched(p1="p2", p2="p1", p3="p3")) == 1
    view = public_view(make_quiz(q), seed=SEED)
    assert sorted(c["text"] for c in view["entries"][0]["right"]) == ["Sở GD&ĐT", "Sở Y tế"]


def test_matching_garbage():
    q = matching()
    assert fraction(q, ["p1"]) == 0
    assert fraction(q, {"p1": "p1"}) == 0
    assert fraction(q, {1: 2, None: "x"}) == 0


# ------------------------------------------------------------------ ordering


def ordering(n: int = 4) -> Ordering:
    return Ordering(
        id="q7",
        prompt="Sắp xếp",
        items=[Item(id=f"i{k}", text=f"Bước {k}") for k in range(1, n + 1)],
    )


def ordered(*author_ids: str):
    def answer(quiz: Quiz) -> list[str]:
        q = quiz.questions()[0]
        return [pid(quiz, q, a, role="item") for a in author_ids]

    return answer


def test_ordering_fraction_of_items_in_place():
    q = ordering()
    assert fraction(q, ordered("i1", "i2", "i3", "i4")) == 1
    assert fraction(q, ordered("i1", "i2", "i4", "i3")) == 0.5
    assert fraction(q, ordered("i4", "i1", "i2", "i3")) == 0
    assert fraction(q, ordered("i1", "i2")) == 0.5  # a short list: missing places are wrong
    assert fraction(q, ordered("i1", "i1", "i1", "i1")) == 0.25  # an item counts once


def test_ordering_shown_order_never_the_answer():
    for n in (2, 3, 5):
        q = ordering(n)
        quiz = make_quiz(q)
        for seed in range(200):
            assert item_order(quiz, q, seed=seed) != list(range(n))
            assert sorted(item_order(quiz, q, seed=seed)) == list(range(n))


# ------------------------------------------------------------------ blanks


def blanks(**kw: Any) -> FillBlanks:
    return FillBlanks(
        id="q8",
        prompt="Trẻ em là người dưới  tuổi; từ đủ  đến dưới  tuổi.",
        segments=["Trẻ em là người dưới ", " tuổi; từ đủ ", " đến dưới ", " tuổi."],
        gaps=[
            Gap(id="g1", answers=["16", "mười sáu"]),
            Gap(id="g2", answers=["16"]),
            Gap(id="g3", answers=["Mười tám"]),
        ],
        **kw,
    )


def test_blanks_list_in_gap_order():
    q = blanks()
    assert fraction(q, ["16", "16", "mười tám"]) == 1
    assert fraction(q, [" Mười  Sáu ", "16", "x"]) == pytest.approx(2 / 3, abs=1e-4)
    assert fraction(q, ["muoi sau", "16", "muoi tam"]) == pytest.approx(1 / 3, abs=1e-4)
    assert fraction(blanks(ignore_accents=True), ["muoi sau", "16", "muoi tam"]) == 1
    assert fraction(q, ["16"]) == pytest.approx(1 / 3, abs=1e-4)
    assert fraction(q, ["16", "16", "mười tám", "extra"]) == 1
    assert one(q, ["16", 3, "x"]).questions[0].response == "16 | | x"


def test_blanks_by_public_gap_id():
    q = blanks()

    def answer(quiz: Quiz) -> dict[str, object]:
        return {
            pid(quiz, q, "g3", role="gap"): "mười tám",
            pid(quiz, q, "g1", role="gap"): "16",
            "g2": "16",  # author ids are not public ids
        }

    assert fraction(q, answer) == pytest.approx(2 / 3, abs=1e-4)


# ------------------------------------------------------------------ whole quiz


def full_quiz(**options: Any) -> Quiz:
    return make_quiz(
        single(),
        multiple(),
        TrueFalse(id="q3", prompt="x", answer=True, tags=["luat"]),
        short(AcceptedAnswer(text="Sở Y tế")),
        numeric(TOLERANCE),
        matching(),
        ordering(),
        blanks(),
        Scenario(
            id="s1",
            title="Tình huống",
            description="Em H., 9 tuổi",
            tags=["tinh-huong"],
            questions=[
                TrueFalse(id="s1a", prompt="a", answer=False),
                TrueFalse(id="s1b", prompt="b", answer=True, points=3),
            ],
        ),
        **options,
    )


def test_full_marks_response_scores_the_maximum_for_every_seed():
    quiz = full_quiz(shuffle_questions=True, shuffle_options=True)
    for seed in range(30):
        key = practice_key(quiz, seed=seed)
        grade = grade_quiz(quiz, key["answers"], seed=seed)
        assert grade.score == grade.max_score == 13
        assert grade.passed
        assert [g.id for g in grade.questions] == [q.id for q in quiz.questions()]


def test_an_answer_for_another_seed_is_not_accepted():
    quiz = full_quiz(shuffle_options=True)
    answers = practice_key(quiz, seed=1)["answers"]
    assert grade_quiz(quiz, answers, seed=2).score < 13


@pytest.mark.parametrize(
    "response",
    [
        None,
        [],
        "q1",
        42,
        math.nan,
        {"q1": None, "q2": "abc", "q3": [], "q4": {}, "q5": math.inf, "q6": [], "q7": {}},
        {"q2": [[[[[]]]]], "q6": {"a": {"b": {}}}, "q8": {"x": [1, 2]}},
        {"q5": 10**4000, "q4": "x" * 10_000, "q7": list(range(10_000))},
        {1: 2, None: 3, "unknown": "x"},
    ],
)
def test_garbage_scores_zero_and_never_raises(response):
    grade = grade_quiz(full_quiz(), response, seed=SEED)
    assert grade.score == 0
    assert grade.max_score == 13
    assert not grade.passed


def test_points_rounding_and_pass_mark_tolerance():
    # 2.4 of 3 is 80 %: float division says 79.999…, the pass test must not.
    questions = [TrueFalse(id=f"q{k}", prompt="x", answer=True, points=0.6) for k in range(5)]
    quiz = make_quiz(*questions, pass_mark=80, graded=True)
    grade = grade_quiz(quiz, {"q0": True, "q1": True, "q2": True, "q3": True}, seed=1)
    assert grade.score == 2.4 and grade.max_score == 3
    assert grade.passed
    q = multiple(points=1)
    assert one(q, ticks("a")).score == 0.3333


def test_practice_quizzes_pass_too():
    quiz = make_quiz(TrueFalse(id="q1", prompt="x", answer=True), pass_mark=50)
    assert grade_quiz(quiz, {"q1": True}, seed=1).passed
    assert not grade_quiz(quiz, {"q1": False}, seed=1).passed


# ------------------------------------------------------------------ draw and shuffle


def tagged_quiz(**options: Any) -> Quiz:
    entries: list[Any] = [
        TrueFalse(id=f"l{k}", prompt="x", answer=True, tags=["luat"]) for k in range(6)
    ]
    entries += [TrueFalse(id=f"o{k}", prompt="x", answer=True) for k in range(4)]
    entries += [
        Scenario(
            id=f"s{k}",
            title="t",
            tags=["tinh-huong"],
            questions=[
                TrueFalse(id=f"s{k}a", prompt="a", answer=True),
                TrueFalse(id=f"s{k}b", prompt="b", answer=True),
            ],
        )
        for k in range(3)
    ]
    return make_quiz(*entries, **options)


def entry_ids(quiz: Quiz, seed: int) -> list[str]:
    return [e.id for e in select_entries(quiz, seed=seed)]


def test_draw_per_tag_and_from_the_rest():
    quiz = tagged_quiz(
        draw=[DrawRule(count=2), DrawRule(tag="luat", count=3), DrawRule(tag="tinh-huong", count=1)]
    )
    seen: set[tuple[str, ...]] = set()
    for seed in range(50):
        ids = entry_ids(quiz, seed)
        assert len(ids) == len(set(ids)) == 6
        assert sum(i.startswith("l") for i in ids) >= 3
        assert sum(i.startswith("s") for i in ids) >= 1
        assert ids == sorted(ids, key=[e.id for e in quiz.entries].index)  # written order
        assert entry_ids(quiz, seed) == ids  # deterministic
        seen.add(tuple(ids))
        # A scenario drawn brings all its questions, in order; only drawn questions count.
        qids = [q.id for q in selected_questions(quiz, seed=seed)]
        for sid in (i for i in ids if i.startswith("s")):
            assert qids[qids.index(f"{sid}a") + 1] == f"{sid}b"
        grade = grade_quiz(quiz, {}, seed=seed)
        assert [g.id for g in grade.questions] == sorted(qids, key=quiz_order(quiz).index)
        assert grade.max_score == len(qids)
    assert len(seen) > 10


def quiz_order(quiz: Quiz) -> list[str]:
    return [q.id for q in quiz.questions()]


def test_draw_more_than_available_takes_all_and_unknown_tag_takes_none():
    quiz = tagged_quiz(draw=[DrawRule(tag="tinh-huong", count=10)])
    assert entry_ids(quiz, 1) == ["s0", "s1", "s2"]
    empty = tagged_quiz(draw=[DrawRule(tag="khong-co", count=2)])
    assert entry_ids(empty, 1) == []
    grade = grade_quiz(empty, {}, seed=1)
    assert grade.max_score == 0 and not grade.passed


def test_draw_tag_on_a_scenario_question_draws_the_scenario():
    scenario = Scenario(
        id="s",
        title="t",
        questions=[TrueFalse(id="a", prompt="a", answer=True, tags=["x"])],
    )
    quiz = make_quiz(
        TrueFalse(id="b", prompt="b", answer=True), scenario, draw=[DrawRule(tag="x", count=1)]
    )
    assert entry_ids(quiz, 3) == ["s"]


def test_shuffle_questions_keeps_scenarios_together_and_in_order():
    quiz = tagged_quiz(shuffle_questions=True)
    orders = {tuple(entry_ids(quiz, seed)) for seed in range(20)}
    assert len(orders) > 10
    for seed in range(20):
        assert entry_ids(quiz, seed) == entry_ids(quiz, seed)
        qids = [q.id for q in selected_questions(quiz, seed=seed)]
        for k in range(3):
            assert qids[qids.index(f"s{k}a") + 1] == f"s{k}b"
    assert entry_ids(tagged_quiz(), 5) == [e.id for e in tagged_quiz().entries]


def test_option_order_shuffles_only_when_asked_and_keeps_fixed_options():
    options = [Option(id=c, text=c, correct=c == "a") for c in "abcdef"]
    options.append(Option(id="g", text="Tất cả các ý trên", fixed=True))
    q = SingleChoice(id="q", prompt="p", options=options)
    assert option_order(make_quiz(q), q, seed=1) == list(range(7))
    quiz = make_quiz(q, shuffle_options=True)
    orders = {tuple(option_order(quiz, q, seed=s)) for s in range(30)}
    assert len(orders) > 20
    assert all(order[6] == 6 for order in orders)
    assert all(sorted(order) == list(range(7)) for order in orders)
    kept = SingleChoice(id="q", prompt="p", options=options, shuffle=False)
    assert option_order(make_quiz(kept, shuffle_options=True), kept, seed=1) == list(range(7))


def test_matching_choices_always_shuffled_never_aligned_with_left_items():
    q = matching(pairs=[Pair(id=f"p{k}", left=f"L{k}", right=f"R{k}") for k in range(3)])
    for options in ({}, {"shuffle_options": True}):
        quiz = make_quiz(q, **options)
        for seed in range(200):
            lefts = left_order(quiz, q, seed=seed)
            rights = choice_order(quiz, q, seed=seed)
            assert rights != lefts
            assert sorted(rights) == [0, 1, 2]
    two = matching(
        pairs=[
            Pair(id="a", left="1", right="A"),
            Pair(id="x", left="", right="X"),
            Pair(id="b", left="2", right="B"),
        ]
    )
    quiz = make_quiz(two)
    for seed in range(100):
        shown = [two.pairs[i].right for i in choice_order(quiz, two, seed=seed)]
        assert [t for t in shown if t != "X"] == ["B", "A"]


def test_public_ids_opaque_unique_and_per_attempt():
    q = SingleChoice(
        id="q",
        prompt="p",
        options=[Option(id=str(k), text=str(k), correct=k == 0) for k in range(50)],
    )
    quiz = make_quiz(q)
    first = public_ids(quiz, q, seed=1, role="option")
    second = public_ids(quiz, q, seed=2, role="option")
    assert len(set(first.ids)) == 50
    assert all(len(i) == 8 and int(i, 16) >= 0 for i in first.ids)
    assert not set(first.ids) & set(second.ids)
    assert first == public_ids(quiz, q, seed=1, role="option")
    assert all(first.index[i] == k for k, i in enumerate(first.ids))


def test_public_ids_unique_even_with_repeated_author_ids():
    q = SingleChoice(
        id="q",
        prompt="p",
        options=[Option(id="a", text="1", correct=True), Option(id="a", text="2")],
    )
    ids = public_ids(make_quiz(q), q, seed=1, role="option").ids
    assert len(set(ids)) == 2


# ------------------------------------------------------------------ public view and key


def test_public_view_of_a_graded_quiz():
    quiz = full_quiz(graded=True, title="Cuối khóa", max_attempts=3, time_limit_minutes=20)
    view = public_view(quiz, seed=SEED)
    assert view["id"] == "kiem-tra" and view["graded"] is True
    assert view["max_attempts"] == 3 and view["time_limit_minutes"] == 20
    assert view["pass_mark"] == 80 and view["max_score"] == 13
    text = json.dumps(view, ensure_ascii=False)
    for secret in (
        "Đúng: Tổng đài 111.",
        "Luật Trẻ em 2016.",
        "Viết tắt",
        "18,2 ± 0,5",
        "mười sáu",
    ):
        assert secret not in text
    assert not set(keys(view)) & FORBIDDEN_KEYS
    scenario = view["entries"][-1]
    assert scenario["kind"] == "scenario" and [q["id"] for q in scenario["questions"]] == [
        "s1a",
        "s1b",
    ]
    blanks_view = view["entries"][7]
    assert blanks_view["segments"][0] == "Trẻ em là người dưới " and len(blanks_view["gaps"]) == 3


def test_practice_key_holds_feedback_and_answers_under_public_ids():
    quiz = full_quiz()
    key = practice_key(quiz, seed=SEED)
    q1 = quiz.questions()[0]
    right = key["questions"]["q1"]["options"][pid(quiz, q1, "b")]
    assert right["correct"] is True and right["feedback"] == "Đúng: Tổng đài 111."
    assert key["questions"]["q4"]["answers"][0]["text"] == "Sở Y tế"
    assert "b" not in key["questions"]["q1"]["options"]


def test_full_marks_shapes():
    quiz = full_quiz()
    answers = practice_key(quiz, seed=SEED)["answers"]
    assert isinstance(answers["q2"], list) and len(answers["q2"]) == 3
    assert answers["q3"] is True
    assert answers["q5"] == pytest.approx(18.2)
    assert answers["q8"] == ["16", "16", "Mười tám"]
    assert full_marks(quiz, quiz.questions()[0], seed=SEED) == pid(quiz, quiz.questions()[0], "b")


# ------------------------------------------------------------------ xAPI


def test_interactions_for_every_type():
    found = {i.id: i for i in interactions(full_quiz(), language="en")}
    assert list(found) == [q.id for q in full_quiz().questions()]
    assert found["q1"].interaction_type == "choice"
    assert found["q1"].correct_responses_pattern == ["b"]
    assert [c.id for c in found["q1"].choices or []] == ["a", "b", "c", "d"]
    assert found["q1"].description == {"en": "Tổng đài quốc gia bảo vệ trẻ em là số nào?"}
    assert found["q2"].correct_responses_pattern == ["a[,]b[,]d"]
    assert found["q3"].interaction_type == "true-false"
    assert found["q3"].correct_responses_pattern == ["true"]
    assert found["s1a"].correct_responses_pattern == ["false"]
    assert found["q4"].interaction_type == "fill-in"
    assert found["q4"].correct_responses_pattern == ["{case_matters=false}Sở Y tế"]
    assert found["q5"].interaction_type == "numeric"
    assert found["q5"].correct_responses_pattern == ["17.7[:]18.7"]
    assert found["q6"].interaction_type == "matching"
    assert found["q6"].correct_responses_pattern == ["p1[.]p1[,]p2[.]p2[,]p3[.]p3"]
    assert [s.id for s in found["q6"].source or []] == ["p1", "p2", "p3"]
    assert [t.id for t in found["q6"].target or []] == ["p1", "p2", "p3", "p4"]
    assert found["q7"].interaction_type == "sequencing"
    assert found["q7"].correct_responses_pattern == ["i1[,]i2[,]i3[,]i4"]
    assert found["q8"].interaction_type == "fill-in"
    assert found["q8"].correct_responses_pattern == ["{case_matters=false}16[,]16[,]Mười tám"]
    assert (
        found["q8"].description["en"]
        == "Trẻ em là người dưới ____ tuổi; từ đủ ____ đến dưới ____ tuổi."
    )
    definition = found["q6"].definition()
    assert definition["interactionType"] == "matching" and "source" in definition


def test_interactions_exact_numbers_short_answers_and_plain_descriptions():
    q = Numeric(
        id="n",
        prompt="**Bao** nhiêu [tuổi](http://x)?",
        answers=[NumericAnswer(low=16, high=16, source="16")],
    )
    s = short(
        AcceptedAnswer(text="SYT"),
        AcceptedAnswer(text="Sở Y tế"),
        AcceptedAnswer(text="So", credit=0.5),
    )
    found = {i.id: i for i in interactions(make_quiz(q, s))}
    assert found["n"].correct_responses_pattern == ["16"]
    assert found["n"].description == {"vi": "Bao nhiêu tuổi?"}
    assert found["q4"].correct_responses_pattern == [
        "{case_matters=false}SYT",
        "{case_matters=false}Sở Y tế",
    ]


# ------------------------------------------------------------------ property tests

FORBIDDEN_KEYS = {
    "correct",
    "credit",
    "feedback",
    "answers",
    "answer",
    "feedback_true",
    "feedback_false",
}
TEXT = st.text(alphabet="abcđêơư ÁẾỆ0123456789-*", min_size=1, max_size=8)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


def keys(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from keys(v)


class Markers:
    """Unique strings for every secret of a generated quiz, so a leak check means something."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.n = 0

    def __call__(self, kind: str) -> str:
        self.n += 1
        return f"zz{self.token}{kind}{self.n}"


@st.composite
def questions(draw: st.DrawFn, qid: str, m: Markers) -> Question:
    kind = draw(
        st.sampled_from(
            [
                "single",
                "multiple",
                "truefalse",
                "short",
                "numeric",
                "matching",
                "ordering",
                "blanks",
            ]
        )
    )
    common: dict[str, Any] = {
        "id": qid,
        "prompt": draw(TEXT),
        "points": draw(st.sampled_from([0.5, 1.0, 2.0, 3.0, 0.1])),
        "tags": draw(st.lists(st.sampled_from(["luat", "tinh-huong"]), max_size=2, unique=True)),
        "hint": draw(st.sampled_from(["", "gợi ý"])),
        "feedback": draw(st.sampled_from(["", m("fb")])),
    }
    if kind in ("single", "multiple"):
        n = draw(st.integers(2, 5))
        if kind == "single":
            right = {draw(st.integers(0, n - 1))}
        else:
            right = set(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)))
        use_credits = draw(st.booleans())
        options = []
        for k in range(n):
            credit = None
            if use_credits and k not in right:
                credit = draw(st.none() | st.floats(-1, 0.9 if kind == "single" else 0))
            elif use_credits and kind == "multiple":
                credit = draw(st.none() | st.floats(1 / len(right), 1))
            options.append(
                Option(
                    id=m("id"),
                    text=draw(TEXT),
                    correct=k in right,
                    credit=credit,
                    feedback=draw(st.sampled_from(["", m("fb")])),
                    fixed=draw(st.booleans()) and draw(st.booleans()),
                )
            )
        if kind == "single":
            return SingleChoice(**common, options=options, shuffle=draw(st.booleans()))
        return MultipleChoice(
            **common,
            options=options,
            scoring=draw(st.sampled_from(["partial", "all-or-nothing"])),
            shuffle=draw(st.booleans()),
        )
    if kind == "truefalse":
        return TrueFalse(
            **common, answer=draw(st.booleans()), feedback_true=m("fb"), feedback_false=m("fb")
        )
    if kind == "short":
        credits = [1.0, *draw(st.lists(st.floats(0, 1), max_size=2))]
        return ShortAnswer(
            **common,
            answers=[AcceptedAnswer(text=m("ans"), credit=c, feedback=m("fb")) for c in credits],
            ignore_accents=draw(st.booleans()),
        )
    if kind == "numeric":
        answers = []
        for k in range(draw(st.integers(1, 3))):
            low = draw(st.floats(-1e6, 1e6))
            high = low + draw(st.sampled_from([0.0, 0.5, 10.0]))
            credit = 1.0 if k == 0 else draw(st.floats(0, 1))
            answers.append(
                NumericAnswer(low=low, high=high, source=m("ans"), credit=credit, feedback=m("fb"))
            )
        return Numeric(**common, answers=answers)
    if kind == "matching":
        real = draw(st.integers(1, 4))
        extra = draw(st.integers(0 if real > 1 else 1, 2))
        pairs = [
            Pair(id=m("id"), left=draw(TEXT.filter(str.strip)), right=draw(TEXT))
            for _ in range(real)
        ]
        pairs += [Pair(id=m("id"), left="", right=draw(TEXT)) for _ in range(extra)]
        return Matching(**common, pairs=draw(st.permutations(pairs)), shuffle=draw(st.booleans()))
    if kind == "ordering":
        n = draw(st.integers(2, 6))
        return Ordering(**common, items=[Item(id=m("id"), text=draw(TEXT)) for _ in range(n)])
    gaps = draw(st.integers(1, 3))
    return FillBlanks(
        **common,
        segments=[draw(TEXT) for _ in range(gaps + 1)],
        gaps=[
            Gap(id=m("id"), answers=[m("ans") for _ in range(draw(st.integers(1, 2)))])
            for _ in range(gaps)
        ],
        ignore_accents=draw(st.booleans()),
    )


@st.composite
def quizzes(draw: st.DrawFn, *, with_draw: bool = True) -> Quiz:
    m = Markers(draw(st.text(alphabet="0123456789abcdef", min_size=8, max_size=8)))
    counter = iter(range(1, 1000))
    entries: list[Any] = []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.integers(0, 4)) == 0:
            sid = f"s{next(counter)}"
            subs = [draw(questions(f"q{next(counter)}", m)) for _ in range(draw(st.integers(1, 3)))]
            entries.append(
                Scenario(
                    id=sid,
                    title=draw(TEXT),
                    description=draw(TEXT),
                    questions=subs,
                    tags=draw(st.lists(st.sampled_from(["luat", "tinh-huong"]), max_size=1)),
                )
            )
        else:
            entries.append(draw(questions(f"q{next(counter)}", m)))
    rules = []
    if with_draw and draw(st.booleans()):
        tags = draw(
            st.lists(
                st.sampled_from([None, "luat", "tinh-huong"]), min_size=1, max_size=3, unique=True
            )
        )
        rules = [DrawRule(tag=t, count=draw(st.integers(1, 3))) for t in tags]
    return Quiz(
        id="q-" + m.token,
        graded=draw(st.booleans()),
        pass_mark=draw(st.sampled_from([0.0, 50.0, 80.0, 100.0])),
        shuffle_questions=draw(st.booleans()),
        shuffle_options=draw(st.booleans()),
        draw=rules,
        entries=entries,
    )


def token(quiz: Quiz) -> str:
    return "zz" + quiz.id.removeprefix("q-")


def view_questions(view: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in view["entries"]:
        out.extend(entry["questions"] if entry["kind"] == "scenario" else [entry])
    return out


@st.composite
def real_id_answers(draw: st.DrawFn, view: dict[str, Any]) -> dict[str, object]:
    """A response built from the public view's real ids, plausible but random."""
    out: dict[str, object] = {}
    for q in view_questions(view):
        kind = q["kind"]
        if draw(st.integers(0, 9)) == 0:
            continue
        if kind == "single":
            out[q["id"]] = draw(st.sampled_from([o["id"] for o in q["options"]]))
        elif kind == "multiple":
            out[q["id"]] = draw(st.lists(st.sampled_from([o["id"] for o in q["options"]])))
        elif kind == "truefalse":
            out[q["id"]] = draw(st.sampled_from([True, False, "true", "false"]))
        elif kind in ("short", "numeric"):
            out[q["id"]] = draw(st.text(max_size=10) | st.floats() | st.integers())
        elif kind == "matching":
            rights = [c["id"] for c in q["right"]]
            out[q["id"]] = {left["id"]: draw(st.sampled_from(rights)) for left in q["left"]}
        elif kind == "ordering":
            out[q["id"]] = draw(st.permutations([i["id"] for i in q["items"]]))
        else:
            out[q["id"]] = draw(st.lists(st.text(max_size=5), max_size=len(q["gaps"]) + 1))
    return out


@st.composite
def author_answers(draw: st.DrawFn, quiz: Quiz) -> dict[str, Any]:
    """Answers in the author's terms (positions in the written lists), or raw values."""
    out: dict[str, Any] = {}
    for q in quiz.questions():
        if isinstance(q, SingleChoice):
            out[q.id] = draw(st.integers(0, len(q.options) - 1))
        elif isinstance(q, MultipleChoice):
            out[q.id] = draw(st.lists(st.integers(0, len(q.options) - 1)))
        elif isinstance(q, TrueFalse):
            out[q.id] = draw(st.booleans())
        elif isinstance(q, ShortAnswer):
            out[q.id] = draw(st.sampled_from([a.text for a in q.answers]) | TEXT)
        elif isinstance(q, Numeric):
            out[q.id] = draw(st.sampled_from([a.low for a in q.answers]) | st.floats(-1e6, 1e6))
        elif isinstance(q, Matching):
            real = [i for i, p in enumerate(q.pairs) if p.left.strip()]
            out[q.id] = {i: draw(st.integers(0, len(q.pairs) - 1)) for i in real}
        elif isinstance(q, Ordering):
            out[q.id] = draw(st.permutations(range(len(q.items))))
        elif isinstance(q, FillBlanks):
            out[q.id] = [draw(st.sampled_from(g.answers) | TEXT) for g in q.gaps]
    return out


def to_public(quiz: Quiz, answers: dict[str, Any], seed: int) -> dict[str, object]:
    """Author-terms answers as the browser of attempt ``seed`` would send them."""
    out: dict[str, object] = {}
    for q in quiz.questions():
        a = answers[q.id]
        if isinstance(q, SingleChoice | MultipleChoice):
            ids = public_ids(quiz, q, seed=seed, role="option").ids
            out[q.id] = ids[a] if isinstance(a, int) else [ids[i] for i in a]
        elif isinstance(q, Matching):
            left = public_ids(quiz, q, seed=seed, role="left").ids
            right = public_ids(quiz, q, seed=seed, role="right").ids
            out[q.id] = {left[i]: right[j] for i, j in a.items()}
        elif isinstance(q, Ordering):
            ids = public_ids(quiz, q, seed=seed, role="item").ids
            out[q.id] = [ids[i] for i in a]
        else:
            out[q.id] = a
    return out


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_bounds(quiz: Quiz, grade: Any) -> None:
    assert 0 <= grade.score <= grade.max_score
    assert math.isfinite(grade.score)
    for g in grade.questions:
        assert 0 <= g.points <= g.max_points
    assert grade.passed == (grade.max_score > 0 and grade.percent + 1e-9 >= quiz.pass_mark)


@PROPERTY
@given(quiz=quizzes(), response=JSON, seed=st.integers(0, 2**64))
def test_property_garbage_is_bounded_and_deterministic(quiz, response, seed):
    grade = grade_quiz(quiz, response, seed=seed)
    check_bounds(quiz, grade)
    assert grade == grade_quiz(quiz, response, seed=seed)


@PROPERTY
@given(quiz=quizzes(), data=st.data(), seed=st.integers(0, 2**32))
def test_property_garbage_per_question_is_bounded(quiz, data, seed):
    ids = [q.id for q in quiz.questions()]
    response = data.draw(st.dictionaries(st.sampled_from(ids), JSON))
    grade = grade_quiz(quiz, response, seed=seed)
    check_bounds(quiz, grade)
    for q in quiz.questions():
        # The markers themselves must not raise either (grade_quiz hides exceptions).
        mark_question(quiz, q, response.get(q.id), seed=seed)


@PROPERTY
@given(quiz=quizzes(), data=st.data(), seed=st.integers(0, 2**32))
def test_property_real_ids_bounded_deterministic(quiz, data, seed):
    view = public_view(quiz, seed=seed)
    response = data.draw(real_id_answers(view))
    grade = grade_quiz(quiz, response, seed=seed)
    check_bounds(quiz, grade)
    assert grade == grade_quiz(quiz, response, seed=seed)
    for q in quiz.questions():
        mark_question(quiz, q, response.get(q.id), seed=seed)


@PROPERTY
@given(
    quiz=quizzes(with_draw=False),
    data=st.data(),
    seeds=st.lists(st.integers(0, 2**32), min_size=2, max_size=2, unique=True),
)
def test_property_shuffling_never_changes_the_score(quiz, data, seeds):
    answers = data.draw(author_answers(quiz))
    first, second = (grade_quiz(quiz, to_public(quiz, answers, s), seed=s) for s in seeds)
    assert first.score == second.score
    assert [(g.id, g.points, g.feedback, g.response) for g in first.questions] == [
        (g.id, g.points, g.feedback, g.response) for g in second.questions
    ]


@PROPERTY
@given(quiz=quizzes(), seed=st.integers(0, 2**32))
def test_property_full_marks_response_scores_the_maximum(quiz, seed):
    grade = grade_quiz(quiz, practice_key(quiz, seed=seed)["answers"], seed=seed)
    assert grade.score == grade.max_score
    assert all(g.correct for g in grade.questions)


@PROPERTY
@given(quiz=quizzes(), seed=st.integers(0, 2**32))
def test_property_graded_public_view_leaks_nothing(quiz, seed):
    view = public_view(quiz, seed=seed)
    text = json.dumps(view, ensure_ascii=False, allow_nan=False)
    # Every feedback string, accepted answer and author option/pair/item/gap id
    # carries the quiz's marker: none may reach the browser.
    assert token(quiz) not in text
    assert not set(keys(view)) & FORBIDDEN_KEYS
    shown = {q["id"]: q for q in view_questions(view)}
    assert set(shown) == {q.id for q in selected_questions(quiz, seed=seed)}
    for q in selected_questions(quiz, seed=seed):
        if isinstance(q, Ordering) and len({i.text for i in q.items}) > 1:
            texts = [i["text"] for i in shown[q.id]["items"]]
            assert texts != [i.text for i in q.items]
        if isinstance(q, Matching):
            real = [p for p in q.pairs if p.left.strip()]
            if len({p.left for p in real}) < len(real):
                continue  # equal left texts: the check below cannot tell them apart
            right_of = {p.left: p.right for p in real}
            expected = list(dict.fromkeys(right_of[left["text"]] for left in shown[q.id]["left"]))
            choices = [c["text"] for c in shown[q.id]["right"] if c["text"] in expected]
            if len(expected) >= 2:
                assert choices != expected


# ------------------------------------------- compiled marking equals the reference
#
# grade_quiz marks with markers compiled once per quiz and one flat index of
# the attempt's public ids; grade_quiz_reference spells the same rules out
# question by question with mark_question.  Their results must be identical,
# down to float representation and feedback order.


def same_grade(fast: Any, reference: Any) -> None:
    assert fast == reference
    assert repr(fast.to_json()) == repr(reference.to_json())  # -0.0 vs 0.0, types


@st.composite
def mixed_answers(draw: st.DrawFn, quiz: Quiz, seed: int) -> dict[str, object]:
    """Per question, one of: real public ids, author answers, full marks, garbage, retyped text."""
    view = public_view(quiz, seed=seed)
    sources = [
        draw(real_id_answers(view)),
        to_public(quiz, draw(author_answers(quiz)), seed),
        practice_key(quiz, seed=seed)["answers"],
    ]
    out: dict[str, object] = {}
    for q in quiz.questions():
        choice = draw(st.integers(0, len(sources) + 1))
        if choice < len(sources):
            if q.id in sources[choice]:
                out[q.id] = sources[choice][q.id]
        elif choice == len(sources):
            out[q.id] = draw(JSON)
        elif isinstance(q, ShortAnswer):
            text = draw(st.sampled_from([a.text for a in q.answers]))
            out[q.id] = draw(st.sampled_from([f"  {text.upper()} ", text.title(), text + "\t"]))
        elif isinstance(q, FillBlanks):
            out[q.id] = [f" {draw(st.sampled_from(g.answers)).upper()}" for g in q.gaps]
        elif isinstance(q, Numeric):
            a = draw(st.sampled_from(q.answers))
            out[q.id] = draw(
                st.sampled_from([a.low, a.high, (a.low + a.high) / 2, str(a.low).replace(".", ",")])
            )
    return out


def tricky_quiz() -> Quiz:
    """Every tie the rules settle: equal texts, overlapping ranges, equal credits, repeats."""
    return make_quiz(
        SingleChoice(
            id="q1",
            prompt="x",
            options=[
                Option(id="a", text="Một", correct=True, feedback="fa"),
                Option(id="b", text="Một", credit=0.5, feedback="fb"),
                Option(id="c", text=" Hai  ba ", credit=-0.5),
            ],
            feedback="chung",
        ),
        MultipleChoice(
            id="q2",
            prompt="x",
            options=[
                Option(id="a", text="A", correct=True, credit=0.7, feedback="fa"),
                Option(id="a", text="A", correct=True),
                Option(id="c", text="C\nD", credit=-1, feedback="fc"),
                Option(id="d", text="x" * 150, feedback="fd"),
                Option(id="e", text="E", correct=True, fixed=True),
            ],
        ),
        MultipleChoice(
            id="q3",
            prompt="x",
            scoring="all-or-nothing",
            options=[Option(id=k, text=k, correct=k in "ac") for k in "abcdefgh"],
        ),
        ShortAnswer(
            id="q4",
            prompt="x",
            answers=[
                AcceptedAnswer(text="Sở Y tế", credit=0.5, feedback="f1"),
                AcceptedAnswer(text="sở  y TẾ", credit=0.5, feedback="f2"),
                AcceptedAnswer(text="SO Y TE", credit=1.0, feedback="f3"),
            ],
        ),
        ShortAnswer(
            id="q5",
            prompt="x",
            ignore_accents=True,
            answers=[
                AcceptedAnswer(text="Đà Nẵng", credit=0.5, feedback="f1"),
                AcceptedAnswer(text="da nang", credit=0.5, feedback="f2"),
            ],
        ),
        Numeric(
            id="q6",
            prompt="x",
            answers=[
                NumericAnswer(low=1, high=3, source="2 ± 1", credit=0.5, feedback="f1"),
                NumericAnswer(low=2, high=4, source="3 ± 1", credit=0.5, feedback="f2"),
                NumericAnswer(low=2.5, high=2.5, source="2,5", credit=1, feedback="f3"),
                NumericAnswer(low=18.2 - 0.5, high=18.2 + 0.5, source="18,2 ± 0,5", credit=0.2),
            ],
        ),
        Matching(
            id="q7",
            prompt="x",
            pairs=[
                Pair(id="a", left="A", right="1"),
                Pair(id="b", left="B", right="1"),
                Pair(id="c", left="C", right="2"),
                Pair(id="d", left="", right="3"),
                Pair(id="e", left="", right="1"),
            ],
        ),
        Ordering(
            id="q8",
            prompt="x",
            items=[Item(id=k, text=t) for k, t in zip("abcd", ["x", "y", "x", "z"], strict=True)],
        ),
        FillBlanks(
            id="q9",
            prompt="x",
            segments=["", " và ", " và ", ""],
            gaps=[
                Gap(id="g1", answers=["16", "mười sáu"]),
                Gap(id="g2", answers=["16"]),
                Gap(id="g3", answers=["Đ", "d"]),
            ],
            ignore_accents=True,
        ),
        TrueFalse(id="q10", prompt="x", answer=False, feedback_true="ft"),
        shuffle_options=True,
        shuffle_questions=True,
        pass_mark=50,
    )


TRICKY = tricky_quiz()


@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**64))
def test_property_compiled_marking_equals_the_reference_on_ties(data, seed):
    response = data.draw(mixed_answers(TRICKY, seed))
    same_grade(
        grade_quiz(TRICKY, response, seed=seed), grade_quiz_reference(TRICKY, response, seed=seed)
    )


@PROPERTY
@given(quiz=quizzes(), data=st.data(), seed=st.integers(0, 2**64))
def test_property_compiled_marking_equals_the_reference(quiz, data, seed):
    response = data.draw(mixed_answers(quiz, seed))
    same_grade(
        grade_quiz(quiz, response, seed=seed), grade_quiz_reference(quiz, response, seed=seed)
    )
    # Twice: markers remember outcomes (multiple choice) after the first use.
    same_grade(
        grade_quiz(quiz, response, seed=seed), grade_quiz_reference(quiz, response, seed=seed)
    )


@PROPERTY
@given(quiz=quizzes(), response=JSON, seed=st.integers(0, 2**64))
def test_property_compiled_marking_equals_the_reference_on_garbage(quiz, response, seed):
    same_grade(
        grade_quiz(quiz, response, seed=seed), grade_quiz_reference(quiz, response, seed=seed)
    )


def test_compiled_marking_equals_the_reference_on_the_fixed_examples():
    quiz = full_quiz(shuffle_questions=True, shuffle_options=True)
    for seed in range(20):
        for response in [
            practice_key(quiz, seed=seed)["answers"],
            practice_key(quiz, seed=seed + 1)["answers"],
            {"q1": [], "q2": {}, "q3": "TRUE ", "q4": " sở  y TẾ", "q5": "18,2", "q6": None},
        ]:
            same_grade(
                grade_quiz(quiz, response, seed=seed),
                grade_quiz_reference(quiz, response, seed=seed),
            )


def test_repeated_public_ids_fall_back_to_the_careful_derivation(monkeypatch):
    # With 2-hex ids, ids repeat in most attempts: within one question (the
    # careful derivation skips the repeat) or across questions (no flat index;
    # grade_quiz marks with the reference).  View, key and marking must agree.
    monkeypatch.setattr(attempt, "PUBLIC_ID_HEX", 2)
    monkeypatch.setattr(attempt, "_cache", OrderedDict())
    quiz = full_quiz(shuffle_questions=True, shuffle_options=True)
    without_index = 0
    for seed in range(60):
        without_index += attempt.attempt_index(quiz, seed) is None
        for q in quiz.questions():
            for role in ("option", "left", "right", "item", "gap"):
                ids = public_ids(quiz, q, seed=seed, role=role).ids
                assert len(set(ids)) == len(ids)
        key = practice_key(quiz, seed=seed)
        grade = grade_quiz(quiz, key["answers"], seed=seed)
        assert grade.score == grade.max_score == 13
        same_grade(grade, grade_quiz_reference(quiz, key["answers"], seed=seed))
        view = public_view(quiz, seed=seed)
        response = {q["id"]: [o["id"] for o in q.get("options", [])] for q in view_questions(view)}
        same_grade(
            grade_quiz(quiz, response, seed=seed),
            grade_quiz_reference(quiz, response, seed=seed),
        )
    assert 0 < without_index < 60


def test_attempt_index_agrees_with_public_ids():
    quiz = full_quiz(shuffle_options=True)
    starts = attempt.id_starts(quiz)
    for seed in range(10):
        index = attempt.attempt_index(quiz, seed)
        assert index is not None
        for q in quiz.questions():
            for role in ("option", "left", "right", "item", "gap"):
                ids = public_ids(quiz, q, seed=seed, role=role).ids
                for position, public in enumerate(ids):
                    assert index[public] == starts[(id(q), role)] + position


def plain_normalise(text: str, *, ignore_accents: bool = False) -> str:
    """normalise as first written: one path for every text, whitespace by regex."""
    text = unicodedata.normalize("NFC", text).casefold()
    if ignore_accents:
        text = unicodedata.normalize("NFD", text).replace("đ", "d")
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"\s+", " ", text).strip()


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(max_size=12)
    | st.text(alphabet="aAzZ09 \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u3000đĐÁo\u0301", max_size=12),
    ignore_accents=st.booleans(),
)
def test_property_normalise_equals_the_plain_version(text, ignore_accents):
    assert normalise(text, ignore_accents=ignore_accents) == plain_normalise(
        text, ignore_accents=ignore_accents
    )

"""Marking a quiz attempt: pure, deterministic, and safe on any input.

``grade_quiz`` receives whatever the browser sent, decoded from JSON, and
therefore trusts nothing about it: a wrong type, an unknown id, a huge list,
a number that is NaN or too big for a float all score 0 for that question
and never raise.  The same quiz, response and seed always give the same
grade, which is what allows re-marking years later from a stored course
version; the order options were shown in never changes a score, because the
browser's public ids are mapped back to the author's before marking.

The scoring rules are the ones ``docs/authoring-quizzes.md`` promises authors.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lms_core.exercises import Grade, QuestionGrade
from lms_quiz.attempt import (
    IdMap,
    attempt_ids,
    public_ids,
    real_pairs,
    selected_questions,
    static_plan,
)
from lms_quiz.model import (
    FillBlanks,
    Matching,
    MultipleChoice,
    Numeric,
    Ordering,
    Question,
    Quiz,
    ShortAnswer,
    SingleChoice,
    TrueFalse,
)

MAX_TEXT = 1000
"""Typed answers longer than this are wrong without being compared: no accepted
answer is that long, and normalising megabytes would only cost CPU."""

MAX_NUMBER_TEXT = 100
MAX_REPORT = 200
"""Length of the answer text kept in reports."""

_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EPSILON = 1e-9


@dataclass(slots=True)
class Marked:
    """The outcome of one question before it is turned into points."""

    fraction: float = 0.0
    feedback: list[str] = field(default_factory=list)
    response: str = ""


def normalise(text: str, *, ignore_accents: bool = False) -> str:
    """The form typed answers are compared in.

    NFC first (Vietnamese arrives composed or decomposed depending on the
    keyboard), then case folding and whitespace collapsing.  Accents are kept
    unless the author asked otherwise: in Vietnamese "ma", "má" and "mà" are
    different words.  Ignoring accents also maps "đ" to "d", which is how
    people type Vietnamese without a Vietnamese keyboard.
    """
    text = unicodedata.normalize("NFC", text).casefold()
    if ignore_accents:
        text = unicodedata.normalize("NFD", text).replace("đ", "d")
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFC", text)
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=4096)
def _accepted(text: str, ignore_accents: bool) -> str:
    """``normalise`` for the author's accepted answers, which recur on every attempt."""
    return normalise(text, ignore_accents=ignore_accents)


def parse_number(value: object) -> float | None:
    """A finite number from a JSON number or a typed string, else None.

    Strings may use a decimal comma ("3,5", as Vietnamese is written) and
    surrounding spaces.  Booleans are not numbers (JSON ``true`` is not 1),
    NaN and infinities are refused, and integers too large for a float are
    refused instead of raising ``OverflowError``.  The grammar is stricter than
    ``float()``, which would accept "1_000" and "nan".
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    if not isinstance(value, str) or len(value) > MAX_NUMBER_TEXT:
        return None
    text = value.strip().replace("\u2212", "-")
    if "," in text:
        if "." in text or text.count(",") != 1:
            return None
        text = text.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def format_number(value: float) -> str:
    """A number as people write it: ``16`` rather than ``16.0``, else the shortest repr."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _clip(text: str) -> str:
    if len(text) <= MAX_REPORT and "  " not in text and "\n" not in text and "\t" not in text:
        return text.strip()
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= MAX_REPORT else text[: MAX_REPORT - 1] + "…"


def _credit(value: float) -> float:
    return min(1.0, max(0.0, value))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= MAX_TEXT else None


def _single(question: SingleChoice, answer: object, ids: IdMap) -> Marked:
    position = ids.index.get(answer) if isinstance(answer, str) else None
    if position is None:
        return Marked()
    option = question.options[position]
    credit = option.credit if option.credit is not None else float(option.correct)
    return Marked(_credit(credit), [option.feedback], _clip(option.text))


def _multiple(question: MultipleChoice, answer: object, ids: IdMap) -> Marked:
    """Partial (1/R rule), explicit credits, or all-or-nothing; see the guide."""
    if not isinstance(answer, list):
        return Marked()
    ticked = sorted({ids.index[a] for a in answer if isinstance(a, str) and a in ids.index})
    options = question.options
    right = {i for i, option in enumerate(options) if option.correct}
    r = len(right)
    if question.scoring == "all-or-nothing":
        fraction = float(set(ticked) == right)
    elif any(option.credit is not None for option in options):
        # Credits replace the 1/R rule.  An option without a credit counts as the
        # rule would for a right option and 0 for a wrong one (as GIFT does).
        total = 0.0
        for i in ticked:
            credit = options[i].credit
            if credit is None:
                credit = 1.0 / r if i in right else 0.0
            total += credit
        fraction = _credit(total)
    elif r == 0:
        # Nothing is right: leaving every box empty is the full answer.
        fraction = float(not ticked)
    else:
        hits = sum(1 for i in ticked if i in right)
        fraction = _credit((hits - (len(ticked) - hits)) / r)
    return Marked(
        fraction,
        [options[i].feedback for i in ticked],
        _clip("; ".join(options[i].text for i in ticked)),
    )


def _truefalse(question: TrueFalse, answer: object) -> Marked:
    value: bool | None = None
    if isinstance(answer, bool):
        value = answer
    elif isinstance(answer, str) and len(answer) <= 10:
        value = {"true": True, "false": False}.get(answer.strip().casefold())
    if value is None:
        return Marked()
    return Marked(
        float(value == question.answer),
        [question.feedback_true if value else question.feedback_false],
        "true" if value else "false",
    )


def _short(question: ShortAnswer, answer: object) -> Marked:
    text = _text(answer)
    if text is None:
        return Marked()
    typed = normalise(text, ignore_accents=question.ignore_accents)
    best = None
    for accepted in question.answers:
        if _accepted(accepted.text, question.ignore_accents) == typed and (
            best is None or accepted.credit > best.credit
        ):
            best = accepted
    if best is None:
        return Marked(response=_clip(text))
    return Marked(_credit(best.credit), [best.feedback], _clip(text))


def _numeric(question: Numeric, answer: object) -> Marked:
    number = parse_number(answer)
    if number is None:
        return Marked()
    best = None
    for accepted in question.answers:
        # A little slack: "18,2 ± 0,5" is stored as 18.2 + 0.5, which float
        # arithmetic may put a hair below 18.7.
        slack = _EPSILON * max(1.0, abs(accepted.low), abs(accepted.high))
        if accepted.low - slack <= number <= accepted.high + slack and (
            best is None or accepted.credit > best.credit
        ):
            best = accepted
    shown = _clip(answer) if isinstance(answer, str) else format_number(number)
    if best is None:
        return Marked(response=shown)
    return Marked(_credit(best.credit), [best.feedback], shown)


def _matching(question: Matching, answer: object, left: IdMap, right: IdMap) -> Marked:
    """Fraction of the real pairs matched; equal right-hand texts are interchangeable."""
    real = set(real_pairs(question))
    if not isinstance(answer, dict) or not real:
        return Marked()
    chosen: dict[int, int] = {}
    for key, value in answer.items():
        if isinstance(key, str) and isinstance(value, str):
            li, ri = left.index.get(key), right.index.get(value)
            if li is not None and ri is not None and li in real:
                chosen[li] = ri
    pairs = question.pairs
    hits = sum(1 for li, ri in chosen.items() if pairs[ri].right == pairs[li].right)
    shown = "; ".join(f"{pairs[li].left} → {pairs[chosen[li]].right}" for li in sorted(chosen))
    return Marked(hits / len(real), [], _clip(shown))


def _ordering(question: Ordering, answer: object, ids: IdMap) -> Marked:
    """Fraction of positions holding the right item (by text: equal items are equal)."""
    if not isinstance(answer, list):
        return Marked()
    items = question.items
    seen: set[int] = set()
    placed: list[int | None] = []
    for value in answer[: len(items)]:
        position = ids.index.get(value) if isinstance(value, str) else None
        if position is not None and position in seen:
            position = None
        if position is not None:
            seen.add(position)
        placed.append(position)
    hits = sum(
        1 for slot, p in enumerate(placed) if p is not None and items[p].text == items[slot].text
    )
    shown = " | ".join(items[p].text if p is not None else "?" for p in placed)
    return Marked(hits / len(items), [], _clip(shown))


def _blanks(question: FillBlanks, answer: object, ids: IdMap) -> Marked:
    """Fraction of gaps filled right; a list in gap order or ``{public gap id: text}``."""
    gaps = question.gaps
    typed: list[str | None] = [None] * len(gaps)
    if isinstance(answer, list):
        for i, value in enumerate(answer[: len(gaps)]):
            typed[i] = _text(value)
    elif isinstance(answer, dict):
        for key, value in answer.items():
            position = ids.index.get(key) if isinstance(key, str) else None
            if position is not None:
                typed[position] = _text(value)
    else:
        return Marked()
    hits = 0
    for gap, text in zip(gaps, typed, strict=True):
        if text is None:
            continue
        wanted = normalise(text, ignore_accents=question.ignore_accents)
        if any(_accepted(a, question.ignore_accents) == wanted for a in gap.answers):
            hits += 1
    shown = " | ".join(t if t is not None else "" for t in typed)
    return Marked(hits / len(gaps), [], _clip(shown))


def mark_question(quiz: Quiz, question: Question, answer: object, *, seed: int) -> Marked:
    """Mark one question's answer (public ids of attempt ``seed``), before weighting.

    Written not to raise on any input; :func:`grade_quiz` still guards it.
    """
    marked: Marked
    if isinstance(question, SingleChoice):
        marked = _single(question, answer, public_ids(quiz, question, seed=seed, role="option"))
    elif isinstance(question, MultipleChoice):
        marked = _multiple(question, answer, public_ids(quiz, question, seed=seed, role="option"))
    elif isinstance(question, TrueFalse):
        marked = _truefalse(question, answer)
    elif isinstance(question, ShortAnswer):
        marked = _short(question, answer)
    elif isinstance(question, Numeric):
        marked = _numeric(question, answer)
    elif isinstance(question, Matching):
        marked = _matching(
            question,
            answer,
            public_ids(quiz, question, seed=seed, role="left"),
            public_ids(quiz, question, seed=seed, role="right"),
        )
    elif isinstance(question, Ordering):
        marked = _ordering(question, answer, public_ids(quiz, question, seed=seed, role="item"))
    else:
        marked = _blanks(question, answer, public_ids(quiz, question, seed=seed, role="gap"))
    if not math.isfinite(marked.fraction):
        marked.fraction = 0.0
    marked.fraction = _credit(marked.fraction)
    marked.feedback = [text for text in [*marked.feedback, question.feedback] if text]
    return marked


Marker = Callable[[object, Mapping[tuple[int, str], IdMap]], Marked]


def _plan_question(quiz: Quiz, question: Question) -> Marker:
    """A marker for one question with what does not depend on the attempt precomputed."""
    key = id(question)
    if isinstance(question, SingleChoice):
        options = question.options
        credits = [_credit(o.credit if o.credit is not None else float(o.correct)) for o in options]
        feedback = [[o.feedback] if o.feedback else [] for o in options]
        shown = [_clip(o.text) for o in options]

        def single(answer: object, ids: Mapping[tuple[int, str], IdMap]) -> Marked:
            position = ids[(key, "option")].index.get(answer) if isinstance(answer, str) else None
            if position is None:
                return Marked()
            return Marked(credits[position], list(feedback[position]), shown[position])

        return single
    if isinstance(question, MultipleChoice):
        multiple = question
        return lambda answer, ids: _multiple(multiple, answer, ids[(key, "option")])
    if isinstance(question, TrueFalse):
        truefalse = question
        return lambda answer, ids: _truefalse(truefalse, answer)
    if isinstance(question, ShortAnswer):
        short = question
        return lambda answer, ids: _short(short, answer)
    if isinstance(question, Numeric):
        numeric = question
        return lambda answer, ids: _numeric(numeric, answer)
    if isinstance(question, Matching):
        matching = question
        return lambda answer, ids: _matching(
            matching, answer, ids[(key, "left")], ids[(key, "right")]
        )
    if isinstance(question, Ordering):
        ordering = question
        return lambda answer, ids: _ordering(ordering, answer, ids[(key, "item")])
    blanks = question
    return lambda answer, ids: _blanks(blanks, answer, ids[(key, "gap")])


def _grading_plan(quiz: Quiz) -> list[tuple[Question, Marker]]:
    return [(question, _plan_question(quiz, question)) for question in quiz.questions()]


def grade_quiz(quiz: Quiz, response: object, *, seed: int) -> Grade:
    """Mark ``response`` (decoded JSON, possibly garbage) for attempt ``seed``.

    ``response`` is ``{question id: answer}`` with the author's question ids
    and the attempt's public option ids (see ``docs`` and :mod:`lms_quiz.view`).
    Only the questions drawn for this attempt count, listed in written order
    so reports line up across attempts.  Points are rounded to 4 decimals; the
    pass test allows for float error (2.4 of 3 is 80 %, not 79.999…).  What
    depends only on the quiz is prepared once per quiz object
    (:func:`lms_quiz.attempt.static_plan`), since a server marks many attempts
    of one course version.
    """
    answers: dict[Any, Any] = response if isinstance(response, dict) else {}
    plan: list[tuple[Question, Marker]] = static_plan(quiz, "grading", lambda: _grading_plan(quiz))
    selected = {id(q) for q in selected_questions(quiz, seed=seed)} if quiz.draw else None
    ids = attempt_ids(quiz, seed)
    grades: list[QuestionGrade] = []
    for question, marker in plan:
        if selected is not None and id(question) not in selected:
            continue
        try:
            marked = marker(answers.get(question.id), ids)
            fraction = marked.fraction
            if not math.isfinite(fraction):
                fraction = 0.0
            fraction = _credit(fraction)
        except Exception:  # a bug in one marker costs that question, not the attempt
            marked, fraction = Marked(), 0.0
        feedback = marked.feedback
        if question.feedback:
            feedback.append(question.feedback)
        grades.append(
            QuestionGrade(
                id=question.id,
                points=round(question.points * fraction, 4),
                max_points=question.points,
                correct=fraction >= 1.0 - _EPSILON,
                feedback=[text for text in feedback if text],
                response=marked.response,
            )
        )
    max_score = round(sum(g.max_points for g in grades), 4)
    score = min(max_score, max(0.0, round(sum(g.points for g in grades), 4)))
    percent = 100.0 * score / max_score if max_score > 0 else 0.0
    return Grade(
        questions=grades,
        score=score,
        max_score=max_score,
        passed=max_score > 0 and percent + _EPSILON >= quiz.pass_mark,
    )

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lms_core.exercises import Grade, QuestionGrade
from lms_quiz.attempt import (
    IdMap,
    attempt_index,
    id_starts,
    public_ids,
    real_pairs,
    selected_questions,
    static_plan,
)
from lms_quiz.model import (
    AcceptedAnswer,
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
    if text.isascii():
        # NFC and accent stripping leave ASCII alone and casefold() is lower()
        # there.  Numbers, codes and Vietnamese typed without a Vietnamese
        # keyboard take this path, at a third of the cost.
        return " ".join(text.lower().split())
    text = unicodedata.normalize("NFC", text).casefold()
    if ignore_accents:
        text = unicodedata.normalize("NFD", text).replace("đ", "d")
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    # str.split() and the regex \s agree on what whitespace is (every code point checked).
    return " ".join(unicodedata.normalize("NFC", text).split())


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
    return _multiple_ticked(question, ticked)


def _multiple_ticked(question: MultipleChoice, ticked: list[int]) -> Marked:
    """:func:`_multiple` once the ticks are positions (sorted, each once)."""
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


# ---------------------------------------------------------------- whole attempts


def _question_grade(question: Question, marked: Marked) -> QuestionGrade:
    """``marked`` (from :func:`mark_question`) in points."""
    return QuestionGrade(
        question.id,
        round(question.points * marked.fraction, 4),
        question.points,
        marked.fraction >= 1.0 - _EPSILON,
        marked.feedback,
        marked.response,
    )


def _failed(question: Question) -> QuestionGrade:
    """The grade of a question whose marker raised: no points, general feedback only."""
    return QuestionGrade(
        question.id, 0.0, question.points, False, [question.feedback] if question.feedback else []
    )


def _total(quiz: Quiz, grades: list[QuestionGrade], max_score: float) -> Grade:
    """Points summed and rounded to 4 decimals; the pass test allows for float error."""
    score = min(max_score, max(0.0, round(sum([g.points for g in grades]), 4)))
    percent = 100.0 * score / max_score if max_score > 0 else 0.0
    return Grade(grades, score, max_score, max_score > 0 and percent + _EPSILON >= quiz.pass_mark)


def grade_quiz_reference(quiz: Quiz, response: object, *, seed: int) -> Grade:
    """What :func:`grade_quiz` returns, spelled out with :func:`mark_question`.

    The definition the compiled markers must equal (tests compare them on
    random quizzes and responses), and the path :func:`grade_quiz` takes for
    the rare attempt whose public ids repeat (:func:`attempt_index`).
    """
    answers: dict[Any, Any] = response if isinstance(response, dict) else {}
    selected = {id(q) for q in selected_questions(quiz, seed=seed)}
    grades: list[QuestionGrade] = []
    for question in quiz.questions():
        if id(question) not in selected:
            continue
        try:
            grades.append(
                _question_grade(
                    question, mark_question(quiz, question, answers.get(question.id), seed=seed)
                )
            )
        except Exception:  # a bug in one marker costs that question, not the attempt
            grades.append(_failed(question))
    return _total(quiz, grades, round(sum(g.max_points for g in grades), 4))


# ------------------------------------------------------------- compiled markers
#
# Marking an attempt is mostly the same work every time: the same credits,
# feedback and report texts, looked up by the option, hit count or accepted
# answer the learner chose.  So each question is compiled once per quiz
# object into a closure holding those outcomes ready-made (points rounded,
# feedback filtered), and an attempt only finds which outcome applies.  Public
# ids are found through one flat index per attempt (:func:`attempt_index`):
# ``local`` maps a place in that index to the position in the question's own
# list, and maps nothing else, so an id of another question or attempt finds
# nothing, as with the per-question maps of :func:`mark_question`.

Outcome = tuple[float, bool, tuple[str, ...], str]
"""Points, full marks, feedback (general feedback last, empty texts dropped), report text."""

Compiled = Callable[[object, dict[str, int]], QuestionGrade]
"""Marks one question's answer, given the attempt's :func:`attempt_index`."""


def _outcome(question: Question, fraction: float, feedback: list[str], response: str) -> Outcome:
    """The same steps as :func:`mark_question` and :func:`_question_grade`, done ahead of time."""
    if not math.isfinite(fraction):
        fraction = 0.0
    fraction = _credit(fraction)
    return (
        round(question.points * fraction, 4),
        fraction >= 1.0 - _EPSILON,
        tuple(text for text in [*feedback, question.feedback] if text),
        response,
    )


def _local(start: int, count: int, wanted: Iterable[int] | None = None) -> dict[int | None, int]:
    """Place in the attempt index -> position in the question's list (``wanted`` ones only)."""
    return {start + i: i for i in (range(count) if wanted is None else wanted)}


def _by_hits(question: Question, count: int) -> list[Outcome]:
    """Outcomes of ``hits / count`` for every possible number of hits."""
    return [_outcome(question, hits / count, [], "") for hits in range(count + 1)]


def _compile_single(question: SingleChoice, start: int) -> Compiled:
    qid, max_points = question.id, question.points
    options = question.options
    local = _local(start, len(options))
    outcomes = [
        _outcome(
            question,
            _credit(o.credit if o.credit is not None else float(o.correct)),
            [o.feedback],
            _clip(o.text),
        )
        for o in options
    ]
    none = _outcome(question, 0.0, [], "")

    def mark(answer: object, index: dict[str, int]) -> QuestionGrade:
        position = local.get(index.get(answer)) if isinstance(answer, str) else None
        points, correct, feedback, shown = none if position is None else outcomes[position]
        return QuestionGrade(qid, points, max_points, correct, [*feedback], shown)

    return mark


_REMEMBERED_TICKS = 64
"""Outcomes a multiple-choice marker keeps, one per set of ticks: every set for
up to six options, the first 64 seen for longer questions (the rest are
computed each time)."""


def _compile_multiple(question: MultipleChoice, start: int) -> Compiled:
    """Ticks become a bit mask; its outcome comes from :func:`_multiple_ticked`, once.

    The outcome of a set of ticks (fraction, feedback of each ticked option,
    report text) is the same in every attempt, and learners tick the same few
    sets, so it is computed by the reference rule the first time and then
    looked up.
    """
    qid, max_points = question.id, question.points
    count = len(question.options)
    bits: dict[int | None, int] = {start + i: 1 << i for i in range(count)}
    none = _outcome(question, 0.0, [], "")
    remembered: dict[int, Outcome] = {}

    def mark(answer: object, index: dict[str, int]) -> QuestionGrade:
        if not isinstance(answer, list):
            points, correct, feedback, shown = none
            return QuestionGrade(qid, points, max_points, correct, [*feedback], shown)
        mask = 0
        for a in answer:
            if isinstance(a, str):
                mask |= bits.get(index.get(a), 0)
        outcome = remembered.get(mask)
        if outcome is None:
            marked = _multiple_ticked(question, [i for i in range(count) if mask >> i & 1])
            outcome = _outcome(question, marked.fraction, marked.feedback, marked.response)
            if len(remembered) < _REMEMBERED_TICKS:
                remembered[mask] = outcome
        points, correct, feedback, shown = outcome
        return QuestionGrade(qid, points, max_points, correct, [*feedback], shown)

    return mark


def _compile_truefalse(question: TrueFalse) -> Compiled:
    qid, max_points = question.id, question.points
    said_true = _outcome(question, float(question.answer), [question.feedback_true], "true")
    said_false = _outcome(question, float(not question.answer), [question.feedback_false], "false")
    words = {"true": said_true, "false": said_false}
    none = _outcome(question, 0.0, [], "")

    def mark(answer: object, index: dict[str, int]) -> QuestionGrade:
        if isinstance(answer, bool):
            outcome = said_true if answer else said_false
        elif isinstance(answer, str) and len(answer) <= 10:
            outcome = words.get(answer.strip().casefold(), none)
        else:
            outcome = none
        points, correct, feedback, shown = outcome
        return QuestionGrade(qid, points, max_points, correct, [*feedback], shown)

    return mark


def _compile_short(question: ShortAnswer) -> Compiled:
    qid, max_points = question.id, question.points
    ignore_accents = question.ignore_accents
    best: dict[str, AcceptedAnswer] = {}
    for accepted in question.answers:  # the first of the highest credits, as _short
        key = _accepted(accepted.text, ignore_accents)
        if key not in best or accepted.credit > best[key].credit:
            best[key] = accepted
    table = {
        key: _outcome(question, _credit(a.credit), [a.feedback], "") for key, a in best.items()
    }
    none = _outcome(question, 0.0, [], "")

    def mark(answer: object, index: dict[str, int]) -> QuestionGrade:
        text = _text(answer)
        if text is None:
            points, correct, feedback, shown = none
            return QuestionGrade(qid, points, max_points, correct, [*feedback], shown)
        typed = normalise(text, ignore_accents=ignore_accents)
        points, correct, feedback, _ = table.get(typed, none)
        return QuestionGrade(qid, points, max_points, correct, [*feedback], _clip(text))

    return mark


def _compile_numeric(question: Numeric) -> Compiled:
    qid, max_points = question.id, question.points
    ranges: list[tuple[float, float, float, Outcome]] = []
    for accepted in question.answers:
        slack = _EPSILON * max(1.0, abs(accepted.low), abs(accepted.high))  # as _numeric
        outcome = _outcome(question, _credit(accepted.credit), [accepted.feedback], "")
        ranges.append((accepted.low - slack, accepted.high + slack, accepted.credit, outcome))
    none = _outcome(question, 0.0, [], "")

    def mark(answer: object, index: dict[str, int]) -> QuestionGrade:
        number = parse_number(answer)
        if number is None:
            points, correct, feedback, shown = none
            return QuestionGrade(qid, points, max_points, correct, [*feedback], shown)
        found: Outcome | None = None
        found_credit = 0.0
        for low, high, credit, outcome in ranges:
            if low <= number <= high and (found is None or credit > found_credit):
                found, found_credit = outcome, credit
        points, correct, feedback, _ = none if found is None else found
        shown = _clip(answer) if isinstance(answer, str) else format_number(number)
        return QuestionGrade(qid, points, max_points, correct, [*feedback], shown)

    return mark


def _compile_matching(question: Matching, left_start: int, right_start: int) -> Compiled:
    qid, max_points = question.id, question.points
    pairs = question.pairs
    real = real_pairs(question)
    left = _local(left_start, len(pairs), real)  # an extra choice's left id counts for nothing
    right = _local(right_start, len(pairs))
    rights = [pair.right for pair in pairs]
    shown_pair = [[f"{pair.left} → {text}" for text in rights] for pair in pairs]
    by_hits = _by_hits(question, len(real)) if real else []
    none = _outcome(question, 0.0, [], "")

    def mark(answer: object, index: dict[str, int]) -> QuestionGrade:
        if not isinstance(answer, dict) or not real:
            points, correct, feedback, shown = none
            return QuestionGrade(qid, points, max_points, correct, [*feedback], shown)
        chosen: dict[int, int] = {}
        for key, value in answer.items():
            if isinstance(key, str) and isinstance(value, str):
                li = left.get(index.get(key))
                if li is not None:
                    ri = right.get(index.get(value))
                    if ri is not None:
                        chosen[li] = ri
        hits = 0
        parts: list[str] = []
        for li in sorted(chosen):
            ri = chosen[li]
            hits += rights[ri] == rights[li]
            parts.append(shown_pair[li][ri])
        points, correct, feedback, _ = by_hits[hits]
        text = _clip("; ".join(parts))
        return QuestionGrade(qid, points, max_points, correct, [*feedback], text)

    return mark


def _compile_ordering(question: Ordering, start: int) -> Compiled:
    qid, max_points = question.id, question.points
    texts = [item.text for item in question.items]
    count = len(texts)
    local = _local(start, count)
    by_hits = _by_hits(question, count)
    none = _outcome(question, 0.0, [], "")

    def mark(answer: object, index: dict[str, int]) -> QuestionGrade:
        if not isinstance(answer, list):
            points, correct, feedback, shown = none
            return QuestionGrade(qid, points, max_points, correct, [*feedback], shown)
        seen: set[int] = set()
        placed: list[str] = []
        hits = 0
        for slot, value in enumerate(answer[:count]):
            position = local.get(index.get(value)) if isinstance(value, str) else None
            if position is None or position in seen:
                placed.append("?")
                continue
            seen.add(position)
            placed.append(texts[position])
            if texts[position] == texts[slot]:
                hits += 1
        points, correct, feedback, _ = by_hits[hits]
        text = _clip(" | ".join(placed))
        return QuestionGrade(qid, points, max_points, correct, [*feedback], text)

    return mark


def _compile_blanks(question: FillBlanks, start: int) -> Compiled:
    qid, max_points = question.id, question.points
    ignore_accents = question.ignore_accents
    count = len(question.gaps)
    local = _local(start, count)
    accepted = [
        frozenset(_accepted(a, ignore_accents) for a in gap.answers) for gap in question.gaps
    ]
    by_hits = _by_hits(question, count)
    none = _outcome(question, 0.0, [], "")

    def mark(answer: object, index: dict[str, int]) -> QuestionGrade:
        typed: list[str | None] = [None] * count
        if isinstance(answer, list):
            for i, value in enumerate(answer[:count]):
                typed[i] = _text(value)
        elif isinstance(answer, dict):
            for key, value in answer.items():
                position = local.get(index.get(key)) if isinstance(key, str) else None
                if position is not None:
                    typed[position] = _text(value)
        else:
            points, correct, feedback, shown = none
            return QuestionGrade(qid, points, max_points, correct, [*feedback], shown)
        hits = 0
        for text, right in zip(typed, accepted, strict=True):
            if text is not None and normalise(text, ignore_accents=ignore_accents) in right:
                hits += 1
        text = " | ".join(t if t is not None else "" for t in typed)
        points, correct, feedback, _ = by_hits[hits]
        return QuestionGrade(qid, points, max_points, correct, [*feedback], _clip(text))

    return mark


def _compile(question: Question, starts: dict[tuple[int, str], int]) -> Compiled:
    key = id(question)
    if isinstance(question, SingleChoice):
        return _compile_single(question, starts[(key, "option")])
    if isinstance(question, MultipleChoice):
        return _compile_multiple(question, starts[(key, "option")])
    if isinstance(question, TrueFalse):
        return _compile_truefalse(question)
    if isinstance(question, ShortAnswer):
        return _compile_short(question)
    if isinstance(question, Numeric):
        return _compile_numeric(question)
    if isinstance(question, Matching):
        return _compile_matching(question, starts[(key, "left")], starts[(key, "right")])
    if isinstance(question, Ordering):
        return _compile_ordering(question, starts[(key, "item")])
    return _compile_blanks(question, starts[(key, "gap")])


@dataclass(frozen=True, slots=True)
class _Plan:
    """A quiz compiled for marking: per question its object id, id, marker and model."""

    markers: list[tuple[int, str, Compiled, Question]]
    max_score: float
    """Of an attempt holding every question (a quiz without ``draw``)."""


def _plan(quiz: Quiz) -> _Plan:
    starts = id_starts(quiz)
    questions = quiz.questions()
    return _Plan(
        [(id(q), q.id, _compile(q, starts), q) for q in questions],
        round(sum(q.points for q in questions), 4),
    )


def grade_quiz(quiz: Quiz, response: object, *, seed: int) -> Grade:
    """Mark ``response`` (decoded JSON, possibly garbage) for attempt ``seed``.

    ``response`` is ``{question id: answer}`` with the author's question ids
    and the attempt's public option ids (see ``docs`` and :mod:`lms_quiz.view`).
    Only the questions drawn for this attempt count, listed in written order
    so reports line up across attempts.  Points are rounded to 4 decimals; the
    pass test allows for float error (2.4 of 3 is 80 %, not 79.999…).

    The result equals :func:`grade_quiz_reference`; the work is split so a
    server marking many attempts of one course version does the least per
    attempt: markers compiled once per quiz object
    (:func:`lms_quiz.attempt.static_plan`), then per attempt one derivation of
    the public ids into a flat index and one lookup per answer.
    """
    index = attempt_index(quiz, seed)
    if index is None:
        return grade_quiz_reference(quiz, response, seed=seed)
    answers: dict[Any, Any] = response if isinstance(response, dict) else {}
    plan: _Plan = static_plan(quiz, "grading", lambda: _plan(quiz))
    selected = {id(q) for q in selected_questions(quiz, seed=seed)} if quiz.draw else None
    grades: list[QuestionGrade] = []
    for key, qid, mark, question in plan.markers:
        if selected is not None and key not in selected:
            continue
        try:
            grades.append(mark(answers.get(qid), index))
        except Exception:  # a bug in one marker costs that question, not the attempt
            grades.append(_failed(question))
    if selected is None:
        return _total(quiz, grades, plan.max_score)
    return _total(quiz, grades, round(sum(g.max_points for g in grades), 4))

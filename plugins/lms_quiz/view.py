"""What the browser receives: the public view of an attempt, and the practice key.

The public view is built for the least trusted reader: everything in it may
be read by a learner with the browser's developer tools before answering.
So it holds what the page shows and nothing else: prompts, option texts,
items in a shuffled order that is never the answer, and per-attempt public
ids (:func:`lms_quiz.attempt.public_ids`) instead of the author's.  It holds
no correctness, credit, feedback or accepted answer, for graded and practice
quizzes alike, so one code path serves both and cannot leak by mistake.

Practice quizzes give feedback at once, offline, so the browser also needs
the key: :func:`practice_key`, keyed by the same public ids.  The site embeds
it for practice quizzes only.

The learner server asks for the view of an attempt and then for its form,
which embeds the same view: :func:`shared_view` remembers the last few views
so the second costs nothing, and :func:`public_view` hands out a copy of it,
so whatever a caller does to its dict cannot reach the form.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from lms_quiz.attempt import (
    choice_order,
    item_order,
    left_order,
    option_order,
    public_ids,
    remembered,
    select_entries,
    selected_questions,
)
from lms_quiz.model import (
    FillBlanks,
    Matching,
    MultipleChoice,
    Numeric,
    Ordering,
    Question,
    Quiz,
    Scenario,
    ShortAnswer,
    SingleChoice,
    TrueFalse,
)


def _question_view(quiz: Quiz, question: Question, *, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": question.id,
        "kind": question.kind,
        "prompt": question.prompt,
        "points": question.points,
        "hint": question.hint,
    }
    if isinstance(question, SingleChoice | MultipleChoice):
        ids = public_ids(quiz, question, seed=seed, role="option")
        out["options"] = [
            {"id": ids.ids[i], "text": question.options[i].text}
            for i in option_order(quiz, question, seed=seed)
        ]
    elif isinstance(question, Matching):
        left = public_ids(quiz, question, seed=seed, role="left")
        right = public_ids(quiz, question, seed=seed, role="right")
        out["left"] = [
            {"id": left.ids[i], "text": question.pairs[i].left}
            for i in left_order(quiz, question, seed=seed)
        ]
        out["right"] = [
            {"id": right.ids[i], "text": question.pairs[i].right}
            for i in choice_order(quiz, question, seed=seed)
        ]
    elif isinstance(question, Ordering):
        ids = public_ids(quiz, question, seed=seed, role="item")
        out["items"] = [
            {"id": ids.ids[i], "text": question.items[i].text}
            for i in item_order(quiz, question, seed=seed)
        ]
    elif isinstance(question, FillBlanks):
        ids = public_ids(quiz, question, seed=seed, role="gap")
        out["segments"] = list(question.segments)
        out["gaps"] = [{"id": gap_id} for gap_id in ids.ids]
    return out


def public_view(quiz: Quiz, *, seed: int) -> dict[str, Any]:
    """The attempt ``seed`` as the browser may see it: JSON-ready, answer-free.

    Entries are the drawn ones, in shown order; a scenario carries its
    questions.  Question ids are the author's (responses are keyed by them and
    they say nothing about answers); option, pair, item and gap ids are public.
    A new dict every call (a copy of :func:`shared_view`'s): the caller owns it.
    """
    return _copy_view(shared_view(quiz, seed=seed))


_VIEWS: OrderedDict[tuple[int, int], tuple[Quiz, dict[str, Any]]] = OrderedDict()
_VIEWS_SIZE = 64


def shared_view(quiz: Quiz, *, seed: int) -> dict[str, Any]:
    """:func:`public_view`, remembered for the last few attempts: read it, never change it.

    An attempt start on the server builds the view for the response and then
    renders the form (:func:`lms_quiz.render.render_quiz`), which embeds the
    same view; building it (a seeded shuffle per question) was as costly as
    the rest of the form.  The entry holds the quiz itself, so it is only
    reused for the very same object, and nothing outside this package sees
    the remembered dict (:func:`public_view` copies it).
    """
    return remembered(
        _VIEWS, (id(quiz), seed), quiz, _VIEWS_SIZE, lambda: _build_view(quiz, seed=seed)
    )


_NESTED = ("options", "left", "right", "items", "gaps")
"""Keys of a question's view holding lists of dicts (:func:`_question_view`)."""


def _copy_question(question: dict[str, Any]) -> dict[str, Any]:
    out = dict(question)
    for key in _NESTED:
        if key in out:
            out[key] = [dict(element) for element in out[key]]
    if "segments" in out:
        out["segments"] = list(out["segments"])
    return out


def _copy_view(view: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``view`` sharing no dict or list with it (strings and numbers are immutable).

    Written for the view's known shape: 14 µs for a 20-question quiz, where a
    generic recursive copy took 35 and ``copy.deepcopy`` 145, against 200 to
    build it.  tests/test_quiz_render_fast.py checks that no container is shared.
    """
    entries: list[dict[str, Any]] = []
    for entry in view["entries"]:
        if entry["kind"] == "scenario":
            copied = dict(entry)
            copied["questions"] = [_copy_question(q) for q in entry["questions"]]
            entries.append(copied)
        else:
            entries.append(_copy_question(entry))
    out = dict(view)
    out["entries"] = entries
    return out


def _build_view(quiz: Quiz, *, seed: int) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for entry in select_entries(quiz, seed=seed):
        if isinstance(entry, Scenario):
            entries.append(
                {
                    "kind": "scenario",
                    "id": entry.id,
                    "title": entry.title,
                    "description": entry.description,
                    "questions": [_question_view(quiz, q, seed=seed) for q in entry.questions],
                }
            )
        else:
            entries.append(_question_view(quiz, entry, seed=seed))
    questions = selected_questions(quiz, seed=seed)
    return {
        "id": quiz.id,
        "title": quiz.title,
        "graded": quiz.graded,
        "pass_mark": quiz.pass_mark,
        "max_attempts": quiz.max_attempts,
        "grading": quiz.grading,
        "time_limit_minutes": quiz.time_limit_minutes,
        "max_score": round(sum(q.points for q in questions), 4),
        "entries": entries,
    }


def _question_key(quiz: Quiz, question: Question, *, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": question.kind, "feedback": question.feedback}
    if isinstance(question, SingleChoice | MultipleChoice):
        ids = public_ids(quiz, question, seed=seed, role="option")
        out["options"] = {
            ids.ids[i]: {"correct": o.correct, "credit": o.credit, "feedback": o.feedback}
            for i, o in enumerate(question.options)
        }
        if isinstance(question, MultipleChoice):
            out["scoring"] = question.scoring
    elif isinstance(question, TrueFalse):
        out["answer"] = question.answer
        out["feedback_true"] = question.feedback_true
        out["feedback_false"] = question.feedback_false
    elif isinstance(question, ShortAnswer):
        out["ignore_accents"] = question.ignore_accents
        out["answers"] = [
            {"text": a.text, "credit": a.credit, "feedback": a.feedback} for a in question.answers
        ]
    elif isinstance(question, Numeric):
        out["answers"] = [
            {"low": a.low, "high": a.high, "credit": a.credit, "feedback": a.feedback}
            for a in question.answers
        ]
    elif isinstance(question, Matching):
        out["pairs"] = full_marks(quiz, question, seed=seed)
    elif isinstance(question, Ordering):
        out["order"] = full_marks(quiz, question, seed=seed)
    else:
        ids = public_ids(quiz, question, seed=seed, role="gap")
        out["ignore_accents"] = question.ignore_accents
        out["gaps"] = {ids.ids[i]: list(gap.answers) for i, gap in enumerate(question.gaps)}
    return out


def full_marks(quiz: Quiz, question: Question, *, seed: int) -> object:
    """A response earning full marks, in the browser's terms (public ids).

    The practice page shows it as "the right answer"; tests and benchmarks use
    it as a known-good response.  Where several answers earn full marks, the
    first written one.
    """
    if isinstance(question, SingleChoice):
        ids = public_ids(quiz, question, seed=seed, role="option")
        credits = [o.credit if o.credit is not None else float(o.correct) for o in question.options]
        return ids.ids[credits.index(max(credits))]
    if isinstance(question, MultipleChoice):
        ids = public_ids(quiz, question, seed=seed, role="option")
        order = option_order(quiz, question, seed=seed)
        if question.scoring == "partial" and any(o.credit is not None for o in question.options):
            return [
                ids.ids[i]
                for i in order
                if (question.options[i].credit or 0) > 0
                or (question.options[i].credit is None and question.options[i].correct)
            ]
        return [ids.ids[i] for i in order if question.options[i].correct]
    if isinstance(question, TrueFalse):
        return question.answer
    if isinstance(question, ShortAnswer):
        credits = [a.credit for a in question.answers]
        return question.answers[credits.index(max(credits))].text
    if isinstance(question, Numeric):
        credits = [a.credit for a in question.answers]
        best = question.answers[credits.index(max(credits))]
        return best.low if best.low == best.high else best.low / 2 + best.high / 2
    if isinstance(question, Matching):
        left = public_ids(quiz, question, seed=seed, role="left")
        right = public_ids(quiz, question, seed=seed, role="right")
        shown = {
            question.pairs[i].right: right.ids[i] for i in choice_order(quiz, question, seed=seed)
        }
        return {
            left.ids[i]: shown[question.pairs[i].right]
            for i in left_order(quiz, question, seed=seed)
        }
    if isinstance(question, Ordering):
        return list(public_ids(quiz, question, seed=seed, role="item").ids)
    return [gap.answers[0] for gap in question.gaps]


def practice_key(quiz: Quiz, *, seed: int) -> dict[str, Any]:
    """What the browser needs to mark attempt ``seed`` of a practice quiz offline.

    Keyed by question id and then by the same public ids as the view, so the
    browser never learns the author's ids either.  The rules it must apply are
    those of :mod:`lms_quiz.grading`; ``max_score`` and ``pass_mark`` let it
    show the same result the server would, and ``answers`` holds a full-marks
    response per question (:func:`full_marks`) to show as the right answer.
    Never embed it for graded quizzes.
    """
    questions = selected_questions(quiz, seed=seed)
    return {
        "id": quiz.id,
        "pass_mark": quiz.pass_mark,
        "max_score": round(sum(q.points for q in questions), 4),
        "questions": {q.id: _question_key(quiz, q, seed=seed) for q in questions},
        "answers": {q.id: full_marks(quiz, q, seed=seed) for q in questions},
    }

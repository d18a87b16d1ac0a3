"""The author's view of stored answers, for item analysis.

A stored response holds the *public* ids of its attempt (:mod:`lms_quiz.attempt`):
opaque per-attempt ids, so the page never reveals which option is which.  A
trainer's item analysis needs the opposite direction: which of the author's
options (``a``, ``b``…) each learner chose.  The public ids are a pure
function of the quiz and the attempt's seed, so they are recomputed and
inverted here; nothing about them is stored.

:func:`load` is what :func:`lms_core.services.reports.item_analysis` calls
(through :data:`ANALYSERS`, by exercise kind): it validates a stored quiz
once per course version and returns an object that answers, per attempt,
which questions were shown and which options were chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lms_quiz.attempt import public_ids, selected_questions
from lms_quiz.model import MultipleChoice, Question, Quiz, SingleChoice, TrueFalse

__all__ = ["ANALYSERS", "ItemKey", "OptionKey", "QuizItems", "author_options", "load"]

TRUE_FALSE = ("true", "false")
"""Option ids given to the two answers of a true/false question."""


@dataclass(frozen=True, slots=True)
class OptionKey:
    """An option as the author wrote it; ``correct``: it earns credit."""

    id: str
    text: str
    correct: bool


@dataclass(frozen=True, slots=True)
class ItemKey:
    """A question as the author wrote it; ``options`` only for choice questions."""

    id: str
    kind: str
    prompt: str
    points: float
    options: tuple[OptionKey, ...] = ()


def _right(option: Any) -> bool:
    """Whether an option earns credit: ticked right, or given a positive GIFT weight."""
    return bool(option.correct) or (option.credit is not None and option.credit > 0)


def _key(question: Question) -> ItemKey:
    options: tuple[OptionKey, ...] = ()
    if isinstance(question, SingleChoice | MultipleChoice):
        options = tuple(OptionKey(o.id, o.text, _right(o)) for o in question.options)
    elif isinstance(question, TrueFalse):
        options = (
            OptionKey("true", "Đúng (true)", question.answer),
            OptionKey("false", "Sai (false)", not question.answer),
        )
    return ItemKey(question.id, question.kind, question.prompt, question.points, options)


def author_options(quiz: Quiz, question: Question, answer: object, *, seed: int) -> tuple[str, ...]:
    """The author's option ids that ``answer`` (public ids of attempt ``seed``) chose.

    Single choice: the one option picked; multiple choice: every option
    ticked, in written order; true/false: ``"true"`` or ``"false"``.  Ids
    that are not this attempt's (a forged or stale answer) are ignored, as
    grading ignores them; an empty tuple means no recognisable choice, and
    so does any other question type.  ``question`` must be one of ``quiz``'s
    own objects (its public ids are looked up by identity).
    """
    if isinstance(question, TrueFalse):
        value: bool | None = answer if isinstance(answer, bool) else None
        if isinstance(answer, str) and len(answer) <= 10:  # as grading reads it
            value = {"true": True, "false": False}.get(answer.strip().casefold())
        return () if value is None else (TRUE_FALSE[0] if value else TRUE_FALSE[1],)
    if not isinstance(question, SingleChoice | MultipleChoice):
        return ()
    ids = public_ids(quiz, question, seed=seed, role="option")
    if isinstance(question, SingleChoice):
        position = ids.index.get(answer) if isinstance(answer, str) else None
        return () if position is None else (question.options[position].id,)
    if not isinstance(answer, list):
        return ()
    ticked = sorted({ids.index[a] for a in answer if isinstance(a, str) and a in ids.index})
    return tuple(question.options[i].id for i in ticked)


class QuizItems:
    """One stored quiz, validated once, answering per attempt (see :func:`load`)."""

    def __init__(self, quiz: Quiz) -> None:
        self.quiz = quiz
        self._questions = {q.id: q for q in quiz.questions()}
        self._all = tuple(self._questions)

    def items(self) -> list[ItemKey]:
        """Every gradable question in written order (scenarios flattened)."""
        return [_key(q) for q in self._questions.values()]

    def shown(self, *, seed: int) -> tuple[str, ...]:
        """Ids of the questions attempt ``seed`` held (all of them unless the quiz draws)."""
        if not self.quiz.draw:
            return self._all
        return tuple(q.id for q in selected_questions(self.quiz, seed=seed))

    def chosen(self, question_id: str, answer: object, *, seed: int) -> tuple[str, ...]:
        """The author's option ids chosen in ``answer`` (:func:`author_options`)."""
        question = self._questions.get(question_id)
        if question is None:
            return ()
        return author_options(self.quiz, question, answer, seed=seed)


def load(data: Mapping[str, Any]) -> QuizItems:
    """A stored quiz (``exercises[].data`` of a course version) ready for analysis."""
    return QuizItems(Quiz.model_validate(data))


ANALYSERS = {"quiz": load}
"""Exercise kind -> loader, as :func:`lms_core.services.reports.item_analysis` takes
them; the installed ones come from the ``quiz`` type's ``analyse`` method."""

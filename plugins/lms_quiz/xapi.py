"""Questions as xAPI ``cmi.interaction`` definitions, for LRS reports and SCORM.

Interactions use the author's stable ids (question, option, pair, item), not
the per-attempt public ids: a report compares answers across attempts and
years, and LRS tools group statements by these ids.  Every question is listed,
drawn or not, scenario questions included, so the definitions do not depend
on an attempt.  Descriptions are plain text (xAPI language maps hold no
Markdown); the correct-response patterns follow the xAPI 1.0.3 syntax.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

from lms_core.exercises import Interaction, InteractionComponent
from lms_quiz.grading import format_number
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

CASE_INSENSITIVE = "{case_matters=false}"
"""Short answers are compared ignoring case; xAPI says so with this prefix."""

_MD = MarkdownIt("commonmark", {"html": False})


def plain_text(markdown: str) -> str:
    """The words of a piece of Markdown, without markup, on one line."""
    words: list[str] = []
    for token in _MD.parse(markdown):
        if token.type == "inline":
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    words.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    words.append(" ")
                elif child.type == "image":
                    words.append(child.content)
            words.append(" ")
        elif token.type in ("fence", "code_block"):
            words.append(token.content + " ")
    return " ".join("".join(words).split())


def _blanks_text(segments: list[str]) -> str:
    """The blanks prompt as plain text with ``____`` for each gap.

    Segments are made plain one by one (a ``____`` inside Markdown would be
    read as emphasis or a rule), keeping the spaces the author wrote around
    each gap so "dưới ____ tuổi" and "____." both read naturally.
    """
    out = ""
    for i, segment in enumerate(segments):
        if i:
            out += "____"
        piece = plain_text(segment)
        if i and segment[:1].isspace():
            piece = " " + piece
        if segment[-1:].isspace() and i < len(segments) - 1:
            piece += " "
        out += piece
    return out.strip()


def _full_credit(credits: list[float]) -> list[int]:
    """Indices of the answers that earn full marks, else of the best-credited ones."""
    best = max(credits)
    return [i for i, credit in enumerate(credits) if credit >= 1 or credit == best]


def _component(identifier: str, text: str, language: str) -> InteractionComponent:
    return InteractionComponent(id=identifier, description={language: plain_text(text)})


def _choice_ids(question: SingleChoice | MultipleChoice) -> list[str]:
    right = [o.id for o in question.options if o.correct]
    if right or isinstance(question, MultipleChoice):
        return right
    # A single choice whose right answer is only given as a credit (GIFT import).
    credits = [o.credit or 0.0 for o in question.options]
    return [question.options[i].id for i in _full_credit(credits) if credits[i] > 0]


def interaction(question: Question, *, language: str = "vi") -> Interaction:
    """One question as an xAPI interaction (``language`` keys the descriptions)."""
    if isinstance(question, FillBlanks):
        description = {language: _blanks_text(question.segments)}
    else:
        description = {language: plain_text(question.prompt)}
    if isinstance(question, SingleChoice | MultipleChoice):
        return Interaction(
            id=question.id,
            interaction_type="choice",
            description=description,
            correct_responses_pattern=["[,]".join(_choice_ids(question))],
            choices=[_component(o.id, o.text, language) for o in question.options],
        )
    if isinstance(question, TrueFalse):
        return Interaction(
            id=question.id,
            interaction_type="true-false",
            description=description,
            correct_responses_pattern=["true" if question.answer else "false"],
        )
    if isinstance(question, ShortAnswer):
        answers = question.answers
        full = _full_credit([a.credit for a in answers])
        return Interaction(
            id=question.id,
            interaction_type="fill-in",
            description=description,
            correct_responses_pattern=[CASE_INSENSITIVE + answers[i].text for i in full],
        )
    if isinstance(question, Numeric):
        numbers = question.answers
        full = _full_credit([a.credit for a in numbers])
        patterns = []
        for i in full:
            low, high = numbers[i].low, numbers[i].high
            patterns.append(
                format_number(low)
                if low == high
                else f"{format_number(low)}[:]{format_number(high)}"
            )
        return Interaction(
            id=question.id,
            interaction_type="numeric",
            description=description,
            correct_responses_pattern=patterns,
        )
    if isinstance(question, Matching):
        real = [p for p in question.pairs if p.left.strip()]
        return Interaction(
            id=question.id,
            interaction_type="matching",
            description=description,
            correct_responses_pattern=["[,]".join(f"{p.id}[.]{p.id}" for p in real)],
            source=[_component(p.id, p.left, language) for p in real],
            target=[_component(p.id, p.right, language) for p in question.pairs],
        )
    if isinstance(question, Ordering):
        return Interaction(
            id=question.id,
            interaction_type="sequencing",
            description=description,
            correct_responses_pattern=["[,]".join(item.id for item in question.items)],
            choices=[_component(item.id, item.text, language) for item in question.items],
        )
    return Interaction(
        id=question.id,
        interaction_type="fill-in",
        description=description,
        correct_responses_pattern=[
            CASE_INSENSITIVE + "[,]".join(gap.answers[0] for gap in question.gaps)
        ],
    )


def interactions(quiz: Quiz, *, language: str = "vi") -> list[Interaction]:
    """Every question of ``quiz`` in written order (scenarios flattened) as xAPI interactions.

    ``language`` is the lesson's language (the block's), used as the key of
    every description map.
    """
    return [interaction(q, language=language) for q in quiz.questions()]

"""The parsed form of a quiz: pydantic models, stored in course versions as JSON.

One model per question type, discriminated by ``kind``.  Everything a grade
depends on is here, so a stored quiz can be re-marked years later without
the Markdown it came from.  Ids are the author's (or ``q1``, ``q2``… in order
of writing; options ``a``, ``b``… in order of writing) and never change with
shuffling; what the browser sees uses per-attempt ids instead (``view.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lms_core.exercises import Exercise


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Option(_Frozen):
    """A choice of a single- or multiple-choice question."""

    id: str
    text: str = Field(description="Markdown")
    correct: bool = False
    credit: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="fraction of the points (GIFT weights); None: the type's default rule",
    )
    feedback: str = ""
    fixed: bool = Field(default=False, description="kept in place when options are shuffled")


class AcceptedAnswer(_Frozen):
    """An accepted answer of a short-answer question."""

    text: str
    credit: float = Field(default=1.0, ge=0, le=1)
    feedback: str = ""


class NumericAnswer(_Frozen):
    """An accepted numeric answer: the closed range [low, high]."""

    low: float
    high: float
    source: str = Field(description="as the author wrote it, e.g. '18,2 ± 0,5'")
    credit: float = Field(default=1.0, ge=0, le=1)
    feedback: str = ""


class Pair(_Frozen):
    """A matching pair; ``left`` empty means an extra (wrong) right-hand choice."""

    id: str
    left: str
    right: str


class Item(_Frozen):
    """An item of an ordering question."""

    id: str
    text: str


class Gap(_Frozen):
    """A gap of a fill-in-the-blanks question and its accepted answers."""

    id: str
    answers: list[str] = Field(min_length=1)


class _Question(_Frozen):
    id: str
    prompt: str = Field(description="Markdown")
    points: float = Field(default=1.0, gt=0)
    tags: list[str] = Field(default_factory=list)
    hint: str = ""
    feedback: str = Field(default="", description="general feedback, shown after answering")
    line: int = Field(default=0, description="line in the source file, for messages")


class SingleChoice(_Question):
    kind: Literal["single"] = "single"
    options: list[Option] = Field(min_length=2)
    shuffle: bool = True


class MultipleChoice(_Question):
    kind: Literal["multiple"] = "multiple"
    options: list[Option] = Field(min_length=2)
    scoring: Literal["partial", "all-or-nothing"] = "partial"
    shuffle: bool = True


class TrueFalse(_Question):
    kind: Literal["truefalse"] = "truefalse"
    answer: bool
    feedback_true: str = ""
    feedback_false: str = ""


class ShortAnswer(_Question):
    kind: Literal["short"] = "short"
    answers: list[AcceptedAnswer] = Field(min_length=1)
    ignore_accents: bool = False


class Numeric(_Question):
    kind: Literal["numeric"] = "numeric"
    answers: list[NumericAnswer] = Field(min_length=1)


class Matching(_Question):
    kind: Literal["matching"] = "matching"
    pairs: list[Pair] = Field(min_length=2)
    shuffle: bool = True

    @model_validator(mode="after")
    def _has_a_real_pair(self) -> Matching:
        if not any(pair.left.strip() for pair in self.pairs):
            raise ValueError("a matching question needs at least one pair with a left side")
        return self


class Ordering(_Question):
    kind: Literal["ordering"] = "ordering"
    items: list[Item] = Field(min_length=2, description="in the right order")


class FillBlanks(_Question):
    """``prompt`` is the text with gaps removed: ``segments`` interleave with ``gaps``."""

    kind: Literal["blanks"] = "blanks"
    segments: list[str] = Field(description="len(gaps) + 1 pieces of Markdown")
    gaps: list[Gap] = Field(min_length=1)
    ignore_accents: bool = False


Question = Annotated[
    SingleChoice
    | MultipleChoice
    | TrueFalse
    | ShortAnswer
    | Numeric
    | Matching
    | Ordering
    | FillBlanks,
    Field(discriminator="kind"),
]
"""Every gradable question type."""

QUESTION_KINDS = (
    "single",
    "multiple",
    "truefalse",
    "short",
    "numeric",
    "matching",
    "ordering",
    "blanks",
)


class Scenario(_Frozen):
    """A case description shared by several questions; drawn and shown together."""

    kind: Literal["scenario"] = "scenario"
    id: str
    title: str
    description: str = Field(default="", description="Markdown")
    questions: list[Question] = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    line: int = 0

    @property
    def points(self) -> float:
        return sum(q.points for q in self.questions)


Entry = Annotated[
    SingleChoice
    | MultipleChoice
    | TrueFalse
    | ShortAnswer
    | Numeric
    | Matching
    | Ordering
    | FillBlanks
    | Scenario,
    Field(discriminator="kind"),
]
"""A top-level item of a quiz: a question or a scenario."""


class DrawRule(_Frozen):
    """Draw ``count`` entries at random, from those tagged ``tag`` (or from all)."""

    tag: str | None = None
    count: int = Field(gt=0)


class Quiz(Exercise):
    """A parsed ```` ```quiz ```` block."""

    kind: Literal["quiz"] = "quiz"
    title: str = ""
    shuffle_questions: bool = False
    shuffle_options: bool = False
    draw: list[DrawRule] = Field(default_factory=list)
    entries: list[Entry] = Field(min_length=1)

    def questions(self) -> list[Question]:
        """Every gradable question, scenarios flattened, in written order."""
        out: list[Question] = []
        for entry in self.entries:
            if isinstance(entry, Scenario):
                out.extend(entry.questions)
            else:
                out.append(entry)
        return out

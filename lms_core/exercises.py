"""The exercise interface every plugin implements, and the shared result types.

An exercise lives in a lesson as a fenced block named after its type::

    ```quiz id=bao-cao graded pass=80
    …the plugin's own syntax…
    ```

The core finds the blocks (:func:`extract_blocks`), hands each to the plugin
that owns its name, and afterwards only talks to the plugin through the five
operations of :class:`ExerciseType`.  The results the core keeps (grades, xAPI
interactions) are typed here, so reports and SCORM never depend on a plugin's
internals.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict, Field

from lms_core.errors import Problem, ProblemsError

MAX_BLOCK_BYTES = 256 * 1024
"""A block above this size is refused before parsing (a quiz is a few KB)."""

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class ExerciseParseError(ProblemsError):
    """An exercise block is malformed; ``problems`` holds every located problem."""


class Block(BaseModel):
    """One fenced exercise block as found in a lesson file."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="first word of the fence's info string, e.g. 'quiz'")
    options: dict[str, str] = Field(
        default_factory=dict, description="key=value pairs and bare flags (value '')"
    )
    body: str = Field(description="the text between the fences, LF line endings")
    file: str = Field(description="path shown in messages")
    line: int = Field(description="1-based line of the opening fence")
    column: int = Field(default=1, description="1-based column of the opening fence")
    language: Literal["vi", "en"] = "vi"

    @property
    def body_line(self) -> int:
        """File line of the first body line (body line ``n`` is ``body_line + n - 1``)."""
        return self.line + 1

    def problem(self, body_line: int, column: int, message: str, hint: str = "") -> Problem:
        """A problem at ``body_line`` (1-based within the body), located in the file."""
        line = self.line if body_line <= 0 else self.body_line + body_line - 1
        return Problem(self.file, line, column, message, hint)


class Exercise(BaseModel):
    """Base of every plugin's exercise model: what the core needs to know."""

    model_config = ConfigDict(frozen=True)

    kind: str
    id: str
    graded: bool = False
    pass_mark: float = Field(default=80.0, ge=0, le=100)
    max_attempts: int = Field(default=0, ge=0)
    grading: Literal["highest", "last", "first", "average"] = "highest"
    time_limit_minutes: int = Field(default=0, ge=0)


@dataclass(slots=True)
class QuestionGrade:
    """The marking of one question.

    Plain dataclasses rather than pydantic models: a grader builds one per
    question of every attempt, and validation of values it computed itself
    cost more than the marking (benchmarks/quiz_grading).
    """

    id: str
    points: float
    max_points: float
    correct: bool
    """Full marks."""
    feedback: list[str] = field(default_factory=list)
    response: str = ""
    """The answer as text, for reports."""


@dataclass(slots=True)
class Grade:
    """The marking of one response to an exercise: pure data, JSON-ready (:meth:`to_json`)."""

    questions: list[QuestionGrade]
    score: float
    max_score: float
    passed: bool
    feedback: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what attempts store and the API returns).

        Written out rather than ``dataclasses.asdict``, whose generic deep copy
        cost a tenth of a submit on the learner server; the keys are the
        fields, as ``asdict`` gives them (a test compares the two).
        """
        return {
            "questions": [
                {
                    "id": q.id,
                    "points": q.points,
                    "max_points": q.max_points,
                    "correct": q.correct,
                    "feedback": list(q.feedback),
                    "response": q.response,
                }
                for q in self.questions
            ],
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "feedback": list(self.feedback),
        }


class InteractionComponent(BaseModel):
    """A choice, source, target or step of an xAPI interaction."""

    id: str
    description: dict[str, str]


InteractionType = Literal[
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
]


class Interaction(BaseModel):
    """One question described as an xAPI ``cmi.interaction`` activity definition."""

    id: str
    interaction_type: InteractionType
    description: dict[str, str]
    correct_responses_pattern: list[str]
    choices: list[InteractionComponent] | None = None
    source: list[InteractionComponent] | None = None
    target: list[InteractionComponent] | None = None
    steps: list[InteractionComponent] | None = None

    def definition(self) -> dict[str, Any]:
        """The xAPI activity definition object (camelCase, as the spec writes it)."""
        out: dict[str, Any] = {
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            "description": self.description,
            "interactionType": self.interaction_type,
            "correctResponsesPattern": self.correct_responses_pattern,
        }
        for name in ("choices", "source", "target", "steps"):
            items = getattr(self, name)
            if items is not None:
                out[name] = [item.model_dump() for item in items]
        return out


E = TypeVar("E", bound=Exercise)


class ExerciseType(Protocol[E]):
    """What a plugin provides for one fence name.

    Every method is pure: no I/O, no clock, no global random state, so the
    same inputs always give the same output (grades can be recomputed years
    later from the stored course version and the stored response).
    """

    name: str
    """The fence name (``quiz``); unique across installed plugins."""
    model: type[E]
    """The pydantic model of a parsed exercise (stored in course versions as JSON)."""

    def parse(self, block: Block) -> E:
        """Parse a block; raise :class:`ExerciseParseError` with *every* problem."""
        ...

    def public_view(self, exercise: E, *, seed: int) -> dict[str, Any]:
        """What the browser may see for attempt ``seed``: JSON-ready.

        For graded exercises: no correct answer, no per-option correctness, no
        feedback; ids and order may depend on ``seed``.
        """
        ...

    def render(self, exercise: E, *, seed: int, language: str) -> str:
        """HTML for the static site (graded exercises from their public view only)."""
        ...

    def grade(self, exercise: E, response: object, *, seed: int) -> Grade:
        """Mark ``response`` (any JSON value, possibly garbage) for attempt ``seed``.

        Never raises on a bad response; the score is within [0, max].
        """
        ...

    def interactions(self, exercise: E) -> list[Interaction]:
        """Each question as an xAPI interaction, with the author's stable ids."""
        ...


def check_id(value: str) -> bool:
    """Exercise and question ids: letters, digits, ``-``, ``_``; at most 64 characters."""
    return bool(_ID.match(value))


def parse_info(info: str, *, file: str, line: int) -> tuple[str, dict[str, str]]:
    """Split a fence info string (``quiz id=x graded pass=80``) into name and options.

    Values may be double-quoted.  Raises :class:`ExerciseParseError` on broken
    quoting or an option given twice.
    """
    try:
        words = shlex.split(info, posix=True)
    except ValueError as exc:
        raise ExerciseParseError(
            [
                Problem(
                    file,
                    line,
                    1,
                    f"cannot read the fence line: {exc}",
                    'close every double quote: title="…"',
                )
            ]
        ) from None
    if not words:
        return "", {}
    options: dict[str, str] = {}
    problems = []
    for word in words[1:]:
        key, _, value = word.partition("=")
        key = key.strip().lower()
        if key in options:
            problems.append(Problem(file, line, 1, f"option '{key}' is given twice"))
        options[key] = value
    if problems:
        raise ExerciseParseError(problems)
    return words[0], options


def extract_blocks(
    text: str,
    *,
    file: str,
    kinds: Mapping[str, object] | None = None,
    language: Literal["vi", "en"] = "vi",
) -> tuple[list[Block], list[Problem]]:
    """Find the fenced blocks of ``text`` whose name is an exercise type in ``kinds``.

    With ``kinds`` None every fence with an info string is returned.  Problems
    (broken info strings, oversize blocks) are returned, not raised, so a
    course check can report all of them.
    """
    md = MarkdownIt("commonmark")
    blocks: list[Block] = []
    problems: list[Problem] = []
    lines = text.split("\n")
    for token in md.parse(text):
        if token.type != "fence" or not token.info.strip() or token.map is None:
            continue
        first = token.map[0] + 1
        try:
            kind, options = parse_info(token.info, file=file, line=first)
        except ExerciseParseError as exc:
            problems.extend(exc.problems)
            continue
        if kinds is not None and kind not in kinds:
            continue
        body = token.content
        if len(body.encode("utf-8")) > MAX_BLOCK_BYTES:
            problems.append(
                Problem(
                    file,
                    first,
                    1,
                    f"the {kind} block is {len(body.encode('utf-8')) // 1024} KB, over the "
                    f"{MAX_BLOCK_BYTES // 1024} KB limit",
                    "split it into several blocks",
                )
            )
            continue
        column = len(lines[token.map[0]]) - len(lines[token.map[0]].lstrip()) + 1
        blocks.append(
            Block(
                kind=kind,
                options=options,
                body=body,
                file=file,
                line=first,
                column=column,
                language=language,
            )
        )
    return blocks, problems

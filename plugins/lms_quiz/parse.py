"""Reading a ```` ```quiz ```` block (the syntax of ``docs/authoring-quizzes.md``).

:func:`parse_quiz` works in two passes.  The first reads the body line by
line into raw questions and case studies (the layout: which line belongs to
which prompt, option or setting); the second checks each raw question and
builds its model.  Every problem is collected, located at ``file:line:col``
and worded in the block's language (:mod:`lms_quiz.messages`), and all of them
are raised together as one :class:`ExerciseParseError`.

Parsing is linear in the size of the block: each line is classified once with
string methods and anchored patterns of bounded length, and no pattern can
backtrack over a whole line.  Whatever the input, the only exception that
leaves :func:`parse_quiz` is :class:`ExerciseParseError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from lms_core.errors import Problem
from lms_core.exercises import Block, ExerciseParseError, check_id
from lms_core.text import nfc
from lms_quiz.grading import parse_number
from lms_quiz.messages import MESSAGES, msg, suggestion
from lms_quiz.model import (
    AcceptedAnswer,
    DrawRule,
    Entry,
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

QUIZ_OPTIONS = (
    "id",
    "graded",
    "practice",
    "pass",
    "attempts",
    "grading",
    "time",
    "shuffle",
    "draw",
    "title",
)
"""Options of the fence line."""

SETTINGS = (
    "id",
    "points",
    "tags",
    "hint",
    "feedback",
    "type",
    "scoring",
    "match",
    "shuffle",
    "answer",
    "if-true",
    "if-false",
)
"""``key:`` lines of a question."""

TYPES = ("single", "multiple", "ordering", "numeric", "short", "matching", "truefalse", "blanks")
"""Values of ``type:``.  The guide documents the first three (the types that cannot be
seen from the answers); the others are accepted so that an explicit type is never
an error when it agrees with the answers."""

GAP_MARK = "_____"
"""What stands for a gap in a fill-in-the-blanks question's ``prompt`` (which never
contains the answers)."""

Grading = Literal["highest", "last", "first", "average"]
Scoring = Literal["partial", "all-or-nothing"]
_GRADINGS: dict[str, Grading] = {
    "highest": "highest",
    "last": "last",
    "first": "first",
    "average": "average",
}
_SCORINGS: dict[str, Scoring] = {"partial": "partial", "all-or-nothing": "all-or-nothing"}
_QUIZ_SHUFFLES = {
    "all": (True, True),
    "questions": (True, False),
    "options": (False, True),
    "none": (False, False),
}
_MATCHES = {"exact-accents": False, "ignore-accents": True}
_QUESTION_SHUFFLES = {
    "no": False,
    "yes": True,
    "false": False,
    "true": True,
    "không": False,
    "có": True,
}
_TRUE_FALSE = {"đúng": True, "sai": False, "true": True, "false": False}

# Where each answer style may go (``type:`` values it agrees with).
_STYLE_TYPES = {
    "choice": ("single", "multiple"),
    "eq": ("short", "numeric"),
    "pair": ("matching",),
    "numbered": ("ordering",),
    "answer": ("truefalse",),
    "gaps": ("blanks",),
}

# Bounded, anchored patterns only (see the module docstring).
_INT = re.compile(r"\d{1,9}")
_KEY = re.compile(r"[A-Za-z][A-Za-z-]{0,31}")
_NUMBERED = re.compile(r"\d{1,9}[.)](?=\s|$)")
_CREDIT = re.compile(r"\{\s{0,5}([-+]?\d{1,3}(?:[.,]\d{1,20})?)\s{0,5}%\s{0,5}\}\s*")
_CREDITISH = re.compile(r"\{\s{0,5}[-+]?[\d.,]{1,30}\s{0,5}%?\s{0,5}\}")
_SUGGEST_MAX = 20
"""Keys longer than this are never close enough to a setting for "did you mean"."""

M = TypeVar("M")


# -- small helpers --------------------------------------------------------------------


def _letters(index: int) -> str:
    """Option ids: 0 -> ``a``, 25 -> ``z``, 26 -> ``aa``…"""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


def _options(options: list[_Answer]) -> list[Option]:
    return [
        Option(
            id=_letters(i),
            text=o.text,
            correct=o.correct,
            credit=o.credit,
            feedback="\n".join(o.feedback),
        )
        for i, o in enumerate(options)
    ]


def _percent(value: float) -> str:
    return f"{round(value * 100, 4):g}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class _NumericForm:
    """How an ``=`` answer reads as a number."""

    status: Literal["plain", "form", "bad", "text"]
    low: float = 0.0
    high: float = 0.0
    problem: str = ""


def read_numeric(text: str) -> _NumericForm:
    """``16``, ``18,2 ± 0,5`` / ``18,2 +- 0,5``, ``30..60``; "bad" when meant as one but broken."""
    value = text.strip()
    for separator in ("±", "+/-", "+-", ".."):
        if separator not in value:
            continue
        left, _, right = value.partition(separator)
        a, b = parse_number(left), parse_number(right)
        if a is None and b is None:
            return _NumericForm("text")
        if a is None or b is None:
            return _NumericForm("bad", problem="numeric_invalid")
        if separator == "..":
            if a > b:
                return _NumericForm("bad", problem="numeric_range_reversed")
            return _NumericForm("form", a, b)
        if b < 0:
            return _NumericForm("bad", problem="numeric_tolerance_negative")
        return _NumericForm("form", a - b, a + b)
    number = parse_number(value)
    if number is None:
        return _NumericForm("text")
    return _NumericForm("plain", number, number)


# -- the layout (first pass) ----------------------------------------------------------


@dataclass(slots=True)
class _Line:
    no: int
    """1-based line within the body."""
    text: str
    """NFC, trailing whitespace removed."""
    indent: int

    @property
    def s(self) -> str:
        return self.text[self.indent :]

    @property
    def col(self) -> int:
        return self.indent + 1


@dataclass(slots=True)
class _Answer:
    """An option (``- [ ]``, ``- ( )``) or an accepted answer (``=``)."""

    line: int
    col: int
    text: str
    credit: float | None = None
    text_col: int = 1
    correct: bool = False
    radio: bool = False
    feedback: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Pair:
    line: int
    col: int
    left: str
    right: str


@dataclass(slots=True)
class _Item:
    line: int
    col: int
    text: str


@dataclass(slots=True)
class _Setting:
    line: int
    col: int
    """Column of the value (of the key when the value is empty)."""
    key: str
    value: str
    key_col: int


@dataclass(slots=True)
class _RawQuestion:
    line: int
    col: int
    prompt: list[tuple[int, int, str]] = field(default_factory=list)
    """(body line, 0-based column of the text in that line, text)."""
    prompt_open: bool = True
    options: list[_Answer] = field(default_factory=list)
    answers: list[_Answer] = field(default_factory=list)
    pairs: list[_Pair] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)
    settings: dict[str, _Setting] = field(default_factory=dict)
    styles: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Answer style -> (body line, column) of its first line."""
    target: _Answer | None = None
    """Where a ``>`` line goes."""
    tags: list[str] = field(default_factory=list)
    kind: str = ""
    """The question type, once known."""


@dataclass(slots=True)
class _RawScenario:
    line: int
    col: int
    title: str
    description: list[str] = field(default_factory=list)
    questions: list[_RawQuestion] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Kind:
    """What one line is: ``box``, ``radio``, ``pair``, ``bullet``, ``eq``, ``fb``,
    ``num``, ``setting``, ``text`` or ``blank``; ``a``/``b`` its parts."""

    kind: str
    a: str = ""
    b: str = ""
    ticked: bool = False


def _classify(s: str) -> _Kind:
    """Classify a line (without its indentation)."""
    if not s:
        return _Kind("blank")
    first = s[0]
    if first in "-*+" and (len(s) == 1 or s[1] in " \t"):
        rest = s[1:].lstrip()
        box = rest[:3]
        if box in ("[ ]", "[x]", "[X]"):
            return _Kind("box", rest[3:].strip(), ticked=box != "[ ]")
        if box in ("( )", "(x)", "(X)"):
            return _Kind("radio", rest[3:].strip(), ticked=box != "( )")
        arrows = [(i, len(a)) for a in ("->", "→") if (i := rest.find(a)) >= 0]
        if arrows:
            i, width = min(arrows)
            return _Kind("pair", rest[:i].strip(), rest[i + width :].strip())
        return _Kind("bullet", rest)
    if first == "=":
        return _Kind("eq", s[1:].strip())
    if first == ">":
        return _Kind("fb", s[1:].strip())
    number = _NUMBERED.match(s)
    if number:
        return _Kind("num", s[number.end() :].strip())
    key, colon, value = s.partition(":")
    if colon and _KEY.fullmatch(key) and (not value or value[0] in " \t"):
        return _Kind("setting", key.lower(), value.strip())
    return _Kind("text", s)


def _is_question(s: str) -> bool:
    return s == "?" or s.startswith(("? ", "?\t"))


def _is_scenario(s: str) -> bool:
    return s == "##" or s.startswith(("## ", "##\t"))


def _is_rule(s: str) -> bool:
    return len(s) >= 3 and not s.strip("-")


# -- the parser -----------------------------------------------------------------------


class _Parser:
    def __init__(self, block: Block) -> None:
        self.block = block
        self.language = block.language
        self.problems: list[Problem] = []
        self.ids: dict[str, int] = {}
        """Question and scenario ids -> file line where first used."""
        self._suggestions: dict[str, str] = {}
        self.clean = 0
        """Models are built only while no problem was found after ``problems[clean]``."""

    # -- reporting --

    def error(
        self, body_line: int, column: int, name: str, /, *, extra: str = "", **fields: object
    ) -> None:
        """Record problem ``name`` (a message key) at ``body_line`` (0: the fence line)."""
        message = msg(name, self.language, **fields)
        hint_key = f"{name}.hint"
        hint = msg(hint_key, self.language, **fields) if hint_key in MESSAGES else ""
        if extra:
            hint = f"{extra} {hint}" if hint else extra
        self.problems.append(self.block.problem(body_line, column, message, hint))

    def fence_error(self, name: str, /, *, extra: str = "", **fields: object) -> None:
        self.error(0, self.block.column, name, extra=extra, **fields)

    def file_line(self, body_line: int) -> int:
        return self.block.body_line + body_line - 1

    def suggest_setting(self, key: str) -> str:
        if len(key) > _SUGGEST_MAX:
            return ""
        if key not in self._suggestions:
            self._suggestions[key] = suggestion(key, SETTINGS, self.language)
        return self._suggestions[key]

    def ends_prompt(self, s: str, key: str) -> bool:
        """Whether a ``key: value`` line ends a prompt rather than continue it.

        A setting does, and so does a likely misspelling of one written in lower
        case (``tpye: ordering``), to be reported; prose such as ``Answers: …``
        or ``Note: …`` stays in the prompt.
        """
        if key in SETTINGS:
            return True
        return s[: len(key)].islower() and bool(self.suggest_setting(key))

    def model(self, line: int, column: int, build: Callable[[], M]) -> M | None:
        """Build a model; a validation error becomes a problem at ``line``.

        Nothing is built (None) once a problem was found in the current question:
        its data may be incomplete, and the problem is already reported.
        """
        if len(self.problems) > self.clean:
            return None
        try:
            return build()
        except ValidationError as exc:
            detail = "; ".join(
                ".".join(str(part) for part in err["loc"]) + ": " + err["msg"]
                for err in exc.errors()[:3]
            )
            self.error(line, column, "model_invalid", detail=detail)
            return None

    # -- entry point --

    def parse(self) -> Quiz:
        options = self.read_options()
        raw = self.read_layout()
        entries = self.build_entries(raw)
        if not raw:
            self.fence_error("no_questions")
        draw = self.check_draw(options.draw, raw)
        if self.problems:
            raise ExerciseParseError(sorted(self.problems, key=lambda p: (p.line, p.column)))
        self.clean = 0
        quiz = self.model(
            0,
            self.block.column,
            lambda: Quiz(
                id=options.id,
                graded=options.graded,
                pass_mark=options.pass_mark,
                max_attempts=options.attempts,
                grading=options.grading,
                time_limit_minutes=options.time,
                title=options.title,
                shuffle_questions=options.shuffle[0],
                shuffle_options=options.shuffle[1],
                draw=draw,
                entries=entries,
            ),
        )
        if quiz is None:
            raise ExerciseParseError(self.problems)
        return quiz

    # -- the fence line --

    def read_options(self) -> _Options:
        out = _Options()
        given = {nfc(k).strip().lower(): nfc(v).strip() for k, v in self.block.options.items()}
        for name in given:
            if name not in QUIZ_OPTIONS:
                extra = suggestion(name, QUIZ_OPTIONS, self.language)
                self.fence_error(
                    "option_unknown", extra=extra, name=_short(name), known=", ".join(QUIZ_OPTIONS)
                )
        quiz_id = given.get("id", "")
        if not quiz_id:
            self.fence_error("id_missing")
        elif not check_id(quiz_id):
            self.fence_error("id_invalid", value=_short(quiz_id))
        else:
            out.id = quiz_id
        for flag in ("graded", "practice"):
            if given.get(flag):
                self.fence_error("flag_value", name=flag)
        if "graded" in given and "practice" in given:
            self.fence_error("graded_and_practice")
        out.graded = "graded" in given and "practice" not in given
        if "pass" in given:
            text = given["pass"]
            number = parse_number(text.removesuffix("%"))
            if not text:
                self.fence_error("option_needs_value", name="pass", example="pass=80")
            elif number is None or not 0 <= number <= 100:
                self.fence_error("pass_invalid", value=_short(text))
            else:
                out.pass_mark = number
        out.attempts = self.int_option(given, "attempts", "attempts=3")
        out.time = self.int_option(given, "time", "time=20")
        if "grading" in given:
            value = given["grading"]
            if value in _GRADINGS:
                out.grading = _GRADINGS[value]
            else:
                self.choice_error("grading", value, tuple(_GRADINGS))
        if "shuffle" in given:
            value = given["shuffle"] or "all"
            if value in _QUIZ_SHUFFLES:
                out.shuffle = _QUIZ_SHUFFLES[value]
            else:
                self.choice_error("shuffle", value, tuple(_QUIZ_SHUFFLES))
        if "title" in given:
            if given["title"]:
                out.title = given["title"]
            else:
                self.fence_error("option_needs_value", name="title", example='title="…"')
        if "draw" in given:
            out.draw = self.read_draw(given["draw"])
        return out

    def int_option(self, given: dict[str, str], name: str, example: str) -> int:
        if name not in given:
            return 0
        text = given[name]
        if not text:
            self.fence_error("option_needs_value", name=name, example=example)
        elif not _INT.fullmatch(text):
            meaning = msg(f"meaning.{name}", self.language)
            self.fence_error(
                "int_invalid", name=name, value=_short(text), meaning=meaning, example=example
            )
        else:
            return int(text)
        return 0

    def choice_error(self, name: str, value: str, known: tuple[str, ...]) -> None:
        if not value:
            self.fence_error("option_needs_value", name=name, example=f"{name}={known[0]}")
            return
        extra = suggestion(value, known, self.language)
        self.fence_error(
            "choice_invalid", extra=extra, name=name, value=_short(value), known=", ".join(known)
        )

    def read_draw(self, text: str) -> list[tuple[str | None, int]] | None:
        if not text:
            self.fence_error("option_needs_value", name="draw", example="draw=5")
            return None
        rules: list[tuple[str | None, int]] = []
        seen: set[str | None] = set()
        for part in text.split(","):
            tag: str | None = None
            count = part.strip()
            if ":" in count:
                tag_text, _, count = count.rpartition(":")
                tag = tag_text.strip()
                count = count.strip()
            if (tag is not None and not tag) or not _INT.fullmatch(count) or int(count) == 0:
                self.fence_error("draw_invalid", value=_short(text))
                return None
            if tag in seen:
                self.fence_error("draw_tag_twice" if tag else "draw_invalid", tag=tag, value=text)
                return None
            seen.add(tag)
            rules.append((tag, int(count)))
        return rules

    def check_draw(
        self, rules: list[tuple[str | None, int]] | None, raw: list[_RawQuestion | _RawScenario]
    ) -> list[DrawRule]:
        if not rules or not raw:
            return []
        tags: list[set[str]] = []
        for entry in raw:
            questions = entry.questions if isinstance(entry, _RawScenario) else [entry]
            tags.append({tag for q in questions for tag in q.tags})
        every = sorted({tag for entry_tags in tags for tag in entry_tags})
        total = sum(count for _, count in rules)
        if total > len(raw):
            self.fence_error("draw_too_many", count=total, available=len(raw))
        for tag, count in rules:
            if tag is None:
                continue
            available = sum(1 for entry_tags in tags if tag in entry_tags)
            if not available:
                extra = suggestion(tag, every, self.language) if every else ""
                self.fence_error("draw_tag_unknown", extra=extra, tag=tag)
            elif count > available:
                self.fence_error("draw_tag_too_many", tag=tag, count=count, available=available)
        return [DrawRule(tag=tag, count=count) for tag, count in rules]

    # -- the body, first pass --

    def lines(self) -> list[_Line]:
        body = self.block.body
        if "\r" in body:
            body = body.replace("\r\n", "\n").replace("\r", "\n")
        out = []
        for number, raw in enumerate(body.split("\n"), start=1):
            text = nfc(raw).rstrip()
            out.append(_Line(number, text, len(text) - len(text.lstrip())))
        if out and not out[-1].text:
            out.pop()  # the newline before the closing fence
        return out

    def read_layout(self) -> list[_RawQuestion | _RawScenario]:
        entries: list[_RawQuestion | _RawScenario] = []
        question: _RawQuestion | None = None
        scenario: _RawScenario | None = None
        describing = False
        reported = False
        for line in self.lines():
            s = line.s
            if _is_scenario(s):
                question, reported = None, False
                title = s[2:].strip()
                if title.casefold() == "end":
                    scenario, describing = None, False
                    continue
                scenario, describing = _RawScenario(line.no, line.col, title), True
                entries.append(scenario)
                if not title:
                    self.error(line.no, line.col, "scenario_no_title")
                continue
            if _is_question(s):
                after = s[1:]
                text = after.lstrip()
                question = _RawQuestion(line.no, line.col)
                question.prompt.append((line.no, line.indent + 1 + len(after) - len(text), text))
                if scenario is not None:
                    scenario.questions.append(question)
                    describing = False
                else:
                    entries.append(question)
                reported = False
                continue
            if question is None:
                if scenario is not None and describing:
                    scenario.description.append(line.text)
                elif not s or _is_rule(s):
                    reported = False
                elif not reported:
                    self.error(line.no, line.col, "outside_text")
                    reported = True
                continue
            if _is_rule(s):
                question = None
                continue
            self.read_question_line(question, line)
        return entries

    def read_question_line(self, q: _RawQuestion, line: _Line) -> None:
        kind = _classify(line.s)
        if q.prompt_open:
            ends = kind.kind in ("box", "radio", "pair", "eq") or (
                kind.kind == "setting" and self.ends_prompt(line.s, kind.a)
            )
            if not ends:
                q.prompt.append((line.no, 0, line.text))
                return
            q.prompt_open = False
        where = (line.no, line.col)
        if kind.kind == "blank":
            return
        if kind.kind in ("box", "radio"):
            q.styles.setdefault("choice", where)
            q.target = self.read_answer(line, kind.a)
            q.target.correct = kind.ticked
            q.target.radio = kind.kind == "radio"
            q.options.append(q.target)
        elif kind.kind == "eq":
            q.styles.setdefault("eq", where)
            q.target = self.read_answer(line, kind.a, accepted=True)
            q.answers.append(q.target)
        elif kind.kind == "pair":
            q.styles.setdefault("pair", where)
            q.target = None
            if not kind.b:
                self.error(line.no, line.col, "pair_incomplete", text=_short(line.s))
            q.pairs.append(_Pair(line.no, line.col, kind.a, kind.b))
        elif kind.kind == "num":
            q.styles.setdefault("numbered", where)
            q.target = None
            if not kind.a:
                self.error(line.no, line.col, "item_empty")
            q.items.append(_Item(line.no, line.col, kind.a))
        elif kind.kind == "fb":
            if q.target is None:
                self.error(line.no, line.col, "feedback_orphan")
            elif kind.a:
                q.target.feedback.append(kind.a)
        elif kind.kind == "setting":
            q.target = None
            self.read_setting(q, line, kind.a, kind.b)
        elif kind.kind == "bullet" and kind.a:
            self.error(line.no, line.col, "option_no_box", text=_short(kind.a))
        else:
            self.error(line.no, line.col, "unexpected_text")

    def read_answer(self, line: _Line, text: str, *, accepted: bool = False) -> _Answer:
        """An option's or accepted answer's text, with its ``{50%}`` credit if any."""
        column = line.col + len(line.s) - len(text)  # ``text`` is a suffix of the line
        answer = _Answer(line.no, line.col, text, text_col=column)
        match = _CREDIT.match(text)
        if match:
            credit = parse_number(match.group(1))
            if credit is None or not -100 <= credit <= 100:
                self.error(line.no, column, "credit_invalid", value=match.group(0).strip())
            elif accepted and credit < 0:
                value = f"{_percent(credit / 100)}%"
                self.error(line.no, column, "credit_answer_range", value=value)
            else:
                answer.credit = credit / 100
            answer.text = text[match.end() :].strip()
        else:
            bad = _CREDITISH.match(text)
            if bad:
                self.error(line.no, column, "credit_invalid", value=bad.group(0))
                answer.text = text[bad.end() :].strip()
        answer.text_col = column + len(text) - len(answer.text)
        if not answer.text:
            self.error(line.no, line.col, "answer_empty" if accepted else "option_empty")
        return answer

    def read_setting(self, q: _RawQuestion, line: _Line, key: str, value: str) -> None:
        start = line.s.find(":") + 1
        column = line.col + start + (len(line.s) - start - len(line.s[start:].lstrip()))
        if key not in SETTINGS:
            self.error(
                line.no,
                line.col,
                "setting_unknown",
                extra=self.suggest_setting(key),
                key=key,
                known=", ".join(SETTINGS),
            )
            return
        if key in q.settings:
            first = q.settings[key]
            self.error(line.no, line.col, "setting_twice", key=key, line=self.file_line(first.line))
            return
        if key == "answer":
            q.styles.setdefault("answer", (line.no, line.col))
        if not value:
            self.error(line.no, line.col, "setting_empty", key=key)
            return
        q.settings[key] = _Setting(line.no, column, key, value, line.col)

    # -- the body, second pass --

    def register_id(self, value: str, line: int, column: int) -> None:
        here = self.file_line(line)
        if value in self.ids:
            self.error(line, column, "duplicate_id", id=value, first=self.ids[value], second=here)
        else:
            self.ids[value] = here

    def build_entries(self, raw: list[_RawQuestion | _RawScenario]) -> list[Entry]:
        entries: list[Entry] = []
        number = 0
        scenarios = 0
        for item in raw:
            if isinstance(item, _RawQuestion):
                number += 1
                question = self.build_question(item, number)
                if question is not None:
                    entries.append(question)
                continue
            scenarios += 1
            scenario_id = f"s{scenarios}"
            self.register_id(scenario_id, item.line, item.col)
            questions: list[Question] = []
            for raw_question in item.questions:
                number += 1
                question = self.build_question(raw_question, number)
                if question is not None:
                    questions.append(question)
            if not item.questions:
                self.error(item.line, item.col, "scenario_no_questions", title=_short(item.title))
            elif len(questions) == len(item.questions) and item.title:
                self.clean = len(self.problems)
                description = "\n".join(item.description).strip()
                build = partial(
                    Scenario,
                    id=scenario_id,
                    title=item.title,
                    description=description,
                    questions=questions,
                    line=self.file_line(item.line),
                )
                scenario = self.model(item.line, item.col, build)
                if scenario is not None:
                    entries.append(scenario)
        return entries

    def build_question(self, q: _RawQuestion, number: int) -> Question | None:
        before = self.clean = len(self.problems)
        common = self.read_common(q, number)
        prompt, segments, gaps = self.read_prompt(q)
        if not prompt:
            self.error(q.line, q.col, "empty_prompt")
        if gaps:
            q.styles.setdefault("gaps", (gaps[0][0], gaps[0][1]))
        declared = self.read_type(q)
        styles = dict(q.styles)
        if "numbered" in styles and declared != "ordering":
            line, column = styles.pop("numbered")
            self.error(line, column, "numbered_without_ordering")
            if not styles:
                return None
        style = self.one_style(q, styles, declared)
        if style is None:
            return None
        question = self.build_typed(q, style, declared, common, prompt, segments, gaps)
        self.check_settings(q)
        return question if len(self.problems) == before else None

    def read_common(self, q: _RawQuestion, number: int) -> _Common:
        common = _Common(id=f"q{number}", line=self.file_line(q.line))
        settings = q.settings
        id_line, id_column = q.line, q.col
        if "id" in settings:
            setting = settings["id"]
            if check_id(setting.value):
                common.id = setting.value
                id_line, id_column = setting.line, setting.col
            else:
                self.error(
                    setting.line,
                    setting.col,
                    "question_id_invalid",
                    extra=msg("id_invalid.hint", self.language),
                    value=_short(setting.value),
                )
        self.register_id(common.id, id_line, id_column)
        if "points" in settings:
            setting = settings["points"]
            points = parse_number(setting.value)
            if points is None or points <= 0:
                self.error(setting.line, setting.col, "points_invalid", value=_short(setting.value))
            else:
                common.points = points
        if "tags" in settings:
            tags: list[str] = []
            for tag in settings["tags"].value.split(","):
                tag = tag.strip()
                if tag and tag not in tags:
                    tags.append(tag)
            common.tags = tags
            q.tags = tags
        if "hint" in settings:
            common.hint = settings["hint"].value
        if "feedback" in settings:
            common.feedback = settings["feedback"].value
        return common

    def read_prompt(
        self, q: _RawQuestion
    ) -> tuple[str, list[str], list[tuple[int, int, list[str]]]]:
        """The prompt text, and for gaps ``[[…]]`` the segments between them and the gaps."""
        lines = list(q.prompt)
        while lines and not lines[-1][2].strip():
            lines.pop()
        first = 0
        while first < len(lines) and not lines[first][2].strip():
            first += 1
        lines = lines[first:]
        prompt = "\n".join(text for _, _, text in lines).strip()
        if "[[" not in prompt:
            return prompt, [prompt], []
        segments: list[str] = []
        gaps: list[tuple[int, int, list[str]]] = []
        current: list[str] = []
        for index, (line, offset, text) in enumerate(lines):
            position = 0
            while True:
                start = text.find("[[", position)
                if start < 0:
                    break
                end = text.find("]]", start + 2)
                if end < 0:
                    self.error(line, offset + start + 1, "gap_unclosed")
                    break
                inner = text.rfind("[[", start + 2, end)
                if inner >= 0:
                    self.error(line, offset + start + 1, "gap_unclosed")
                    start = inner
                answers = [a.strip() for a in text[start + 2 : end].split("|") if a.strip()]
                if not answers:
                    self.error(line, offset + start + 1, "gap_empty")
                current.append(text[position:start])
                segments.append("".join(current))
                current = []
                gaps.append((line, offset + start + 1, answers))
                position = end + 2
            current.append(text[position:])
            if index < len(lines) - 1:
                current.append("\n")
        segments.append("".join(current))
        segments[0] = segments[0].lstrip()
        segments[-1] = segments[-1].rstrip()
        return prompt, segments, gaps

    def read_type(self, q: _RawQuestion) -> str | None:
        setting = q.settings.get("type")
        if setting is None:
            return None
        value = setting.value.lower()
        if value in TYPES:
            return value
        self.error(
            setting.line,
            setting.col,
            "type_unknown",
            extra=suggestion(value, TYPES, self.language),
            value=_short(setting.value),
            known=", ".join(TYPES),
        )
        return None

    def one_style(
        self, q: _RawQuestion, styles: dict[str, tuple[int, int]], declared: str | None
    ) -> str | None:
        """The question's single answer style, or None after reporting why not."""
        ordered = sorted(styles.items(), key=lambda item: item[1])
        if len(ordered) > 1:
            if "gaps" in styles:
                gap_line = styles["gaps"][0]
                other, (line, column) = next(i for i in ordered if i[0] != "gaps")
                self.error(
                    line,
                    column,
                    "gaps_mixed",
                    line=self.file_line(gap_line),
                    second=msg(f"style.{other}", self.language),
                )
            else:
                (first, (first_line, _)), (second, (line, column)) = ordered[0], ordered[1]
                self.error(
                    line,
                    column,
                    "mixed_styles",
                    first=msg(f"style.{first}", self.language),
                    line=self.file_line(first_line),
                    second=msg(f"style.{second}", self.language),
                )
            return None
        if not ordered:
            if declared == "ordering":
                self.error(q.line, q.col, "ordering_few", count=0)
            else:
                self.error(q.line, q.col, "no_answers")
            return None
        style = ordered[0][0]
        if declared is not None and declared not in _STYLE_TYPES[style]:
            setting = q.settings["type"]
            self.error(
                setting.line,
                setting.col,
                "type_conflict",
                type=declared,
                style=msg(f"style.{style}", self.language),
            )
            return None
        return style

    def build_typed(
        self,
        q: _RawQuestion,
        style: str,
        declared: str | None,
        common: _Common,
        prompt: str,
        segments: list[str],
        gaps: list[tuple[int, int, list[str]]],
    ) -> Question | None:
        if style == "choice":
            return self.build_choice(q, declared, common, prompt)
        if style == "eq":
            return self.build_accepted(q, declared, common, prompt)
        if style == "pair":
            return self.build_matching(q, common, prompt)
        if style == "numbered":
            return self.build_ordering(q, common, prompt)
        if style == "answer":
            return self.build_truefalse(q, common, prompt)
        return self.build_blanks(q, common, segments, gaps)

    def build_choice(
        self, q: _RawQuestion, declared: str | None, c: _Common, prompt: str
    ) -> Question | None:
        options = q.options
        radio = [o for o in options if o.radio]
        boxes = [o for o in options if not o.radio]
        if radio and boxes:
            odd = max(radio[0], boxes[0], key=lambda o: o.line)
            self.error(odd.line, odd.col, "mixed_boxes")
            return None
        if radio and declared == "multiple":
            setting = q.settings["type"]
            self.error(setting.line, setting.col, "radio_multiple")
            return None
        right = [o for o in options if o.correct]
        single = bool(radio) or declared == "single" or (declared is None and len(right) == 1)
        q.kind = "single" if single else "multiple"
        if len(options) < 2:
            self.error(q.line, q.col, "too_few_options", count=len(options))
        if not right:
            self.error(options[0].line, options[0].col, "no_correct")
        elif single and len(right) > 1:
            self.error(right[1].line, right[1].col, "two_correct_single", count=len(right))
        seen: dict[str, _Answer] = {}
        for option in options:
            folded = " ".join(option.text.casefold().split())
            if folded in seen:
                first = seen[folded]
                self.error(
                    option.line,
                    option.col,
                    "option_duplicate",
                    text=_short(option.text),
                    line=self.file_line(first.line),
                )
            elif folded:
                seen[folded] = option
        self.check_credits(options, single=single)
        shuffle = self.question_shuffle(q)
        if single:
            return self.model(
                q.line,
                q.col,
                lambda: SingleChoice(
                    **c.fields(prompt),
                    options=_options(options),
                    shuffle=shuffle,
                ),
            )
        scoring: Scoring = "partial"
        if "scoring" in q.settings:
            setting = q.settings["scoring"]
            if setting.value.lower() in _SCORINGS:
                scoring = _SCORINGS[setting.value.lower()]
            else:
                self.value_error(setting, tuple(_SCORINGS))
        return self.model(
            q.line,
            q.col,
            lambda: MultipleChoice(
                **c.fields(prompt),
                options=_options(options),
                scoring=scoring,
                shuffle=shuffle,
            ),
        )

    def check_credits(self, options: list[_Answer], *, single: bool) -> None:
        if all(o.credit is None for o in options):
            return
        right = [o for o in options if o.correct]
        for option in options:
            credit = option.credit
            if credit is None:
                continue
            if single and option.correct and credit != 1:
                self.error(option.line, option.col, "credit_single_correct")
            elif not single and (credit <= 0 if option.correct else credit > 0):
                self.error(option.line, option.col, "credit_sign")
        if not single and right:
            total = sum(o.credit if o.credit is not None else 1 / len(right) for o in right)
            if total < 1 - 0.005:
                self.error(right[0].line, right[0].col, "credit_sum", total=_percent(total))

    def build_accepted(
        self, q: _RawQuestion, declared: str | None, c: _Common, prompt: str
    ) -> Question | None:
        answers = q.answers
        forms = [read_numeric(a.text) for a in answers]
        numeric = declared == "numeric" or (
            declared is None and all(f.status in ("plain", "form") for f in forms)
        )
        if declared != "short":
            for answer, form in zip(answers, forms, strict=True):
                if form.status == "bad" or (numeric and form.status == "text"):
                    self.error(
                        answer.line,
                        answer.text_col,
                        form.problem or "numeric_invalid",
                        value=_short(answer.text),
                    )
                elif not numeric and form.status == "form":
                    self.error(
                        answer.line,
                        answer.text_col,
                        "numeric_form_in_short",
                        value=_short(answer.text),
                    )
        q.kind = "numeric" if numeric else "short"
        if numeric:
            return self.model(
                q.line,
                q.col,
                lambda: Numeric(
                    **c.fields(prompt),
                    answers=[
                        NumericAnswer(
                            low=f.low,
                            high=f.high,
                            source=a.text,
                            credit=1.0 if a.credit is None else a.credit,
                            feedback="\n".join(a.feedback),
                        )
                        for a, f in zip(answers, forms, strict=True)
                    ],
                ),
            )
        ignore_accents = self.match_setting(q)
        return self.model(
            q.line,
            q.col,
            lambda: ShortAnswer(
                **c.fields(prompt),
                answers=[
                    AcceptedAnswer(
                        text=a.text,
                        credit=1.0 if a.credit is None else a.credit,
                        feedback="\n".join(a.feedback),
                    )
                    for a in answers
                ],
                ignore_accents=ignore_accents,
            ),
        )

    def build_matching(self, q: _RawQuestion, c: _Common, prompt: str) -> Question | None:
        q.kind = "matching"
        real = [p for p in q.pairs if p.left]
        if len(real) < 2:
            self.error(q.line, q.col, "matching_few", count=len(real))
        shuffle = self.question_shuffle(q)
        return self.model(
            q.line,
            q.col,
            lambda: Matching(
                **c.fields(prompt),
                pairs=[
                    Pair(id=f"p{i}", left=p.left, right=p.right)
                    for i, p in enumerate(q.pairs, start=1)
                ],
                shuffle=shuffle,
            ),
        )

    def build_ordering(self, q: _RawQuestion, c: _Common, prompt: str) -> Question | None:
        q.kind = "ordering"
        if len(q.items) < 2:
            self.error(q.line, q.col, "ordering_few", count=len(q.items))
        return self.model(
            q.line,
            q.col,
            lambda: Ordering(
                **c.fields(prompt),
                items=[Item(id=f"i{i}", text=it.text) for i, it in enumerate(q.items, start=1)],
            ),
        )

    def build_truefalse(self, q: _RawQuestion, c: _Common, prompt: str) -> Question | None:
        q.kind = "truefalse"
        setting = q.settings.get("answer")
        if setting is None:  # ``answer:`` without a value, already reported
            return None
        answer = _TRUE_FALSE.get(setting.value.casefold())
        if answer is None:
            self.error(setting.line, setting.col, "answer_invalid", value=_short(setting.value))
            return None
        if_true = q.settings["if-true"].value if "if-true" in q.settings else ""
        if_false = q.settings["if-false"].value if "if-false" in q.settings else ""
        return self.model(
            q.line,
            q.col,
            lambda: TrueFalse(
                **c.fields(prompt),
                answer=answer,
                feedback_true=if_true,
                feedback_false=if_false,
            ),
        )

    def build_blanks(
        self,
        q: _RawQuestion,
        c: _Common,
        segments: list[str],
        gaps: list[tuple[int, int, list[str]]],
    ) -> Question | None:
        q.kind = "blanks"
        ignore_accents = self.match_setting(q)
        return self.model(
            q.line,
            q.col,
            lambda: FillBlanks(
                id=c.id,
                prompt=GAP_MARK.join(segments),
                points=c.points,
                tags=c.tags,
                hint=c.hint,
                feedback=c.feedback,
                line=c.line,
                segments=segments,
                gaps=[Gap(id=f"g{i}", answers=a) for i, (_, _, a) in enumerate(gaps, start=1)],
                ignore_accents=ignore_accents,
            ),
        )

    # -- settings that depend on the type --

    def value_error(self, setting: _Setting, known: tuple[str, ...]) -> None:
        self.error(
            setting.line,
            setting.col,
            "value_invalid",
            extra=suggestion(setting.value.lower(), known, self.language),
            key=setting.key,
            value=_short(setting.value),
            known=", ".join(known),
        )

    def question_shuffle(self, q: _RawQuestion) -> bool:
        setting = q.settings.get("shuffle")
        if setting is None:
            return True
        value = _QUESTION_SHUFFLES.get(setting.value.casefold())
        if value is None:
            self.value_error(setting, ("no", "yes"))
            return True
        return value

    def match_setting(self, q: _RawQuestion) -> bool:
        setting = q.settings.get("match")
        if setting is None:
            return False
        value = _MATCHES.get(setting.value.lower())
        if value is None:
            self.value_error(setting, tuple(_MATCHES))
            return False
        return value

    def check_settings(self, q: _RawQuestion) -> None:
        """Settings written on a question type they do not apply to."""
        allowed = {
            "scoring": (("multiple",), "where.multiple"),
            "match": (("short", "blanks"), "where.text"),
            "shuffle": (("single", "multiple", "matching"), "where.shuffle"),
            "if-true": (("truefalse",), "where.truefalse"),
            "if-false": (("truefalse",), "where.truefalse"),
        }
        for key, (kinds, where) in allowed.items():
            setting = q.settings.get(key)
            if setting is not None and q.kind and q.kind not in kinds:
                self.error(
                    setting.line,
                    setting.key_col,
                    "setting_not_applicable",
                    key=key,
                    where=msg(where, self.language),
                )


@dataclass(slots=True)
class _Options:
    """The fence line, read."""

    id: str = ""
    graded: bool = False
    pass_mark: float = 80.0
    attempts: int = 0
    grading: Grading = "highest"
    time: int = 0
    shuffle: tuple[bool, bool] = (False, False)
    title: str = ""
    draw: list[tuple[str | None, int]] | None = None


@dataclass(slots=True)
class _Common:
    """What every question type has."""

    id: str
    line: int
    points: float = 1.0
    tags: list[str] = field(default_factory=list)
    hint: str = ""
    feedback: str = ""

    def fields(self, prompt: str) -> dict[str, Any]:
        """The constructor arguments every question model shares."""
        return {
            "id": self.id,
            "prompt": prompt,
            "points": self.points,
            "tags": self.tags,
            "hint": self.hint,
            "feedback": self.feedback,
            "line": self.line,
        }


def parse_quiz(block: Block) -> Quiz:
    """Parse a ```` ```quiz ```` block into a :class:`Quiz`.

    Raises :class:`ExerciseParseError` listing every problem found, each at
    ``file:line:col`` with what is wrong and how to fix it, in
    ``block.language``.  No other exception escapes: anything unexpected (a
    bug) is reported as an internal-error problem rather than a traceback in
    the middle of a course check.
    """
    try:
        return _Parser(block).parse()
    except ExerciseParseError:
        raise
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"[:200]
        problem = Problem(
            block.file,
            block.line,
            block.column,
            msg("internal_error", block.language, detail=detail),
            msg("internal_error.hint", block.language),
        )
        raise ExerciseParseError([problem]) from exc

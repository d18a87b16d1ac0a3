"""Writing a :class:`~lms_quiz.model.Quiz` back as the Markdown quiz syntax.

Importers (GIFT, Aiken) produce models; authors edit Markdown.  This module
closes the loop: :func:`write_quiz` turns a model into the fenced
```` ```quiz ```` block that ``docs/authoring-quizzes.md`` describes, such that
``parse_quiz`` gives the same model back (apart from ``line`` numbers).  Every
field the syntax can carry is written, and only where it differs from the
default, so the output reads like something a trainer would write by hand.

The syntax has no place for a few things, which a round trip therefore does
not keep:

* ids of options, pairs, items, gaps and case studies: they are always the
  defaults (``a``, ``b``…; ``p1``…; ``i1``…; ``g1``…; ``s1``…);
* case-study tags (a case study is tagged through its questions);
* line breaks in one-line fields (option and answer texts, ``hint:``,
  ``feedback:``, ``if-true:``; blank lines in ``>`` feedback): written as
  spaces, which Markdown renders the same;
* a case study titled ``end``; a matching left side containing ``->`` or
  ``→``; a gap answer containing ``|``, ``[[`` or ``]]``, or a bracket right
  next to a gap (``[[[x]]``).

Text that would read as syntax is escaped with a Markdown backslash that
renders the same (``\\-``, ``hint\\:``, ``\\[\\[``): see :func:`protect_lines`,
which the importers apply to what they produce so that imported quizzes come
back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import yaml

from lms_quiz.grading import format_number, parse_number
from lms_quiz.messages import suggestion
from lms_quiz.model import (
    FillBlanks,
    Matching,
    MultipleChoice,
    Numeric,
    NumericAnswer,
    Option,
    Ordering,
    Question,
    Quiz,
    Scenario,
    ShortAnswer,
    SingleChoice,
    TrueFalse,
)

__all__ = [
    "BLANK",
    "SETTING_KEYS",
    "answer_text",
    "blanks_text",
    "canonical",
    "credit_text",
    "escape_gaps",
    "gap_id",
    "item_id",
    "numeric_range",
    "numeric_status",
    "one_line",
    "option_id",
    "pair_id",
    "protect_lines",
    "question_id",
    "scenario_id",
    "write_lesson",
    "write_quiz",
]

BLANK = "_____"
"""Where a gap or a missing word stands in a prompt (as in Moodle and ``parse.GAP_MARK``)."""

SETTING_KEYS = (
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
"""``key:`` lines of a question; a prompt line that starts with one is escaped."""


# ------------------------------------------------------------------ default ids


def question_id(n: int) -> str:
    """Default id of the ``n``-th question (1-based, case studies' questions included)."""
    return f"q{n}"


def scenario_id(n: int) -> str:
    """Id of the ``n``-th case study (1-based); the syntax has no other."""
    return f"s{n}"


def option_id(n: int) -> str:
    """Id of the ``n``-th option (1-based): ``a`` … ``z``, ``aa``, ``ab`` …"""
    letters = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def pair_id(n: int) -> str:
    """Id of the ``n``-th matching pair (1-based)."""
    return f"p{n}"


def item_id(n: int) -> str:
    """Id of the ``n``-th ordering item (1-based)."""
    return f"i{n}"


def gap_id(n: int) -> str:
    """Id of the ``n``-th gap (1-based)."""
    return f"g{n}"


# ------------------------------------------------------------------ text helpers

_SPACES = re.compile(r"\s+")
_KEY = re.compile(r"[A-Za-z][A-Za-z-]{0,31}")
_CREDITISH = re.compile(r"\{\s{0,5}[-+]?[\d.,]{1,30}\s{0,5}%?\s{0,5}\}")
_BOXES = ("[ ]", "[x]", "[X]", "( )", "(x)", "(X)")
_SUGGEST_MAX = 20
_NUMERIC_SEPARATORS = ("±", "+/-", "+-", "..")


def one_line(text: str) -> str:
    """``text`` on one line: runs of white space (line breaks too) become one space.

    One-line fields (options, answers, settings) cannot hold a line break; in
    Markdown a single line break renders as a space anyway.
    """
    return _SPACES.sub(" ", text).strip()


def canonical(text: str) -> str:
    """Text as the parser gives it back: lines right-stripped, outer blank lines gone."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _is_setting_line(s: str) -> bool:
    """Whether the parser would end a prompt at the ``key: value`` line ``s``.

    A known setting does, and so does a lower-case near miss (``hnit:``) that
    the parser reports as a misspelt setting; prose like ``Lưu ý: …`` does not.
    """
    key, colon, value = s.partition(":")
    if not colon or not _KEY.fullmatch(key) or (value and value[0] not in " \t"):
        return False
    name = key.lower()
    if name in SETTING_KEYS:
        return True
    return (
        len(name) <= _SUGGEST_MAX and key.islower() and bool(suggestion(name, SETTING_KEYS, "en"))
    )


def _escape_line(line: str, *, description: bool) -> str:
    """``line`` with a Markdown backslash where the parser would read syntax.

    In a prompt, a new question (``?``), a case study (``##``), a rule
    (``---``), an option or a pair (``- [ ]``, ``- a -> b``), an accepted
    answer (``=``) and a setting (``hint:``) would end the prompt; in a case
    description only ``?`` and ``##`` lines are syntax.  The backslash goes
    before punctuation (``\\-``, ``\\=``, ``hint\\:``), which CommonMark
    renders as the bare character.
    """
    s = line.lstrip()
    indent = line[: len(line) - len(s)]
    if not s:
        return line
    if s == "?" or s.startswith(("? ", "?\t")) or s == "##" or s.startswith(("## ", "##\t")):
        return indent + "\\" + s
    if description:
        return line
    if len(s) >= 3 and not s.strip("-"):
        return indent + "\\" + s
    if s[0] in "-*+" and (len(s) == 1 or s[1] in " \t"):
        rest = s[1:].lstrip()
        if rest[:3] in _BOXES or "->" in rest or "\u2192" in rest:
            return indent + "\\" + s
        return line
    if s[0] == "=":
        return indent + "\\" + s
    if _is_setting_line(s):
        colon = s.index(":")
        return indent + s[:colon] + "\\" + s[colon:]
    return line


_BRACKET_RUN = re.compile(r"\[{2,}")


def escape_gaps(text: str) -> str:
    """``[[`` as text, not a gap: ``\\[\\[`` renders as ``[[`` in Markdown.

    Every bracket of a run is escaped (``[[[`` → ``\\[\\[\\[``), so no ``[[``
    is left whatever the run's length.
    """
    return _BRACKET_RUN.sub(lambda m: "\\[" * len(m.group()), text)


def protect_lines(text: str, *, description: bool = False) -> str:
    """A prompt (or, with ``description``, a case description) that reads back as itself.

    The first line of a prompt follows ``? `` and is never syntax; each later
    line the parser would read as an answer, a setting or a new question is
    escaped (see :func:`_escape_line`), and ``[[`` in a prompt is escaped as
    it would make a gap.  Indentation is kept and the text made canonical
    (:func:`canonical`).  Idempotent: importers apply it to what they produce
    and the writer applies it again without changing anything.
    """
    text = canonical(text)
    if not description:
        text = escape_gaps(text)
    lines = text.split("\n")
    first = _escape_line(lines[0], description=True) if description else lines[0]
    rest = [_escape_line(line, description=description) for line in lines[1:]]
    return "\n".join([first, *rest])


def answer_text(text: str) -> str:
    """An option or accepted answer on one line, not mistaken for a credit ``{50%}``."""
    text = one_line(text)
    if _CREDITISH.match(text):
        text = "\\" + text
    return text


def credit_text(credit: float) -> str:
    """A credit as the shortest percentage that reads back as the same float.

    ``0.5`` → ``50%``; ``-1/3`` → ``-33.333333333333336%`` only when nothing
    shorter gives the same float divided by 100, which is how it is read.
    """
    percent = credit * 100
    text = repr(percent)
    for digits in range(16):
        candidate = f"{percent:.{digits}f}"
        if float(candidate) / 100 == credit:
            text = candidate
            break
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text + "%"


def numeric_status(text: str) -> str:
    """How the parser reads an ``=`` answer: ``plain``, ``form``, ``bad`` or ``text``.

    ``plain`` is a number, ``form`` a tolerance (``18,2 ± 0,5``) or a range
    (``30..60``), ``bad`` one of those with a broken number, ``text`` anything
    else.  A question whose answers are all plain or form is numeric.
    """
    value = text.strip()
    for separator in _NUMERIC_SEPARATORS:
        if separator not in value:
            continue
        left, _, right = value.partition(separator)
        a, b = parse_number(left), parse_number(right)
        if a is None and b is None:
            return "text"
        if a is None or b is None:
            return "bad"
        if separator == "..":
            return "form" if a <= b else "bad"
        return "form" if b >= 0 else "bad"
    return "plain" if parse_number(value) is not None else "text"


def numeric_range(source: str) -> tuple[float, float] | None:
    """The closed range a numeric answer written as ``source`` accepts, or None.

    A number (``3,5`` or ``3.5``), a number with a tolerance (``18,2 ± 0,5``,
    ``+-``, ``+/-``) or a range (``30..60``), computed as the parser does
    (``value ± tolerance`` in floats), so an imported model compares equal.
    """
    value = source.strip()
    for separator in _NUMERIC_SEPARATORS:
        if separator not in value:
            continue
        left, _, right = value.partition(separator)
        a, b = parse_number(left), parse_number(right)
        if a is None or b is None:
            return None
        if separator == "..":
            return (a, b) if a <= b else None
        return (a - b, a + b) if b >= 0 else None
    number = parse_number(value)
    return None if number is None else (number, number)


def _numeric_source(answer: NumericAnswer) -> str:
    """The author's ``source`` when it still means [low, high]; otherwise rebuilt."""
    source = answer_text(answer.source)
    if source and numeric_range(source) == (answer.low, answer.high):
        return source
    if answer.low == answer.high:
        return format_number(answer.low)
    return f"{format_number(answer.low)}..{format_number(answer.high)}"


def _quote(value: str) -> str:
    """A fence option value, double-quoted when it needs to be (``shlex`` rules)."""
    value = one_line(value)
    if value and re.fullmatch(r"[\w.,:%+-]+", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ------------------------------------------------------------------ questions


def _feedback_lines(feedback: str) -> list[str]:
    """``>`` lines under an option; the parser joins them with line breaks again."""
    return [f"  > {line.strip()}" for line in feedback.split("\n") if line.strip()]


def _credit_prefix(credit: float | None) -> str:
    return "" if credit is None else "{" + credit_text(credit) + "} "


def _options(options: Sequence[Option], *, single: bool) -> list[str]:
    lines = []
    for option in options:
        box = ("(x)" if single else "[x]") if option.correct else ("( )" if single else "[ ]")
        lines.append(f"- {box} {_credit_prefix(option.credit)}{answer_text(option.text)}")
        lines.extend(_feedback_lines(option.feedback))
    return lines


def blanks_text(segments: Sequence[str], gaps: Sequence[Sequence[str]]) -> str:
    """A fill-in-the-blanks prompt with its gaps: ``a [[x|y]] b``.

    ``[[`` in the segments is escaped and the lines protected like any
    prompt; the gaps themselves are not.
    """
    parts = [escape_gaps(segments[0]) if segments else ""]
    for index, answers in enumerate(gaps, 1):
        parts.append("[[" + "|".join(one_line(a) for a in answers) + "]]")
        parts.append(escape_gaps(segments[index]) if index < len(segments) else "")
    lines = canonical("".join(parts)).split("\n")
    return "\n".join([lines[0], *(_escape_line(ln, description=False) for ln in lines[1:])])


def _yes_no(value: bool, language: str) -> str:
    if language == "vi":
        return "đúng" if value else "sai"
    return "true" if value else "false"


def _needs_type_short(question: ShortAnswer) -> bool:
    """Whether the answers alone would read as numeric (or as a broken number)."""
    statuses = [numeric_status(answer_text(a.text)) for a in question.answers]
    return any(s in ("form", "bad") for s in statuses) or all(s == "plain" for s in statuses)


def _question(question: Question, *, number: int, language: str) -> list[str]:
    """The lines of one question (no trailing blank line)."""
    if isinstance(question, FillBlanks):
        prompt = blanks_text(question.segments, [gap.answers for gap in question.gaps])
    else:
        prompt = protect_lines(question.prompt)
    first, *more = prompt.split("\n")
    lines = [f"? {first}".rstrip(), *more]
    settings: list[str] = []

    if isinstance(question, SingleChoice):
        lines.extend(_options(question.options, single=True))
    elif isinstance(question, MultipleChoice):
        lines.extend(_options(question.options, single=False))
        if sum(1 for o in question.options if o.correct) < 2:
            settings.append("type: multiple")
        if question.scoring != "partial":
            settings.append(f"scoring: {question.scoring}")
    elif isinstance(question, TrueFalse):
        lines.append(f"answer: {_yes_no(question.answer, language)}")
        if question.feedback_true.strip():
            lines.append(f"if-true: {one_line(question.feedback_true)}")
        if question.feedback_false.strip():
            lines.append(f"if-false: {one_line(question.feedback_false)}")
    elif isinstance(question, ShortAnswer):
        for accepted in question.answers:
            credit = None if accepted.credit == 1.0 else accepted.credit
            lines.append(f"= {_credit_prefix(credit)}{answer_text(accepted.text)}")
            lines.extend(_feedback_lines(accepted.feedback))
        if _needs_type_short(question):
            settings.append("type: short")
    elif isinstance(question, Numeric):
        for numeric in question.answers:
            credit = None if numeric.credit == 1.0 else numeric.credit
            lines.append(f"= {_credit_prefix(credit)}{_numeric_source(numeric)}")
            lines.extend(_feedback_lines(numeric.feedback))
    elif isinstance(question, Matching):
        for pair in question.pairs:
            left = one_line(pair.left)
            right = one_line(pair.right)
            lines.append(f"- {left} -> {right}" if left else f"- -> {right}")
    elif isinstance(question, Ordering):
        lines.append("type: ordering")  # before the items: numbered lines continue a prompt
        lines.extend(f"{i}. {one_line(item.text)}" for i, item in enumerate(question.items, 1))

    if isinstance(question, ShortAnswer | FillBlanks) and question.ignore_accents:
        settings.append("match: ignore-accents")
    if isinstance(question, SingleChoice | MultipleChoice | Matching) and not question.shuffle:
        settings.append("shuffle: no")

    head: list[str] = []
    if question.id != question_id(number):
        head.append(f"id: {question.id}")
    if question.points != 1.0:
        head.append(f"points: {format_number(question.points)}")
    if question.tags:
        head.append("tags: " + ", ".join(one_line(t) for t in question.tags))
    tail: list[str] = []
    if question.hint.strip():
        tail.append(f"hint: {one_line(question.hint)}")
    if question.feedback.strip():
        tail.append(f"feedback: {one_line(question.feedback)}")
    return [*lines, *head, *settings, *tail]


def _quiz_line(quiz: Quiz) -> str:
    words = ["quiz", f"id={quiz.id}"]
    if quiz.graded:
        words.append("graded")
    if quiz.graded or quiz.pass_mark != 80.0:
        words.append(f"pass={format_number(quiz.pass_mark)}")
    if quiz.max_attempts:
        words.append(f"attempts={quiz.max_attempts}")
    if quiz.grading != "highest":
        words.append(f"grading={quiz.grading}")
    if quiz.time_limit_minutes:
        words.append(f"time={quiz.time_limit_minutes}")
    if quiz.shuffle_questions and quiz.shuffle_options:
        words.append("shuffle")
    elif quiz.shuffle_questions:
        words.append("shuffle=questions")
    elif quiz.shuffle_options:
        words.append("shuffle=options")
    if quiz.draw:
        rules = [str(r.count) if r.tag is None else f"{r.tag}:{r.count}" for r in quiz.draw]
        words.append("draw=" + ",".join(rules))
    if quiz.title.strip():
        words.append(f"title={_quote(quiz.title)}")
    return " ".join(words)


def _fence(body: str, info: str) -> str:
    """The fence: backticks (tildes when the info has one), longer than any inside."""
    char = "~" if "`" in info else "`"
    longest = 0
    for line in body.split("\n"):
        s = line.lstrip()
        longest = max(longest, len(s) - len(s.lstrip(char)))
    return char * max(3, longest + 1)


def write_quiz(quiz: Quiz, *, language: str = "vi") -> str:
    """The quiz as a fenced ```` ```quiz ```` block, ending with a newline.

    ``language`` only chooses how true/false answers are written (``đúng``/
    ``sai`` or ``true``/``false``); the parser reads both.
    """
    body: list[str] = []
    number = 0
    for entry in quiz.entries:
        if body:
            body.append("")
        if isinstance(entry, Scenario):
            body.append(f"## {one_line(entry.title)}".rstrip())
            description = protect_lines(entry.description, description=True)
            if description:
                body.extend(description.split("\n"))
            for question in entry.questions:
                number += 1
                body.append("")
                body.extend(_question(question, number=number, language=language))
            body.extend(["", "## end"])
        else:
            number += 1
            body.extend(_question(entry, number=number, language=language))
    text = "\n".join(body)
    info = _quiz_line(quiz)
    fence = _fence(text, info)
    return f"{fence}{info}\n{text}\n{fence}\n"


def write_lesson(quizzes: Sequence[Quiz], *, title: str, language: str = "vi") -> str:
    """A lesson file: YAML front matter with ``title``, then each quiz block.

    Used by ``lms quiz import-gift`` and ``import-aiken``; the trainer then
    writes the lesson's text around the blocks.
    """
    front = yaml.safe_dump(
        {"title": one_line(title)}, allow_unicode=True, default_flow_style=False, width=10**6
    )
    blocks = "\n".join(write_quiz(quiz, language=language) for quiz in quizzes)
    return f"---\n{front}---\n\n{blocks}"

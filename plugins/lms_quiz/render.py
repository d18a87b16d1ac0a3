"""HTML for a quiz on the static site: an accessible form built from the public view.

The page is built from the attempt's public view (:func:`lms_quiz.view.shared_view`,
the dict :func:`lms_quiz.view.public_view` copies) and nothing else, so a
graded quiz's HTML cannot hold more than the view does (no answer, no
feedback); practice quizzes additionally embed :func:`lms_quiz.view.practice_key`
in the JSON data block so the browser can give feedback offline.

Prompts, options and scenario descriptions are Markdown written by course
authors.  They are rendered by markdown-it-py in CommonMark mode with raw HTML
disabled (``<script>`` typed in a prompt comes out as text) and its default
link validation (no ``javascript:`` URLs); every other text from the quiz is
escaped with markupsafe's ``escape`` (what Jinja2's autoescape calls).  The
JSON data block escapes ``<``, ``>`` and ``&`` so no text can close the
``<script>`` element it sits in.

The markup is written out in Python, compiled once per quiz and language,
rather than rendered by Jinja2 templates: the learner server renders the form
at every attempt start, and the templates' per-question macro, its attribute
lookups and escaping were about a tenth of the server's CPU over a whole
start-save-save-submit flow (benchmarks/serve_load.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from lms_quiz.attempt import static_plan
from lms_quiz.model import Quiz
from lms_quiz.view import practice_key, shared_view

STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "quiz": "Bài kiểm tra",
        "practice": "Bài luyện tập",
        "noscript": "Bài kiểm tra này cần bật JavaScript.",
        "question": "Câu {n}",
        "points": "{points} điểm",
        "point": "{points} điểm",
        "true": "Đúng",
        "false": "Sai",
        "answer": "Câu trả lời",
        "number": "Câu trả lời (số)",
        "gap": "Chỗ trống {n}",
        "choose": "— Chọn —",
        "up": "Chuyển lên: {item}",
        "down": "Chuyển xuống: {item}",
        "ordering_help": "Dùng các nút mũi tên để sắp xếp lại thứ tự.",
        "hint": "Gợi ý",
        "submit_graded": "Nộp bài",
        "submit_practice": "Kiểm tra",
        "pass_mark": "Điểm đạt: {n}%",
        "attempts": "Số lần làm tối đa: {n}",
        "time_limit": "Thời gian: {n} phút",
        "graded": "Bài kiểm tra có chấm điểm",
    },
    "en": {
        "quiz": "Quiz",
        "practice": "Practice quiz",
        "noscript": "This quiz needs JavaScript to be enabled.",
        "question": "Question {n}",
        "points": "{points} points",
        "point": "{points} point",
        "true": "True",
        "false": "False",
        "answer": "Answer",
        "number": "Answer (a number)",
        "gap": "Blank {n}",
        "choose": "— Choose —",
        "up": "Move up: {item}",
        "down": "Move down: {item}",
        "ordering_help": "Use the arrow buttons to change the order.",
        "hint": "Hint",
        "submit_graded": "Submit",
        "submit_practice": "Check answers",
        "pass_mark": "Pass mark: {n}%",
        "attempts": "Maximum attempts: {n}",
        "time_limit": "Time limit: {n} minutes",
        "graded": "Graded quiz",
    },
}
"""Interface strings; an unknown language falls back to Vietnamese, the courses' language."""

_GAP_OPEN = "\ue000"
_GAP_CLOSE = "\ue001"
"""Private-use characters marking gap positions while a blanks prompt is rendered
as one Markdown document (so a gap can sit mid-sentence without breaking the
paragraph); markdown-it passes them through untouched."""


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False})


_MD = _markdown()


@lru_cache(maxsize=8192)
def markdown_block(text: str) -> Markup:
    """Author Markdown as block HTML; raw HTML in the source is escaped, never passed.

    Memoised: the learner server renders an attempt's form at every start,
    the same prompts in another order, and parsing them again was a third
    of the start's time (benchmarks/serve_load.py).
    """
    return Markup(_MD.render(text))  # noqa: S704 - html is off: markdown-it escapes it


@lru_cache(maxsize=8192)
def markdown_inline(text: str) -> Markup:
    """Author Markdown as phrasing content (for labels, which cannot hold paragraphs); memoised."""
    return Markup(_MD.renderInline(text))  # noqa: S704 - html is off: escaped


def json_for_script(value: object) -> Markup:
    """JSON safe inside ``<script type="application/json">``: ``</script>`` cannot occur."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, code in _SCRIPT_ESCAPES:
        # ``in`` first: on non-ASCII text, str.replace counts matches with a
        # much slower scan even when there are none, and the five replaces
        # cost a third as much as the dumps itself.
        if char in text:
            text = text.replace(char, code)
    return Markup(text)  # noqa: S704 - '<', '>' and '&' are escaped above


_SCRIPT_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)
"""What :func:`json_for_script` replaces, in order; no replacement holds a later character."""


def _blanks_pieces(segments: list[str], gaps: int) -> list[Markup]:
    """HTML pieces of a blanks prompt; a gap input goes between consecutive pieces.

    The segments are rendered as one document (a gap mid-sentence must not
    split its paragraph) and the HTML is split at the gap markers.  When a
    marker does not survive rendering intact, or lands inside a tag (a gap in
    a link destination or an image description), each segment is rendered on
    its own instead: less pretty, still correct and still escaped.
    """
    if len(segments) == gaps + 1 and not any(_GAP_OPEN in s or _GAP_CLOSE in s for s in segments):
        source = "".join(
            s + (f"{_GAP_OPEN}{i}{_GAP_CLOSE}" if i < gaps else "") for i, s in enumerate(segments)
        )
        html = str(markdown_block(source))
        pieces: list[str] = []
        rest = html
        done = ""
        for i in range(gaps):
            marker = f"{_GAP_OPEN}{i}{_GAP_CLOSE}"
            if rest.count(marker) != 1:
                break
            head, rest = rest.split(marker)
            done += head
            if done.rfind("<") > done.rfind(">"):
                break  # inside a tag (an image's alt text): no input can go there
            pieces.append(head)
        else:
            pieces.append(rest)
            # Split HTML fragments are recombined verbatim around the inputs.
            return [Markup(p) for p in pieces]  # noqa: S704
    padded = [*segments, *[""] * (gaps + 1 - len(segments))][: gaps + 1]
    return [markdown_inline(s) for s in padded]


def _points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# ------------------------------------------------------------- compiled markup
#
# The markup is what the Jinja2 templates templates/quiz.html and
# question.html (autoescape, trim_blocks, lstrip_blocks; removed when this
# replaced them, see the history) produced, byte for byte:
# tests/test_quiz_render_fast.py compares pages with ones those templates
# rendered.  It is written as templates still: ``{name}`` is filled once per
# quiz and language with text already escaped by :func:`_e` (markupsafe's
# escape, which Jinja's autoescape calls) or Markdown rendered with raw HTML
# off, and ``\0`` marks a hole filled per render (order, public ids, numbers).

_HOLE = "\0"

_QUESTION = (
    '    <fieldset class="quiz-question quiz-{kind}" id="{dom}" data-question-id="{qid}" '
    'data-kind="{kind}" aria-describedby="{dom}-prompt">\n'
    '      <legend>\0 <span class="quiz-points">({points})</span></legend>\n'
)
_PROMPT = '      <div class="quiz-prompt" id="{dom}-prompt">{prompt}</div>\n'
_BLANKS_PROMPT = '      <div class="quiz-prompt quiz-blanks-text" id="{dom}-prompt">\n'
_BLANKS_PROMPT_END = "\n      </div>\n"
_GAP = (
    '<label class="visually-hidden" for="{dom}-\0">\0</label>'
    '<input type="text" class="quiz-gap" id="{dom}-\0" name="{name}--\0" data-gap-id="\0" '
    'autocomplete="off" spellcheck="false" size="12">'
)
_OPTIONS = '      <div class="quiz-options">\n'
_OPTION = (
    '        <div class="quiz-option">\n'
    '          <input type="{control}" id="{dom}-\0" name="{name}" value="\0">\n'
    '          <label for="{dom}-\0">\0</label>\n'
    "        </div>\n"
)
_OPTIONS_END = "      </div>\n"
_SHORT = (
    '      <div class="quiz-answer">\n'
    '        <label for="{dom}-answer">{answer}</label>\n'
    '        <input type="text" id="{dom}-answer" name="{name}" autocomplete="off" '
    'spellcheck="false">\n'
    "      </div>\n"
)
_NUMERIC = (
    '      <div class="quiz-answer">\n'
    '        <label for="{dom}-answer">{number}</label>\n'
    '        <input type="text" inputmode="decimal" id="{dom}-answer" name="{name}" '
    'autocomplete="off">\n'
    "      </div>\n"
)
_MATCHING = '      <div class="quiz-matching">\n'
_MATCH = (
    '        <div class="quiz-match">\n'
    '          <label for="{dom}-\0">\0</label>\n'
    '          <select id="{dom}-\0" name="{name}--\0" data-left-id="\0">\n'
    '            <option value="">{choose}</option>\n'
    "\0"
    "          </select>\n"
    "        </div>\n"
)
_CHOICE = '            <option value="\0">\0</option>\n'
_MATCHING_END = "      </div>\n"
_ORDERING = (
    '      <p class="quiz-help" id="{dom}-help">{ordering_help}</p>\n'
    '      <ol class="quiz-ordering" data-question-id="{qid}" aria-describedby="{dom}-help">\n'
)
_ITEM = (
    '        <li data-item-id="\0">\n'
    '          <span class="quiz-item-text" id="{dom}-\0">\0</span>\n'
    '          <button type="button" class="quiz-up" aria-label="\0">↑</button>\n'
    '          <button type="button" class="quiz-down" aria-label="\0">↓</button>\n'
    "        </li>\n"
)
_ORDERING_END = (
    '      </ol>\n      <p class="visually-hidden quiz-ordering-status" aria-live="polite"></p>\n'
)
_HINT = (
    '      <details class="quiz-hint">\n'
    "        <summary>{hint_label}</summary>\n"
    "        {hint}\n"
    "      </details>\n"
)
_QUESTION_END = (
    '      <div class="quiz-feedback" aria-live="polite" hidden></div>\n    </fieldset>\n\n'
)
"""Ends with the blank line quiz.html put after every question."""

_FORM = (
    '<section class="quiz" data-quiz-id="{qid}" data-graded="{graded}" lang="{lang}" '
    'aria-labelledby="quiz-{qid}-title">\n'
    '  <h2 class="quiz-title" id="quiz-{qid}-title">{title}</h2>\n'
    "{meta}"
    '  <noscript><p class="quiz-noscript">{noscript}</p></noscript>\n'
    '  <form class="quiz-form" data-quiz-id="{qid}" novalidate>\n'
    "\0"
    '    <div class="quiz-actions">\n'
    '      <button type="submit" class="quiz-submit">{submit}</button>\n'
    "    </div>\n"
    '    <div class="quiz-result" role="status" aria-live="polite"></div>\n'
    "  </form>\n"
    '  <script type="application/json" class="quiz-data">\0</script>\n'
    "</section>\n"
)
_META = '  <ul class="quiz-meta">\n{lines}  </ul>\n'
_SCENARIO = (
    '    <section class="quiz-scenario" id="{dom}" aria-labelledby="{dom}-title">\n'
    '      <h3 class="quiz-scenario-title" id="{dom}-title">{title}</h3>\n'
    '      <div class="quiz-scenario-description">{description}</div>\n'
)
_SCENARIO_END = "    </section>\n"


def _e(text: str) -> str:
    """``text`` escaped for HTML text and quoted attributes, as Jinja's autoescape did."""
    return str(escape(text))


def _e_id(value: str) -> str:
    """A public id escaped like :func:`_e`, without the call for the usual hex id.

    Letters and digits never need escaping, and ``str.isalnum`` runs in C where
    ``escape`` is a Python call; public ids are the only escaping left per
    render, several per question.
    """
    return value if value.isalnum() else str(escape(value))


def _cut(template: str, **values: str) -> tuple[str, ...]:
    """``template`` cut at its holes, each piece filled with ``values`` (escaped already).

    Cut before filling, so a ``\\0`` in the values cannot move a hole.
    """
    return tuple(piece.format(**values) for piece in template.split(_HOLE))


@dataclass(frozen=True, slots=True)
class _Language:
    """Interface strings of one language: as written (to format) and escaped."""

    code: str
    s: dict[str, str]
    h: dict[str, str]


_LANGUAGES = {
    code: _Language(code, s, {key: _e(value) for key, value in s.items()})
    for code, s in STRINGS.items()
}


class _Question:
    """One question with all but its number compiled (short, numeric and true/false
    questions: nothing else depends on the seed)."""

    __slots__ = ("body", "end", "head")

    def __init__(self, head: str, body: str, end: str) -> None:
        self.head = head
        """From ``<fieldset`` to the legend's text."""
        self.body = body
        """From the legend's text to the first element that depends on the seed."""
        self.end = end
        """After the last element that depends on the seed."""

    def write(self, out: list[str], view: dict[str, Any], legend: str) -> None:
        """Append the question's markup for ``view`` (its part of the public view) to ``out``."""
        out += (self.head, legend, self.body, self.end)


class _Choice(_Question):
    """Single and multiple choice: options in the attempt's order, under its public ids."""

    __slots__ = ("labels", "option")

    def __init__(self, head: str, body: str, end: str, option: tuple[str, ...]) -> None:
        super().__init__(head, body, end)
        self.option = option
        self.labels: dict[str, str] = {}
        """Option label HTML by option text."""

    def write(self, out: list[str], view: dict[str, Any], legend: str) -> None:
        out += (self.head, legend, self.body)
        o0, o1, o2, o3, o4 = self.option
        labels = self.labels
        for option in view["options"]:
            pid = _e_id(option["id"])
            label = labels.get(option["text"]) or str(markdown_inline(option["text"]))
            out += (o0, pid, o1, pid, o2, pid, o3, label, o4)
        out.append(self.end)


class _Matching(_Question):
    """Matching: left items, and every select's choices, in the attempt's order."""

    __slots__ = ("choice", "labels", "match", "texts")

    def __init__(
        self, head: str, body: str, end: str, match: tuple[str, ...], choice: tuple[str, ...]
    ) -> None:
        super().__init__(head, body, end)
        self.match = match
        self.choice = choice
        self.labels: dict[str, str] = {}
        """Left item label HTML by text."""
        self.texts: dict[str, str] = {}
        """Choice text escaped, by text (choices are plain text, not Markdown)."""

    def write(self, out: list[str], view: dict[str, Any], legend: str) -> None:
        out += (self.head, legend, self.body)
        c0, c1, c2 = self.choice
        texts = self.texts
        choices: list[str] = []
        for choice in view["right"]:
            text = texts.get(choice["text"])
            choices += (c0, _e_id(choice["id"]), c1, text or _e(choice["text"]), c2)
        options = "".join(choices)
        m0, m1, m2, m3, m4, m5, m6 = self.match
        labels = self.labels
        for left in view["left"]:
            lid = _e_id(left["id"])
            label = labels.get(left["text"]) or str(markdown_inline(left["text"]))
            out += (m0, lid, m1, label, m2, lid, m3, lid, m4, lid, m5, options, m6)
        out.append(self.end)


class _Ordering(_Question):
    """Ordering: items in the attempt's order, under its public ids."""

    __slots__ = ("item", "language", "rests")

    def __init__(
        self, head: str, body: str, end: str, item: tuple[str, ...], language: _Language
    ) -> None:
        super().__init__(head, body, end)
        self.item = item
        self.language = language
        self.rests: dict[str, str] = {}
        """By item text, the item's markup after its second public id."""

    def rest(self, text: str) -> str:
        """The item's markup after its second public id: label and the two buttons."""
        s = self.language.s
        up, down = _e(s["up"].format(item=text)), _e(s["down"].format(item=text))
        i2, i3, i4, i5 = self.item[2:]
        return f"{i2}{markdown_inline(text)}{i3}{up}{i4}{down}{i5}"

    def write(self, out: list[str], view: dict[str, Any], legend: str) -> None:
        out += (self.head, legend, self.body)
        i0, i1 = self.item[:2]
        rests = self.rests
        for item in view["items"]:
            iid = _e_id(item["id"])
            out += (i0, iid, i1, iid, rests.get(item["text"]) or self.rest(item["text"]))
        out.append(self.end)


class _Blanks(_Question):
    """Fill in the blanks: the prompt's pieces with an input per gap, under public ids."""

    __slots__ = ("gaps", "pieces")

    def __init__(
        self, head: str, body: str, end: str, pieces: list[str], gaps: list[tuple[str, ...]]
    ) -> None:
        super().__init__(head, body, end)
        self.pieces = pieces
        """The prompt's HTML around the gaps (one more than gaps)."""
        self.gaps = gaps
        """Each gap's markup, its label filled in, cut at its public ids."""

    def write(self, out: list[str], view: dict[str, Any], legend: str) -> None:
        out += (self.head, legend, self.body, self.pieces[0])
        pieces = self.pieces
        for i, (gap, cut) in enumerate(zip(view["gaps"], self.gaps, strict=True)):
            gid = _e_id(gap["id"])
            g0, g1, g2, g3, g4, g5 = cut
            out += (g0, gid, g1, g2, gid, g3, gid, g4, gid, g5, pieces[i + 1])
        out.append(self.end)


def _question_key(view: dict[str, Any]) -> tuple[object, ...]:
    """What a question's compiled markup depends on, besides quiz and language.

    Not the question object, which the view does not name: its fields as
    shown.  Option, pair and item markup is looked up by text when filling
    in, so a key shared by two different questions still renders each right;
    a blanks prompt's pieces are compiled, so its segments are in the key.
    """
    key = (view["id"], view["kind"], view["prompt"], view["points"], view["hint"])
    if view["kind"] == "blanks":
        return (*key, tuple(view["segments"]), len(view["gaps"]))
    return key


def _compile_question(view: dict[str, Any], quiz_id: str, language: _Language) -> _Question:
    """The markup of question ``view`` (its part of a public view) that no seed changes."""
    s, h = language.s, language.h
    kind = view["kind"]
    points = s["point" if view["points"] == 1 else "points"].format(points=_points(view["points"]))
    fields = {
        "kind": _e(kind),
        "dom": _e(f"quiz-{quiz_id}-{view['id']}"),
        "name": _e(f"{quiz_id}--{view['id']}"),
        "qid": _e(view["id"]),
        "points": _e(points),
    }
    head, body = _cut(_QUESTION, **fields)
    hint = markdown_block(view["hint"]) if view["hint"] else None
    end = (_HINT.format(hint_label=h["hint"], hint=hint) if hint else "") + _QUESTION_END
    if kind == "blanks":
        gaps = len(view["gaps"])
        pieces = _blanks_pieces(view["segments"], gaps)
        cuts = []
        for i in range(gaps):
            g0, g1, *rest = _cut(_GAP, **fields)
            cuts.append((g0, g1 + _e(s["gap"].format(n=i + 1)), *rest))
        return _Blanks(
            head,
            body + _BLANKS_PROMPT.format(**fields),
            _BLANKS_PROMPT_END + end,
            [str(piece) for piece in pieces],
            cuts,
        )
    body += _PROMPT.format(prompt=markdown_block(view["prompt"]), **fields)
    if kind in ("single", "multiple"):
        control = "checkbox" if kind == "multiple" else "radio"
        choice = _Choice(
            head, body + _OPTIONS, _OPTIONS_END + end, _cut(_OPTION, control=control, **fields)
        )
        choice.labels.update({o["text"]: str(markdown_inline(o["text"])) for o in view["options"]})
        return choice
    if kind == "truefalse":
        o0, o1, o2, o3, o4 = _cut(_OPTION, control="radio", **fields)
        options = "".join(
            f"{o0}{value}{o1}{value}{o2}{value}{o3}{h[value]}{o4}" for value in ("true", "false")
        )
        return _Question(head, body + _OPTIONS + options + _OPTIONS_END, end)
    if kind == "short":
        return _Question(head, body + _SHORT.format(answer=h["answer"], **fields), end)
    if kind == "numeric":
        return _Question(head, body + _NUMERIC.format(number=h["number"], **fields), end)
    if kind == "matching":
        matching = _Matching(
            head,
            body + _MATCHING,
            _MATCHING_END + end,
            _cut(_MATCH, choose=h["choose"], **fields),
            _cut(_CHOICE),
        )
        matching.labels.update({p["text"]: str(markdown_inline(p["text"])) for p in view["left"]})
        matching.texts.update({c["text"]: _e(c["text"]) for c in view["right"]})
        return matching
    if kind == "ordering":
        ordering = _Ordering(
            head,
            body + _ORDERING.format(ordering_help=h["ordering_help"], **fields),
            _ORDERING_END + end,
            _cut(_ITEM, **fields),
            language,
        )
        ordering.rests.update({i["text"]: ordering.rest(i["text"]) for i in view["items"]})
        return ordering
    raise ValueError(f"unknown question kind {kind!r}")


class _Form:
    """A quiz's form in one language, compiled once per quiz object (:func:`static_plan`).

    The page's head and tail depend on the quiz only; questions and scenarios
    are compiled the first time a view shows them (a drawn quiz shows a few).
    """

    __slots__ = ("end", "head", "language", "legends", "questions", "quiz_id", "scenarios", "tail")

    def __init__(self, view: dict[str, Any], language: _Language) -> None:
        s, h = language.s, language.h
        self.language = language
        self.quiz_id: str = view["id"]
        graded = view["graded"]
        meta = []
        if graded:
            meta.append(s["graded"])
            meta.append(s["pass_mark"].format(n=_points(view["pass_mark"])))
        if view["max_attempts"]:
            meta.append(s["attempts"].format(n=view["max_attempts"]))
        if view["time_limit_minutes"]:
            meta.append(s["time_limit"].format(n=view["time_limit_minutes"]))
        lines = "".join(f"    <li>{_e(line)}</li>\n" for line in meta)
        self.head, self.tail, self.end = _cut(
            _FORM,
            qid=_e(view["id"]),
            graded="true" if graded else "false",
            lang=_e(language.code),
            title=_e(view["title"] or (s["quiz"] if graded else s["practice"])),
            meta=_META.format(lines=lines) if meta else "",
            noscript=h["noscript"],
            submit=h["submit_graded"] if graded else h["submit_practice"],
        )
        self.legends = [_e(s["question"].format(n=n)) for n in range(_count(view) + 1)]
        """The legend's text of each question number a view of this quiz has shown."""
        self.questions: dict[tuple[object, ...], _Question] = {}
        self.scenarios: dict[tuple[str, str, str], str] = {}

    def legend(self, number: int) -> str:
        """The legend's text for question ``number`` (drawn quizzes may vary in length)."""
        if number < len(self.legends):
            return self.legends[number]
        return _e(self.language.s["question"].format(n=number))

    def question(self, view: dict[str, Any]) -> _Question:
        """Question ``view`` compiled, the first time it is shown."""
        key = _question_key(view)
        compiled = self.questions.get(key)
        if compiled is None:
            compiled = _compile_question(view, self.quiz_id, self.language)
            self.questions[key] = compiled  # a racing thread stores an equal value
        return compiled

    def scenario(self, entry: dict[str, Any]) -> str:
        """A scenario's opening markup (section, title, description), the first time it is shown."""
        key = (entry["id"], entry["title"], entry["description"])
        opening = self.scenarios.get(key)
        if opening is None:
            opening = _SCENARIO.format(
                dom=_e(f"quiz-{self.quiz_id}-{entry['id']}"),
                title=_e(entry["title"]),
                description=markdown_block(entry["description"]),
            )
            self.scenarios[key] = opening
        return opening


def _count(view: dict[str, Any]) -> int:
    return sum(
        len(entry["questions"]) if entry["kind"] == "scenario" else 1 for entry in view["entries"]
    )


def render_quiz(quiz: Quiz, *, seed: int, language: str) -> str:
    """The quiz as an HTML form for attempt ``seed``, interface text in ``language``.

    Graded quizzes are rendered from the public view only; the data block
    holds ``{"view": …}`` and, for practice quizzes, ``"key": …`` too.

    The learner server renders a form at every attempt start, each with its
    own order and public ids, so the markup that no seed changes is compiled
    once per quiz object and language (:class:`_Form`) and only order, ids and
    numbers are filled in here; the view is the one the start has just built
    (:func:`lms_quiz.view.shared_view`).
    """
    code = language if language in _LANGUAGES else "vi"
    view = shared_view(quiz, seed=seed)
    form: _Form = static_plan(quiz, f"render:{code}", lambda: _Form(view, _LANGUAGES[code]))
    data: dict[str, Any] = {"view": view}
    if not quiz.graded:
        data["key"] = practice_key(quiz, seed=seed)
    out = [form.head]
    number = 0
    for entry in view["entries"]:
        if entry["kind"] == "scenario":
            out.append(form.scenario(entry))
            for question in entry["questions"]:
                number += 1
                form.question(question).write(out, question, form.legend(number))
            out.append(_SCENARIO_END)
        else:
            number += 1
            form.question(entry).write(out, entry, form.legend(number))
    out += (form.tail, json_for_script(data), form.end)
    return "".join(out)

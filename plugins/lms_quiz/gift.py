"""Moodle's GIFT question format: import into a Quiz, export a Quiz.

GIFT is how question banks move in and out of Moodle, so trainers arrive with
years of questions in it.  The importer reads GIFT the way Moodle's own
``question/format/gift/format.php`` does (same type detection, same escapes,
same weights) so a file means here what it meant there; where our model
cannot hold a question, the question is reported with its ``file:line:col``
and a reason, never dropped silently.

Decisions (the guide, ``docs/authoring-quizzes.md``, has the short version):

* **Input**: UTF-8 (a BOM is removed), any line ending; text with NUL bytes is
  refused as binary in one problem.  Questions are separated by blank lines;
  a line starting ``//`` is a comment, and ``// ## end`` also ends a case
  study (below).  GIFT indentation is dropped (in Markdown it would mean code).
* **Categories**: ``$CATEGORY: $course$/top/Luật/Điều 4`` tags the questions
  after it with the slug of the *last* path segment (``dieu-4``); ``$…$``
  contexts and ``top`` are skipped, and a last segment equal to the quiz id
  gives no tag (the exporter puts untagged questions there).  The full path is
  not kept: tags are short words for ``draw=``.  Unlike Moodle, a
  ``$CATEGORY:`` line is read on its own even when a question follows it
  without a blank line.
* **Titles** ``::…::`` become question ids (slug, made unique with ``-2``…);
  untitled questions keep the default ``q1``, ``q2``… (their position).
* **Formats**: ``[markdown]``, ``[plain]`` and ``[moodle]`` text is kept as
  it is; ``[html]`` is converted to text with :mod:`html.parser` (paragraphs,
  line breaks, list items, bold, italic and http(s) links become Markdown;
  images, media and scripts are removed, with a warning).  Nothing of the
  HTML survives as markup.
* **Types** are detected as Moodle does: true/false (``T``, ``TRUE``, ``F``,
  ``FALSE``, case-sensitive; ``#wrong#right`` feedback); multiple choice
  (with ``=``: single choice, weights on the other answers kept as credits;
  without: multiple answers, weights as credits, and the plain ±1/R pattern
  read as our default rule); short answer (weights as credits, even when the
  answers look like numbers); numeric (``3.14:0.01``, ``1..5``, weighted
  alternatives; the source is written ``3.14 ± 0.01``); matching (``= -> x``
  is an extra wrong choice; pairs ``1 -> …``, ``2 -> …`` in order are read as
  ordering, which is how the exporter writes ordering).
* **Missing word** (text after ``}``): short answers without weights or
  feedback become fill-in-the-blanks with one gap; everything else keeps its
  type, with ``_____`` in the prompt where the answers were.
* **Descriptions** (no braces) become a case study: the first line is its
  title, the rest its description, and it holds the questions after it up to
  the next description, ``$CATEGORY:`` or ``// ## end``, with a warning so the
  author checks the grouping.  A description with no question after it is
  skipped ("copy its text into the lesson").  Case studies are ``s1``,
  ``s2``… (the quiz syntax has no other ids for them).
* **Essays** (``{}``) have no automatic marking: skipped with their line.
* **Lossy on import**, with a warning: numeric feedback for any other answer
  (``~#…``), Moodle's catch-all numeric answer ``*``, HTML images.
* Every imported quiz is in the form the Markdown writer writes and the parser
  reads back unchanged (lines that would read as syntax escaped, see
  :func:`lms_quiz.write.protect_lines`).

The exporter titles each question with its id, writes every text as
``[markdown]`` (our texts are Markdown) and lists what GIFT cannot carry in
``GiftExport.lost``: points, hints, tags after the first, ``shuffle: no``,
fixed options, all-or-nothing scoring (written as partial weights),
``match: ignore-accents``, quiz settings.  Tags become ``$CATEGORY:
$course$/top/<quiz id>/<tag>``.  Multiple choice without credits is written
with the weights of our default rule (±100/R %).  Ordering is written as
matching ``1 -> first item`` (Moodle grades it the same way).
Fill-in-the-blanks with one gap is written in the missing-word form; with
more gaps it is skipped (GIFT has one answer set per question).  A case study
is written as a GIFT description, its questions, then ``// ## end``, a comment
Moodle ignores.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import NoReturn

from pydantic import ValidationError

from lms_core.errors import LmsError, Problem
from lms_core.exercises import check_id
from lms_core.text import fold, nfc
from lms_quiz.grading import parse_number
from lms_quiz.model import (
    AcceptedAnswer,
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
from lms_quiz.write import (
    BLANK,
    answer_text,
    credit_text,
    gap_id,
    item_id,
    numeric_range,
    one_line,
    option_id,
    pair_id,
    protect_lines,
    question_id,
    scenario_id,
)

__all__ = [
    "GiftExport",
    "GiftImport",
    "ImportResult",
    "export_gift",
    "import_gift",
    "slugify",
]

# ------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import (GIFT or Aiken) produced.

    ``quiz`` is None when no question could be converted.  ``skipped`` lists
    the questions that were not converted, each located at ``file:line:col``
    with the reason; ``warnings`` lists questions converted with a loss (or a
    guess) that the author should look at.  Together they account for every
    question of the input.
    """

    quiz: Quiz | None
    skipped: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


GiftImport = ImportResult
"""The name the GIFT importer's result had first; the type is shared with Aiken."""


@dataclass(frozen=True, slots=True)
class GiftExport:
    """A quiz as GIFT text.

    ``skipped`` names the questions GIFT cannot express at all (not written);
    ``lost`` names what was written with a loss (points, hints…).  Both are
    readable sentences starting with the question id.
    """

    text: str
    skipped: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ messages

_MESSAGES: dict[str, tuple[str, str]] = {
    "binary": (
        "the file contains binary data (NUL bytes); it is not a GIFT text file",
        "tệp chứa dữ liệu nhị phân (byte NUL), không phải tệp văn bản GIFT",
    ),
    "binary.hint": ("save the questions as UTF-8 text", "hãy lưu câu hỏi dạng văn bản UTF-8"),
    "title_unclosed": (
        "the title '::…' is not closed with '::'",
        "tiêu đề '::…' chưa được đóng bằng '::'",
    ),
    "title_unclosed.hint": (
        "write ::title:: before the question text; a literal colon is written \\:",
        "hãy viết ::tiêu đề:: trước nội dung câu hỏi; dấu hai chấm thường viết là \\:",
    ),
    "brace_unclosed": ("'{' is not closed with '}'", "dấu '{' chưa được đóng bằng '}'"),
    "brace_unclosed.hint": (
        "close the answers with '}'; a blank line ends a question in GIFT (write \\n for a "
        "line break); a literal brace is written \\{",
        "hãy đóng phần đáp án bằng '}'; trong GIFT một dòng trống kết thúc câu hỏi (xuống "
        "dòng thì viết \\n); dấu ngoặc thường viết là \\{",
    ),
    "brace_stray": ("'}' without a '{' before it", "dấu '}' không có '{' đi trước"),
    "brace_stray.hint": (
        "a literal brace is written \\}",
        "dấu ngoặc thường viết là \\}",
    ),
    "brace_nested": (
        "a second '{' inside the answers",
        "có thêm một dấu '{' bên trong phần đáp án",
    ),
    "brace_twice": (
        "a second answer set '{…}': GIFT allows one per question",
        "có hai phần đáp án '{…}': GIFT chỉ cho phép một phần cho mỗi câu hỏi",
    ),
    "brace_twice.hint": (
        "escape literal braces as \\{ and \\}, or split the question",
        "dấu ngoặc thường viết là \\{ và \\}, hoặc tách thành hai câu hỏi",
    ),
    "essay": (
        "essay question ('{}'): it has no automatic marking and is not converted",
        "câu hỏi tự luận ('{}'): không chấm tự động được nên không được chuyển đổi",
    ),
    "essay.hint": (
        "mark essays outside the quiz, or rewrite it as a short-answer question",
        "hãy chấm bài tự luận ngoài quiz, hoặc viết lại thành câu trả lời ngắn",
    ),
    "description_alone": (
        "description with no question after it: not converted",
        "đoạn mô tả không có câu hỏi nào đi sau: không được chuyển đổi",
    ),
    "description_alone.hint": (
        "copy its text into the lesson",
        "hãy chép nội dung của nó vào bài học",
    ),
    "description_scenario": (
        "description converted to a case study holding the {count} question(s) after it",
        "đoạn mô tả được chuyển thành tình huống gồm {count} câu hỏi đi sau nó",
    ),
    "description_scenario.hint": (
        "if it is not a case study, move its text into the lesson; in GIFT a comment line "
        "'// ## end' ends a case study",
        "nếu đây không phải tình huống, hãy chuyển nội dung vào bài học; trong GIFT dòng "
        "chú thích '// ## end' kết thúc một tình huống",
    ),
    "empty_prompt": ("the question has no text", "câu hỏi chưa có nội dung"),
    "empty_prompt.hint": (
        "write the question before the answers '{…}'",
        "hãy viết nội dung câu hỏi trước phần đáp án '{…}'",
    ),
    "few_options": (
        "a multiple-choice question needs at least 2 answers; this one has {count}",
        "câu hỏi trắc nghiệm cần ít nhất 2 phương án; câu này có {count}",
    ),
    "few_options.hint": (
        "add answers: =right ~wrong",
        "hãy thêm phương án: =đúng ~sai",
    ),
    "option_empty": ("an answer has no text", "có phương án chưa có nội dung"),
    "option_empty.hint": (
        "write the text after '=' or '~'; a literal '=' or '~' is written \\= or \\~",
        "hãy viết nội dung sau '=' hoặc '~'; dấu '=' hay '~' thường viết là \\= hoặc \\~",
    ),
    "option_duplicate": ("answer '{text}' is written twice", "phương án '{text}' bị lặp lại"),
    "option_duplicate.hint": (
        "remove one of the two or reword it",
        "hãy xóa hoặc sửa lại một trong hai",
    ),
    "no_right": ("no answer is right", "không có phương án nào đúng"),
    "no_right.hint": (
        "mark the right answer with '=', or give weights to several: ~%50%a ~%50%b",
        "hãy đánh dấu phương án đúng bằng '=', hoặc cho điểm nhiều phương án: ~%50%a ~%50%b",
    ),
    "weights_sum": (
        "the positive weights add up to {total}%, so full marks are impossible",
        "tổng các trọng số dương chỉ là {total}%, nên không thể đạt điểm tối đa",
    ),
    "weights_sum.hint": (
        "make the weights of the right answers add up to 100%",
        "hãy sửa trọng số của các phương án đúng để tổng bằng 100%",
    ),
    "weight_range": (
        "weight {value}% is outside {low}%..100%",
        "trọng số {value}% nằm ngoài khoảng {low}%..100%",
    ),
    "weight_range.hint": ("e.g. ~%50%answer", "ví dụ ~%50%phương án"),
    "pair_arrow": (
        "matching answer '{text}' has no '->'",
        "vế nối '{text}' thiếu dấu '->'",
    ),
    "pair_arrow.hint": (
        "write =left -> right; '= -> right' adds an extra wrong choice",
        "hãy viết =vế trái -> vế phải; '= -> vế phải' là một lựa chọn gây nhiễu",
    ),
    "matching_few": (
        "a matching question needs at least 2 pairs with a left side; this one has {count}",
        "câu hỏi nối cần ít nhất 2 cặp có vế trái; câu này có {count}",
    ),
    "matching_few.hint": ("add pairs: =left -> right", "hãy thêm cặp: =vế trái -> vế phải"),
    "numeric_invalid": ("'{value}' is not a number", "'{value}' không phải là số"),
    "numeric_invalid.hint": (
        "numeric answers are written {#3.14:0.01}, {#1..5} or {#=2:0 =%50%3:1}",
        "đáp án dạng số viết là {#3.14:0.01}, {#1..5} hoặc {#=2:0 =%50%3:1}",
    ),
    "numeric_tolerance": (
        "the tolerance in '{value}' is negative",
        "sai số trong '{value}' là số âm",
    ),
    "numeric_tolerance.hint": ("write it without a sign: 3.14:0.01", "hãy ghi sai số không dấu"),
    "numeric_range": (
        "the range '{value}' goes from high to low",
        "khoảng '{value}' bị ngược (số đầu lớn hơn số sau)",
    ),
    "numeric_range.hint": ("write the smaller number first: 1..5", "hãy ghi số nhỏ trước: 1..5"),
    "numeric_none": ("a numeric question without answers", "câu hỏi dạng số chưa có đáp án"),
    "numeric_none.hint": ("e.g. {#3.14:0.01}", "ví dụ {#3.14:0.01}"),
    "answer_empty": ("an accepted answer is empty", "có đáp án bị để trống"),
    "answer_empty.hint": (
        "write the answer after '='; a literal '=' is written \\=",
        "hãy ghi đáp án sau dấu '='; dấu '=' thường viết là \\=",
    ),
    "model_invalid": (
        "this question cannot be stored: {detail}",
        "không lưu được câu hỏi này: {detail}",
    ),
    "model_invalid.hint": (
        "check the question's answers",
        "hãy kiểm tra lại các đáp án của câu hỏi",
    ),
    "html_dropped": (
        "HTML converted to text; removed: {tags}",
        "HTML đã được chuyển thành văn bản; đã bỏ: {tags}",
    ),
    "html_dropped.hint": (
        "add images to the lesson as Markdown: ![description](images/file.png)",
        "hãy thêm hình vào bài học bằng Markdown: ![mô tả](images/tep.png)",
    ),
    "numeric_other_feedback": (
        "feedback for any other answer ('~…') is not kept",
        "phản hồi cho các đáp án khác ('~…') không được giữ lại",
    ),
    "numeric_other_feedback.hint": (
        "put it in the general feedback (####…)",
        "hãy đưa nó vào phản hồi chung (####…)",
    ),
    "numeric_star": (
        "the catch-all answer '*' is not kept",
        "đáp án '*' (mọi câu trả lời khác) không được giữ lại",
    ),
    "no_full_credit": (
        "no answer earns full marks",
        "không có đáp án nào được điểm tối đa",
    ),
    "no_full_credit.hint": (
        "give one answer 100% (a plain '=')",
        "hãy cho một đáp án 100% (chỉ ghi '=')",
    ),
    "weights_over": (
        "the positive weights add up to {total}%: full marks come before every right answer "
        "is ticked",
        "tổng các trọng số dương là {total}%: chưa chọn hết đáp án đúng đã đạt điểm tối đa",
    ),
}


def _msg(key: str, language: str, **fields: object) -> str:
    english, vietnamese = _MESSAGES[key]
    template = vietnamese if language == "vi" else english
    # Templates without fields are literal (several show GIFT braces: '{}', {#1..5}).
    return template.format(**fields) if fields else template


def _hint(key: str, language: str) -> str:
    return _msg(key + ".hint", language) if key + ".hint" in _MESSAGES else ""


# ------------------------------------------------------------------ slugs


_SLUG_DROP = re.compile(r"[^a-z0-9_-]+")
_DASHES = re.compile(r"-{2,}")


def slugify(text: str) -> str:
    """An id from free text: ``"Câu 1: Luật Trẻ em"`` → ``cau-1-luat-tre-em``.

    Accents are removed (``đ`` → ``d``), anything but letters, digits, ``-``
    and ``_`` becomes ``-``; at most 64 characters; may be empty.
    """
    slug = _SLUG_DROP.sub("-", fold(nfc(text)))
    slug = _DASHES.sub("-", slug).strip("-_")
    return slug[:64].rstrip("-_")


# ------------------------------------------------------------------ escapes

_ESCAPABLE = {
    "~": "\ue000",
    "=": "\ue001",
    "#": "\ue002",
    "{": "\ue003",
    "}": "\ue004",
    ":": "\ue005",
    "n": "\ue006",
    "\\": "\ue007",
}
_UNESCAPE = str.maketrans(
    {
        "\ue000": "~",
        "\ue001": "=",
        "\ue002": "#",
        "\ue003": "{",
        "\ue004": "}",
        "\ue005": ":",
        "\ue006": "\n",
        "\ue007": "\\",
    }
)
_MARK = "\ue00f"
"""Where the answers of a missing-word question were, while the prompt is converted."""


class _Skip(Exception):  # noqa: N818 - a control-flow signal, not an error type
    """Raised inside the reader to skip one question, with where and why."""

    def __init__(self, index: int, key: str, **fields: object) -> None:
        super().__init__(key)
        self.index = index
        self.key = key
        self.fields = fields


@dataclass(slots=True)
class _Block:
    """One blank-line separated chunk, escapes replaced, each char's (line, col) kept."""

    text: str
    where: list[tuple[int, int]]
    line: int

    def at(self, index: int) -> tuple[int, int]:
        if not self.where:
            return self.line, 1
        index = max(0, min(index, len(self.where) - 1))
        return self.where[index]


def _encode(lines: Sequence[tuple[int, str]]) -> _Block:
    """Join lines, replacing GIFT escapes with placeholders (as Moodle does)."""
    chars: list[str] = []
    where: list[tuple[int, int]] = []
    for number, (line_no, line) in enumerate(lines):
        if number:
            chars.append("\n")
            where.append((line_no, 1))
        col = 0
        while col < len(line):
            ch = line[col]
            if ch == "\\" and col + 1 < len(line) and line[col + 1] in _ESCAPABLE:
                chars.append(_ESCAPABLE[line[col + 1]])
                where.append((line_no, col + 1))
                col += 2
                continue
            chars.append(ch)
            where.append((line_no, col + 1))
            col += 1
    return _Block("".join(chars), where, lines[0][0] if lines else 0)


def _decode(text: str) -> str:
    return text.translate(_UNESCAPE)


# ------------------------------------------------------------------ HTML to text


class _HtmlToText(HTMLParser):
    """HTML (Moodle's ``[html]`` texts) to Markdown-ish text; nothing executable survives.

    Only text nodes are kept, with paragraphs, line breaks, list items, bold,
    italic and http(s) links expressed in Markdown.  Images, media, scripts and
    styles are removed and named in ``dropped`` so the importer can warn.
    """

    _BLOCKS = frozenset(
        {"p", "div", "ul", "ol", "table", "tr", "blockquote", "pre", "hr", "section"}
        | {f"h{n}" for n in range(1, 7)}
    )
    _SKIP = frozenset({"script", "style", "head", "title", "template"})
    _MEDIA = frozenset({"img", "video", "audio", "iframe", "object", "embed", "svg", "math"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.dropped: set[str] = set()
        self.open: dict[str, int] = {}
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
            self.dropped.add(tag)
        elif tag in self._MEDIA:
            self.dropped.add(tag)
        elif tag == "br":
            self.parts.append("\n")
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n* ")
        elif tag in ("b", "strong", "i", "em"):
            self.open[tag] = self.open.get(tag, 0) + 1
            self.parts.append("**" if tag in ("b", "strong") else "*")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            ok = href.startswith(("http://", "https://")) and not re.search(r"[\s()<>]", href)
            self.links.append(href if ok else None)
            if ok:
                self.parts.append("[")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BLOCKS or tag == "li":
            self.parts.append("\n\n" if tag != "li" else "\n")
        elif tag in ("b", "strong", "i", "em") and self.open.get(tag):
            self.open[tag] -= 1
            self.parts.append("**" if tag in ("b", "strong") else "*")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.parts.append(f"]({href})")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = [line.strip() for line in "".join(self.parts).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _html_to_text(html: str) -> tuple[str, set[str]]:
    parser = _HtmlToText()
    parser.feed(html)
    parser.close()
    return parser.text(), parser.dropped


# ------------------------------------------------------------------ reading questions

_FORMAT = re.compile(r"\[(html|moodle|plain|markdown)\]")
_WEIGHT = re.compile(r"%(-?\d+(?:[.,]\d*)?)%")
_CATEGORY = "$CATEGORY:"
_END_MARKER = re.compile(r"//\s*##\s*end\s*$", re.IGNORECASE)
_TF = {"T": True, "TRUE": True, "F": False, "FALSE": False}


@dataclass(slots=True)
class _Draft:
    """A question read from GIFT, before ids are given out."""

    question: Question
    slug: str
    line: int


@dataclass(slots=True)
class _Description:
    """A GIFT description: the start of a case study."""

    title: str
    description: str
    slug: str
    line: int
    column: int
    questions: list[_Draft] = field(default_factory=list)


_Item = _Draft | _Description | str | None
"""Pass 1's output: a question, a description, a category change (str) or an end marker."""


@dataclass(slots=True)
class _Reader:
    """State of one import: where we are, what was skipped, what was lost."""

    file: str
    language: str
    skipped: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def warn(self, block: _Block, index: int, key: str, **fields: object) -> None:
        line, col = block.at(index)
        self.warnings.append(
            Problem(
                self.file,
                line,
                col,
                _msg(key, self.language, **fields),
                _hint(key, self.language),
                severity="warning",
            )
        )

    def skip(self, line: int, col: int, key: str, **fields: object) -> None:
        self.skipped.append(
            Problem(
                self.file, line, col, _msg(key, self.language, **fields), _hint(key, self.language)
            )
        )


def _fail(index: int, key: str, **fields: object) -> NoReturn:
    raise _Skip(index, key, **fields)


@dataclass(slots=True)
class _Text:
    """Converts raw (encoded) pieces of one question to our Markdown, noting losses."""

    fmt: str
    dropped: set[str] = field(default_factory=set)

    def convert(self, raw: str, *, prefix: bool = True) -> str:
        """Decode escapes, apply a ``[format]`` prefix or the question's, NFC, strip.

        ``prefix`` False: the question's own prefix was already taken off (a
        second ``[html]`` is then text, as in Moodle).
        """
        raw = raw.strip()
        fmt = self.fmt
        match = _FORMAT.match(raw) if prefix else None
        if match:
            fmt = match.group(1)
            raw = raw[match.end() :]
        text = _decode(raw)
        if fmt == "html":
            text, dropped = _html_to_text(text)
            self.dropped |= dropped
        return nfc(text).strip()

    def line(self, raw: str) -> str:
        """A one-line field (feedback, pair side…)."""
        return one_line(self.convert(raw))

    def answer(self, raw: str) -> str:
        """An option or accepted answer, escaped as the writer would write it."""
        return answer_text(self.convert(raw))


def _tidy(text: str) -> str:
    """Multi-line text from GIFT: lines stripped (GIFT indents for readability, and
    indentation means code in Markdown), at most one blank line in a row."""
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _split_parts(text: str, markers: str) -> list[tuple[int, str, str]]:
    """Split answers at each marker char: ``(offset of the marker, marker, text after it)``.

    Text before the first marker is a part with marker ``""`` (and the offset
    of its text) when it is not blank: Moodle reads ``{a =b}`` as two answers.
    """
    parts: list[tuple[int, str, str]] = []
    start, marker = 0, ""
    for index, ch in enumerate(text):
        if ch in markers:
            if marker or text[start:index].strip():
                parts.append((start - 1 if marker else start, marker, text[start:index]))
            start, marker = index + 1, ch
    if marker or text[start:].strip():
        parts.append((start - 1 if marker else start, marker, text[start:]))
    return parts


def _weight(text: str, offset: int, *, low: float) -> tuple[float | None, str]:
    """A leading ``%50%`` weight as a fraction, and the text after it."""
    stripped = text.lstrip()
    match = _WEIGHT.match(stripped)
    if not match:
        return None, text
    value = float(match.group(1).replace(",", "."))
    if not low * 100 <= value <= 100:
        _fail(offset, "weight_range", value=match.group(1), low=int(low * 100))
    return value / 100, stripped[match.end() :]


def _comment(text: str) -> tuple[str, str]:
    """``answer#feedback`` split at the first ``#``."""
    answer, _, feedback = text.partition("#")
    return answer, feedback


@dataclass(slots=True)
class _Parsed:
    """The pieces of one question block."""

    block: _Block
    start: int
    title: str | None
    fmt: str
    before: str
    answers: str
    answers_at: int
    after: str
    general: str


def _read_question(block: _Block) -> _Parsed:
    """Split a block into title, text and answers (``answers_at`` -1: a description)."""
    s = block.text
    i = len(s) - len(s.lstrip())
    title: str | None = None
    if s.startswith("::", i):
        close = s.find("::", i + 2)
        if close < 0:
            _fail(i, "title_unclosed")
        title = _decode(s[i + 2 : close]).strip()
        i = close + 2
        i += len(s[i:]) - len(s[i:].lstrip())
    open_ = s.find("{", i)
    close_ = s.find("}", i)
    fmt = "moodle"
    match = _FORMAT.match(s, i)
    if match:
        fmt = match.group(1)
    if open_ < 0 and close_ < 0:
        return _Parsed(block, i, title, fmt, s[i:], "", -1, "", "")
    if open_ < 0:
        _fail(close_, "brace_stray")
    if close_ < 0:
        _fail(open_, "brace_unclosed")
    if close_ < open_:
        _fail(close_, "brace_stray")
    nested = s.find("{", open_ + 1, close_)
    if nested >= 0:
        _fail(nested, "brace_nested")
    for ch in "{}":
        again = s.find(ch, close_ + 1)
        if again >= 0:
            _fail(again, "brace_twice")
    answers = s[open_ + 1 : close_]
    general = ""
    gf = answers.rfind("####")
    if gf >= 0:
        general = answers[gf + 4 :]
        answers = answers[:gf]
    return _Parsed(block, i, title, fmt, s[i:open_], answers, open_ + 1, s[close_ + 1 :], general)


class _QuestionBuilder:
    """Turns a :class:`_Parsed` block into one of our question models."""

    def __init__(self, parsed: _Parsed, reader: _Reader) -> None:
        self.p = parsed
        self.reader = reader
        self.text = _Text(parsed.fmt)
        self.missing_word = bool(parsed.after.strip())
        self.general = self.text.line(parsed.general)

    # -- prompt ------------------------------------------------------------

    def _prompt_raw(self) -> str:
        before = self.p.before
        match = _FORMAT.match(before)
        if match:
            before = before[match.end() :]
        if self.missing_word:
            return before + _MARK + self.p.after
        return before

    def prompt(self) -> str:
        """The prompt; for missing-word questions ``_____`` where the answers were."""
        text = _tidy(self.text.convert(self._prompt_raw(), prefix=False))
        head, mark, tail = text.partition(_MARK)
        if mark and not tail.strip():  # the text after the answers was only markup
            text = head
        if not text.replace(_MARK, "").strip():
            _fail(self.p.start, "empty_prompt")
        return protect_lines(text.replace(_MARK, BLANK))

    def segments(self) -> list[str]:
        """Text before and after the gap, protected as the writer would write them."""
        text = _tidy(self.text.convert(self._prompt_raw(), prefix=False))
        if not text.replace(_MARK, "").strip():
            _fail(self.p.start, "empty_prompt")
        # Protect the whole prompt (the mark stands where the gap goes), then split,
        # trimmed as the parser trims the text around gaps.
        first, _, second = protect_lines(text).partition(_MARK)
        return [first.lstrip(), second.rstrip()]

    # -- types -------------------------------------------------------------

    def build(self) -> Question:
        answers = self.p.answers.strip()
        if answers.startswith("#"):
            return self.numeric()
        if "~" in answers:
            return self.choice()
        if "=" in answers and "->" in answers:
            return self.matching()
        tf = answers.split("#", 1)[0].strip() if "#" in answers else answers
        if tf in _TF:
            return self.truefalse()
        return self.short()

    def truefalse(self) -> TrueFalse:
        parts = self.p.answers.strip().split("#", 2)
        value = _TF[parts[0].strip()]
        wrong = self.text.line(parts[1]) if len(parts) > 1 else ""
        right = self.text.line(parts[2]) if len(parts) > 2 else ""
        return TrueFalse(
            id="x",
            prompt=self.prompt(),
            answer=value,
            feedback_true=right if value else wrong,
            feedback_false=wrong if value else right,
            feedback=self.general,
        )

    def choice(self) -> SingleChoice | MultipleChoice:
        raw = self.p.answers
        single = "=" in raw
        parts = _split_parts(raw, "~=")
        if len(parts) < 2:
            _fail(self.p.answers_at, "few_options", count=len(parts))
        prompt = self.prompt()
        options: list[Option] = []
        weights: list[float] = []
        seen: set[str] = set()
        for offset, marker, part in parts:
            at = self.p.answers_at + offset
            if marker == "=":
                weight: float | None = 1.0
                body = part
            else:
                weight, body = _weight(part, at, low=-1.0)
            answer, feedback = _comment(body)
            text = self.text.answer(answer)
            if not text:
                _fail(at, "option_empty")
            folded = " ".join(text.casefold().split())
            if folded in seen:  # the quiz syntax refuses the same option twice
                _fail(at, "option_duplicate", text=text)
            seen.add(folded)
            weights.append(weight or 0.0)
            options.append(
                Option(
                    id=option_id(len(options) + 1),
                    text=text,
                    correct=marker == "=",
                    feedback=self.text.line(feedback),
                )
            )
        if single:
            first = next(i for i, (_, m, _) in enumerate(parts) if m == "=")
            fixed = []
            for index, (option, weight) in enumerate(zip(options, weights, strict=True)):
                if index == first:
                    fixed.append(option)
                else:
                    credit = weight if weight else None
                    fixed.append(option.model_copy(update={"correct": False, "credit": credit}))
            return SingleChoice(id="x", prompt=prompt, options=fixed, feedback=self.general)
        return self._multiple(prompt, options, weights)

    def _multiple(self, prompt: str, options: list[Option], weights: list[float]) -> MultipleChoice:
        right = [w for w in weights if w > 0]
        if not right:
            _fail(self.p.answers_at, "no_right")
        total = sum(right) * 100
        shown = f"{total:.6g}"
        if total < 99.5:  # the parser's limit: full marks must be possible
            _fail(self.p.answers_at, "weights_sum", total=shown)
        if total > 100.01:
            self.reader.warn(self.p.block, self.p.answers_at, "weights_over", total=shown)
        r = len(right)
        default = all(math.isclose(w, 1 / r if w > 0 else -1 / r, abs_tol=5e-6) for w in weights)
        out = []
        for option, weight in zip(options, weights, strict=True):
            credit = None if default or weight == 0 else weight
            out.append(option.model_copy(update={"correct": weight > 0, "credit": credit}))
        return MultipleChoice(id="x", prompt=prompt, options=out, feedback=self.general)

    def matching(self) -> Matching | Ordering:
        parts = _split_parts(self.p.answers, "=")
        pairs: list[Pair] = []
        for offset, _, part in parts:
            at = self.p.answers_at + offset
            if "->" not in part:
                _fail(at, "pair_arrow", text=one_line(_decode(part)))
            left, _, right = part.partition("->")
            pairs.append(
                Pair(
                    id=pair_id(len(pairs) + 1),
                    left=self.text.line(left),
                    right=self.text.line(right),
                )
            )
            if not pairs[-1].right:
                _fail(at, "option_empty")
        real = [p for p in pairs if p.left]
        if len(real) < 2:
            _fail(self.p.answers_at, "matching_few", count=len(real))
        prompt = self.prompt()
        if [p.left for p in pairs] == [str(n) for n in range(1, len(pairs) + 1)]:
            items = [Item(id=item_id(n), text=p.right) for n, p in enumerate(pairs, 1)]
            return Ordering(id="x", prompt=prompt, items=items, feedback=self.general)
        return Matching(id="x", prompt=prompt, pairs=pairs, feedback=self.general)

    def short(self) -> ShortAnswer | Numeric | FillBlanks:
        parts = _split_parts(self.p.answers, "=")
        accepted: list[AcceptedAnswer] = []
        for offset, _, part in parts:
            at = self.p.answers_at + offset
            weight, body = _weight(part, at, low=0.0)
            answer, feedback = _comment(body)
            text = self.text.line(answer)
            if not text:
                _fail(at, "answer_empty")
            accepted.append(
                AcceptedAnswer(
                    text=text,
                    credit=1.0 if weight is None else weight,
                    feedback=self.text.line(feedback),
                )
            )
        if not accepted:
            _fail(self.p.answers_at, "answer_empty")
        plain = all(a.credit == 1.0 and not a.feedback for a in accepted)
        gap_safe = all(_fits_a_gap(a.text) for a in accepted)
        segments = self.segments() if self.missing_word and plain and gap_safe else []
        if (
            segments
            and segments[1].strip()
            and not segments[0].endswith("[")
            and not segments[1].startswith("]")
        ):
            # (a bracket next to the gap would merge with "[[" or "]]" when written)
            return FillBlanks(
                id="x",
                prompt=BLANK.join(segments),
                segments=segments,
                gaps=[Gap(id=gap_id(1), answers=[a.text for a in accepted])],
                feedback=self.general,
            )
        if not any(a.credit == 1.0 for a in accepted):
            self.reader.warn(self.p.block, self.p.answers_at, "no_full_credit")
        # An answer starting like a credit ({5}…) is escaped as the writer escapes it.
        accepted = [a.model_copy(update={"text": answer_text(a.text)}) for a in accepted]
        return ShortAnswer(id="x", prompt=self.prompt(), answers=accepted, feedback=self.general)

    def numeric(self) -> Numeric:
        raw = self.p.answers
        start = raw.index("#") + 1
        body = raw[start:]
        other = body.find("~")
        if other >= 0:
            self.reader.warn(
                self.p.block, self.p.answers_at + start + other, "numeric_other_feedback"
            )
            body = body[:other]
        answers: list[NumericAnswer] = []
        for offset, _, part in _split_parts(body, "="):
            at = self.p.answers_at + start + offset
            weight, rest = _weight(part, at, low=0.0)
            value_raw, feedback = _comment(rest)
            value = _decode(value_raw).strip()
            if value == "*":
                self.reader.warn(self.p.block, at, "numeric_star")
                continue
            low, high, source = _numeric_value(value, at)
            answers.append(
                NumericAnswer(
                    low=low,
                    high=high,
                    source=source,
                    credit=1.0 if weight is None else weight,
                    feedback=self.text.line(feedback),
                )
            )
        if not answers:
            _fail(self.p.answers_at, "numeric_none")
        if not any(a.credit == 1.0 for a in answers):
            self.reader.warn(self.p.block, self.p.answers_at, "no_full_credit")
        return Numeric(id="x", prompt=self.prompt(), answers=answers, feedback=self.general)


def _fits_a_gap(answer: str) -> bool:
    """Whether ``answer`` can be written inside ``[[…]]`` and read back unchanged."""
    return not (
        "|" in answer
        or "[[" in answer
        or "]]" in answer
        or answer.startswith("[")
        or answer.endswith("]")
    )


def _number(text: str, at: int, whole: str) -> float:
    value = parse_number(text)
    if value is None:
        _fail(at, "numeric_invalid", value=whole)
    return value


def _numeric_value(value: str, at: int) -> tuple[float, float, str]:
    """``3.14:0.01`` / ``1..5`` / ``2`` → (low, high, source in our syntax)."""
    if value.find("..") > 0:
        low_text, _, high_text = value.partition("..")
        low = _number(low_text, at, value)
        high = _number(high_text, at, value)
        if low > high:
            _fail(at, "numeric_range", value=value)
        return low, high, f"{low_text.strip()}..{high_text.strip()}"
    if value.find(":") > 0:
        mid_text, _, tol_text = value.partition(":")
        mid = _number(mid_text, at, value)
        tol = _number(tol_text, at, value)
        if tol < 0:
            _fail(at, "numeric_tolerance", value=value)
        return mid - tol, mid + tol, f"{mid_text.strip()} ± {tol_text.strip()}"
    number = _number(value, at, value)
    return number, number, value


# ------------------------------------------------------------------ import


def _split_blocks(text: str) -> list[tuple[str, list[tuple[int, str]]]]:
    """Blank-line separated blocks, comment lines removed; ``("end", …)`` for ``// ## end``."""
    blocks: list[tuple[str, list[tuple[int, str]]]] = []
    current: list[tuple[int, str]] = []

    def flush() -> None:
        if current:
            blocks.append(("text", list(current)))
            current.clear()

    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if stripped.startswith("//"):
            if _END_MARKER.match(stripped):
                flush()
                blocks.append(("end", [(number, line)]))
            continue
        if not stripped:
            flush()
            continue
        if stripped.startswith(_CATEGORY):
            flush()
            blocks.append(("category", [(number, stripped[len(_CATEGORY) :])]))
            continue
        current.append((number, line))
    flush()
    return blocks


def _category_tag(path: str, quiz_id: str) -> str | None:
    segments = [s.strip() for s in _decode(_encode([(0, path)]).text).split("/")]
    meaningful = [s for s in segments if s and s != "top" and not re.fullmatch(r"\$\w*\$", s)]
    if not meaningful:
        return None
    tag = slugify(meaningful[-1])
    return tag if tag and tag != quiz_id else None


def _title_and_description(text: str, language: str) -> tuple[str, str]:
    """A description's first line is the case study's title, the rest its text.

    A first line "end" would read as ``## end`` (the end of a case study), so
    then the title is a generic one and the whole text is the description.
    """
    first, _, rest = _tidy(text).partition("\n")
    title = one_line(first)
    if title.casefold() == "end":
        title = "Tình huống" if language == "vi" else "Case study"
        rest = _tidy(text)
    return title, protect_lines(rest, description=True)


def import_gift(
    text: str,
    *,
    file: str,
    quiz_id: str,
    language: str = "vi",
    graded: bool = False,
) -> ImportResult:
    """Read GIFT ``text`` into one quiz (id ``quiz_id``), reporting what was not converted.

    Never raises on bad input: every question that cannot be converted is in
    ``skipped`` with its line and column, every conversion with a loss in
    ``warnings``.  ``language`` ("vi" or "en") is the language of those
    messages.  Raises :class:`LmsError` only for a ``quiz_id`` that is not a
    valid id, which is the caller's mistake, not the file's.
    """
    if not check_id(quiz_id):
        raise LmsError(
            f"quiz id '{quiz_id}' is not valid: use letters without accents, digits, '-' "
            "and '_' (at most 64), e.g. kiem-tra-1"
        )
    reader = _Reader(file=file, language=language)
    if "\x00" in text:
        reader.skip(0, 0, "binary")
        return ImportResult(None, reader.skipped, reader.warnings)
    text = nfc(text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))
    text = text.translate(dict.fromkeys(_UNESCAPE))  # the placeholders are ours

    # Pass 1: read every block in order.
    items: list[_Item] = []
    tag: str | None = None
    for kind, lines in _split_blocks(text):
        if kind == "end":
            items.append(None)
            continue
        if kind == "category":
            tag = _category_tag(lines[0][1], quiz_id)
            items.append(tag or "")
            continue
        block = _encode(lines)
        try:
            item = _convert(_read_question(block), reader, tag)
        except _Skip as skip:
            line, col = block.at(skip.index)
            reader.skip(line, col, skip.key, **skip.fields)
            continue
        except ValidationError as exc:
            reader.skip(block.line, 1, "model_invalid", detail=_validation_detail(exc))
            continue
        items.append(item)

    # Pass 2: attach questions to case studies.
    entries: list[_Draft | _Description] = []
    open_case: _Description | None = None

    def close() -> None:
        nonlocal open_case
        if open_case is not None:
            if open_case.questions:
                entries.append(open_case)
                reader.warnings.append(
                    Problem(
                        file,
                        open_case.line,
                        open_case.column,
                        _msg("description_scenario", language, count=len(open_case.questions)),
                        _hint("description_scenario", language),
                        severity="warning",
                    )
                )
            else:
                reader.skip(open_case.line, open_case.column, "description_alone")
        open_case = None

    for read in items:
        if read is None or isinstance(read, str):
            close()
        elif isinstance(read, _Description):
            close()
            open_case = read
        elif open_case is not None:
            open_case.questions.append(read)
        else:
            entries.append(read)
    close()
    reader.skipped.sort(key=lambda p: (p.line, p.column))
    reader.warnings.sort(key=lambda p: (p.line, p.column))
    if not entries:
        return ImportResult(None, reader.skipped, reader.warnings)
    quiz = Quiz(id=quiz_id, graded=graded, entries=_assign_ids(entries))
    return ImportResult(quiz, reader.skipped, reader.warnings)


def _validation_detail(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', '')}".strip(": ")


def _convert(parsed: _Parsed, reader: _Reader, tag: str | None) -> _Draft | _Description:
    block = parsed.block
    slug = slugify(parsed.title) if parsed.title else ""
    if parsed.answers_at < 0:  # no braces: a description
        converter = _Text(parsed.fmt)
        body = converter.convert(parsed.before) or (parsed.title or "")
        if converter.dropped:
            tags = ", ".join(sorted(converter.dropped))
            reader.warn(block, parsed.start, "html_dropped", tags=tags)
        if not body.strip():
            _fail(parsed.start, "empty_prompt")
        title, description = _title_and_description(body, reader.language)
        line, col = block.at(parsed.start)
        return _Description(title, description, slug, line, col)
    if not parsed.answers.strip():
        _fail(parsed.answers_at - 1, "essay")
    builder = _QuestionBuilder(parsed, reader)
    question = builder.build()
    if builder.text.dropped:
        reader.warn(
            block, parsed.start, "html_dropped", tags=", ".join(sorted(builder.text.dropped))
        )
    question = question.model_copy(update={"line": block.line, "tags": [tag] if tag else []})
    return _Draft(question, slug, block.line)


def _assign_ids(entries: list[_Draft | _Description]) -> list[Question | Scenario]:
    """Titles become question ids (unique); untitled questions keep ``q<n>``.

    Case studies are always ``s1``, ``s2``… (the quiz syntax has no other ids
    for them), so those are reserved first; a description's own title is not
    kept.  Then titled questions get their slugs, then the others ``q<n>``
    with ``n`` their position, as the parser numbers them.
    """
    taken: set[str] = set()

    def unique(base: str) -> str:
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            suffix = f"-{n}"
            candidate = base[: 64 - len(suffix)] + suffix
        taken.add(candidate)
        return candidate

    chosen: dict[int, str] = {}
    cases = [e for e in entries if isinstance(e, _Description)]
    for number, case in enumerate(cases, 1):
        chosen[id(case)] = unique(scenario_id(number))
    drafts: list[_Draft] = []
    for entry in entries:
        drafts.extend(entry.questions if isinstance(entry, _Description) else [entry])
    for draft in drafts:
        if draft.slug:
            chosen[id(draft)] = unique(draft.slug)
    for number, draft in enumerate(drafts, 1):
        if id(draft) not in chosen:
            chosen[id(draft)] = unique(question_id(number))

    def final(draft: _Draft) -> Question:
        return draft.question.model_copy(update={"id": chosen[id(draft)]})

    out: list[Question | Scenario] = []
    for entry in entries:
        if isinstance(entry, _Description):
            out.append(
                Scenario(
                    id=chosen[id(entry)],
                    title=entry.title,
                    description=entry.description,
                    questions=[final(d) for d in entry.questions],
                    line=entry.line,
                )
            )
        else:
            out.append(final(entry))
    return out


# ------------------------------------------------------------------ export

_GIFT_SPECIALS = str.maketrans(
    {
        "\\": "\\\\",
        "~": "\\~",
        "=": "\\=",
        "#": "\\#",
        "{": "\\{",
        "}": "\\}",
        ":": "\\:",
        "\n": "\\n",
        "\r": "",
    }
)


def _esc(text: str, *, guard: bool = True) -> str:
    """GIFT-escaped text on one line (Moodle's ``repchar``).

    With ``guard``, a text that starts like a format prefix (``[html]…``) gets
    ``[markdown]`` before it, so that it stays text.
    """
    out = text.strip().translate(_GIFT_SPECIALS)
    if guard and _FORMAT.match(out):
        out = "[markdown]" + out
    return out


def _weight_text(fraction: float) -> str:
    return "%" + credit_text(fraction)


def _gift_number(text: str) -> str:
    return text.strip().replace("\u2212", "-").replace(",", ".")


def _numeric_gift(answer: NumericAnswer) -> str:
    """One numeric answer as GIFT ``v``, ``v:t`` or ``a..b``, from the author's source."""
    source = answer.source.strip()
    if numeric_range(source) == (answer.low, answer.high):
        for sign in ("±", "+/-", "+-"):
            if sign in source:
                value, _, tolerance = source.partition(sign)
                return f"{_gift_number(value)}:{_gift_number(tolerance)}"
        if ".." in source:
            low, _, high = source.partition("..")
            return f"{_gift_number(low)}..{_gift_number(high)}"
        return _gift_number(source)
    if answer.low == answer.high:
        return repr(answer.low)
    return f"{answer.low!r}..{answer.high!r}"


class _Exporter:
    def __init__(self, quiz: Quiz) -> None:
        self.quiz = quiz
        self.skipped: list[str] = []
        self.lost: list[str] = []

    def _lose(self, question: Question, what: str) -> None:
        self.lost.append(f"{question.id}: {what}")

    def _common_losses(self, question: Question) -> None:
        if question.points != 1.0:
            self._lose(question, f"points: {question.points:g} not kept (GIFT has no points)")
        if question.hint.strip():
            self._lose(question, "hint not kept (GIFT has no hints)")
        if len(question.tags) > 1:
            extra = ", ".join(question.tags[1:])
            self._lose(question, f"tags {extra} not kept (GIFT has one category per question)")
        if isinstance(question, SingleChoice | MultipleChoice | Matching) and not question.shuffle:
            self._lose(question, "shuffle: no not kept")
        if isinstance(question, SingleChoice | MultipleChoice) and any(
            o.fixed for o in question.options
        ):
            self._lose(question, "fixed option positions not kept")
        if isinstance(question, ShortAnswer | FillBlanks) and question.ignore_accents:
            self._lose(question, "match: ignore-accents not kept (Moodle compares accents)")

    @staticmethod
    def _place(prompt: str, answers: str) -> str:
        """The answer set after the prompt.

        Only fill-in-the-blanks is written in the missing-word form: a
        ``_____`` in another prompt may be the author's own text, and
        ``prompt {answers}`` always reads back the same.
        """
        return f"{_esc(prompt, guard=False)} {answers}"

    def _general(self, question: Question) -> str:
        text = question.feedback.strip()
        return f"\t####{_esc(text)}\n" if text else ""

    def question(self, question: Question) -> str | None:
        """One question as GIFT, or None (with a reason in ``skipped``)."""
        head = f"::{_esc(question.id)}::[markdown]"
        if isinstance(question, TrueFalse):
            right = question.feedback_true if question.answer else question.feedback_false
            wrong = question.feedback_false if question.answer else question.feedback_true
            answers = "TRUE" if question.answer else "FALSE"
            if wrong.strip() or right.strip():
                answers += "#" + _esc(wrong)
            if right.strip():
                answers += "#" + _esc(right)
            if question.feedback.strip():
                answers += "####" + _esc(question.feedback)
            self._common_losses(question)
            return head + self._place(question.prompt, "{" + answers + "}")
        body = self._answers(question)
        if body is None:
            return None
        self._common_losses(question)
        answers = "{\n" + body + self._general(question) + "}"
        if isinstance(question, FillBlanks):
            before, after = question.segments[0], "".join(question.segments[1:])
            if after.strip():  # the missing-word form: the answers where the gap is
                return head + _esc_keep_edges(before) + answers + _esc_keep_edges(after)
            self._lose(question, "the gap ends the text, so it imports back as short answer")
            return head + self._place(before, answers)
        return head + self._place(question.prompt, answers)

    def _answers(self, question: Question) -> str | None:
        lines: list[str] = []
        if isinstance(question, SingleChoice):
            for option in question.options:
                credit = option.credit
                if option.correct and (credit is None or credit == 1.0):
                    mark = "="
                elif credit:
                    mark = "~" + _weight_text(credit)
                    if option.correct:
                        self._lose(question, f"option '{option.text}' is no longer ticked")
                else:
                    mark = "~%0%" if option.text.startswith("%") else "~"
                lines.append(self._option(mark, option.text, option.feedback))
        elif isinstance(question, MultipleChoice):
            ticked = [o for o in question.options if o.correct]
            credits = any(o.credit is not None for o in question.options)
            if not ticked and not credits:
                self.skipped.append(f"{question.id}: no option is right, which GIFT cannot express")
                return None
            if question.scoring == "all-or-nothing":
                self._lose(question, "scoring: all-or-nothing not kept (written as partial)")
            r = len(ticked) or 1
            for option in question.options:
                if option.credit is not None:
                    weight = option.credit
                elif option.correct:
                    weight = 1 / r
                else:
                    weight = 0.0 if credits else -1 / r
                lines.append(self._option("~" + _weight_text(weight), option.text, option.feedback))
        elif isinstance(question, ShortAnswer | FillBlanks):
            if isinstance(question, FillBlanks):
                if len(question.gaps) != 1:
                    self.skipped.append(
                        f"{question.id}: {len(question.gaps)} gaps; GIFT has one answer set "
                        "per question (split it into one question per gap)"
                    )
                    return None
                texts = [(a, 1.0, "") for a in question.gaps[0].answers]
            else:
                texts = [(a.text, a.credit, a.feedback) for a in question.answers]
            for text, credit, feedback in texts:
                if "->" in text:
                    self.skipped.append(
                        f"{question.id}: answer '{text}' contains '->', which GIFT reads as "
                        "matching"
                    )
                    return None
                mark = (
                    "="
                    if credit == 1.0 and not text.startswith("%")
                    else ("=" + _weight_text(credit))
                )
                lines.append(self._option(mark, text, feedback))
            if all(numeric_range(t) is not None for t, _, _ in texts) and isinstance(
                question, ShortAnswer
            ):
                self._lose(question, "every answer is a number: imports back as numeric")
        elif isinstance(question, Numeric):
            for numeric in question.answers:
                mark = "=" if numeric.credit == 1.0 else "=" + _weight_text(numeric.credit)
                value = _numeric_gift(numeric)
                fb = f"#{_esc(numeric.feedback)}" if numeric.feedback.strip() else ""
                lines.append(f"\t{mark}{value}{fb}")
            return "\t#\n" + "\n".join(lines) + "\n"
        elif isinstance(question, Matching | Ordering):
            if isinstance(question, Ordering):
                self._lose(
                    question,
                    "ordering written as matching 'position -> item' (Moodle shows it as "
                    "matching; it imports back here as ordering)",
                )
                pairs = [(str(n), item.text) for n, item in enumerate(question.items, 1)]
            else:
                pairs = [(p.left, p.right) for p in question.pairs]
                if [p[0] for p in pairs] == [str(n) for n in range(1, len(pairs) + 1)]:
                    self._lose(question, "left sides 1, 2, 3… import back as ordering")
            for left, right in pairs:
                if "->" in left:
                    self.skipped.append(
                        f"{question.id}: left side '{left}' contains '->', which GIFT cannot "
                        "express"
                    )
                    return None
                lines.append(f"\t={_esc(left)} -> {_esc(right)}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _option(mark: str, text: str, feedback: str) -> str:
        fb = f"#{_esc(feedback)}" if feedback.strip() else ""
        return f"\t{mark}{_esc(text)}{fb}"


def _esc_keep_edges(text: str) -> str:
    """Escape a missing-word fragment, keeping the spaces next to the answers."""
    core = text.strip()
    if not core:
        return text.translate(_GIFT_SPECIALS)
    lead = text[: len(text) - len(text.lstrip())].translate(_GIFT_SPECIALS)
    trail = text[len(text.rstrip()) :].translate(_GIFT_SPECIALS)
    return lead + _esc(core, guard=False) + trail


def export_gift(quiz: Quiz) -> GiftExport:
    """The quiz as GIFT text that Moodle imports, with what could not be kept.

    Every question is titled with its id (``::q1::``) and written as
    ``[markdown]``; its first tag becomes ``$CATEGORY: $course$/top/<quiz
    id>/<tag>`` (untagged questions go to ``$course$/top/<quiz id>``); a case
    study becomes a description followed by its questions and ``// ## end``.
    """
    exporter = _Exporter(quiz)
    out = [f"// Quiz '{quiz.id}', exported as GIFT (Moodle) by taphuan.", ""]
    base = f"$course$/top/{quiz.id}"
    current: str | None = None
    settings = _quiz_settings(quiz)
    if settings:
        exporter.lost.append(f"{quiz.id}: quiz settings not kept ({settings})")

    def category(question: Question) -> str:
        return f"{base}/{question.tags[0]}" if question.tags else base

    def switch(path: str) -> None:
        nonlocal current
        if path != current:
            out.extend([f"$CATEGORY: {path}", ""])
            current = path

    for entry in quiz.entries:
        if isinstance(entry, Scenario):
            first = entry.questions[0]
            path = category(first)
            for question in entry.questions[1:]:
                if category(question) != path:
                    exporter._lose(
                        question,
                        "tag not kept: a case study's questions share the category of its "
                        "first question",
                    )
            if entry.tags:
                exporter.lost.append(
                    f"{entry.id}: case study tags not kept (its questions' tags are)"
                )
            written = [exporter.question(q) for q in entry.questions]
            if not any(written):
                exporter.skipped.append(f"{entry.id}: no question of the case study is exported")
                continue
            switch(path)
            text = entry.title.strip()
            if entry.description.strip():
                text += "\n" + entry.description.strip()
            out.extend([f"::{_esc(entry.id)}::[markdown]{_esc(text)}", ""])
            for gift in written:
                if gift:
                    out.extend([gift, ""])
            out.extend(["// ## end", ""])
        else:
            gift = exporter.question(entry)
            if gift:
                switch(category(entry))
                out.extend([gift, ""])
    return GiftExport("\n".join(out).rstrip("\n") + "\n", exporter.skipped, exporter.lost)


def _quiz_settings(quiz: Quiz) -> str:
    parts = []
    if quiz.graded:
        parts.append("graded")
    if quiz.pass_mark != 80.0:
        parts.append(f"pass={quiz.pass_mark:g}")
    if quiz.max_attempts:
        parts.append(f"attempts={quiz.max_attempts}")
    if quiz.grading != "highest":
        parts.append(f"grading={quiz.grading}")
    if quiz.time_limit_minutes:
        parts.append(f"time={quiz.time_limit_minutes}")
    if quiz.shuffle_questions or quiz.shuffle_options:
        parts.append("shuffle")
    if quiz.draw:
        parts.append("draw")
    if quiz.title.strip():
        parts.append("title")
    return ", ".join(parts)

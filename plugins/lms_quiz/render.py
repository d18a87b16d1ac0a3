"""HTML for a quiz on the static site: an accessible form built from the public view.

The page is built from :func:`lms_quiz.view.public_view` and nothing else, so
a graded quiz's HTML cannot hold more than the view does (no answer, no
feedback); practice quizzes additionally embed :func:`lms_quiz.view.practice_key`
in the JSON data block so the browser can give feedback offline.

Prompts, options and scenario descriptions are Markdown written by course
authors.  They are rendered by markdown-it-py in CommonMark mode with raw HTML
disabled (``<script>`` typed in a prompt comes out as text) and its default
link validation (no ``javascript:`` URLs); Jinja2 autoescaping covers the rest.
The JSON data block escapes ``<``, ``>`` and ``&`` so no text can close the
``<script>`` element it sits in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from lms_quiz.model import Quiz
from lms_quiz.view import practice_key, public_view

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
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)  # noqa: S704 - '<', '>' and '&' are escaped above


@dataclass(slots=True)
class _Gap:
    input_id: str
    label: str
    gap_id: str


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


def _question(view: dict[str, Any], quiz_id: str, number: int, s: dict[str, str]) -> dict[str, Any]:
    qid = view["id"]
    base = f"quiz-{quiz_id}-{qid}"
    out: dict[str, Any] = {
        "id": qid,
        "kind": view["kind"],
        "dom_id": base,
        "name": f"{quiz_id}--{qid}",
        "legend": s["question"].format(n=number),
        "points": s["point" if view["points"] == 1 else "points"].format(
            points=_points(view["points"])
        ),
        "prompt": markdown_block(view["prompt"]),
        "hint": markdown_block(view["hint"]) if view["hint"] else None,
    }
    kind = view["kind"]
    if kind in ("single", "multiple"):
        out["options"] = [
            {"id": o["id"], "dom_id": f"{base}-{o['id']}", "label": markdown_inline(o["text"])}
            for o in view["options"]
        ]
    elif kind == "truefalse":
        out["options"] = [
            {"id": value, "dom_id": f"{base}-{value}", "label": s[value]}
            for value in ("true", "false")
        ]
    elif kind == "matching":
        out["left"] = [
            {"id": p["id"], "dom_id": f"{base}-{p['id']}", "label": markdown_inline(p["text"])}
            for p in view["left"]
        ]
        out["choices"] = view["right"]
    elif kind == "ordering":
        out["items"] = [
            {
                "id": item["id"],
                "dom_id": f"{base}-{item['id']}",
                "label": markdown_inline(item["text"]),
                "up": s["up"].format(item=item["text"]),
                "down": s["down"].format(item=item["text"]),
            }
            for item in view["items"]
        ]
    elif kind == "blanks":
        gaps = view["gaps"]
        out["pieces"] = _blanks_pieces(view["segments"], len(gaps))
        out["gaps"] = [
            _Gap(f"{base}-{g['id']}", s["gap"].format(n=i + 1), g["id"]) for i, g in enumerate(gaps)
        ]
    return out


def _points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("lms_quiz", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_quiz(quiz: Quiz, *, seed: int, language: str) -> str:
    """The quiz as an HTML form for attempt ``seed``, interface text in ``language``.

    Graded quizzes are rendered from the public view only; the data block
    holds ``{"view": …}`` and, for practice quizzes, ``"key": …`` too.
    """
    s = STRINGS.get(language, STRINGS["vi"])
    lang = language if language in STRINGS else "vi"
    view = public_view(quiz, seed=seed)
    data: dict[str, Any] = {"view": view}
    if not quiz.graded:
        data["key"] = practice_key(quiz, seed=seed)
    number = 0
    entries: list[dict[str, Any]] = []
    for entry in view["entries"]:
        if entry["kind"] == "scenario":
            questions = []
            for q in entry["questions"]:
                number += 1
                questions.append(_question(q, view["id"], number, s))
            entries.append(
                {
                    "kind": "scenario",
                    "dom_id": f"quiz-{view['id']}-{entry['id']}",
                    "title": entry["title"],
                    "description": markdown_block(entry["description"]),
                    "questions": questions,
                }
            )
        else:
            number += 1
            entries.append(_question(entry, view["id"], number, s))
    meta = []
    if view["graded"]:
        meta.append(s["graded"])
        meta.append(s["pass_mark"].format(n=_points(view["pass_mark"])))
    if view["max_attempts"]:
        meta.append(s["attempts"].format(n=view["max_attempts"]))
    if view["time_limit_minutes"]:
        meta.append(s["time_limit"].format(n=view["time_limit_minutes"]))
    template = _environment().get_template("quiz.html")
    return template.render(
        quiz=view,
        lang=lang,
        s=s,
        title=view["title"] or (s["quiz"] if view["graded"] else s["practice"]),
        meta=meta,
        entries=entries,
        data=json_for_script(data),
        submit=s["submit_graded"] if view["graded"] else s["submit_practice"],
    )

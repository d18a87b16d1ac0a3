"""Lesson Markdown to HTML: anchors, relative links, lazy images, exercises by plugins.

One markdown-it-py instance with render rules of our own (the markdown-it
way: parse in rules, render in render rules).  Raw HTML is dropped unless
the project allows a sanitised subset, which then goes through ``nh3``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from lms_core.exercises import Exercise, ExerciseType
from lms_core.text import anchor

LESSON_LINK = re.compile(r"^(\d\d)-([a-z0-9-]+)\.md$")
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}


@dataclass(slots=True)
class RenderedPage:
    """A page's HTML, its table of contents and its plain words (for search)."""

    html: str
    toc: list[tuple[int, str, str]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PageContext:
    """What the render rules need to know about the page being rendered."""

    lesson_pages: Mapping[str, str]
    exercises: Mapping[int, tuple[ExerciseType[Any], Exercise]]
    line_offset: int
    language: str
    seed: int = 0
    toc: list[tuple[int, str, str]] = field(default_factory=list)
    anchors: dict[str, int] = field(default_factory=dict)


def _ctx(env: EnvType) -> PageContext:
    context = env["page"]
    assert isinstance(context, PageContext)
    return context


def _heading_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    text = tokens[idx + 1].content if idx + 1 < len(tokens) else ""
    context = _ctx(env)
    base = anchor(text) or "muc"
    count = context.anchors.get(base, 0)
    context.anchors[base] = count + 1
    ident = base if count == 0 else f"{base}-{count}"
    token.attrSet("id", ident)
    level = int(token.tag[1])
    if level in (2, 3):
        context.toc.append((level, ident, text))
    return self.renderToken(tokens, idx, options, env)


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    path, _, fragment = href.partition("#")
    page = _ctx(env).lesson_pages.get(path)
    if page is not None:
        token.attrSet("href", page + (f"#{fragment}" if fragment else ""))
    elif href.startswith(("http://", "https://")):
        token.attrSet("rel", "noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


def _image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    token.attrSet("loading", "lazy")
    token.attrSet("decoding", "async")
    return str(self.image(tokens, idx, options, env))


def _table_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return '<div class="table-wrap">' + self.renderToken(tokens, idx, options, env)


def _table_close(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return self.renderToken(tokens, idx, options, env) + "</div>"


def _fence(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    context = _ctx(env)
    if token.map is not None:
        found = context.exercises.get(token.map[0] + 1 + context.line_offset)
        if found is not None:
            kind, exercise = found
            return kind.render(exercise, seed=context.seed, language=context.language) + "\n"
    return f"<pre><code>{html.escape(token.content)}</code></pre>\n"


def _html_sanitised(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return nh3.clean(tokens[idx].content, tags=ALLOWED_TAGS, link_rel="noopener noreferrer")


def _html_dropped(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return ""


def make_markdown(*, allow_html: bool) -> MarkdownIt:
    """The site's Markdown renderer (raw HTML dropped, or sanitised when allowed)."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    rules = {
        "heading_open": _heading_open,
        "link_open": _link_open,
        "image": _image,
        "table_open": _table_open,
        "table_close": _table_close,
        "fence": _fence,
        "html_block": _html_sanitised if allow_html else _html_dropped,
        "html_inline": _html_sanitised if allow_html else _html_dropped,
    }
    for name, rule in rules.items():
        md.add_render_rule(name, rule)
    return md


def render_page(
    md: MarkdownIt, text: str, context: PageContext, *, tokens: list[Token] | None = None
) -> RenderedPage:
    """Render one page's Markdown body (from the check's ``tokens`` when given: one parse).

    The check parses with the same configuration ("commonmark", raw HTML as
    tokens, tables), so its tokens render exactly as a fresh parse would.
    """
    env: dict[str, Any] = {"page": context}
    if tokens is None:
        tokens = md.parse(text, env)
    words: list[str] = []
    for token in tokens:
        if token.type == "inline":
            words.extend(token.content.split())
    body = md.renderer.render(tokens, md.options, env)
    return RenderedPage(body, list(context.toc), words)

"""The search index: small, built at build time, searched in the browser.

Words are folded (lower case, accents removed, ``đ`` → ``d``), so "tre em"
finds "trẻ em".  The index maps each folded word to the documents holding it;
the browser intersects the lists of the query's words.  Only lesson text
goes in, never exercise blocks (graded answers must not leak through search).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lms_core.text import fold

_WORD = re.compile(r"[0-9a-z]+")
MIN_LENGTH = 2


def words_of(text: str) -> set[str]:
    """The folded words of ``text`` worth indexing."""
    return {w for w in _WORD.findall(fold(text)) if len(w) >= MIN_LENGTH}


@dataclass(slots=True)
class SearchIndex:
    """Documents (title, url, course title) and folded word → document numbers."""

    docs: list[tuple[str, str, str]] = field(default_factory=list)
    words: dict[str, set[int]] = field(default_factory=dict)

    def add(self, *, title: str, url: str, course: str, text: Iterable[str]) -> None:
        self.add_folded(
            title=title, url=url, course=course, words=words_of(title + " " + " ".join(text))
        )  # one fold per page

    def add_folded(self, *, title: str, url: str, course: str, words: Iterable[str]) -> None:
        """Add a document whose words are already folded (by :func:`words_of`)."""
        number = len(self.docs)
        self.docs.append((title, url, course))
        for word in words:
            self.words.setdefault(word, set()).add(number)

    def to_json(self) -> dict[str, object]:
        """Sorted, so the same site always gives the same bytes."""
        return {
            "docs": [list(doc) for doc in self.docs],
            "words": {w: sorted(self.words[w]) for w in sorted(self.words)},
        }

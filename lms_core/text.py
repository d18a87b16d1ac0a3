"""Text helpers shared by every importer: one normalisation, one "did you mean"."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from lms_core.errors import InputFileError

_SPACES = re.compile(r"\s+")


def nfc(value: str) -> str:
    """NFC-normalise; Vietnamese typed on some keyboards arrives decomposed."""
    return value if value.isascii() else unicodedata.normalize("NFC", value)


def clean(value: str) -> str:
    """NFC, trimmed, inner runs of whitespace collapsed to one space."""
    if not value.isascii():
        value = unicodedata.normalize("NFC", value)
    value = value.strip()
    if "  " in value or "\t" in value or "\n" in value or "\u00a0" in value:
        value = _SPACES.sub(" ", value)
    return value


def fold(value: str) -> str:
    """Lower-case and strip diacritics ("Đồng Hới" -> "dong hoi") for matching."""
    value = unicodedata.normalize("NFD", value.lower()).replace("đ", "d")
    return "".join(ch for ch in value if not unicodedata.combining(ch))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A "did you mean 'x'?" suffix, or an empty string when nothing is close."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        folded = {fold(o): o for o in options}
        hit = difflib.get_close_matches(fold(word), list(folded), n=1, cutoff=0.6)
        close = [folded[hit[0]]] if hit else []
    return f"did you mean '{close[0]}'?" if close else ""


class Suggester:
    """ "Did you mean" for many lookups against one big list, with bounded cost.

    A hostile or badly broken file can have 100,000 unknown codes; fuzzy
    matching each against 30,000 units would take hours.  Suggestions are
    cached per word and computed for the first ``limit`` distinct words only.
    """

    def __init__(self, choices: Iterable[str], *, limit: int = 50) -> None:
        self.choices = list(choices)
        self.limit = limit
        self.cache: dict[str, str] = {}

    def __call__(self, word: str) -> str:
        if word in self.cache:
            return self.cache[word]
        if len(self.cache) >= self.limit:
            return ""
        self.cache[word] = did_you_mean(word, self.choices)
        return self.cache[word]


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
"""First characters that make a spreadsheet treat a cell as a formula (or start
one after trimming): the ASCII ones, line breaks, and their full-width forms
(``＝ ＋ － ＠``, which some spreadsheet locales and IMEs turn into ASCII)."""


def neutralise_formula(cell: str) -> str:
    """Make a spreadsheet cell inert: Excel runs cells that start with ``= + - @``.

    The cell gets a leading ``'`` when its first character is one of
    :data:`FORMULA_PREFIXES` (or a line feed or a full-width ``＝ ＋ － ＠``),
    and also when it starts with whitespace followed by one of them: a CSV
    import that trims spaces (LibreOffice's "Trim spaces", Excel's Power
    Query) would otherwise hand ``" =1+1"`` to the formula engine.  Anything
    else is returned unchanged, so ordinary text is never altered.
    """
    if not cell:
        return cell
    first = cell[0]
    if first in _FORMULA_STARTS:
        return "'" + cell
    if first.isspace() and cell.lstrip()[:1] in _FORMULA_STARTS:
        return "'" + cell
    return cell


def read_utf8(path: Path, *, max_bytes: int = 10 * 1024 * 1024, what: str = "file") -> str:
    """Read a UTF-8 text file (BOM allowed, CRLF made LF), NFC, with clear errors.

    Used for everything authors hand us as text (lessons, GIFT, Aiken): a
    wrong encoding, a binary file or a huge file is an :class:`InputFileError`
    that says how to fix it, never a traceback.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputFileError(
                f"{path}: the {what} is {size / 2**20:.1f} MiB, over the limit of "
                f"{max_bytes / 2**20:.0f} MiB (split it)"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, not a file") from None
    except PermissionError:
        raise InputFileError(f"{path}: permission denied") from None
    if b"\x00" in data[:65536]:
        raise InputFileError(f"{path}: not a text file (it contains binary data)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            f"{path}:{line}: not UTF-8 text (save the {what} as UTF-8; in Notepad: "
            "Save As → Encoding: UTF-8)"
        ) from None
    return nfc(text.replace("\r\n", "\n").replace("\r", "\n"))


def anchor(heading: str) -> str:
    """The anchor of a heading: ``## Ai phải báo?`` → ``ai-phai-bao``.

    Lower case, accents removed (``đ`` → ``d``), anything else but letters
    and digits turned into single ``-``: what authors can type in a link.
    """
    folded = fold(heading)
    return "-".join("".join(c if c.isalnum() else " " for c in folded).split())

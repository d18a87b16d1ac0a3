"""Finding the token in what a person hands the verifier: a token, a URL, or a PDF.

The QR code of a certificate holds ``<base_url>/verify/#<token>``; the PDF
renderer also puts that address in the PDF's metadata (``Subject``) and as a
link annotation.  Any of them is accepted: the metadata first, then links,
then the page text (a copied address), so a PDF whose metadata was stripped
by a printer driver still verifies.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lms_core.errors import InputFileError

__all__ = ["MAX_PDF_BYTES", "token_from_pdf", "token_from_text", "token_of_input"]

MAX_PDF_BYTES = 20 * 1024 * 1024
_ADDRESS = re.compile(r"/verify/#([A-Za-z0-9_.-]+)")
_BROKEN_ADDRESS = re.compile(r"/verify/#([A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86})")
"""In page text with the line breaks removed: the signature is 64 bytes, 86 characters."""


def token_from_text(text: str) -> str:
    """The token in a raw token or a verify address (``…/verify/#TOKEN``).

    Whitespace is dropped everywhere (a PDF or an e-mail wraps a long
    address), exactly as the browser page does; anything else is left for
    the verifier to judge: an edited token must be *rejected*, not repaired.
    Dropping a character can never make an edited token valid.
    """
    text = "".join(text.split())
    return text[text.rfind("#") + 1 :]


def _resolve(value: Any) -> Any:
    """A PDF object with its indirect reference followed (pypdf's objects)."""
    return value.get_object() if hasattr(value, "get_object") else value


def _strings(value: Any) -> list[str]:
    try:
        resolved = _resolve(value)
    except Exception:  # a broken reference in a hostile PDF: nothing to take
        return []
    return [str(resolved)] if isinstance(resolved, str) else []


def _candidates(reader: Any) -> list[str]:
    found: list[str] = []
    metadata = reader.metadata or {}
    for key in ("/Subject", "/Keywords"):
        found += _strings(metadata.get(key))
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            try:
                action = _resolve(_resolve(annotation).get("/A")) or {}
                found += _strings(action.get("/URI"))
            except Exception:  # noqa: S112 - a malformed annotation: try the next one
                continue
    for page in reader.pages:
        try:
            found.append(page.extract_text() or "")
        except Exception:  # noqa: S112 - text extraction is a last resort
            continue
    return found


def token_from_pdf(path: Path) -> str:
    """The token of a certificate PDF, or :class:`InputFileError`."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read it ({exc.strerror})") from None
    if size > MAX_PDF_BYTES:
        raise InputFileError(f"{path}: larger than {MAX_PDF_BYTES // (1024 * 1024)} MB")
    try:
        reader = PdfReader(path)
        candidates = _candidates(reader)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        raise InputFileError(f"{path}: not a readable PDF") from None
    for text in candidates:
        match = _ADDRESS.search(text)
        if match:
            return match.group(1)
    for text in candidates:
        match = _BROKEN_ADDRESS.search("".join(text.split()))  # a long address wrapped
        if match:
            return match.group(1)
    raise InputFileError(
        f"{path}: no certificate token found (no verify address in its metadata, links or text)"
    )


def token_of_input(value: str) -> str:
    """The token in a raw token, a verify address, or the path of a certificate PDF."""
    stripped = value.strip()
    path = Path(stripped)
    if "#" in stripped or len(stripped) > 4096:
        return token_from_text(stripped)
    try:
        is_file = path.suffix.lower() == ".pdf" or path.is_file()
    except (OSError, ValueError):  # a long token is no file name
        is_file = False
    if is_file:
        return token_from_pdf(path)
    return token_from_text(stripped)

"""The certificate on paper: a typst template, the certificate's data, a QR code, one PDF.

Why typst: measured at about 8 ms a certificate with one reused compiler, its
built-in Libertinus Serif covers every Vietnamese letter, and the PDF embeds
the font with a text layer that extracts as the original NFC strings
(docs/dependencies.md, docs/benchmarks.md).

How data reaches the template: never as typst source.  Every field is put into
one JSON document, handed to the compiler as ``sys.inputs.certificate``; the
template reads it with ``json(bytes(sys.inputs.certificate))`` and shows the
strings as strings, so a name with ``#``, ``]``, ``$``, ``"`` or ``*`` prints
literally and can never run as markup or code.  The compiler's input is one
fixed file, ``templates/_page.typ``, that puts the verify URL into the PDF's
metadata (Subject) and then includes the chosen template (its path also
arrives through ``sys.inputs``), so every template, the project's own too,
yields a PDF that ``verify_url_from_pdf`` can read back.

The QR code comes from ``qr.py`` (zxing-cpp, or segno where zxing-cpp has no
wheel) as SVG text in the data, so the template only places it.

Templates are trusted code, like the site's theme: the compiler's root is the
file system's root so that a template and the logo or seal images may live
anywhere (the package, the project's ``theme/certificates/``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import unicodedata
import zlib
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Literal

import typst

from lms_certificates.qr import QR_MASK, qr_svg
from lms_core.errors import LmsError, Problem, ProblemsError

TEMPLATES = Path(__file__).resolve().parent / "templates"
"""The built-in templates (``default.typ``); ``_page.typ`` is the fixed compiler input."""

PAGE = TEMPLATES / "_page.typ"

Language = Literal["vi", "en"]

LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "nation": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto": "Độc lập - Tự do - Hạnh phúc",
        "title": "GIẤY CHỨNG NHẬN",
        "certifies": "Chứng nhận",
        "unit": "Đơn vị",
        "position": "Chức vụ",
        "completed_course": "Đã hoàn thành khóa tập huấn",
        "version": "Phiên bản",
        "completed": "Ngày hoàn thành",
        "score": "Kết quả",
        "issued": "Ngày cấp",
        "valid_until": "Có giá trị đến ngày",
        "no_expiry": "Giấy chứng nhận này không có thời hạn",
        "serial": "Số",
        "scan": "Quét mã để kiểm tra",
    },
    "en": {
        "nation": "SOCIALIST REPUBLIC OF VIET NAM",
        "motto": "Independence - Freedom - Happiness",
        "title": "CERTIFICATE",
        "certifies": "This is to certify that",
        "unit": "Unit",
        "position": "Position",
        "completed_course": "has completed the training course",
        "version": "Version",
        "completed": "Completed on",
        "score": "Score",
        "issued": "Issued on",
        "valid_until": "Valid until",
        "no_expiry": "This certificate does not expire",
        "serial": "No.",
        "scan": "Scan to verify",
    },
}
"""Label texts handed to every template as ``labels``, so a project's template
needs no translations of its own (it may ignore them)."""

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"})
_LOCATION = re.compile(r"┌─ (.+?):(\d+):(\d+)\s*$")
_FS_ROOT = Path(TEMPLATES.anchor)


# ----------------------------------------------------------------------------- errors


class CertificatePdfError(LmsError):
    """A certificate cannot be printed: a missing image, two certificates on one file."""


class CertificateTemplateError(ProblemsError):
    """A certificate template is missing, has a syntax error or uses an unknown field.

    ``problems`` name the template file and line (from typst's diagnostic);
    ``template`` is the template's name as a course or the CLI gave it.
    """

    def __init__(self, problems: list[Problem], *, template: str) -> None:
        self.template = template
        super().__init__(
            problems,
            summary=f"the certificate template '{template}' cannot be used; no PDF was written",
        )

    def __reduce__(self) -> tuple[object, ...]:
        """Picklable with its problems, so a bulk worker's error reaches the caller intact."""
        return (_template_error, (self.problems, self.template))


def _template_error(problems: list[Problem], template: str) -> CertificateTemplateError:
    return CertificateTemplateError(problems, template=template)


# ----------------------------------------------------------------------------- input


@dataclass(frozen=True, slots=True)
class CertificateDoc:
    """Everything printed on one certificate, as issued (a snapshot, not live data).

    Dates are plain dates in Asia/Ho_Chi_Minh; ``score`` is in percent.  Strings
    may arrive in any Unicode normal form: rendering NFC-normalises them.
    ``course`` (the slug) lets a bulk export pick each course's template.
    """

    serial: str
    name: str
    unit: str
    position: str
    course_title: str
    version: int
    completed: dt.date
    score: float | None
    issued: dt.date
    valid_until: dt.date | None
    issuer: str
    verify_url: str
    course: str = ""
    signatory_name: str = ""
    signatory_title: str = ""
    place: str = ""
    """Where it is signed ("Ninh Bình"), printed before the date as Vietnamese papers do."""
    logo: Path | None = None
    seal: Path | None = None
    language: Language = "vi"

    @classmethod
    def from_payload(
        cls,
        payload: Mapping[str, object],
        *,
        verify_url: str,
        language: Language = "vi",
        signatory_name: str = "",
        signatory_title: str = "",
        place: str = "",
        logo: Path | None = None,
        seal: Path | None = None,
    ) -> CertificateDoc:
        """Build from a signed token's payload (docs/certificates.md), so the paper
        shows exactly what the QR code's token says."""
        score = payload.get("score")
        until = payload.get("valid_until")
        return cls(
            serial=str(payload["serial"]),
            name=str(payload["name"]),
            unit=str(payload["unit"]),
            position=str(payload.get("position") or ""),
            course_title=str(payload["title"]),
            version=int(str(payload["version"])),
            completed=dt.date.fromisoformat(str(payload["completed"])),
            score=None if score is None else float(str(score)),
            issued=dt.date.fromisoformat(str(payload["issued"])),
            valid_until=None if until is None else dt.date.fromisoformat(str(until)),
            issuer=str(payload["issuer"]),
            verify_url=verify_url,
            course=str(payload.get("course") or ""),
            signatory_name=signatory_name,
            signatory_title=signatory_title,
            place=place,
            logo=logo,
            seal=seal,
            language=language,
        )


# ----------------------------------------------------------------------------- data


def _nfc(value: str) -> str:
    return value if value.isascii() else unicodedata.normalize("NFC", value)


def _short_date(day: dt.date, language: Language) -> str:
    if language == "vi":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def _signed_on(doc: CertificateDoc, place: str) -> str:
    """The line above a Vietnamese signature: "Ninh Bình, ngày 05 tháng 03 năm 2026"."""
    day = doc.issued
    if doc.language == "vi":
        text = f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"
        return f"{place}, {text}" if place else text[0].upper() + text[1:]
    text = _short_date(day, "en")
    return f"{place}, {text}" if place else text


def _score_text(score: float | None, language: Language) -> str:
    if score is None:
        return ""
    text = f"{score:.1f}".removesuffix(".0")
    return (text.replace(".", ",") if language == "vi" else text) + "%"


def _typst_path(path: Path) -> str:
    """A path as typst sees it under a root of ``/``: absolute, forward slashes."""
    return "/" + path.resolve().relative_to(_FS_ROOT).as_posix()


def _image(path: Path | None, what: str) -> str | None:
    if path is None:
        return None
    if not path.is_file():
        raise CertificatePdfError(f"the certificate's {what} image {path} does not exist")
    if path.suffix.lower() not in _IMAGE_SUFFIXES:
        raise CertificatePdfError(
            f"the certificate's {what} image {path} is not a PNG, JPEG, GIF, SVG or WebP file"
        )
    return _typst_path(path)


def certificate_data(doc: CertificateDoc, *, qr_mask: int | None = QR_MASK) -> dict[str, object]:
    """What a template receives as ``sys.inputs.certificate`` (as JSON): every string
    NFC, dates both ISO and formatted for the certificate's language, the labels,
    and the QR code as SVG text.  docs/certificates.md lists the keys."""
    lang = doc.language
    place = _nfc(doc.place.strip())
    return {
        "lang": lang,
        "labels": LABELS[lang],
        "serial": _nfc(doc.serial),
        "name": _nfc(doc.name),
        "unit": _nfc(doc.unit),
        "position": _nfc(doc.position),
        "course": _nfc(doc.course),
        "title": _nfc(doc.course_title),
        "version": doc.version,
        "completed": doc.completed.isoformat(),
        "completed_text": _short_date(doc.completed, lang),
        "score": doc.score,
        "score_text": _score_text(doc.score, lang),
        "issued": doc.issued.isoformat(),
        "issued_text": _short_date(doc.issued, lang),
        "signed_on": _signed_on(doc, place),
        "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
        "valid_until_text": (
            _short_date(doc.valid_until, lang) if doc.valid_until else LABELS[lang]["no_expiry"]
        ),
        "issuer": _nfc(doc.issuer),
        "signatory_name": _nfc(doc.signatory_name),
        "signatory_title": _nfc(doc.signatory_title),
        "place": place,
        "logo": _image(doc.logo, "logo"),
        "seal": _image(doc.seal, "seal"),
        "verify_url": doc.verify_url,
        "qr_svg": qr_svg(doc.verify_url, mask=qr_mask),
    }


def _timestamp(day: dt.date) -> int:
    """The PDF's creation date: the issue date, so the same certificate gives the same bytes."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


# ----------------------------------------------------------------------------- rendering


def _problems(error: typst.TypstError, template: Path) -> list[Problem]:
    """typst's diagnostic as located problems: ``error: message`` then ``┌─ file:line:col``.

    typst prints paths relative to the working directory (made absolute again)
    and 0-based columns (made 1-based, as every Problem's).  A diagnostic
    without a location is pinned to the template.
    """
    problems: list[Problem] = []
    message = ""
    for line in error.diagnostic.splitlines():
        if line.startswith(("error:", "warning:")):
            message = line.split(":", 1)[1].strip()
            continue
        where = _LOCATION.search(line)
        if where and message:
            shown = os.path.normpath(os.path.join(os.getcwd(), where.group(1)))
            hint = "; ".join(error.hints)
            line_no, column = int(where.group(2)), int(where.group(3)) + 1  # typst's are 0-based
            problems.append(Problem(shown, line_no, column, message, hint=hint))
            message = ""
    if not problems:
        problems.append(Problem(str(template), 0, 0, error.message or str(error)))
    # An error inside the template is also reported "while including" it from
    # _page.typ; that second location says nothing to the template's author.
    own = [p for p in problems if Path(p.file) != PAGE]
    return own or problems


def find_template(name: str, theme_dir: Path | None = None) -> Path:
    """Template ``name``: ``<theme_dir>/certificates/<name>.typ`` if the project has
    one, else the built-in ``templates/<name>.typ``; a clear error otherwise."""
    if not _TEMPLATE_NAME.fullmatch(name):
        problem = Problem(
            name,
            0,
            0,
            "not a template name",
            hint="use lower-case letters, digits, '-' and '_', like 'default'",
        )
        raise CertificateTemplateError([problem], template=name)
    candidates = [TEMPLATES / f"{name}.typ"]
    if theme_dir is not None:
        candidates.insert(0, theme_dir / "certificates" / f"{name}.typ")
    for path in candidates:
        if path.is_file():
            return path.resolve()
    builtin = ", ".join(sorted(p.stem for p in TEMPLATES.glob("[!_]*.typ")))
    problem = Problem(
        str(candidates[0]),
        0,
        0,
        f"there is no certificate template named '{name}'",
        hint=f"looked in {', '.join(str(c.parent) for c in candidates)}; built-in: {builtin}",
    )
    raise CertificateTemplateError([problem], template=name)


class Renderer:
    """Turns certificates into PDFs with one typst compiler and one font set, reused.

    Building the compiler and loading fonts costs far more than a certificate,
    so a process makes one Renderer and renders everything through it.  It may
    be shared by threads (a server's request threads): compiles take turns
    behind a lock, since one typst compiler is one piece of mutable state.
    Never fork a process whose Renderer has compiled (typst's threads do not
    survive a fork); spawn instead, as ``render_to_files`` does.

    ``theme_dir`` is the project's ``theme/`` folder (beside ``lms.toml``):
    ``theme/certificates/<name>.typ`` overrides the built-in template of that
    name, and fonts in ``theme/certificates/fonts/`` join typst's built-in ones.
    System fonts are never used, so a certificate looks the same on every machine.
    """

    def __init__(self, theme_dir: Path | None = None, *, qr_mask: int | None = QR_MASK) -> None:
        self.theme_dir = theme_dir
        self.qr_mask = qr_mask
        font_dir = theme_dir / "certificates" / "fonts" if theme_dir else None
        font_paths: list[str] = [str(font_dir)] if font_dir and font_dir.is_dir() else []
        self.fonts = typst.Fonts(
            include_system_fonts=False, include_embedded_fonts=True, font_paths=font_paths
        )
        self._compiler = typst.Compiler(
            str(PAGE), root=str(_FS_ROOT), font_paths=self.fonts, ignore_system_fonts=True
        )
        self._paths: dict[str, tuple[Path, str]] = {}
        self._lock = threading.Lock()

    def template_path(self, name: str) -> Path:
        """The file of template ``name``: the project's override, else the built-in one."""
        return self._resolve(name)[0]

    def _resolve(self, name: str) -> tuple[Path, str]:
        found = self._paths.get(name)
        if found is None:
            path = find_template(name, self.theme_dir)
            found = self._paths[name] = (path, _typst_path(path))
        return found

    def data_json(self, doc: CertificateDoc) -> str:
        """The JSON text a template reads as ``sys.inputs.certificate``."""
        return json.dumps(
            certificate_data(doc, qr_mask=self.qr_mask), ensure_ascii=False, separators=(",", ":")
        )

    def render(self, doc: CertificateDoc, *, template: str = "default") -> bytes:
        """One certificate as PDF bytes; raises CertificateTemplateError naming file and line."""
        path, typst_path = self._resolve(template)
        inputs = {"certificate": self.data_json(doc), "template": typst_path}
        try:
            with self._lock:
                pdf = self._compiler.compile(
                    format="pdf", sys_inputs=inputs, timestamp=_timestamp(doc.issued)
                )
        except typst.TypstError as error:
            raise CertificateTemplateError(_problems(error, path), template=template) from None
        assert isinstance(pdf, bytes)
        return pdf

    def render_many(
        self, docs: Iterable[CertificateDoc], *, template: str = "default"
    ) -> Iterator[bytes]:
        """PDFs one by one, lazily, through the same compiler (a batch never sits in memory)."""
        for doc in docs:
            yield self.render(doc, template=template)


# ----------------------------------------------------------------------------- bulk


_worker: Renderer | None = None
_CHUNK = 50
"""Certificates per task sent to a worker: big enough that pickling is noise."""

Job = tuple[CertificateDoc, str, str]
"""A certificate, its template name and the file to write."""


def _init_worker(theme_dir: Path | None, qr_mask: int | None) -> None:
    global _worker  # one Renderer per worker process, built once
    _worker = Renderer(theme_dir, qr_mask=qr_mask)


def _render_jobs(jobs: list[Job]) -> int:
    assert _worker is not None
    for doc, template, target in jobs:
        _write(Path(target), _worker.render(doc, template=template))
    return len(jobs)


def _write(target: Path, data: bytes) -> None:
    """Write then rename, so an interrupted export never leaves half a PDF."""
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    partial.replace(target)


def _file_name(serial: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", _nfc(serial)).strip("._") or "certificate"
    return f"{stem}.pdf"


def render_to_files(
    docs: Iterable[CertificateDoc],
    out_dir: Path,
    *,
    template: str | Mapping[str, str] = "default",
    theme_dir: Path | None = None,
    workers: int | None = None,
    qr_mask: int | None = QR_MASK,
) -> list[Path]:
    """Write ``<serial>.pdf`` for every certificate into ``out_dir``, on every core.

    ``template`` is one name for all, or a mapping of course slug to template
    name (courses not in it get ``default``).  ``workers`` defaults to the
    number of CPUs; each worker process builds its own Renderer once (typst
    compiles a certificate on one core, so processes are what use the others).
    Workers are spawned, not forked: a forked copy of a process whose typst
    has started threads can deadlock.  Every template is found before any
    work starts, and two certificates that would share a file are refused.
    """
    jobs: list[Job] = []
    names: dict[str, CertificateDoc] = {}
    checked: set[str] = set()
    for doc in docs:
        name = template if isinstance(template, str) else template.get(doc.course, "default")
        if name not in checked:
            find_template(name, theme_dir)
            checked.add(name)
        file_name = _file_name(doc.serial)
        if file_name in names:
            raise CertificatePdfError(
                f"certificates {names[file_name].serial} and {doc.serial} would both be "
                f"written to {out_dir / file_name}; serials must be unique"
            )
        names[file_name] = doc
        jobs.append((doc, name, str(out_dir / file_name)))
    out_dir.mkdir(parents=True, exist_ok=True)
    chunks = [jobs[i : i + _CHUNK] for i in range(0, len(jobs), _CHUNK)]
    count = min(workers or os.cpu_count() or 1, len(chunks))
    if count <= 1:
        renderer = Renderer(theme_dir, qr_mask=qr_mask)
        for doc, name, target in jobs:
            _write(Path(target), renderer.render(doc, template=name))
    else:
        with ProcessPoolExecutor(
            count,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(theme_dir, qr_mask),
        ) as pool:
            for _ in pool.map(_render_jobs, chunks):
                pass
    return [Path(target) for _, _, target in jobs]


# ----------------------------------------------------------------------------- reading back


_STRING_AFTER = re.compile(rb"/(URI|Subject)\s*([(<])")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\n?endstream", re.DOTALL)
_ESCAPES = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("b"): b"\b",
    ord("f"): b"\f",
}


def _literal(data: bytes, start: int) -> bytes:
    """A PDF literal string from just after its ``(``: balanced parentheses, escapes."""
    out = bytearray()
    depth = 1
    i = start
    while i < len(data):
        c = data[i]
        if c == 0x5C:  # backslash
            i += 1
            if i >= len(data):
                break
            e = data[i]
            if e in _ESCAPES:
                out += _ESCAPES[e]
            elif 0x30 <= e <= 0x37:
                digits = data[i : i + 3]
                n = 1
                while n < len(digits) and 0x30 <= digits[n] <= 0x37:
                    n += 1
                out.append(int(digits[:n], 8) & 0xFF)
                i += n - 1
            elif e == 0x0D:  # line continuation
                if data[i + 1 : i + 2] == b"\n":
                    i += 1
            elif e != 0x0A:
                out.append(e)
        elif c == 0x28:
            depth += 1
            out.append(c)
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                break
            out.append(c)
        else:
            out.append(c)
        i += 1
    return bytes(out)


def _hex(data: bytes, start: int) -> bytes:
    end = data.find(b">", start)
    digits = re.sub(rb"\s+", b"", data[start : end if end >= 0 else len(data)])
    if len(digits) % 2:
        digits += b"0"
    try:
        return bytes.fromhex(digits.decode("ascii"))
    except ValueError:
        return b""


def _text(raw: bytes) -> str:
    """A PDF text string: UTF-16BE with its BOM, else PDFDocEncoding (Latin-1 for URLs)."""
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", errors="replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    return raw.decode("latin-1")


def _urls(data: bytes) -> Iterator[tuple[str, str]]:
    for match in _STRING_AFTER.finditer(data):
        start = match.end()
        raw = _literal(data, start) if match.group(2) == b"(" else _hex(data, start)
        yield match.group(1).decode(), _text(raw)


def verify_url_from_pdf(data: bytes) -> str | None:
    """The verify URL a certificate PDF carries, or None: pure Python, no PDF library.

    Looks at the QR code's link annotation (``/URI``) first, then the document's
    Subject, in the file as written and, failing that, inside its compressed
    streams (a PDF writer may pack objects into object streams).  Only a URL
    with ``/verify/#`` counts: that is the shape of every certificate's link.
    """
    for chunk in _chunks(data):
        found = {"URI": "", "Subject": ""}
        for key, value in _urls(chunk):
            if "/verify/#" in value and not found[key]:
                found[key] = value.strip()
        if found["URI"] or found["Subject"]:
            return found["URI"] or found["Subject"]
    return None


def _chunks(data: bytes) -> Iterator[bytes]:
    yield data
    for match in _STREAM.finditer(data):
        try:
            inflated = zlib.decompressobj().decompress(match.group(1), 16 * 2**20)
        except zlib.error:
            continue
        if b"/URI" in inflated or b"/Subject" in inflated:
            yield inflated

"""HR exports of certificates: a zip of PDFs, one merged PDF, a CSV/XLSX list, Open Badges.

Why this exists: an HR office files the certificates of a commune (or of the
whole province) at once, prints them, or loads them into another system.
What it guarantees (docs/certificates.md, "HR exports"):

* **Selection** by the person's current unit (``subtree`` for every unit
  below), course, and issue date range; revoked certificates only when asked.
  With a :class:`~lms_core.services.scope.Scope` (the server), a unit outside
  the reader's area is "not found", exactly like one that does not exist.
* **Re-running reproduces, never duplicates.**  Every file is written whole
  (a temporary file renamed), zip entries have fixed timestamps and a fixed
  order, PDFs are byte-stable (typst with the issue date as creation date),
  Ed25519 signatures are deterministic: the same export of the same data
  gives the same bytes (XLSX excepted: openpyxl stamps the time inside).
* **Resume.**  PDFs are rendered into a work folder beside the output
  (``<out>.parts/``), each file named by its serial and a hash of exactly what
  is printed (the signed token, the verify link, the template's source, the
  typst version), written whole.  An interrupted export leaves them there;
  the next run skips every one already rendered and renders the rest, on
  every core (:func:`~lms_certificates.pdf.render_to_files`).  The work
  folder is removed once the export is written.
* **Privacy.**  Output files are created readable by their owner only; the
  event ``certificates.exported`` records the format, the filters (unit
  code, course slug, dates) and the count, never a name or staff code; an
  output inside the site folder is refused (it would be published).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from lms_certificates import ob3
from lms_certificates.keys import LoadedOb3Key, load_ob3_key, ob3_public_keys, public_keys
from lms_certificates.pdf import PAGE, CertificateDoc, find_template, render_to_files
from lms_certificates.settings import VN_TZ, IssuerSettings, today_vn
from lms_certificates.token import decode_token, verify_token
from lms_core.errors import ConfigError, ConflictError, LmsError, NotFoundError
from lms_core.models import Certificate, Course, CourseVersion, OrgUnit, Person
from lms_core.report_formats import write_csv, write_xlsx
from lms_core.reporting import Cell, Column, Report
from lms_core.services.events import record_event
from lms_core.services.org import get_unit, subtree_filter
from lms_core.services.scope import NO_UNIT, Scope
from lms_core.text import clean

__all__ = [
    "EXPORT_EVENT",
    "FORMATS",
    "MAX_WEB_EXPORT",
    "ExportFilters",
    "ExportFormat",
    "ExportItem",
    "ExportTooLargeError",
    "Progress",
    "Selection",
    "certificate_doc",
    "certificate_for_download",
    "certificate_report",
    "check_output",
    "record_export",
    "render_pdfs",
    "require_verify_address",
    "safe_name",
    "select_certificates",
    "select_for_export",
    "theme_dir",
    "work_folder",
    "write_export",
    "write_zip",
    "zip_entries",
]

ExportFormat = Literal["zip", "pdf", "csv", "xlsx", "ob3"]
FORMATS: tuple[ExportFormat, ...] = ("zip", "pdf", "csv", "xlsx", "ob3")
EXPORT_EVENT = "certificates.exported"
MAX_WEB_EXPORT = 2000
"""Certificates one server download may hold; more is the CLI's job (every core, resumable)."""

Progress = Callable[[int], None]
"""Called with how many more certificates are done (rendered, skipped or signed)."""

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
"""Every zip entry's timestamp: fixed, so the same export gives the same bytes."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_VERDICT_WORDS = {
    "vi": {
        "valid": "còn hiệu lực",
        "expired": "hết hạn",
        "revoked": "đã thu hồi",
        "forged": "chữ ký không hợp lệ",
        "unreadable": "không đọc được",
    },
    "en": {v: v for v in ("valid", "expired", "revoked", "forged", "unreadable")},
}


class ExportTooLargeError(LmsError):
    """More certificates than one server download may hold."""


# --------------------------------------------------------------------------- selecting


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """Which certificates: the person's current unit (and below), course, issue dates."""

    unit_code: str
    subtree: bool = False
    course: str | None = None
    date_from: dt.date | None = None
    """First issue date included."""
    date_to: dt.date | None = None
    """Last issue date included."""
    include_revoked: bool = False

    def event_data(self) -> dict[str, str | bool]:
        """The filters for the event: codes, slugs and dates only (never people)."""
        data: dict[str, str | bool | None] = {
            "unit": self.unit_code,
            "subtree": self.subtree,
            "course": self.course,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "include_revoked": self.include_revoked,
        }
        return {k: v for k, v in data.items() if v is not None and v is not False and v != ""}


@dataclass(frozen=True, slots=True)
class ExportItem:
    """One certificate as exported: what it says (snapshot), who, and its verdict today."""

    serial: str
    staff_code: str
    full_name: str
    unit_name: str
    """The unit at issue time, as printed."""
    unit_code: str
    """The person's current unit."""
    position: str
    course: str
    title: str
    version: int
    score: float | None
    completed_on: dt.date
    issued_on: dt.date
    valid_until: dt.date | None
    previous: str | None
    verdict: str
    token: str
    issuer: str
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    template: str
    """The certificate template of the completed course version (front matter)."""
    summary: str
    """The course version's summary (front matter), for Open Badges."""


_Previous = aliased(Certificate)


def _unit_condition(
    session: Session, filters: ExportFilters, scope: Scope | None
) -> ColumnElement[bool]:
    code = clean(filters.unit_code)
    if scope is None:
        unit = get_unit(session, code)
    else:
        found = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        root = scope.root_path
        if found is None or (root is not None and not (root <= found.path < root[:-1] + "0")):
            raise NotFoundError(NO_UNIT.format(code=code))
        unit = found
    if filters.subtree:
        return Person.org_unit_id.in_(subtree_filter(unit.path))
    return Person.org_unit_id == unit.id


def _version_meta(session: Session, version_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """course version id -> (template name, summary), each snapshot read once."""
    out: dict[int, tuple[str, str]] = {}
    ids = sorted(set(version_ids))
    for vid, snapshot in session.execute(
        select(CourseVersion.id, CourseVersion.snapshot).where(CourseVersion.id.in_(ids))
    ).tuples():
        meta = (snapshot or {}).get("meta") or {}
        cert = meta.get("certificate") if isinstance(meta.get("certificate"), dict) else {}
        template = str((cert or {}).get("template") or "default")
        out[vid] = (template, clean(str(meta.get("summary") or "")))
    return out


def select_certificates(
    session: Session,
    filters: ExportFilters,
    *,
    scope: Scope | None = None,
    today: dt.date | None = None,
) -> list[ExportItem]:
    """The certificates ``filters`` ask for, in a stable order for printing.

    Ordered by unit (the tree's order), person's name, staff code, course and
    serial.  ``scope`` (a server reader's area) limits the unit; the CLI
    passes None (the whole tree).  Unknown unit or course: NotFoundError.
    """
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise LmsError(
            f"--from {filters.date_from} is after --to {filters.date_to}: nothing can match"
        )
    where: list[ColumnElement[bool]] = [_unit_condition(session, filters, scope)]
    if filters.course is not None:
        course_id = session.scalar(select(Course.id).where(Course.slug == clean(filters.course)))
        if course_id is None:
            raise NotFoundError(f"no course '{clean(filters.course)}'")
        where.append(Certificate.course_id == course_id)
    if filters.date_from is not None:
        where.append(Certificate.issued_on >= filters.date_from)
    if filters.date_to is not None:
        where.append(Certificate.issued_on <= filters.date_to)
    if not filters.include_revoked:
        where.append(Certificate.revoked_at.is_(None))
    return _items(session, where, today=today)


def _items(
    session: Session, where: Sequence[ColumnElement[bool]], *, today: dt.date | None
) -> list[ExportItem]:
    rows = (
        session.execute(
            select(Certificate, Person.staff_code, OrgUnit.code, Course.slug, _Previous.serial)
            .join(Person, Certificate.person_id == Person.id)
            .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
            .join(Course, Certificate.course_id == Course.id)
            .outerjoin(_Previous, Certificate.previous_id == _Previous.id)
            .where(*where)
            .order_by(
                OrgUnit.path, Person.full_name, Person.staff_code, Course.slug, Certificate.serial
            )
        )
        .tuples()
        .all()
    )
    if not rows:
        return []
    keys = public_keys(session)
    # The rows' own revocations are all that a verdict on them needs.
    revoked = {
        c.serial: c.revoked_at.astimezone(VN_TZ).date()
        for c, *_ in rows
        if c.revoked_at is not None
    }
    meta = _version_meta(session, (c.course_version_id for c, *_ in rows))
    when = today or today_vn()
    out = []
    for cert, staff_code, unit_code, slug, previous in rows:
        template, summary = meta.get(cert.course_version_id, ("default", ""))
        out.append(
            ExportItem(
                serial=cert.serial,
                staff_code=staff_code,
                full_name=cert.full_name,
                unit_name=cert.unit_name,
                unit_code=unit_code,
                position=cert.position,
                course=slug,
                title=cert.course_title,
                version=cert.version_number,
                score=cert.score,
                completed_on=cert.completed_on,
                issued_on=cert.issued_on,
                valid_until=cert.valid_until,
                previous=previous,
                verdict=verify_token(cert.token, keys=keys, revoked=revoked, today=when).verdict,
                token=cert.token,
                issuer=cert.issuer,
                issued_at=cert.created_at,
                revoked_at=cert.revoked_at,
                template=template,
                summary=summary,
            )
        )
    return out


def certificate_for_download(
    session: Session,
    *,
    serial: str,
    person_id: int | None = None,
    scope: Scope | None = None,
    today: dt.date | None = None,
) -> ExportItem:
    """One certificate to print, if the reader may have it; NotFoundError otherwise.

    ``person_id``: a learner's own certificates only; ``scope``: those of the
    people whose current unit lies in the reader's area.  Someone else's or
    an out-of-area certificate is "not found" with exactly the message of a
    serial that does not exist, so serials cannot be probed.  A revoked
    certificate is refused (ConflictError): its paper must not be printed again.
    """
    code = clean(serial)
    where: list[ColumnElement[bool]] = [Certificate.serial == code]
    if person_id is not None:
        where.append(Certificate.person_id == person_id)
    if scope is not None and scope.root_path is not None:
        root = scope.root_path
        where += [OrgUnit.path >= root, OrgUnit.path < root[:-1] + "0"]
    found = _items(session, where, today=today)
    if not found:
        raise NotFoundError(f"no certificate with serial '{code}'")
    item = found[0]
    if item.revoked_at is not None:
        raise ConflictError(f"certificate {item.serial} was revoked; its PDF is no longer issued")
    return item


def require_verify_address(settings: IssuerSettings) -> None:
    """ConfigError unless ``[site] base_url`` is set: a PDF's QR code needs the address."""
    if not settings.base_url:
        raise ConfigError(
            "certificate PDFs need the site's public address for their QR code: set "
            '[site] base_url in lms.toml (e.g. "https://taphuan.ninhbinh.gov.vn")'
        )


@dataclass(frozen=True, slots=True)
class Selection:
    """What an export writes, read in one transaction: the certificates and, for
    Open Badges, the issuer's RS256 signing key and every RS256 public key."""

    filters: ExportFilters
    items: list[ExportItem]
    signing_key: LoadedOb3Key | None = None
    keys: dict[str, RSAPublicKey] = dataclasses.field(default_factory=dict)


def select_for_export(
    session: Session,
    filters: ExportFilters,
    *,
    fmt: ExportFormat,
    settings: IssuerSettings,
    scope: Scope | None = None,
    today: dt.date | None = None,
    limit: int | None = None,
) -> Selection:
    """Read everything the export needs, so writing it needs no database.

    Checks first what would make the export useless (no ``base_url`` for a
    QR code or a credential id; Open Badges with revoked certificates; more
    than ``limit`` certificates) and loads the RS256 signing key for Open
    Badges (a missing key is an error here, before anything is written).
    """
    if fmt not in FORMATS:
        raise LmsError(f"unknown export format '{fmt}' (one of: {', '.join(FORMATS)})")
    if fmt in ("zip", "pdf"):
        require_verify_address(settings)
    if fmt == "ob3":
        ob3.require_base_url(settings.base_url)
        if filters.include_revoked:
            raise LmsError(
                "Open Badges credentials carry no revocation status here, so a revoked "
                "certificate would look valid to their verifiers: --include-revoked is not "
                "for --format ob3"
            )
    items = select_certificates(session, filters, scope=scope, today=today)
    if limit is not None and len(items) > limit:
        raise ExportTooLargeError(
            f"this export holds {len(items):,} certificates, more than the {limit:,} one "
            "download may hold; narrow it (a unit lower down, a course, a date range) or "
            "export on the server with: lms certificates export --org "
            f"{clean(filters.unit_code)} --subtree --format zip --out FILE"
        )
    if fmt != "ob3" or not items:
        return Selection(filters, items)
    key = load_ob3_key(
        session,
        key_dir=settings.key_dir,
        project_root=settings.project_root,
        output_dir=settings.output_dir,
    )
    return Selection(filters, items, key, ob3_public_keys(session))


def record_export(
    session: Session,
    *,
    filters: ExportFilters,
    fmt: str,
    count: int,
    actor_account_id: int | None = None,
    source: str = "cli",
) -> None:
    """Log the export as ``certificates.exported``: format, filters, count; no people."""
    record_event(
        session,
        verb=EXPORT_EVENT,
        object_type="certificate_export",
        object_id=fmt,
        actor_account_id=actor_account_id,
        source=source,
        data={"format": fmt, "filters": filters.event_data(), "count": count},
    )


# --------------------------------------------------------------------------- the list


_COLUMNS = (
    Column("serial", "Số hiệu", "Serial"),
    Column("staff_code", "Mã cán bộ", "Staff code", personal="staff_code"),
    Column("full_name", "Họ và tên", "Name", personal="name"),
    Column("unit_name", "Đơn vị (khi cấp)", "Unit (when issued)"),
    Column("unit_code", "Mã đơn vị hiện nay", "Current unit code"),
    Column("position", "Chức vụ", "Position"),
    Column("course", "Mã khóa học", "Course slug"),
    Column("title", "Khóa học", "Course"),
    Column("version", "Phiên bản", "Version", "int"),
    Column("completed", "Ngày hoàn thành", "Completed", "date"),
    Column("score", "Điểm (%)", "Score (%)", "percent"),
    Column("issued", "Ngày cấp", "Issued", "date"),
    Column("valid_until", "Có giá trị đến", "Valid until", "date"),
    Column("previous", "Cấp lại cho", "Renews"),
    Column("verdict", "Tình trạng", "Status"),
)


def certificate_report(
    items: Sequence[ExportItem], filters: ExportFilters, *, language: str
) -> Report:
    """The certificates as a :class:`Report`: the CSV/XLSX list and the zip's manifest.

    One row per certificate in the export's order; the verdict as of the
    export's day, in words of ``language``.  No generation time, so the same
    export gives the same CSV.
    """
    words = _VERDICT_WORDS["en" if language == "en" else "vi"]
    rows: list[tuple[Cell, ...]] = [
        (
            i.serial,
            i.staff_code,
            i.full_name,
            i.unit_name,
            i.unit_code,
            i.position,
            i.course,
            i.title,
            i.version,
            i.completed_on,
            i.score,
            i.issued_on,
            i.valid_until,
            i.previous,
            words.get(i.verdict, i.verdict),
        )
        for i in items
    ]
    shown: dict[str, str] = {"unit": clean(filters.unit_code)}
    if filters.subtree:
        shown["subtree"] = "có / yes"
    if filters.course:
        shown["course"] = clean(filters.course)
    if filters.date_from:
        shown["from"] = filters.date_from.isoformat()
    if filters.date_to:
        shown["to"] = filters.date_to.isoformat()
    if filters.include_revoked:
        shown["include_revoked"] = "có / yes"
    return Report(
        name="certificates",
        title_vi="Giấy chứng nhận",
        title_en="Certificates",
        columns=_COLUMNS,
        rows=rows,
        filters=shown,
    )


# --------------------------------------------------------------------------- files


def check_output(out: Path, *, settings: IssuerSettings) -> Path:
    """``out`` resolved; refused inside the site folder, which gets published."""
    resolved = out.expanduser().resolve()
    site = settings.output_dir.resolve() if settings.output_dir is not None else None
    if site is not None and (resolved == site or resolved.is_relative_to(site)):
        raise LmsError(
            f"{resolved} is inside the site folder {site}, which is published: an export "
            "of certificates holds personal data; choose --out outside it"
        )
    return resolved


@contextlib.contextmanager
def _atomic(out: Path) -> Iterator[IO[bytes]]:
    """A private temporary file beside ``out``, renamed onto it when written whole."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(name, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def _zip_info(name: str, *, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.create_system = 3  # Unix, whatever the machine: the same bytes everywhere
    info.external_attr = 0o600 << 16
    return info


def write_zip(out: Path | IO[bytes], entries: Iterable[tuple[str, bytes, bool]]) -> int:
    """A zip of ``(name, data, compress)`` entries in the order given, every
    timestamp :data:`ZIP_TIME`; returns the number of entries.

    Deterministic: the same entries give the same bytes (PDFs are stored,
    being compressed already; text is deflated at a fixed level).
    """
    count = 0
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(_atomic(out)) if isinstance(out, Path) else out
        with zipfile.ZipFile(handle, "w") as archive:
            for name, data, compress in entries:
                archive.writestr(_zip_info(name, compress=compress), data, compresslevel=6)
                count += 1
    return count


def safe_name(serial: str) -> str:
    """A serial as a file name (serials are ``37-2026-000123``: already safe)."""
    return _UNSAFE.sub("_", serial).strip("._") or "certificate"


def certificate_doc(item: ExportItem, *, settings: IssuerSettings) -> CertificateDoc:
    """What the paper prints: the signed token's fields, and its verify link for the QR code."""
    return CertificateDoc.from_payload(
        decode_token(item.token),
        verify_url=settings.verify_url(item.token),
        signatory_name=settings.signatory_name,
        signatory_title=settings.signatory_title,
        place=settings.place,
        logo=settings.logo,
        seal=settings.seal,
    )


def theme_dir(settings: IssuerSettings) -> Path | None:
    """The project's ``theme/`` folder (templates and fonts may be overridden there)."""
    return settings.project_root / "theme" if settings.project_root is not None else None


def work_folder(out: Path) -> Path:
    """Where PDFs of an export to ``out`` are rendered first: ``<out>.parts`` beside it."""
    return out.with_name(out.name + ".parts")


def _engine() -> str:
    try:
        return importlib.metadata.version("typst")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - installed with us
        return "unknown"


def _part_names(docs: Sequence[tuple[CertificateDoc, str]], themes: Path | None) -> list[str]:
    """``<serial>.<hash>.pdf`` for each certificate: the hash covers all that is printed.

    The document's every field (the signed token's, the verify link), the
    template's name and source, the fixed page wrapper and typst's version:
    change any and the PDF is rendered again rather than reused.
    """
    sources: dict[str, str] = {}
    page = hashlib.sha256(PAGE.read_bytes()).hexdigest()
    engine = _engine()
    names = []
    for doc, template in docs:
        if template not in sources:
            sources[template] = hashlib.sha256(
                find_template(template, themes).read_bytes()
            ).hexdigest()
        material = json.dumps(
            {
                "doc": dataclasses.asdict(doc),
                "template": template,
                "source": sources[template],
                "page": page,
                "engine": engine,
            },
            sort_keys=True,
            default=str,
            ensure_ascii=False,
        )
        digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]
        names.append(f"{safe_name(doc.serial)}.{digest}.pdf")
    return names


class _Watcher:
    """Reports PDFs appearing in a folder while the process pool renders into it.

    ``render_to_files`` returns only when every worker is done; a thread that
    counts finished files (each is renamed into place whole) gives the
    progress bar something to show meanwhile.
    """

    def __init__(self, folder: Path, progress: Progress | None) -> None:
        self.folder = folder
        self.progress = progress
        self.seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _poll(self) -> None:
        try:
            count = sum(1 for p in self.folder.iterdir() if p.suffix == ".pdf")
        except OSError:
            return
        if count > self.seen and self.progress is not None:
            self.progress(count - self.seen)
        self.seen = max(self.seen, count)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._poll()

    def __enter__(self) -> _Watcher:
        if self.progress is not None:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.progress is not None:
            self._stop.set()
            self._thread.join()
            self._poll()


def render_pdfs(
    items: Sequence[ExportItem],
    work: Path,
    *,
    settings: IssuerSettings,
    workers: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Each certificate's PDF in ``work``, rendering only those not there yet.

    Returns serial -> file.  Files of an earlier, interrupted run with the
    same content hash are reused; files that no longer match (another
    selection, a changed template) are deleted.  Rendering uses every core
    (``workers`` processes, default all), one template at a time.
    """
    themes = theme_dir(settings)
    docs = [(certificate_doc(item, settings=settings), item.template) for item in items]
    names = _part_names(docs, themes)
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    present = {p.name for p in work.iterdir() if p.is_file()}
    todo = [(doc, template, name) for (doc, template), name in zip(docs, names, strict=True)]
    todo = [job for job in todo if job[2] not in present]
    if progress is not None and len(items) > len(todo):
        progress(len(items) - len(todo))
    staging = work / "rendering"
    for template in sorted({t for _, t, _ in todo}):
        group = [(doc, name) for doc, t, name in todo if t == template]
        shutil.rmtree(staging, ignore_errors=True)
        try:
            with _Watcher(staging, progress):
                render_to_files(
                    [doc for doc, _ in group],
                    staging,
                    template=template,
                    theme_dir=themes,
                    workers=workers,
                )
        finally:
            # Interrupted or not, every PDF finished so far is kept for the next run.
            for doc, name in group:
                done = staging / f"{safe_name(doc.serial)}.pdf"
                if done.is_file():
                    os.replace(done, work / name)
    shutil.rmtree(staging, ignore_errors=True)
    wanted = set(names)
    for path in work.iterdir():
        if path.is_file() and path.name not in wanted:
            path.unlink()
    return {doc.serial: work / name for (doc, _), name in zip(docs, names, strict=True)}


def _manifest(items: Sequence[ExportItem], filters: ExportFilters, language: str) -> bytes:
    buffer = io.BytesIO()
    write_csv(certificate_report(items, filters, language=language), buffer, language=language)
    return buffer.getvalue()


def zip_entries(
    items: Sequence[ExportItem],
    filters: ExportFilters,
    *,
    pdf: Callable[[ExportItem], bytes],
    language: str,
) -> Iterator[tuple[str, bytes, bool]]:
    """The zip's entries: ``manifest.csv`` first, then ``<serial>.pdf`` by serial.

    ``pdf`` gives one certificate's PDF (a file already rendered, or a
    rendering on demand in the server), asked for one at a time.
    """
    yield "manifest.csv", _manifest(items, filters, language), True
    for item in sorted(items, key=lambda i: i.serial):
        yield f"{safe_name(item.serial)}.pdf", pdf(item), False


def _merged_pdf(out: Path, paths: Sequence[Path]) -> None:
    """One PDF of every certificate, in the export's order, for printing in one go."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for path in paths:
        writer.append(PdfReader(path))
    with _atomic(out) as handle:
        writer.write(handle)


def _ob3_files(
    selection: Selection, settings: IssuerSettings, progress: Progress | None
) -> Iterator[tuple[str, bytes]]:
    """The Open Badges export's files: the issuer profile and keys, then each credential.

    Each credential is verified against the published key before it is
    written, so an export never holds a credential its own key list rejects.
    """
    key = selection.signing_key
    assert key is not None
    base = ob3.require_base_url(settings.base_url)
    published = ob3.published_files(base_url=base, name=settings.issuer, keys=selection.keys)
    prefix = ob3.PUBLISH_DIR + "/"
    for path, data in sorted(published.items()):
        yield path.removeprefix(prefix), data
    jwk = ob3.public_jwk(key.kid, key.private_key.public_key())
    for item in sorted(selection.items, key=lambda i: i.serial):
        source = ob3.CredentialSource(
            serial=item.serial,
            staff_code=item.staff_code,
            course=item.course,
            title=item.title,
            version=item.version,
            issued_at=item.issued_at,
            valid_until=item.valid_until,
            issuer=item.issuer,
            summary=item.summary,
        )
        salt = ob3.identity_salt(key.private_key, item.serial)
        document = ob3.credential(source, base_url=base, salt=salt)
        token = ob3.sign_credential(
            document, private_key=key.private_key, kid=key.kid, base_url=base
        )
        payload = ob3.verify_jwt(token, jwk)
        name = safe_name(item.serial)
        yield f"{name}.jwt", (token + "\n").encode("ascii")
        yield f"{name}.json", (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode()
        if progress is not None:
            progress(1)


_OB3_NAME = re.compile(r"^[A-Za-z0-9._-]+\.(jwt|json)$")


def _write_folder(folder: Path, files: Iterable[tuple[str, bytes]]) -> int:
    """Write an Open Badges export into ``folder``: each file whole, earlier ones replaced.

    A folder that holds anything but an earlier export of ours is refused
    (we delete credential files no longer exported, and must not delete
    someone else's files).
    """
    if folder.exists() and not folder.is_dir():
        raise LmsError(f"{folder} is a file; give a folder or a name ending in .zip")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "issuer.json").is_file():
        raise LmsError(
            f"{folder} is not empty and holds no earlier Open Badges export (issuer.json); "
            "choose an empty or new folder"
        )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: set[str] = set()
    count = 0
    for rel, data in files:
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with _atomic(target) as handle:
            handle.write(data)
        written.add(rel)
        count += rel.endswith(".jwt")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel not in written and _OB3_NAME.match(path.name):
            path.unlink()
    return count


def write_export(
    selection: Selection,
    out: Path,
    *,
    fmt: ExportFormat,
    settings: IssuerSettings,
    language: str = "vi",
    workers: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Write the export ``fmt`` of ``selection`` to ``out``; returns the certificates written.

    * ``zip``: ``manifest.csv`` (UTF-8 with BOM, formula-looking cells
      neutralised) and ``<serial>.pdf`` for each certificate;
    * ``pdf``: one PDF, a page per certificate, in the listing's order;
    * ``csv`` / ``xlsx``: the list (:func:`certificate_report`);
    * ``ob3``: ``<serial>.jwt`` (the VC-JWT) and ``<serial>.json`` (its
      payload, decoded) per certificate, with ``issuer.json``, ``jwks.json``
      and ``keys/<kid>.json``: into the folder ``out``, or a zip when ``out``
      ends in ``.zip``.

    No database: :func:`select_for_export` read everything first.
    """
    items = selection.items
    filters = selection.filters
    if fmt == "csv":
        return write_csv(
            certificate_report(items, filters, language=language), out, language=language
        )
    if fmt == "xlsx":
        return write_xlsx(
            [certificate_report(items, filters, language=language)], out, language=language
        )
    if fmt == "ob3":
        if not items:
            raise LmsError("no certificate matches: no Open Badges export was written")

        files = _ob3_files(selection, settings, progress)
        if out.suffix.lower() == ".zip":
            write_zip(out, ((rel, data, True) for rel, data in files))
            return len(items)
        return _write_folder(out, files)
    if fmt not in ("zip", "pdf"):
        raise LmsError(f"unknown export format '{fmt}'")
    work = work_folder(out)
    paths = render_pdfs(items, work, settings=settings, workers=workers, progress=progress)
    if fmt == "zip":
        write_zip(
            out,
            zip_entries(
                items, filters, pdf=lambda i: paths[i.serial].read_bytes(), language=language
            ),
        )
    else:
        if not items:
            raise LmsError("no certificate matches: no PDF was written")
        _merged_pdf(out, [paths[i.serial] for i in items])
    shutil.rmtree(work, ignore_errors=True)
    return len(items)

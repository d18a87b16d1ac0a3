"""The certificates' part of the server's API (added through ``lms_api_routes``).

* ``POST /api/certificates/verify`` ``{"token"}``: the verdict, for anyone,
  no sign-in (like the browser page, which needs no network at all); failed
  checks are throttled per client address like sign-in.  The token travels
  in the body, never in the URL, because it holds a name.
* ``GET /api/my/certificates``: the signed-in person's own certificates.
* ``POST /api/manage/certificates`` ``{"unit_code", "course"?}``: those of the
  people of a unit's subtree, for trainers, managers and admins whose area
  holds that unit (:mod:`lms_core.services.scope`); a unit outside the area
  is "not found", exactly like a unit that does not exist.
* ``GET /api/my/certificates/{serial}/pdf``: the signed-in learner's own
  certificate as a PDF; someone else's is "not found", like a missing one.
* ``GET /api/manage/certificates/{serial}/pdf``: a certificate of the reader's
  area as a PDF (trainers, managers, admins; learners 403).
* ``POST /api/manage/certificates/export`` ``{"unit_code", "course"?, "from"?,
  "to"?, "format": "zip"|"csv"|"xlsx"}``: the unit subtree's certificates as
  a download, at most :data:`~lms_certificates.export.MAX_WEB_EXPORT` (more is
  the CLI's job), logged as ``certificates.exported``.

PDFs are rendered on demand with one :class:`~lms_certificates.pdf.Renderer`
per process (building one costs more than a certificate), behind a lock (a
Renderer is not thread-safe and the server runs routes on a thread pool).
Only serials and unit codes travel in URLs, never staff codes or names;
downloads are ``Cache-Control: no-store``.

This module parses and presents; the rules live in
:mod:`lms_certificates.service`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from lms_certificates import export as exporting
from lms_certificates import service
from lms_certificates.extract import token_from_text
from lms_certificates.pdf import Renderer
from lms_certificates.settings import IssuerSettings, find_project, today_vn
from lms_certificates.token import MAX_TOKEN_CHARS
from lms_core.db import read_only
from lms_core.hookspecs import ApiRoutes
from lms_core.http.common import Body, Context, Me, iso
from lms_core.services import scope as reads

__all__ = ["VERIFY_PATH", "certificate_json", "render_pdf", "routes"]

VERIFY_PATH = "/api/certificates/verify"


class VerifyRequest(Body):
    token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS + 1024)
    """The token, or the whole verify address (``…/verify/#token``)."""


Serial = Annotated[
    str, PathParam(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
]
"""A certificate's serial in a URL (``37-2026-000123``): it names no one."""

MEDIA = {
    "zip": "application/zip",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class ExportRequest(Body):
    """``POST /api/manage/certificates/export``: a unit subtree, optionally a course and
    issue dates; zip, csv or xlsx (PDF printing and Open Badges are the CLI's)."""

    unit_code: str = Field(
        min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
    )
    course: str | None = Field(default=None, min_length=1, max_length=64)
    date_from: dt.date | None = Field(default=None, alias="from")
    date_to: dt.date | None = Field(default=None, alias="to")
    fmt: Literal["zip", "csv", "xlsx"] = Field(alias="format")


class ManageCertificatesRequest(Body):
    unit_code: str = Field(
        min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
    )
    course: str | None = Field(default=None, min_length=1, max_length=64)


def certificate_json(entry: service.CertificateEntry, *, with_person: bool) -> dict[str, Any]:
    """A certificate as listed; ``with_person`` adds who it belongs to (managers)."""
    out: dict[str, Any] = {
        "serial": entry.serial,
        "course": entry.course,
        "title": entry.title,
        "version": entry.version,
        "score": entry.score,
        "completed": iso(entry.completed_on),
        "issued": iso(entry.issued_on),
        "valid_until": iso(entry.valid_until),
        "previous": entry.previous,
        "verdict": entry.verdict,
        "revoked_at": iso(entry.revoked_at),
        "token": entry.token,
    }
    if with_person:
        out["person"] = {
            "staff_code": entry.staff_code,
            "full_name": entry.full_name,
            "position": entry.position,
            "unit": {"code": entry.unit_code, "name": entry.unit_name},
        }
    return out


_renderers: dict[str, Renderer] = {}
_render_lock = threading.Lock()


def render_pdf(item: exporting.ExportItem, *, settings: IssuerSettings) -> bytes:
    """One certificate's PDF with this process's Renderer for the project's theme."""
    doc = exporting.certificate_doc(item, settings=settings)
    themes = exporting.theme_dir(settings)
    with _render_lock:
        renderer = _renderers.get(str(themes))
        if renderer is None:
            renderer = _renderers[str(themes)] = Renderer(themes)
        return renderer.render(doc, template=item.template)


def _settings() -> IssuerSettings:
    """The project's issuer settings (``LMS_CONFIG``, which ``lms serve`` sets)."""
    return IssuerSettings.of(find_project())


def _attachment(data: bytes, *, name: str, media: str) -> Response:
    return Response(
        content=data,
        media_type=media,
        headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


def _pdf(item: exporting.ExportItem, settings: IssuerSettings) -> Response:
    data = render_pdf(item, settings=settings)
    return _attachment(data, name=f"{exporting.safe_name(item.serial)}.pdf", media=MEDIA["pdf"])


def _address(request: Request) -> str:
    # uvicorn already replaces it from X-Forwarded-For when the proxy is trusted.
    return request.client.host if request.client else "unknown"


def routes(ctx: Context) -> ApiRoutes:
    """The certificates' routes; only the verify route is public."""
    db = ctx.db
    router = APIRouter()

    @router.post("/certificates/verify")
    def certificates_verify(body: VerifyRequest, request: Request) -> JSONResponse:
        token = token_from_text(body.token)
        address = _address(request)
        verdict = db.run(lambda s: service.verify_from_address(s, token=token, address=address))
        return JSONResponse(verdict.to_json())

    @router.get("/my/certificates")
    def my_certificates(user: Me) -> JSONResponse:
        def work(s: Session) -> list[service.CertificateEntry]:
            person = user.person_id
            return service.person_certificates(s, person_id=person)

        entries = db.run(work)
        return JSONResponse(
            {"certificates": [certificate_json(e, with_person=False) for e in entries]}
        )

    @router.post("/manage/certificates")
    def manage_certificates(body: ManageCertificatesRequest, user: Me) -> JSONResponse:
        def work(s: Session) -> list[service.CertificateEntry]:
            scope = reads.scope_of_account(s, user.account_id)
            return service.scope_certificates(
                s, scope, unit_code=body.unit_code, course=body.course
            )

        entries = db.run(work)
        return JSONResponse(
            {
                "unit_code": body.unit_code,
                "course": body.course,
                "certificates": [certificate_json(e, with_person=True) for e in entries],
            }
        )

    @router.get("/my/certificates/{serial}/pdf")
    def my_certificate_pdf(serial: Serial, user: Me) -> Response:
        settings = _settings()
        exporting.require_verify_address(settings)
        with read_only(db.engine) as s:
            person = user.person_id
            item = exporting.certificate_for_download(s, serial=serial, person_id=person)
        return _pdf(item, settings)

    @router.get("/manage/certificates/{serial}/pdf")
    def manage_certificate_pdf(serial: Serial, user: Me) -> Response:
        settings = _settings()
        with read_only(db.engine) as s:
            scope = reads.scope_of_account(s, user.account_id)
            exporting.require_verify_address(settings)
            item = exporting.certificate_for_download(s, serial=serial, scope=scope)
        return _pdf(item, settings)

    @router.post("/manage/certificates/export")
    def manage_certificates_export(body: ExportRequest, user: Me) -> Response:
        settings = _settings()
        filters = exporting.ExportFilters(
            unit_code=body.unit_code,
            subtree=True,
            course=body.course,
            date_from=body.date_from,
            date_to=body.date_to,
        )
        # Read without SQLite's write lock (rendering takes a while), log, then send.
        with read_only(db.engine) as s:
            scope = reads.scope_of_account(s, user.account_id)
            selection = exporting.select_for_export(
                s,
                filters,
                fmt=body.fmt,
                settings=settings,
                scope=scope,
                limit=exporting.MAX_WEB_EXPORT,
            )
        fd, name = tempfile.mkstemp(prefix="certificates-", suffix=f".{body.fmt}")
        os.close(fd)
        path = Path(name)
        try:
            if body.fmt == "zip":
                entries = exporting.zip_entries(
                    selection.items,
                    filters,
                    pdf=lambda item: render_pdf(item, settings=settings),
                    language=ctx.language,
                )
                exporting.write_zip(path, entries)
            else:
                exporting.write_export(
                    selection, path, fmt=body.fmt, settings=settings, language=ctx.language
                )
            count = len(selection.items)
            db.run(
                lambda s: exporting.record_export(
                    s,
                    filters=filters,
                    fmt=body.fmt,
                    count=count,
                    actor_account_id=user.account_id,
                    source="web",
                )
            )
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        download = f"certificates-{body.unit_code}-{today_vn().isoformat()}.{body.fmt}"
        return FileResponse(
            path,
            media_type=MEDIA[body.fmt],
            headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{download}"'},
            background=BackgroundTask(path.unlink, missing_ok=True),
        )

    return ApiRoutes(router=router, public=frozenset({VERIFY_PATH}))

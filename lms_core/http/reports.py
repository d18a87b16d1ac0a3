"""Reports and the dashboard over HTTP (``/api/manage/reports/…``, ``/api/manage/dashboard/…``).

Trainers, managers and admins read the reports of their area (the scope of
:func:`~lms_core.services.scope.scope_of_account`: learners get 403, a unit
outside the area 404 exactly like a missing one).  A report comes back as
JSON (``{report, title, columns, rows, filters, generated_at}``) for the
manager's pages, or as a CSV or XLSX download; every download is a
``report.exported`` event with the account as actor.  The report is read and
the file built in a read-only transaction (on SQLite a long export must not
take the write lock learners' submissions need); the event is then written
in a short one, before the file is sent: no download without its event.

Only official unit codes, course slugs, cohort names and dates travel in
URLs; names and staff codes never do (they are not filters of any report).
Downloads are ``Cache-Control: no-store``: they hold personal data and must
not stay in a shared proxy or the browser's cache.

``pseudonymise=1`` on a download replaces names and staff codes with the
project's stable pseudonyms, exactly as ``lms report … --pseudonymise``
(:func:`~lms_core.report_formats.project_pseudonymiser`, the same key): a
manager can share the file outside HR, and files made at the command line
and on the server join on the same pseudonyms.  The server finds the key
folder in the project's configuration the way the certificates plugin
does (``$LMS_CONFIG``, which ``lms serve`` sets; else the current folder).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from lms_core.config import locate_project
from lms_core.dashboard import dashboard_page, render_unit_page
from lms_core.db import read_only
from lms_core.errors import LmsError
from lms_core.http.common import Context, Db, HttpError, Me
from lms_core.http.manage import CourseFilter, UnitCode
from lms_core.report_formats import (
    Pseudonymiser,
    ReportRequest,
    page_csp,
    project_pseudonymiser,
    record_export,
    run_report,
    text_of,
    write_csv,
    write_xlsx,
)
from lms_core.reporting import Cell, ColumnKind, Report
from lms_core.services import scope as reads
from lms_core.services.scope import UnitRef

ReportName = Literal["completion", "rollup", "overdue", "expiring", "attempts", "items"]
UnitQuery = Annotated[
    str | None, Query(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
]
TextFilter = Annotated[str | None, Query(min_length=1, max_length=255)]

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
NO_PSEUDONYMS = (
    "pseudonymised exports are not available on this server (its pseudonym key "
    "cannot be used; the server's log says why): ask the operator"
)

log = logging.getLogger("lms.http")


def _json_cell(value: Cell, kind: ColumnKind) -> Any:
    """A cell for JSON: numbers and booleans as they are, dates as ISO 8601 text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    return text_of(value, kind)


def report_json(report: Report, *, language: str) -> dict[str, Any]:
    kinds = [c.kind for c in report.columns]
    return {
        "report": report.name,
        "title": report.title(language),
        "columns": [
            {"key": c.key, "title": c.title(language), "kind": c.kind, "personal": c.personal}
            for c in report.columns
        ],
        "rows": [
            [_json_cell(v, k) for v, k in zip(row, kinds, strict=True)] for row in report.rows
        ],
        "filters": dict(report.filters),
        "generated_at": report.generated_at.isoformat() if report.generated_at else None,
    }


def _filename(request: ReportRequest, fmt: str, today: dt.date) -> str:
    """``completion-13285-2026-11-29.xlsx``: the report, the unit code, the day."""
    parts = [request.name, *([request.unit_code] if request.unit_code else []), today.isoformat()]
    return "-".join(parts) + f".{fmt}"


def _pseudonymiser(db: Db) -> Pseudonymiser:
    """The project's pseudonymiser, the one ``lms report --pseudonymise`` uses.

    Its secret is a file in the project's key folder, named by the database;
    the first pseudonymised export of a project creates it (and records the
    key's id), from the command line or from here.  A key that cannot be
    used (a folder inside the project, a recorded key whose file is missing)
    is the operator's to fix: the reason, which names server paths, goes to
    the log, and the manager gets 503 rather than a file with other
    pseudonyms than the project's.
    """
    try:
        project = locate_project()
        return db.run(
            lambda s: project_pseudonymiser(s, key_dir=project.key_dir, project_root=project.root)
        )
    except (LmsError, OSError) as exc:
        log.error("pseudonymised export refused: %s", exc)
        raise HttpError(503, NO_PSEUDONYMS) from None


def install(router: APIRouter, ctx: Context) -> None:
    """Add the report and dashboard routes to the ``/api`` router."""
    db = ctx.db

    @router.get("/manage/reports/{name}")
    def manage_report(
        name: ReportName,
        user: Me,
        unit: UnitQuery = None,
        course: TextFilter = None,
        cohort: TextFilter = None,
        date_from: Annotated[dt.date | None, Query(alias="from")] = None,
        date_to: Annotated[dt.date | None, Query(alias="to")] = None,
        within: Annotated[int | None, Query(ge=0, le=3650)] = None,
        expired: bool = False,
        exercise: TextFilter = None,
        fmt: Annotated[Literal["json", "csv", "xlsx"], Query(alias="format")] = "json",
        lang: Literal["vi", "en"] | None = None,
        pseudonymise: bool = False,
    ) -> Response:
        language = lang or ctx.language
        if pseudonymise and fmt == "json":
            raise HttpError(400, "pseudonymise is for downloads: format=csv or format=xlsx")
        request = ReportRequest(
            name=name,
            unit_code=unit,
            subtree=True,
            course=course,
            cohort=cohort,
            date_from=date_from,
            date_to=date_to,
            within_days=within,
            include_expired=expired,
            exercise=exercise,
        )

        # The key first, as at the command line (its first use records it: a write),
        # once the request is known to be one: a refused request creates no key.
        pseudonymiser = None
        if pseudonymise:
            request.check()
            pseudonymiser = _pseudonymiser(db)
        # Read (and build the file) without SQLite's write lock: a big export must
        # not hold up learners' submissions.  Then log it; no download without it.
        with read_only(db.engine) as s:
            scope = reads.scope_of_account(s, user.account_id)
            report = run_report(s, scope, request)
        if fmt == "json":
            return JSONResponse(report_json(report, language=language), headers=PRIVATE)
        buffer = io.BytesIO()
        if fmt == "csv":
            rows = write_csv(report, buffer, language=language, pseudonymise=pseudonymiser)
        else:
            rows = write_xlsx([report], buffer, language=language, pseudonymise=pseudonymiser)
        db.run(
            lambda s: record_export(
                s,
                report=report.name,
                fmt=fmt,
                filters=request.event_filters(),
                rows=rows,
                pseudonymised=pseudonymiser is not None,
                actor_account_id=user.account_id,
                source="web",
            )
        )
        data = buffer.getvalue()
        name_on_disk = _filename(request, fmt, dt.date.today())
        return Response(
            content=data,
            media_type=MEDIA[fmt],
            headers={
                **PRIVATE,
                "Content-Disposition": f'attachment; filename="{name_on_disk}"',
            },
        )

    @router.get("/manage/dashboard/{unit_code}")
    def manage_dashboard(
        unit_code: UnitCode,
        user: Me,
        course: CourseFilter = None,
        lang: Literal["vi", "en"] | None = None,
    ) -> HTMLResponse:
        language = lang or ctx.language
        query = f"?course={course}" if course else ""

        def link(unit: UnitRef) -> str:
            # relative to /api/manage/dashboard/<code>: works behind any path prefix
            return f"{unit.code}{query}"

        with read_only(db.engine) as s:
            scope = reads.scope_of_account(s, user.account_id)
            page = dashboard_page(s, scope, unit_code=unit_code, course=course)
        html = render_unit_page(page, language=language, link=link)
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": page_csp(frame=True),
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

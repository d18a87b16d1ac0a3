"""The manager's API (``/api/manage/…``): progress of the people of an org subtree.

Trainers and managers read their area (their account's unit and its
subtree), admins everything; learners get 403.  The rule lives in
:mod:`lms_core.services.scope`; this module only parses and presents.

Staff codes and names are personal data: they never appear in a URL (URLs
end up in access logs, proxy logs and browser history), so looking up a
person or an attempt is a ``POST`` with a JSON body.  Unit codes are
official public codes and may be in the path.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.orm import Session

from lms_core.http.common import UUID, Body, Context, Me, iso
from lms_core.services import scope as reads

UnitCode = Annotated[
    str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
]
CourseFilter = Annotated[str | None, Query(min_length=1, max_length=64)]


class PersonRequest(Body):
    staff_code: str = Field(min_length=1, max_length=64)


class AttemptRequest(Body):
    attempt_id: str = UUID


def _unit(unit: reads.UnitRef | None) -> dict[str, str] | None:
    if unit is None:
        return None
    return {"code": unit.code, "name": unit.name, "kind": unit.kind}


def _courses(rows: list[reads.CourseCounts]) -> list[dict[str, Any]]:
    return [
        {
            "course": row.course,
            "title": row.title,
            "enrolled": row.counts.enrolled,
            "in_progress": row.counts.in_progress,
            "completed": row.counts.completed,
            "withdrawn": row.counts.withdrawn,
            "overdue": row.counts.overdue,
            "total": row.counts.total,
        }
        for row in rows
    ]


def _exercises(progress: reads.EnrolmentProgress) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "title": e.title,
            "grading": e.grading,
            "pass_mark": e.pass_mark,
            "attempts": e.attempts,
            "best": e.best,
            "score": e.score,
            "passed": e.passed,
        }
        for e in progress.exercises
    ]


def _enrolment(progress: reads.EnrolmentProgress) -> dict[str, Any]:
    """The fields common to the people list and the person record."""
    return {
        "course": progress.course,
        "title": progress.title,
        "version": progress.version,
        "status": progress.status,
        "due_on": iso(progress.due_on),
        "overdue": progress.overdue,
        "enrolled_at": progress.enrolled_at.isoformat(),
        "exercises": _exercises(progress),
        "completed_at": iso(progress.completed_at),
        "completion_score": progress.completion_score,
    }


def _attempt(summary: reads.AttemptSummary) -> dict[str, Any]:
    return {
        "attempt_id": summary.attempt_id,
        "exercise": summary.exercise,
        "state": summary.state,
        "started_at": summary.started_at.isoformat(),
        "deadline": iso(summary.deadline_at),
        "submitted_at": iso(summary.submitted_at),
        "score": summary.score,
        "max_score": summary.max_score,
        "percent": summary.percent,
        "passed": summary.passed,
        "late": summary.late,
        "source": summary.source,
    }


def progress_json(progress: reads.UnitProgress) -> dict[str, Any]:
    return {
        "unit": _unit(progress.unit),
        "parent": _unit(progress.parent),
        "as_of": progress.as_of.isoformat(),
        "people": progress.people,
        "courses": _courses(progress.courses),
        "here": _courses(progress.here),
        "children": [
            {"unit": _unit(c.unit), "people": c.people, "courses": _courses(c.courses)}
            for c in progress.children
        ],
    }


def people_json(page: reads.PeoplePage) -> dict[str, Any]:
    following = page.offset + len(page.people)
    return {
        "unit": _unit(page.unit),
        "course": page.course,
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": following if following < page.total else None,
        "people": [
            {
                "staff_code": p.staff_code,
                "full_name": p.full_name,
                "position": p.position,
                "active": p.active,
                "unit": _unit(p.unit),
                "enrolments": [
                    {
                        **_enrolment(e),
                        "lessons_viewed": len(e.lessons_viewed),
                        "lessons_total": e.lessons_total,
                    }
                    for e in p.enrolments
                ],
            }
            for p in page.people
        ],
    }


def person_json(record: reads.PersonRecord) -> dict[str, Any]:
    return {
        "staff_code": record.staff_code,
        "full_name": record.full_name,
        "position": record.position,
        "active": record.active,
        "unit": _unit(record.unit),
        "enrolments": [
            {
                **_enrolment(e.progress),
                "started_at": iso(e.progress.started_at),
                "withdrawn_at": iso(e.progress.withdrawn_at),
                "lessons_total": e.progress.lessons_total,
                "required_lessons": e.progress.required_lessons,
                "lessons_viewed": e.progress.lessons_viewed,
                "attempts": [_attempt(a) for a in e.attempts],
            }
            for e in record.enrolments
        ],
    }


def attempt_json(detail: reads.AttemptDetail) -> dict[str, Any]:
    return {
        **_attempt(detail.attempt),
        "exercise_title": detail.exercise_title,
        "course": detail.course,
        "version": detail.version,
        "person": {
            "staff_code": detail.staff_code,
            "full_name": detail.full_name,
            "unit": _unit(detail.unit),
        },
        "feedback": detail.feedback,
        "questions": [
            {
                "id": q.id,
                "points": q.points,
                "max_points": q.max_points,
                "correct": q.correct,
                "feedback": q.feedback,
            }
            for q in detail.questions
        ],
    }


def install(router: APIRouter, ctx: Context) -> None:
    """Add the ``/manage`` routes to the ``/api`` router.

    Each route reads the caller's scope inside its transaction, so a role or
    area changed a moment ago applies to the very next request.
    """
    db = ctx.db

    @router.get("/manage/scope")
    def manage_scope(user: Me) -> JSONResponse:
        def work(s: Session) -> dict[str, Any]:
            scope = reads.scope_of_account(s, user.account_id)
            return {
                "role": scope.role,
                "whole_tree": scope.whole_tree,
                "roots": [_unit(u) for u in reads.scope_roots(s, scope)],
            }

        return JSONResponse(db.run(work))

    @router.get("/manage/units/{unit_code}/progress")
    def manage_unit_progress(
        unit_code: UnitCode, user: Me, course: CourseFilter = None
    ) -> JSONResponse:
        def work(s: Session) -> reads.UnitProgress:
            scope = reads.scope_of_account(s, user.account_id)
            return reads.unit_progress(s, scope, unit_code=unit_code, course=course)

        return JSONResponse(progress_json(db.run(work)))

    @router.get("/manage/units/{unit_code}/people")
    def manage_unit_people(
        unit_code: UnitCode,
        user: Me,
        course: CourseFilter = None,
        limit: Annotated[int, Query(ge=1, le=reads.MAX_PAGE)] = reads.DEFAULT_PAGE,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    ) -> JSONResponse:
        def work(s: Session) -> reads.PeoplePage:
            scope = reads.scope_of_account(s, user.account_id)
            return reads.people_progress(
                s, scope, unit_code=unit_code, course=course, limit=limit, offset=offset
            )

        return JSONResponse(people_json(db.run(work)))

    @router.post("/manage/person")
    def manage_person(body: PersonRequest, user: Me) -> JSONResponse:
        def work(s: Session) -> reads.PersonRecord:
            scope = reads.scope_of_account(s, user.account_id)
            return reads.person_record(s, scope, staff_code=body.staff_code)

        return JSONResponse(person_json(db.run(work)))

    @router.post("/manage/attempt")
    def manage_attempt(body: AttemptRequest, user: Me) -> JSONResponse:
        def work(s: Session) -> reads.AttemptDetail:
            scope = reads.scope_of_account(s, user.account_id)
            return reads.attempt_detail(s, scope, attempt_uuid=body.attempt_id)

        return JSONResponse(attempt_json(db.run(work)))

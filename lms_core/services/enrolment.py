"""Enrolments: who takes which course, on which version, in which training round.

Enrolling is run again and again on the same units as staff lists change, so
it is idempotent: people with an active or completed enrolment are reported
as *already*, never enrolled twice.  It is built for a province at once
(100,000 people): a handful of set-wise queries load what exists, eligibility
is plain Python, and the new rows go in with one executemany, never one ORM
object per person.

An enrolment is pinned to the course version it started on (a certificate
names what was learnt); enrolments nobody has started yet follow new versions
(:func:`move_unstarted`).  Withdrawing keeps the row as history, so a person
can be enrolled again later.
"""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Date, Table, insert, literal_column, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from lms_core.db import bulk_work, execute_many
from lms_core.errors import (
    ConflictError,
    ImportValidationError,
    LmsError,
    NotFoundError,
    Problem,
)
from lms_core.models import (
    COURSE_STATUSES,
    Cohort,
    Completion,
    Course,
    CourseVersion,
    Enrolment,
    OrgUnit,
    Person,
    sql_timestamp,
    utcnow,
)
from lms_core.services.events import record_event
from lms_core.services.org import get_unit, subtree_filter
from lms_core.services.staff import normalise_staff_code
from lms_core.tabular import read_table
from lms_core.text import clean, did_you_mean

__all__ = [
    "ACTIVE_STATUSES",
    "STAFF_FILE_OPTIONAL",
    "EnrolReport",
    "EnrolmentEntry",
    "enrol",
    "latest_version",
    "list_enrolments",
    "move_unstarted",
    "position_key",
    "read_staff_codes",
    "withdraw",
]

#: Statuses that hold the person's one active seat in a course (a unique index
#: in the database allows at most one such row per person and course).
ACTIVE_STATUSES = ("enrolled", "in_progress")
#: An enrolment in these statuses means "do not enrol this person again".
_TAKEN_STATUSES = (*ACTIVE_STATUSES, "completed")

#: Columns a ``--staff`` file may have besides ``staff_code``: those of a staff
#: import file, so the same file can be reused for enrolling.
STAFF_FILE_OPTIONAL = ("full_name", "org_code", "position", "phone", "email")

#: Staff codes per ``IN (…)`` query: far below SQLite's and PostgreSQL's
#: limits on bound parameters per statement.
_CHUNK = 5_000

enrolment_table = cast(Table, Enrolment.__table__)

NO_SUCH_STAFF_CODE = "no such staff code"
EMPTY_STAFF_CODE = "empty staff code"
INACTIVE = "inactive person"


def position_key(value: str) -> str:
    """How positions compare: NFC, whitespace collapsed, case folded.

    HR files write "Giáo viên  tiểu học", "giáo viên tiểu học" and decomposed
    Vietnamese for the same post; all of them must select the same people.
    """
    return unicodedata.normalize("NFC", clean(value).casefold())


@dataclass(slots=True)
class EnrolReport:
    """What one :func:`enrol` run did, person by person (staff codes only).

    ``len(report.enrolled)`` and so on are the counts; the lists let an
    operator see exactly who was left out and why.
    """

    course: str
    version: int
    cohort_id: int | None = None
    enrolled: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    not_eligible: list[tuple[str, str]] = field(default_factory=list)

    @property
    def enrolled_count(self) -> int:
        return len(self.enrolled)

    @property
    def already_count(self) -> int:
        return len(self.already)

    @property
    def not_eligible_count(self) -> int:
        return len(self.not_eligible)

    def summary(self) -> str:
        return (
            f"enrolled {len(self.enrolled)}, already enrolled {len(self.already)}, "
            f"not eligible {len(self.not_eligible)}"
        )


@dataclass(frozen=True, slots=True)
class EnrolmentEntry:
    """One enrolment as listed to an operator."""

    staff_code: str
    full_name: str
    org_code: str
    course: str
    version: int
    cohort: str | None
    status: str
    due_on: dt.date | None
    enrolled_at: dt.datetime


# --------------------------------------------------------------------------- courses


def _course_or_none(session: Session, slug: str) -> Course | None:
    return session.scalar(select(Course).where(Course.slug == slug))


def _published_slugs(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(Course.slug).where(Course.id.in_(select(CourseVersion.course_id))).distinct()
        )
    )


def _unpublished(session: Session, course: str) -> NotFoundError:
    hint = did_you_mean(course, _published_slugs(session))
    return NotFoundError(
        f"course '{course}' has not been published ("
        + (f"{hint} otherwise " if hint else "")
        + f"run lms course publish {course})"
    )


def _get_course(session: Session, course: str) -> Course:
    """The course ``course`` (a slug), published at least once."""
    found = _course_or_none(session, course)
    if found is None:
        raise _unpublished(session, course)
    return found


def latest_version(session: Session, *, course: str) -> CourseVersion:
    """The newest published version of the course with slug ``course``.

    New enrolments are pinned to it.  A course that is only a folder of
    Markdown has no version yet, and the error says how to publish it.
    """
    version = session.scalar(
        select(CourseVersion)
        .join(Course, CourseVersion.course_id == Course.id)
        .where(Course.slug == course)
        .order_by(CourseVersion.number.desc())
        .limit(1)
    )
    if version is None:
        raise _unpublished(session, course)
    return version


def _lock_course(session: Session, course_id: int) -> None:
    """Serialise enrolment writes per course (PostgreSQL: a row lock on the course).

    Two ``enrol`` runs for the same course at once would otherwise both see
    a person as not enrolled and the second would fail on the unique index;
    a publish moving unstarted enrolments would miss rows inserted meanwhile.
    SQLite needs nothing: every writing transaction there is ``BEGIN
    IMMEDIATE``, so writers are already serialised.
    """
    session.execute(select(Course.id).where(Course.id == course_id).with_for_update())


# --------------------------------------------------------------------------- enrol


@dataclass(frozen=True, slots=True)
class _Candidate:
    staff_code: str
    person_id: int | None  # None: unknown staff code
    active: bool = True
    unit_code: str = ""
    unit_gone: dt.date | None = None


def _candidates_by_org(
    session: Session, *, org: str, subtree: bool, positions: Sequence[str]
) -> tuple[OrgUnit, list[_Candidate]]:
    """Active people of a unit (or its subtree), optionally of some positions only."""
    unit = get_unit(session, org)
    scope = (
        Person.org_unit_id.in_(subtree_filter(unit.path))
        if subtree
        else Person.org_unit_id == unit.id
    )
    query = (
        select(Person.id, Person.staff_code, Person.position, OrgUnit.code, OrgUnit.valid_to)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .where(scope, Person.active.is_(True))
        .order_by(OrgUnit.path, Person.full_name, Person.staff_code)
    )
    wanted = {position_key(p) for p in positions}
    wanted.discard("")
    keys: dict[str, str] = {}  # few distinct positions, many people: fold each once
    people: list[_Candidate] = []
    for pid, code, position, unit_code, valid_to in session.execute(query).tuples():
        if wanted:
            key = keys.get(position)
            if key is None:
                key = keys[position] = position_key(position)
            if key not in wanted:
                continue
        people.append(_Candidate(code, pid, True, unit_code, valid_to))
    return unit, people


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _candidates_by_code(session: Session, staff_codes: Sequence[str]) -> list[_Candidate]:
    """The listed people, in list order, duplicates dropped; unknown codes kept as such."""
    codes = list(dict.fromkeys(normalise_staff_code(c) for c in staff_codes))
    found: dict[str, tuple[int, bool, str, dt.date | None]] = {}
    for chunk in _chunks([c for c in codes if c]):
        query = (
            select(Person.staff_code, Person.id, Person.active, OrgUnit.code, OrgUnit.valid_to)
            .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
            .where(Person.staff_code.in_(chunk))
        )
        for code, pid, active, unit_code, valid_to in session.execute(query).tuples():
            found[code] = (pid, active, unit_code, valid_to)
    people: list[_Candidate] = []
    for code in codes:
        hit = found.get(code)
        if hit is None:
            people.append(_Candidate(code, None))
        else:
            people.append(_Candidate(code, *hit))
    return people


def _prerequisites(session: Session, version: CourseVersion) -> list[tuple[str, int | None]]:
    """The prerequisite slugs of ``version`` with their course ids (None: not in the database)."""
    meta = version.snapshot.get("meta") or {}
    slugs = [str(s) for s in meta.get("prerequisites") or []]
    if not slugs:
        return []
    ids = dict(
        session.execute(select(Course.slug, Course.id).where(Course.slug.in_(slugs))).tuples().all()
    )
    return [(slug, ids.get(slug)) for slug in slugs]


def _completed(session: Session, course_ids: Sequence[int]) -> dict[int, set[int]]:
    """Person id -> ids of the given courses that person has completed."""
    done: dict[int, set[int]] = {}
    if not course_ids:
        return done
    query = (
        select(Completion.person_id, Completion.course_id)
        .where(Completion.course_id.in_(course_ids))
        .distinct()
    )
    for pid, cid in session.execute(query).tuples():
        done.setdefault(pid, set()).add(cid)
    return done


def _taken(session: Session, course_id: int) -> set[int]:
    """People who must not be enrolled again: active or completed enrolment, or a completion."""
    taken = set(
        session.scalars(
            select(Enrolment.person_id).where(
                Enrolment.course_id == course_id, Enrolment.status.in_(_TAKEN_STATUSES)
            )
        )
    )
    taken.update(
        session.scalars(select(Completion.person_id).where(Completion.course_id == course_id))
    )
    return taken


def _cohort(
    session: Session,
    *,
    course: Course,
    name: str,
    unit: OrgUnit | None,
    positions: Sequence[str],
    actor_account_id: int | None,
) -> int:
    """The id of the course's cohort ``name``, created (and logged) if it is new.

    An existing cohort is used as it is: its scope describes the round as it
    was planned, and a second enrol run (a late list) must not rewrite it.
    """
    cleaned = clean(name)
    if not cleaned:
        raise LmsError("the cohort name is empty")
    if len(cleaned) > 255:
        raise LmsError("the cohort name is longer than 255 characters")
    query = select(Cohort.id).where(Cohort.course_id == course.id, Cohort.name == cleaned)
    existing = session.scalar(query)
    if existing is not None:
        return existing
    try:
        # A savepoint: a concurrent run creating the same cohort must not
        # abort the caller's transaction, only this insert.
        with session.begin_nested():
            cohort_id = session.execute(
                insert(Cohort)
                .values(
                    course_id=course.id,
                    name=cleaned,
                    org_unit_id=unit.id if unit is not None else None,
                    positions=[clean(p) for p in positions if clean(p)],
                    created_at=utcnow(),
                )
                .returning(Cohort.id)
            ).scalar_one()
    except IntegrityError:
        again = session.scalar(query)
        if again is None:  # pragma: no cover - the conflict was something else
            raise
        return again
    record_event(
        session,
        verb="cohort.created",
        object_type="cohort",
        object_id=str(cohort_id),
        actor_account_id=actor_account_id,
        data={
            "course_id": course.id,
            "org_unit_id": unit.id if unit is not None else None,
            "positions": len(positions),
        },
    )
    return cohort_id


def _sql_date(value: dt.date) -> ColumnElement[dt.date]:
    """``value`` as a typed SQL constant (see :func:`lms_core.models.sql_timestamp`)."""
    return literal_column(f"'{value.isoformat()}'", Date())


def enrol(
    session: Session,
    *,
    course: str,
    org: str | None = None,
    subtree: bool = False,
    positions: Sequence[str] = (),
    staff_codes: Sequence[str] | None = None,
    cohort: str | None = None,
    due: dt.date | None = None,
    actor_account_id: int | None = None,
) -> EnrolReport:
    """Enrol the people of ``org`` (or its subtree) or the listed ``staff_codes``.

    Exactly one of ``org`` and ``staff_codes``.  By unit, only active people
    are selected (people who left are not news); ``positions`` narrows to
    some posts.  By list, every code is reported: unknown and inactive ones
    as not eligible.  People whose unit was dissolved, or who have not
    completed every prerequisite course, are not eligible either.  New
    enrolments are pinned to the latest version, with the cohort (created
    on first use) and due date.
    """
    if (org is None) == (staff_codes is None):
        raise LmsError("enrol needs exactly one of: a unit (org) or a list of staff codes")
    if staff_codes is not None and (subtree or positions):
        raise LmsError("subtree and positions select people of a unit; they need org")
    version = latest_version(session, course=course)
    target = session.get_one(Course, version.course_id)
    _lock_course(session, target.id)
    version = latest_version(session, course=course)  # a publish may have committed meanwhile
    with bulk_work():
        unit: OrgUnit | None = None
        if org is not None:
            unit, people = _candidates_by_org(
                session, org=org, subtree=subtree, positions=positions
            )
        else:
            people = _candidates_by_code(session, staff_codes or ())
        cohort_id = (
            _cohort(
                session,
                course=target,
                name=cohort,
                unit=unit,
                positions=positions,
                actor_account_id=actor_account_id,
            )
            if cohort is not None
            else None
        )
        report = EnrolReport(course=target.slug, version=version.number, cohort_id=cohort_id)
        chosen = _sort(session, report, people, target, version)
        now = utcnow()
        values: dict[str, Any] = {
            "course_id": target.id,
            "course_version_id": version.id,
            "cohort_id": cohort_id,
            "status": "enrolled",
            "enrolled_at": sql_timestamp(now),
            "due_on": _sql_date(due) if due is not None else None,
        }
        execute_many(
            session,
            insert(enrolment_table).values(**values),
            [{"person_id": pid} for pid in chosen],
        )
    record_event(
        session,
        verb="enrolment.created",
        object_type="course",
        object_id=str(target.id),
        actor_account_id=actor_account_id,
        data={
            "course_version_id": version.id,
            "cohort_id": cohort_id,
            "org_unit_id": unit.id if unit is not None else None,
            "subtree": subtree,
            "positions": len(positions),
            "by_list": staff_codes is not None,
            "enrolled": len(report.enrolled),
            "already": len(report.already),
            "not_eligible": len(report.not_eligible),
        },
    )
    return report


def _sort(
    session: Session,
    report: EnrolReport,
    people: Sequence[_Candidate],
    course: Course,
    version: CourseVersion,
) -> list[int]:
    """Put every candidate in exactly one of enrolled / already / not eligible.

    Returns the person ids to enrol, in the order of ``report.enrolled``.
    """
    chosen: list[int] = []
    taken = _taken(session, course.id)
    prerequisites = _prerequisites(session, version)
    done = _completed(session, [cid for _, cid in prerequisites if cid is not None])
    today = dt.date.today()
    for p in people:
        if p.person_id is None:
            reason = NO_SUCH_STAFF_CODE if p.staff_code else EMPTY_STAFF_CODE
            report.not_eligible.append((p.staff_code, reason))
        elif p.person_id in taken:
            report.already.append(p.staff_code)
        elif not p.active:
            report.not_eligible.append((p.staff_code, INACTIVE))
        elif p.unit_gone is not None and p.unit_gone < today:
            report.not_eligible.append(
                (
                    p.staff_code,
                    f"unit {p.unit_code} was dissolved on {p.unit_gone.isoformat()} "
                    "(move the person to the unit that replaced it)",
                )
            )
        elif prerequisites and (
            missing := [
                slug
                for slug, cid in prerequisites
                if cid is None or cid not in done.get(p.person_id, ())
            ]
        ):
            report.not_eligible.append(
                (p.staff_code, "prerequisite not completed: " + ", ".join(missing))
            )
        else:
            report.enrolled.append(p.staff_code)
            chosen.append(p.person_id)
    return chosen


def read_staff_codes(
    path: str | os.PathLike[str], *, encoding: str | None = None, sheet: str | None = None
) -> list[str]:
    """Staff codes of a CSV/XLSX list (a ``staff_code`` column; a staff import file works).

    A row with a name but no staff code is an error, not a silent skip:
    that person would otherwise simply not be enrolled.
    """
    table = read_table(
        path,
        required=("staff_code",),
        optional=STAFF_FILE_OPTIONAL,
        encoding=encoding,
        sheet=sheet,
    )
    problems = [
        Problem(
            table.path,
            row.line,
            table.column_number("staff_code"),
            "empty",
            "fill in the person's staff code, or delete the row",
            field="staff_code",
        )
        for row in table.rows
        if not row.values["staff_code"].strip()
    ]
    if problems:
        raise ImportValidationError(
            problems, summary=f"{len(problems)} rows have no staff code; nobody was enrolled"
        )
    return [row.values["staff_code"] for row in table.rows]


# --------------------------------------------------------------------------- list


def list_enrolments(
    session: Session,
    *,
    course: str | None = None,
    org: str | None = None,
    subtree: bool = False,
    status: str | None = None,
    cohort: str | None = None,
    limit: int | None = None,
) -> list[EnrolmentEntry]:
    """Enrolments (history included), by course, unit and name.

    ``org`` filters on the person's current unit; ``status`` on one of
    enrolled, in_progress, completed, withdrawn.
    """
    if status is not None and status not in COURSE_STATUSES:
        raise LmsError(f"unknown status '{status}' (one of: {', '.join(COURSE_STATUSES)})")
    if subtree and org is None:
        raise LmsError("subtree needs org")
    query = (
        select(
            Person.staff_code,
            Person.full_name,
            OrgUnit.code,
            Course.slug,
            CourseVersion.number,
            Cohort.name,
            Enrolment.status,
            Enrolment.due_on,
            Enrolment.enrolled_at,
        )
        .join(Person, Enrolment.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .join(Course, Enrolment.course_id == Course.id)
        .join(CourseVersion, Enrolment.course_version_id == CourseVersion.id)
        .outerjoin(Cohort, Enrolment.cohort_id == Cohort.id)
        .order_by(
            Course.slug, OrgUnit.path, Person.full_name, Person.staff_code, Enrolment.enrolled_at
        )
    )
    if course is not None:
        query = query.where(Enrolment.course_id == _get_course(session, course).id)
    if org is not None:
        unit = get_unit(session, org)
        query = query.where(
            Person.org_unit_id.in_(subtree_filter(unit.path))
            if subtree
            else Person.org_unit_id == unit.id
        )
    if status is not None:
        query = query.where(Enrolment.status == status)
    if cohort is not None:
        query = query.where(Cohort.name == clean(cohort))
    if limit is not None:
        query = query.limit(limit)
    return [EnrolmentEntry(*row) for row in session.execute(query).tuples()]


# --------------------------------------------------------------------------- withdraw, move


def withdraw(
    session: Session, *, course: str, staff_code: str, actor_account_id: int | None = None
) -> None:
    """Withdraw a person's active enrolment; the row stays, as history.

    A completed course cannot be withdrawn: the completion is a fact a
    certificate may already state.
    """
    target = _get_course(session, course)
    code = normalise_staff_code(staff_code)
    person_id = session.scalar(select(Person.id).where(Person.staff_code == code))
    if person_id is None:
        raise NotFoundError(f"no person with staff code '{staff_code}'")
    _lock_course(session, target.id)
    enrolment = session.scalar(
        select(Enrolment).where(
            Enrolment.person_id == person_id,
            Enrolment.course_id == target.id,
            Enrolment.status.in_(ACTIVE_STATUSES),
        )
    )
    if enrolment is None:
        completed = session.scalar(
            select(Enrolment.id).where(
                Enrolment.person_id == person_id,
                Enrolment.course_id == target.id,
                Enrolment.status == "completed",
            )
        )
        if completed is not None:
            raise ConflictError(
                f"{code} has completed course '{course}'; a completion cannot be withdrawn"
            )
        raise NotFoundError(f"{code} is not enrolled in course '{course}'")
    enrolment.status = "withdrawn"
    enrolment.withdrawn_at = utcnow()
    session.flush()
    record_event(
        session,
        verb="enrolment.withdrawn",
        object_type="enrolment",
        object_id=str(enrolment.id),
        actor_account_id=actor_account_id,
        data={"course_id": target.id, "person_id": person_id},
    )


def move_unstarted(session: Session, *, course_id: int, version_id: int) -> int:
    """Move the course's unstarted enrolments to ``version_id``; return how many moved.

    Called by publishing after it stores a new version: nobody has seen the
    old content, so they should get the new one.  Enrolments with any
    progress stay pinned to the version they started on.  The caller logs
    the publish (with this count).
    """
    owner = session.scalar(select(CourseVersion.course_id).where(CourseVersion.id == version_id))
    if owner is None:
        raise NotFoundError(f"no course version with id {version_id}")
    if owner != course_id:
        raise ConflictError(f"course version {version_id} is not a version of course {course_id}")
    _lock_course(session, course_id)
    result = session.execute(
        update(Enrolment)
        .where(
            Enrolment.course_id == course_id,
            Enrolment.status == "enrolled",
            Enrolment.started_at.is_(None),
            Enrolment.course_version_id != version_id,
        )
        .values(course_version_id=version_id),
        execution_options={"synchronize_session": False},
    )
    return int(cast(Any, result).rowcount)

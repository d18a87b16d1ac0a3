"""What trainers, managers and admins may read: progress of the people of an org subtree.

The issue's rule is "a manager or trainer only their org subtree", enforced
here, in the service layer, so every adapter (the HTTP API today, reports and
exports later) gets it without repeating it:

* :func:`scope_of_account` turns a signed-in account into a :class:`Scope`.
  Trainers and managers read the subtree of their account's ``scope_org_id``
  (the same read scope for both: a trainer follows the learners of the area
  they train, a manager the area they answer for); admins read the whole
  tree; learners are refused with :class:`ForbiddenError` (their own records
  are in :mod:`lms_core.services.learner`).
* Every read function filters in SQL by the scope's materialised path range
  (``root ≤ path < root-with-last-"/"-as-"0"``, as
  :func:`lms_core.services.org.subtree_filter`), so an out-of-area row is
  never loaded, and an out-of-area unit, person or attempt is reported
  exactly like one that does not exist (:class:`NotFoundError`, the same
  message), so a manager cannot probe another commune's codes.
* A person belongs to the area of their *current* unit: when staff move, the
  new commune's manager sees their whole history, the old one no longer does
  (the same rule as ``lms enrol list --org``).

Counts are of enrolments, by status (``enrolled`` means not started yet);
``overdue`` counts enrolments still enrolled or in progress whose due date is
before ``today``.  Scores are in percent, like the learner's own view.  No
answers, seeds or contact details are returned: a manager needs marks, not
what was typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from lms_core.errors import ForbiddenError, LmsError, NotFoundError
from lms_core.models import (
    COURSE_STATUSES,
    Account,
    Attempt,
    Completion,
    Course,
    CourseVersion,
    Enrolment,
    Event,
    OrgUnit,
    Person,
)
from lms_core.services.attempts import DEADLINE_GRACE, GRADING_METHODS
from lms_core.services.staff import normalise_staff_code

__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "READ_ROLES",
    "AttemptDetail",
    "AttemptSummary",
    "ChildProgress",
    "Counts",
    "CourseCounts",
    "EnrolmentProgress",
    "EnrolmentRecord",
    "ExerciseProgress",
    "PeoplePage",
    "PersonProgress",
    "PersonRecord",
    "QuestionResult",
    "Scope",
    "UnitProgress",
    "UnitRef",
    "attempt_detail",
    "people_progress",
    "person_record",
    "scope_of_account",
    "scope_roots",
    "unit_progress",
]

READ_ROLES = ("trainer", "manager", "admin")
"""Roles that read other people's progress (learners read only their own)."""

DEFAULT_PAGE = 50
MAX_PAGE = 200
"""People per page: a commune's staff on one or a few pages, a bounded query."""

NOT_ALLOWED = (
    "trang này dành cho giảng viên, cán bộ quản lý và quản trị viên / "
    "this is for trainers, managers and admins only"
)
NO_UNIT = "no unit with code '{code}' in your area"
NO_PERSON = "no person with this staff code in your area"
NO_ATTEMPT = "no such attempt in your area"

_ACTIVE = ("enrolled", "in_progress")
_EPSILON = 1e-9


# --------------------------------------------------------------------------- scope


@dataclass(frozen=True, slots=True)
class Scope:
    """What an account may read: the subtree under ``root_path``, or everything (None).

    Built by :func:`scope_of_account` for each request, from the account as
    it is now (a changed role or area takes effect at once).
    """

    account_id: int
    role: str
    root_id: int | None
    """The unit whose subtree is readable; None for admins (the whole tree)."""
    root_path: str | None
    root_code: str | None

    @property
    def whole_tree(self) -> bool:
        return self.root_path is None

    @classmethod
    def everything(cls) -> Scope:
        """The whole tree, for the operator at the command line (``account_id`` 0: no account).

        Whoever runs ``lms`` with the project's configuration can read the
        database directly anyway, so signing in would protect nothing there;
        servers must keep using :func:`scope_of_account`.
        """
        return cls(account_id=0, role="operator", root_id=None, root_path=None, root_code=None)


def scope_of_account(session: Session, account_id: int) -> Scope:
    """The read scope of an account; :class:`ForbiddenError` for learners.

    A trainer or manager without an area (an inconsistent account: granting
    the role requires one) is refused too, rather than silently given the
    whole tree or nothing.
    """
    row = session.execute(
        select(Account.role, Account.status, OrgUnit.id, OrgUnit.path, OrgUnit.code)
        .outerjoin(OrgUnit, Account.scope_org_id == OrgUnit.id)
        .where(Account.id == account_id)
    ).one_or_none()
    if row is None or row.status != "active" or row.role not in READ_ROLES:
        raise ForbiddenError(NOT_ALLOWED)
    if row.role == "admin":
        return Scope(account_id, row.role, None, None, None)
    if row.id is None:
        raise ForbiddenError(
            f"this {row.role} account has no area to look after; "
            "an admin sets it with lms accounts grant --org"
        )
    return Scope(account_id, row.role, row.id, row.path, row.code)


def _under(root_path: str) -> ColumnElement[bool]:
    """The joined :class:`OrgUnit` lies in the subtree of ``root_path``.

    An indexable range on the path, the same on both engines (``LIKE`` is not
    indexed on SQLite).
    """
    return and_(OrgUnit.path >= root_path, OrgUnit.path < root_path[:-1] + "0")


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    """The joined :class:`OrgUnit` is readable in ``scope``."""
    if scope.root_path is None:
        return true()
    return _under(scope.root_path)


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A unit as shown: its official code (public), name and kind."""

    code: str
    name: str
    kind: str


def _ref(unit: OrgUnit) -> UnitRef:
    return UnitRef(unit.code, unit.name, unit.kind)


def scope_roots(session: Session, scope: Scope) -> list[UnitRef]:
    """Where the scope's page starts: the area's unit, or every top-level unit for admins."""
    query = select(OrgUnit).order_by(OrgUnit.path)
    if scope.root_id is None:
        query = query.where(OrgUnit.parent_id.is_(None))
    else:
        query = query.where(OrgUnit.id == scope.root_id)
    return [_ref(u) for u in session.scalars(query)]


def _scoped_unit(session: Session, scope: Scope, code: str | None) -> OrgUnit:
    """The unit ``code`` if it is in the scope (None: the scope's root); else not found.

    Missing and out-of-area units get the same message, without the
    "did you mean" hint of :func:`lms_core.services.org.get_unit` (it would
    tell them apart).
    """
    if code is None:
        if scope.root_id is not None:
            return session.get_one(OrgUnit, scope.root_id)
        roots = session.scalars(
            select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.path).limit(2)
        ).all()
        if len(roots) != 1:
            raise LmsError("the tree has several top-level units: give a unit code")
        return roots[0]
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code, _in_scope(scope)))
    if unit is None:
        raise NotFoundError(NO_UNIT.format(code=code))
    return unit


def _course_id(session: Session, course: str | None) -> int | None:
    if course is None:
        return None
    found = session.scalar(select(Course.id).where(Course.slug == course))
    if found is None:
        raise NotFoundError(f"no course '{course}'")
    return found


# --------------------------------------------------------------------------- unit progress


@dataclass(frozen=True, slots=True)
class Counts:
    """Enrolments by status; ``overdue`` overlaps ``enrolled`` and ``in_progress``."""

    enrolled: int = 0
    in_progress: int = 0
    completed: int = 0
    withdrawn: int = 0
    overdue: int = 0

    @property
    def total(self) -> int:
        """Every enrolment, withdrawn ones included."""
        return self.enrolled + self.in_progress + self.completed + self.withdrawn


@dataclass(frozen=True, slots=True)
class CourseCounts:
    course: str
    title: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class ChildProgress:
    """A direct child unit and the counts of its whole subtree."""

    unit: UnitRef
    people: int
    """Active people of the child's subtree."""
    courses: list[CourseCounts]


@dataclass(frozen=True, slots=True)
class UnitProgress:
    """A unit's subtree by course, and the same for each direct child (to drill down).

    ``here`` counts the people attached to the unit itself (a commune's own
    officers), so ``courses`` = ``here`` + the children.  Every level lists
    the same courses (zeros included), so they line up as a table.
    """

    unit: UnitRef
    parent: UnitRef | None
    """The parent, only when it is in the reader's area (to go back up)."""
    as_of: dt.date
    people: int
    courses: list[CourseCounts]
    here: list[CourseCounts]
    children: list[ChildProgress]


_Tally = dict[tuple[str, str], int]  # (course slug, status or "overdue") -> count


def _branch(unit_path: str, path: str) -> int | None:
    """The id of the child of ``unit_path`` whose subtree holds ``path`` (None: the unit)."""
    rest = path[len(unit_path) :]
    return int(rest.split("/", 1)[0]) if rest else None


def _counts(
    tally: Mapping[tuple[str, str], int], courses: Iterable[tuple[str, str]]
) -> list[CourseCounts]:
    out = []
    for slug, title in courses:
        values = {k: tally.get((slug, k), 0) for k in (*COURSE_STATUSES, "overdue")}
        out.append(CourseCounts(slug, title, Counts(**values)))
    return out


def unit_progress(
    session: Session,
    scope: Scope,
    *,
    unit_code: str | None = None,
    course: str | None = None,
    today: dt.date | None = None,
) -> UnitProgress:
    """Enrolment counts per course for a unit's subtree and each of its direct children.

    Two grouped queries over the subtree's path range (enrolments by unit,
    course and status; active people by unit), rolled up to the children in
    Python: the rows are per unit, never per person.  ``today`` decides what
    is overdue (default: the server's date).
    """
    today = today or dt.date.today()
    unit = _scoped_unit(session, scope, unit_code)
    course_id = _course_id(session, course)
    parent = None
    if unit.parent_id is not None:
        above = session.scalar(
            select(OrgUnit).where(OrgUnit.id == unit.parent_id, _in_scope(scope))
        )
        parent = _ref(above) if above is not None else None
    children = session.scalars(
        select(OrgUnit).where(OrgUnit.parent_id == unit.id).order_by(OrgUnit.code)
    ).all()

    within = and_(_under(unit.path), _in_scope(scope))
    overdue = case(
        (
            and_(
                Enrolment.due_on.is_not(None),
                Enrolment.due_on < today,
                Enrolment.status.in_(_ACTIVE),
            ),
            1,
        ),
        else_=0,
    )
    query = (
        select(
            OrgUnit.path,
            Course.slug,
            Course.title,
            Enrolment.status,
            func.count(Enrolment.id),
            func.sum(overdue),
        )
        .select_from(Enrolment)
        .join(Person, Enrolment.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .join(Course, Enrolment.course_id == Course.id)
        .where(within)
        .group_by(OrgUnit.path, Course.slug, Course.title, Enrolment.status)
    )
    if course_id is not None:
        query = query.where(Enrolment.course_id == course_id)
    total: _Tally = {}
    here: _Tally = {}
    per_child: dict[int, _Tally] = {c.id: {} for c in children}
    titles: dict[str, str] = {}
    for path, slug, title, status, count, late in session.execute(query).tuples():
        titles[slug] = title
        branch = _branch(unit.path, path)
        tallies = [total, here if branch is None else per_child.setdefault(branch, {})]
        for tally in tallies:
            tally[(slug, status)] = tally.get((slug, status), 0) + int(count)
            tally[(slug, "overdue")] = tally.get((slug, "overdue"), 0) + int(late or 0)
    if course_id is not None and course is not None and course not in titles:
        titles[course] = session.get_one(Course, course_id).title
    courses = sorted(titles.items())

    people_here = 0
    people_in: dict[int, int] = {}
    heads = session.execute(
        select(OrgUnit.path, func.count(Person.id))
        .select_from(Person)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .where(within, Person.active.is_(True))
        .group_by(OrgUnit.path)
    ).tuples()
    for path, count in heads:
        branch = _branch(unit.path, path)
        if branch is None:
            people_here += int(count)
        else:
            people_in[branch] = people_in.get(branch, 0) + int(count)

    return UnitProgress(
        unit=_ref(unit),
        parent=parent,
        as_of=today,
        people=people_here + sum(people_in.values()),
        courses=_counts(total, courses),
        here=_counts(here, courses),
        children=[
            ChildProgress(_ref(c), people_in.get(c.id, 0), _counts(per_child[c.id], courses))
            for c in children
        ],
    )


# --------------------------------------------------------------------------- people


@dataclass(frozen=True, slots=True)
class ExerciseProgress:
    """A graded exercise of an enrolment: best score and the score that counts."""

    id: str
    title: str
    grading: str
    pass_mark: float
    attempts: int
    """Graded attempts."""
    best: float | None
    """Highest percent over graded attempts; None before the first."""
    score: float | None
    """Percent by the exercise's grading method (what completion uses)."""
    passed: bool


@dataclass(frozen=True, slots=True)
class EnrolmentProgress:
    """One enrolment as a manager sees it (history included: withdrawn, completed)."""

    course: str
    title: str
    version: int
    status: str
    due_on: dt.date | None
    overdue: bool
    enrolled_at: dt.datetime
    started_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    lessons_total: int
    required_lessons: list[str]
    lessons_viewed: list[str]
    exercises: list[ExerciseProgress]
    completed_at: dt.datetime | None
    completion_score: float | None


@dataclass(frozen=True, slots=True)
class PersonProgress:
    """A person of the area with their enrolments (filtered by course when asked)."""

    staff_code: str
    full_name: str
    position: str
    active: bool
    unit: UnitRef
    enrolments: list[EnrolmentProgress]


@dataclass(frozen=True, slots=True)
class PeoplePage:
    """One page of people, in a stable order (unit path, then staff code)."""

    unit: UnitRef
    course: str | None
    total: int
    limit: int
    offset: int
    people: list[PersonProgress]


def _by_method(percents: Sequence[float], method: str) -> float | None:
    """The exercise score by ``method`` from percents in submission order.

    The rule of :func:`lms_core.services.attempts.exercise_score`, which reads
    one enrolment and exercise per query; a page of people reads all its
    attempts in one query instead.
    """
    if method not in GRADING_METHODS:
        raise LmsError(f"unknown grading method '{method}' (one of: {', '.join(GRADING_METHODS)})")
    if not percents:
        return None
    if method == "highest":
        return max(percents)
    if method == "first":
        return percents[0]
    if method == "last":
        return percents[-1]
    return sum(percents) / len(percents)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _progress(
    session: Session, enrolments: Sequence[tuple[Enrolment, str, str]], today: dt.date
) -> dict[int, EnrolmentProgress]:
    """Progress of the given enrolments (with course slug and title), by enrolment id.

    A fixed number of queries whatever the number of enrolments: versions,
    lesson views, graded attempts and completions, each for all at once.
    """
    if not enrolments:
        return {}
    ids = [e.id for e, _, _ in enrolments]
    version_ids = {e.course_version_id for e, _, _ in enrolments}
    versions = {
        v.id: (v.number, v.snapshot)
        for v in session.scalars(select(CourseVersion).where(CourseVersion.id.in_(version_ids)))
    }
    viewed: dict[int, set[str]] = {}
    views = session.execute(
        select(Event.object_id, Event.data).where(
            Event.object_type == "enrolment",
            Event.object_id.in_([str(i) for i in ids]),
            Event.verb == "lesson.viewed",
        )
    ).tuples()
    for object_id, data in views:
        if isinstance(data, dict) and data.get("lesson") is not None:
            viewed.setdefault(int(object_id), set()).add(str(data["lesson"]))
    percents: dict[tuple[int, str], list[float]] = {}
    graded = session.execute(
        select(Attempt.enrolment_id, Attempt.exercise_id, Attempt.score, Attempt.max_score)
        .where(Attempt.enrolment_id.in_(ids), Attempt.state == "graded")
        .order_by(Attempt.enrolment_id, Attempt.exercise_id, Attempt.submitted_at, Attempt.id)
    ).tuples()
    for enrolment_id, exercise_id, score, most in graded:
        percent = 100.0 * (score or 0.0) / most if most else 0.0
        percents.setdefault((enrolment_id, exercise_id), []).append(percent)
    completions = {
        eid: (at, score)
        for eid, at, score in session.execute(
            select(Completion.enrolment_id, Completion.completed_at, Completion.score).where(
                Completion.enrolment_id.in_(ids)
            )
        ).tuples()
    }

    out: dict[int, EnrolmentProgress] = {}
    for enrolment, slug, course_title in enrolments:
        number, snapshot = versions[enrolment.course_version_id]
        lessons = list(snapshot.get("lessons") or [])
        slugs = {str(lesson["slug"]) for lesson in lessons}
        exercises = []
        for entry in snapshot.get("exercises") or []:
            spec: dict[str, Any] = entry.get("data") or {}
            if not spec.get("graded"):
                continue
            method = str(spec.get("grading", "highest"))
            pass_mark = float(spec.get("pass_mark", 80.0))
            tries = percents.get((enrolment.id, entry["id"]), [])
            score = _by_method(tries, method)
            exercises.append(
                ExerciseProgress(
                    id=entry["id"],
                    title=str(spec.get("title") or entry["id"]),
                    grading=method,
                    pass_mark=pass_mark,
                    attempts=len(tries),
                    best=_round(max(tries) if tries else None),
                    score=_round(score),
                    passed=score is not None and score + _EPSILON >= pass_mark,
                )
            )
        completed_at, completion_score = completions.get(enrolment.id, (None, None))
        out[enrolment.id] = EnrolmentProgress(
            course=slug,
            title=str((snapshot.get("meta") or {}).get("title") or course_title),
            version=number,
            status=enrolment.status,
            due_on=enrolment.due_on,
            overdue=enrolment.status in _ACTIVE
            and enrolment.due_on is not None
            and enrolment.due_on < today,
            enrolled_at=enrolment.enrolled_at,
            started_at=enrolment.started_at,
            withdrawn_at=enrolment.withdrawn_at,
            lessons_total=len(lessons),
            required_lessons=[str(lesson["slug"]) for lesson in lessons if lesson.get("required")],
            lessons_viewed=sorted(viewed.get(enrolment.id, set()) & slugs),
            exercises=exercises,
            completed_at=completed_at,
            completion_score=completion_score,
        )
    return out


def _enrolments_of(
    session: Session, person_ids: Sequence[int], course_id: int | None
) -> list[tuple[Enrolment, str, str]]:
    query = (
        select(Enrolment, Course.slug, Course.title)
        .join(Course, Enrolment.course_id == Course.id)
        .where(Enrolment.person_id.in_(person_ids))
        .order_by(Course.slug, Enrolment.enrolled_at, Enrolment.id)
    )
    if course_id is not None:
        query = query.where(Enrolment.course_id == course_id)
    return list(session.execute(query).tuples())


def people_progress(
    session: Session,
    scope: Scope,
    *,
    unit_code: str,
    course: str | None = None,
    limit: int = DEFAULT_PAGE,
    offset: int = 0,
    today: dt.date | None = None,
) -> PeoplePage:
    """People of a unit's subtree with their enrolments, one page at a time.

    Without ``course``: every person of the subtree (people who left
    included, marked inactive, since their records stay), each with all their
    enrolments.  With ``course``: the people enrolled in it at least once,
    with those enrolments only.  Ordered by unit path then staff code (unique),
    so pages neither overlap nor skip while nothing changes.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise LmsError(f"limit must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise LmsError("offset must be 0 or more")
    today = today or dt.date.today()
    unit = _scoped_unit(session, scope, unit_code)
    course_id = _course_id(session, course)
    where = [_under(unit.path), _in_scope(scope)]
    if course_id is not None:
        where.append(
            Person.id.in_(select(Enrolment.person_id).where(Enrolment.course_id == course_id))
        )
    total = session.scalar(
        select(func.count(Person.id))
        .select_from(Person)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .where(*where)
    )
    rows = (
        session.execute(
            select(Person, OrgUnit)
            .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
            .where(*where)
            .order_by(OrgUnit.path, Person.staff_code)
            .limit(limit)
            .offset(offset)
        )
        .tuples()
        .all()
    )
    enrolments = _enrolments_of(session, [p.id for p, _ in rows], course_id)
    progress = _progress(session, enrolments, today)
    by_person: dict[int, list[EnrolmentProgress]] = {}
    for enrolment, _, _ in enrolments:
        by_person.setdefault(enrolment.person_id, []).append(progress[enrolment.id])
    return PeoplePage(
        unit=_ref(unit),
        course=course,
        total=int(total or 0),
        limit=limit,
        offset=offset,
        people=[
            PersonProgress(
                staff_code=p.staff_code,
                full_name=p.full_name,
                position=p.position,
                active=p.active,
                unit=_ref(u),
                enrolments=by_person.get(p.id, []),
            )
            for p, u in rows
        ],
    )


# --------------------------------------------------------------------------- one person


@dataclass(frozen=True, slots=True)
class AttemptSummary:
    """An attempt without its answers: state, times and marks."""

    attempt_id: str
    exercise: str
    state: str
    started_at: dt.datetime
    deadline_at: dt.datetime | None
    submitted_at: dt.datetime | None
    score: float | None
    max_score: float | None
    percent: float | None
    passed: bool | None
    late: bool
    source: str


@dataclass(frozen=True, slots=True)
class EnrolmentRecord:
    progress: EnrolmentProgress
    attempts: list[AttemptSummary]


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A person's whole training record, as far as a manager may see it."""

    staff_code: str
    full_name: str
    position: str
    active: bool
    unit: UnitRef
    enrolments: list[EnrolmentRecord] = field(default_factory=list)


def _summary(attempt: Attempt) -> AttemptSummary:
    late = (
        attempt.deadline_at is not None
        and attempt.submitted_at is not None
        and attempt.submitted_at > attempt.deadline_at + DEADLINE_GRACE
    )
    percent = (
        round(100.0 * (attempt.score or 0.0) / attempt.max_score, 4)
        if attempt.max_score and attempt.state == "graded"
        else None
    )
    return AttemptSummary(
        attempt_id=attempt.uuid,
        exercise=attempt.exercise_id,
        state=attempt.state,
        started_at=attempt.started_at,
        deadline_at=attempt.deadline_at,
        submitted_at=attempt.submitted_at,
        score=attempt.score,
        max_score=attempt.max_score,
        percent=percent,
        passed=attempt.passed,
        late=late,
        source=attempt.source,
    )


def person_record(
    session: Session, scope: Scope, *, staff_code: str, today: dt.date | None = None
) -> PersonRecord:
    """One person's enrolments and attempts, if their unit is in the scope.

    A person outside the area gets exactly the error of an unknown staff code.
    """
    today = today or dt.date.today()
    found = (
        session.execute(
            select(Person, OrgUnit)
            .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
            .where(
                Person.staff_code == normalise_staff_code(staff_code),
                _in_scope(scope),
            )
        )
        .tuples()
        .one_or_none()
    )
    if found is None:
        raise NotFoundError(NO_PERSON)
    person, unit = found
    enrolments = _enrolments_of(session, [person.id], None)
    progress = _progress(session, enrolments, today)
    attempts: dict[int, list[AttemptSummary]] = {}
    if enrolments:
        for attempt in session.scalars(
            select(Attempt)
            .where(Attempt.enrolment_id.in_([e.id for e, _, _ in enrolments]))
            .order_by(Attempt.started_at, Attempt.id)
        ):
            attempts.setdefault(attempt.enrolment_id, []).append(_summary(attempt))
    return PersonRecord(
        staff_code=person.staff_code,
        full_name=person.full_name,
        position=person.position,
        active=person.active,
        unit=_ref(unit),
        enrolments=[
            EnrolmentRecord(progress[e.id], attempts.get(e.id, [])) for e, _, _ in enrolments
        ],
    )


# --------------------------------------------------------------------------- one attempt


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """One question's marking as stored at grading time (never the answer itself)."""

    id: str
    points: float | None
    max_points: float | None
    correct: bool | None
    feedback: list[str]


@dataclass(frozen=True, slots=True)
class AttemptDetail:
    """An attempt's graded result, with whose it is and what it was on."""

    attempt: AttemptSummary
    course: str
    version: int
    exercise_title: str
    staff_code: str
    full_name: str
    unit: UnitRef
    feedback: list[str]
    questions: list[QuestionResult]


def attempt_detail(session: Session, scope: Scope, *, attempt_uuid: str) -> AttemptDetail:
    """The attempt's stored marking, if its person is in the scope; else not found.

    An attempt still in progress has no marking yet (empty ``questions``).
    The stored result's answer text (``response``) is left out on purpose.
    """
    found = (
        session.execute(
            select(Attempt, Person, OrgUnit, Course.slug, CourseVersion)
            .join(Enrolment, Attempt.enrolment_id == Enrolment.id)
            .join(Person, Enrolment.person_id == Person.id)
            .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
            .join(Course, Enrolment.course_id == Course.id)
            .join(CourseVersion, Attempt.course_version_id == CourseVersion.id)
            .where(Attempt.uuid == attempt_uuid, _in_scope(scope))
        )
        .tuples()
        .one_or_none()
    )
    if found is None:
        raise NotFoundError(NO_ATTEMPT)
    attempt, person, unit, slug, version = found
    entry = next(
        (e for e in version.snapshot.get("exercises") or [] if e.get("id") == attempt.exercise_id),
        None,
    )
    title = str(((entry or {}).get("data") or {}).get("title") or attempt.exercise_id)
    stored: dict[str, Any] = attempt.result or {}
    return AttemptDetail(
        attempt=_summary(attempt),
        course=slug,
        version=version.number,
        exercise_title=title,
        staff_code=person.staff_code,
        full_name=person.full_name,
        unit=_ref(unit),
        feedback=[str(f) for f in stored.get("feedback") or []],
        questions=[
            QuestionResult(
                id=str(q.get("id")),
                points=q.get("points"),
                max_points=q.get("max_points"),
                correct=q.get("correct"),
                feedback=[str(f) for f in q.get("feedback") or []],
            )
            for q in stored.get("questions") or []
        ],
    )

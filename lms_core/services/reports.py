"""Reports for HR, managers and trainers: one question each, scoped to an org subtree.

Every function here answers one question (issue 8) and returns a
:class:`~lms_core.reporting.Report`; the writers (terminal, CSV, XLSX, HTML)
know nothing about the questions.  Shared rules, so the reports agree with
one another and with the manager's pages (:mod:`lms_core.services.scope`):

* **Scope.**  Every query is filtered in SQL by the reader's subtree
  (:func:`~lms_core.services.scope._in_scope`) *and* the chosen unit's
  subtree.  A unit outside the reader's area is reported exactly like a
  missing one (:class:`NotFoundError`), so codes cannot be probed; a person
  belongs to the area of their *current* unit.
* **Current enrolment.**  A person may have several enrolments in a course
  (withdrawn, then enrolled again; completed, then enrolled again to renew).
  The completion reports look at the latest one that is not withdrawn (the
  highest id: ids grow with time), so a person counts once per course.  Only
  active people count: someone who left is not overdue.
* **Status** of a person in a course, in this order: a completed enrolment is
  ``cert_expired`` when the certificate issued for that completion (if not
  revoked) has expired, ``cert_expiring`` when it expires within
  :data:`EXPIRING_WITHIN_DAYS`, else ``completed``; an enrolment still open
  is ``overdue`` past its due date, else ``in_progress`` once started, else
  ``not_started``.
* **Dates** are Vietnamese dates (UTC+7), as on certificates: a period
  ``date_from``–``date_to`` covers both whole days in Vietnam.
* **Counting happens in SQL** (``GROUP BY``, window functions for medians):
  rows per unit, course or exercise come back, never one per attempt.  Item
  analysis is the exception by nature (a correlation needs each attempt's
  total): it streams its rows (``yield_per``) and keeps only sums.

Nothing here logs names, staff codes or answers.  See ``docs/reports.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Interval,
    Select,
    and_,
    case,
    exists,
    extract,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from lms_core.db import bulk_work
from lms_core.errors import LmsError, NotFoundError
from lms_core.models import (
    Attempt,
    Certificate,
    Cohort,
    Completion,
    Course,
    CourseVersion,
    Enrolment,
    OrgUnit,
    Person,
    Response,
    utcnow,
)
from lms_core.reporting import Cell, Column, Report
from lms_core.services.scope import Scope, _course_id, _in_scope, _scoped_unit, _under
from lms_core.text import clean

__all__ = [
    "EXPIRING_WITHIN_DAYS",
    "FLAG_LABELS",
    "FLAG_MIN_RESPONSES",
    "NEGATIVE_BELOW",
    "STATUSES",
    "STATUS_LABELS",
    "UPPER_GROUP",
    "VN_TZ",
    "AnalysedExercise",
    "ItemAnalyser",
    "attempts_summary",
    "completion_matrix",
    "expiring",
    "item_analysis",
    "overdue",
    "rollup",
]

VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")
"""Vietnam's time: report dates are the dates people in the province live by."""

EXPIRING_WITHIN_DAYS = 60
"""A certificate this close to its last valid day makes the matrix say ``cert_expiring``
(the same window as certificate renewal, ``renew_within_days``)."""

STATUSES = ("not_started", "in_progress", "completed", "overdue", "cert_expiring", "cert_expired")
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "not_started": ("Chưa bắt đầu", "Not started"),
    "in_progress": ("Đang học", "In progress"),
    "completed": ("Hoàn thành", "Completed"),
    "overdue": ("Quá hạn", "Overdue"),
    "cert_expiring": ("Chứng nhận sắp hết hạn", "Certificate expiring"),
    "cert_expired": ("Chứng nhận đã hết hạn", "Certificate expired"),
    "expiring": ("Sắp hết hạn", "Expiring"),
    "expired": ("Đã hết hạn", "Expired"),
}
"""(Vietnamese, English) for the machine values of ``status`` columns, for writers."""

FLAG_MIN_RESPONSES = 10
"""Item flags need at least this many attempts at the question: below it, chance rules."""
UPPER_GROUP = 0.27
"""Share of attempts (best totals) forming the "strong learners" group (Kelley's 27 %)."""
ALMOST_NOBODY = 0.2
NEGATIVE_BELOW = -0.05
"""r below this is "negative discrimination"; r ≈ 0 (an item that merely does not
separate, as with guessing) is not called broken."""
FLAG_NOBODY = "almost nobody right"
FLAG_STRONG_WRONG = "strong learners choose a wrong option"
FLAG_NEGATIVE = "negative discrimination"
FLAG_LABELS: dict[str, tuple[str, str]] = {
    FLAG_NOBODY: ("hầu như không ai đúng", FLAG_NOBODY),
    FLAG_STRONG_WRONG: ("người học giỏi chọn một phương án sai", FLAG_STRONG_WRONG),
    FLAG_NEGATIVE: ("độ phân biệt âm", FLAG_NEGATIVE),
}

_ACTIVE = ("enrolled", "in_progress")
_PROMPT_CHARS = 80
_OPTION_CHARS = 40
_TOP_WRONG = 3
_STREAM_ROWS = 1000


# --------------------------------------------------------------------------- shared pieces


def _today(today: dt.date | None) -> dt.date:
    return today or dt.datetime.now(VN_TZ).date()


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in Vietnam, as an aware UTC datetime."""
    return dt.datetime.combine(day, dt.time(), VN_TZ).astimezone(dt.UTC)


def _vn_date_sql(session: Session, column: Any) -> ColumnElement[dt.date]:
    """The Vietnamese date of a timestamp column (naive UTC), computed by the database.

    Seven hours added to UTC, then the date: the same day as
    ``moment.astimezone(VN_TZ).date()``, without parsing and converting a
    datetime per row in Python (a tenth of the completion report over a
    province of 576,000 rows, benchmarks/reports.py).
    """
    if session.get_bind().dialect.name == "postgresql":
        seven = literal_column("INTERVAL '7 hours'", Interval())
        return sql_cast(type_coerce(column, DateTime()) + seven, Date)
    return type_coerce(func.date(column, "+7 hours"), Date)


def _check_period(date_from: dt.date | None, date_to: dt.date | None) -> None:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise LmsError(f"the period starts ({date_from}) after it ends ({date_to})")


def _period(
    column: Any, date_from: dt.date | None, date_to: dt.date | None
) -> list[ColumnElement[bool]]:
    """``column`` (a timestamp) within the Vietnamese days ``date_from``–``date_to``."""
    out: list[ColumnElement[bool]] = []
    if date_from is not None:
        out.append(column >= _day_start(date_from))
    if date_to is not None:
        out.append(column < _day_start(date_to + dt.timedelta(days=1)))
    return out


def _area(scope: Scope, unit: OrgUnit) -> list[ColumnElement[bool]]:
    """The joined :class:`OrgUnit` is under ``unit`` and readable in ``scope``."""
    return [_under(unit.path), _in_scope(scope)]


def _cohort_ids(session: Session, course_id: int | None, cohort: str | None) -> list[int] | None:
    """Ids of the cohorts named ``cohort`` (of the course, when given); None: no filter."""
    if cohort is None:
        return None
    query = select(Cohort.id).where(Cohort.name == clean(cohort))
    if course_id is not None:
        query = query.where(Cohort.course_id == course_id)
    found = list(session.scalars(query))
    if not found:
        raise NotFoundError(f"no cohort '{clean(cohort)}'")
    return found


def _clip(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _filters(unit: OrgUnit, values: Mapping[str, object]) -> dict[str, str]:
    """The human-readable filters of a report: the unit first, then what was given.

    Keys are those :func:`lms_core.report_formats.filter_label` names
    (``unit``, ``course``, ``cohort``, ``from``, ``to``, ``as_of``,
    ``within``, ``exercise``), plus ``depth`` for the roll-up.
    """
    out = {"unit": f"{unit.code} — {unit.name}"}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = value.isoformat() if isinstance(value, dt.date) else str(value)
    return out


class _TreeOrder:
    """Sort keys that list a subtree depth-first, siblings by code.

    Materialised paths hold ids, whose order means nothing to a reader; the
    key replaces each id below the chosen unit by its code, so "Phường Phủ
    Lý" comes with its villages right after it, and results are the same on
    every engine (no collation involved).
    """

    def __init__(self, unit: OrgUnit, codes: Mapping[int, str], paths: Iterable[str]) -> None:
        """``codes`` of the units (by id) on ``paths``, the paths of the units to order."""
        self.prefix = len(unit.path)
        self.codes = codes
        self.paths = list(paths)
        self.keys: dict[str, tuple[str, ...]] = {}
        self.ranks: dict[str, int] | None = None

    @classmethod
    def of_rows(cls, session: Session, unit: OrgUnit, units: Mapping[str, str]) -> _TreeOrder:
        """The order of the units some rows are in: ``units`` maps their paths to their codes.

        Rows carry their own unit's code, so the area's units need no
        statement of their own (over a network each statement is a round
        trip, about a tenth of a commune's overdue list); only units on the
        way down to them that hold no row themselves are read, by id, when
        there are any.
        """
        prefix = len(unit.path)
        codes = {int(path.rstrip("/").rsplit("/", 1)[-1]): code for path, code in units.items()}
        wanted = {int(i) for path in units for i in path[prefix:].strip("/").split("/") if i}
        missing = wanted - codes.keys()
        if missing:
            read = select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(missing))
            codes.update(session.execute(read).tuples().all())
        return cls(unit, codes, units)

    def rank(self, path: str) -> int:
        """The place of ``path`` in the same order, as a number: cheap to compare.

        For sorting many rows: a key of nested tuples costs the sort of a
        province's 576,000 completion rows three times more.
        """
        if self.ranks is None:
            self.ranks = {p: i for i, p in enumerate(sorted(self.paths, key=self.key))}
        found = self.ranks.get(path)
        if found is None:  # not a unit of the area when the order was read: last
            found = self.ranks[path] = len(self.ranks)
        return found

    def key(self, path: str) -> tuple[str, ...]:
        found = self.keys.get(path)  # a few thousand units, a few hundred thousand rows
        if found is None:
            ids = path[self.prefix :].strip("/")
            found = tuple(self.codes.get(int(i), i) for i in ids.split("/")) if ids else ()
            self.keys[path] = found
        return found


_LATER_ENROLMENT = aliased(Enrolment, name="later_enrolment")
_LATER_CERTIFICATE = aliased(Certificate, name="later_certificate")
"""The other enrolment or certificate that "no later one" compares with, built once:
an alias copies every column of its table, over a millisecond per report when made
per call (a quarter of a small commune's ``expiring``, benchmarks/reports.py)."""


def _current(
    scope: Scope,
    unit: OrgUnit,
    *,
    course_id: int | None,
    cohort_ids: Sequence[int] | None,
    as_of_end: dt.datetime | None = None,
) -> list[ColumnElement[bool]]:
    """Conditions that keep the current enrolments (one per active person and course).

    On :class:`Enrolment` joined to its :class:`Person` and their
    :class:`OrgUnit`: the latest enrolment that is not withdrawn (see the
    module docstring), of active people in the area.  With ``as_of_end``: as
    things stood just before that moment (enrolled before it, not yet
    withdrawn then).  A course or cohort filter chooses among the
    enrolments it keeps.

    "The latest" is written as *no later one* (``NOT EXISTS``), which both
    engines run as an anti-join probing ``enrolment (person_id, course_id,
    id)`` from the enrolments of the area, rather than as ``max(id)`` per
    person and course joined back to the enrolments by id: PostgreSQL hashes
    the whole area's enrolments for the maximum (spilling to disk over a
    province) and, over a commune, scans every enrolment of the province to
    join the few thousand maxima back, so the anti-join is two to three
    times faster there (benchmarks/reports.py).
    """
    later = _LATER_ENROLMENT

    def counts(enrolment: Any) -> list[ColumnElement[bool]]:
        if as_of_end is None:
            out: list[ColumnElement[bool]] = [enrolment.status != "withdrawn"]
        else:
            out = [
                enrolment.enrolled_at < as_of_end,
                or_(enrolment.status != "withdrawn", enrolment.withdrawn_at >= as_of_end),
            ]
        if cohort_ids is not None:
            out.append(enrolment.cohort_id.in_(cohort_ids))
        return out

    where = [*_area(scope, unit), Person.active.is_(True), *counts(Enrolment)]
    if course_id is not None:
        where.append(Enrolment.course_id == course_id)
    newer = exists().where(
        later.person_id == Enrolment.person_id,
        later.course_id == Enrolment.course_id,
        later.id > Enrolment.id,
        *counts(later),
    )
    return [*where, ~newer]


def _current_enrolments(
    scope: Scope,
    unit: OrgUnit,
    *,
    course_id: int | None,
    cohort_ids: Sequence[int] | None,
    as_of_end: dt.datetime | None = None,
) -> Any:
    """A subquery of the ids of current enrolments (:func:`_current`), to join on ``id``."""
    return (
        select(Enrolment.id.label("id"))
        .join(Person, Enrolment.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .where(
            *_current(scope, unit, course_id=course_id, cohort_ids=cohort_ids, as_of_end=as_of_end)
        )
        .subquery()
    )


def _status_sql(today: dt.date) -> ColumnElement[str]:
    """The status of a person in a course (module docstring), from the current enrolment
    joined to its completion's unrevoked certificate.

    Decided by the database, as a ``CASE``, rather than per row in Python: a
    province is 576,000 rows, and every Python step per row counts
    (benchmarks/reports.py).  A missing due date or certificate (NULL)
    compares as false, so it never makes a row overdue or expiring.
    """
    soon = today + dt.timedelta(days=EXPIRING_WITHIN_DAYS)
    return case(
        (
            Enrolment.status == "completed",
            case(
                (Certificate.valid_until < today, "cert_expired"),
                (Certificate.valid_until <= soon, "cert_expiring"),
                else_="completed",
            ),
        ),
        (Enrolment.due_on < today, "overdue"),
        (Enrolment.status == "in_progress", "in_progress"),
        else_="not_started",
    )


UNIT_COLUMNS = (
    Column("unit_code", "Mã đơn vị", "Unit code"),
    Column("unit_name", "Đơn vị", "Unit"),
)
PERSON_COLUMNS = (
    Column("staff_code", "Mã cán bộ", "Staff code", personal="staff_code"),
    Column("full_name", "Họ và tên", "Full name", personal="name"),
    Column("position", "Chức vụ", "Position"),
)
COURSE_COLUMNS = (
    Column("course", "Mã khóa học", "Course"),
    Column("course_title", "Khóa học", "Course title"),
)


# --------------------------------------------------------------------------- completion matrix


def _enrolments(
    scope: Scope,
    unit: OrgUnit,
    *columns: ColumnElement[Any] | InstrumentedAttribute[Any],
    course_id: int | None,
    cohort_ids: Sequence[int] | None,
) -> Select[Any]:
    """``columns`` of the current enrolments, joined to person, unit, course and cohort.

    The completion matrix joins the completion and its certificate to this;
    the overdue list does not need them (enrolments still open have no
    completion): planning and probing those two outer joins was about half
    of its statement's time over a commune on PostgreSQL (benchmarks/reports.py).
    """
    return (
        select(*columns)
        .select_from(Enrolment)
        .join(Person, Enrolment.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .join(Course, Enrolment.course_id == Course.id)
        .outerjoin(Cohort, Enrolment.cohort_id == Cohort.id)
        .where(*_current(scope, unit, course_id=course_id, cohort_ids=cohort_ids))
    )


def completion_matrix(
    session: Session,
    scope: Scope,
    *,
    unit_code: str | None = None,
    course: str | None = None,
    cohort: str | None = None,
    today: dt.date | None = None,
) -> Report:
    """Who has done which course: one row per active person × course they are enrolled in.

    Long rather than pivoted (one column per course): HR filters and sorts
    it in Excel as it is (AutoFilter on ``status``, a PivotTable by unit),
    each row can carry its due date, completion date and certificate expiry,
    and the columns stay the same whatever the courses.  "Required courses"
    are those with enrolments in the subtree, or ``course``: people not
    enrolled in a course are not in its rows (enrolling is how a course is
    required of someone).  Withdrawn enrolments are left out.  ``today``
    decides what is overdue or expiring (default: today in Vietnam).
    """
    today = _today(today)
    unit = _scoped_unit(session, scope, unit_code)
    course_id = _course_id(session, course)
    cohort_ids = _cohort_ids(session, course_id, cohort)
    # The certificate is the one issued for that very completion (at most one, by a
    # unique constraint), unless revoked: an older certificate of the course says
    # nothing about a completion whose own certificate is still pending.
    query = (
        _enrolments(
            scope,
            unit,
            OrgUnit.path,
            OrgUnit.code,
            OrgUnit.name,
            Person.staff_code,
            Person.full_name,
            Person.position,
            Course.slug,
            Course.title,
            Cohort.name,
            _status_sql(today),
            Enrolment.due_on,
            _vn_date_sql(session, Completion.completed_at),  # the day on certificates
            case((Enrolment.status == "completed", Certificate.valid_until)),
            course_id=course_id,
            cohort_ids=cohort_ids,
        )
        .outerjoin(Completion, Completion.enrolment_id == Enrolment.id)
        .outerjoin(
            Certificate,
            and_(Certificate.completion_id == Completion.id, Certificate.revoked_at.is_(None)),
        )
    )
    # A province is 576,000 rows: each automatic collection of the cyclic GC
    # rescans them for cycles they cannot hold (a tenth of the report's time).
    with bulk_work():
        # Plain rows through the session's connection, fetched at once: the ORM's
        # per-row loading took a sixth of the report over a province, and fetching
        # row by row another tenth (benchmarks/reports.py).
        found = session.connection().execute(query).all()
        units = {row[0]: row[1] for row in found}
        order = _TreeOrder.of_rows(session, unit, units)
        place = {path: f"{order.rank(path):08d}\0" for path in units}
        # One sort key per row (the unit's place, staff code, course, joined by NUL,
        # which sorts before any character they hold) is compared in C, where tuples
        # of tuples cost three times more to sort; the cells are the row after its path.
        out = [(f"{place[row[0]]}{row[3]}\0{row[6]}", row[1:]) for row in found]
        del found
        out.sort(key=itemgetter(0))
        rows = cast(list[tuple[Cell, ...]], [cells for _, cells in out])  # slices of rows
    return Report(
        name="completion",
        title_vi="Tình hình hoàn thành khóa học",
        title_en="Course completion",
        columns=[
            *UNIT_COLUMNS,
            *PERSON_COLUMNS,
            *COURSE_COLUMNS,
            Column("cohort", "Đợt", "Cohort"),
            Column("status", "Tình trạng", "Status"),
            Column("due_on", "Hạn hoàn thành", "Due", "date"),
            Column("completed_on", "Ngày hoàn thành", "Completed on", "date"),
            Column("valid_until", "Chứng nhận có giá trị đến", "Certificate valid until", "date"),
        ],
        rows=rows,
        filters=_filters(unit, {"course": course, "cohort": cohort, "as_of": today}),
        generated_at=utcnow(),
    )


# --------------------------------------------------------------------------- roll-up


@dataclass(slots=True)
class _Tally:
    enrolled: int = 0
    completed: int = 0
    in_period: int = 0
    overdue: int = 0

    def add(self, other: _Tally) -> None:
        self.enrolled += other.enrolled
        self.completed += other.completed
        self.in_period += other.in_period
        self.overdue += other.overdue


def _ancestors(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def rollup(
    session: Session,
    scope: Scope,
    *,
    unit_code: str | None = None,
    course: str | None = None,
    cohort: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    depth: int | None = None,
    today: dt.date | None = None,
) -> Report:
    """Completion rate per unit at every level below the chosen one, per course.

    Each unit's row counts its whole subtree (a commune's row includes its
    villages), listed depth-first with a ``level`` column (0: the chosen
    unit), ``depth`` levels down (None: all).  Counts are of current
    enrolments of active people, the rows of :func:`completion_matrix`:
    ``enrolled``, ``completed`` (a completion recorded), ``rate`` =
    completed / enrolled in percent, ``overdue`` (not completed, past due).
    With a period: the figures stand as at the end of ``date_to`` (or today,
    whichever is earlier), and ``completed_in_period`` counts the completions
    recorded from ``date_from`` to then.  One grouped query (per unit and
    course); the levels are summed up in Python from those rows.
    """
    if depth is not None and depth < 0:
        raise LmsError("depth must be 0 or more")
    _check_period(date_from, date_to)
    today = _today(today)
    as_of = min(date_to, today) if date_to is not None else today
    as_of_end = _day_start(as_of + dt.timedelta(days=1)) if date_to is not None else None
    unit = _scoped_unit(session, scope, unit_code)
    course_id = _course_id(session, course)
    cohort_ids = _cohort_ids(session, course_id, cohort)
    current = _current(scope, unit, course_id=course_id, cohort_ids=cohort_ids, as_of_end=as_of_end)
    on_completion = [Completion.enrolment_id == Enrolment.id]
    if as_of_end is not None:
        on_completion.append(Completion.completed_at < as_of_end)
    done = Completion.id.is_not(None)
    period_start = _day_start(date_from) if date_from is not None else None
    in_period = (
        done if period_start is None else and_(done, Completion.completed_at >= period_start)
    )
    late = and_(Completion.id.is_(None), Enrolment.due_on.is_not(None), Enrolment.due_on < as_of)
    counts = (
        select(
            OrgUnit.path.label("path"),
            Enrolment.course_id.label("course_id"),
            func.count(Enrolment.id).label("enrolled"),
            func.sum(case((done, 1), else_=0)).label("completed"),
            func.sum(case((in_period, 1), else_=0)).label("in_period"),
            func.sum(case((late, 1), else_=0)).label("overdue"),
        )
        .select_from(Enrolment)
        .join(Person, Enrolment.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .outerjoin(Completion, and_(*on_completion))
        .where(*current)
        .group_by(OrgUnit.path, Enrolment.course_id)
        .subquery()
    )
    # The courses' names joined to the grouped rows (a few thousand), rather than
    # read in a statement of their own: over a network each statement is a round
    # trip, which counts in a small area's roll-up (benchmarks/reports.py).
    query = select(
        counts.c.path,
        Course.id,
        Course.slug,
        Course.title,
        counts.c.enrolled,
        counts.c.completed,
        counts.c.in_period,
        counts.c.overdue,
    ).join(Course, Course.id == counts.c.course_id)
    units_query = select(
        OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.path, OrgUnit.valid_to
    ).where(*_area(scope, unit))
    if depth is not None:
        units_query = units_query.where(OrgUnit.depth <= unit.depth + depth)
    units = {row[0]: row for row in session.execute(units_query).tuples()}
    tallies: dict[tuple[int, int], _Tally] = {}
    courses: dict[int, tuple[str, str, int]] = {}
    listed: dict[str, list[int]] = {}  # a unit's path -> its ancestors that are listed
    for path, cid, slug, title, enrolled, completed, period_count, overdue_count in (
        session.connection().execute(query).tuples().all()
    ):
        courses[cid] = (slug, title, cid)
        row = _Tally(
            int(enrolled), int(completed or 0), int(period_count or 0), int(overdue_count or 0)
        )
        ancestors = listed.get(path)
        if ancestors is None:
            ancestors = listed[path] = [a for a in _ancestors(path) if a in units]
        for ancestor in ancestors:
            tallies.setdefault((ancestor, cid), _Tally()).add(row)
    if course_id is not None and course_id not in courses:  # asked for, none enrolled
        slug, title = session.execute(
            select(Course.slug, Course.title).where(Course.id == course_id)
        ).one()
        courses[course_id] = (slug, title, course_id)
    ordered_courses = sorted(courses.values())
    # the listed units hold every ancestor (up to the chosen unit) of a listed unit
    order = _TreeOrder(
        unit, {uid: row[1] for uid, row in units.items()}, [row[4] for row in units.values()]
    )
    with_period = date_from is not None or date_to is not None
    rows: list[tuple[tuple[tuple[str, ...], str], tuple[Cell, ...]]] = []
    for uid, code, name, kind, path, valid_to in units.values():
        tallied = [tallies.get((uid, cid), _Tally()) for _, _, cid in ordered_courses]
        gone = valid_to is not None and valid_to < as_of
        if gone and not any(t.enrolled for t in tallied):
            continue  # a dissolved unit matters only while it has history
        level = len(_ancestors(path)) - len(_ancestors(unit.path))
        for (slug, title, _), tally in zip(ordered_courses, tallied, strict=True):
            rate = round(100.0 * tally.completed / tally.enrolled, 1) if tally.enrolled else None
            cells: list[Cell] = [level, code, name, kind, slug, title]
            if cohort is not None:
                cells.append(clean(cohort))
            cells += [tally.enrolled, tally.completed]
            if with_period:
                cells.append(tally.in_period)
            cells += [rate, tally.overdue]
            rows.append(((order.key(path), slug), tuple(cells)))
    rows.sort(key=lambda item: item[0])
    columns = [
        Column("level", "Cấp", "Level", "int"),
        *UNIT_COLUMNS,
        Column("unit_kind", "Loại đơn vị", "Unit kind"),
        *COURSE_COLUMNS,
    ]
    if cohort is not None:
        columns.append(Column("cohort", "Đợt", "Cohort"))
    columns += [
        Column("enrolled", "Số người ghi danh", "Enrolled", "int"),
        Column("completed", "Đã hoàn thành", "Completed", "int"),
    ]
    if with_period:
        columns.append(
            Column("completed_in_period", "Hoàn thành trong kỳ", "Completed in period", "int")
        )
    columns += [
        Column("rate", "Tỷ lệ hoàn thành (%)", "Completion rate (%)", "percent"),
        Column("overdue", "Quá hạn", "Overdue", "int"),
    ]
    return Report(
        name="rollup",
        title_vi="Tỷ lệ hoàn thành theo đơn vị",
        title_en="Completion by unit",
        columns=columns,
        rows=[row for _, row in rows],
        filters=_filters(
            unit,
            {
                "course": course,
                "cohort": cohort,
                "from": date_from,
                "to": date_to,
                "as_of": as_of,
                "depth": depth,
            },
        ),
        generated_at=utcnow(),
    )


# --------------------------------------------------------------------------- overdue


def overdue(
    session: Session,
    scope: Scope,
    *,
    unit_code: str | None = None,
    course: str | None = None,
    cohort: str | None = None,
    today: dt.date | None = None,
) -> Report:
    """Who is late: current enrolments still open whose due date is before ``today``.

    The ``overdue`` rows of :func:`completion_matrix`, with how many days
    late, listed by unit and then the longest overdue first, for chasing.
    """
    today = _today(today)
    unit = _scoped_unit(session, scope, unit_code)
    course_id = _course_id(session, course)
    cohort_ids = _cohort_ids(session, course_id, cohort)
    query = _enrolments(
        scope,
        unit,
        OrgUnit.path,
        OrgUnit.code,
        OrgUnit.name,
        Person.staff_code,
        Person.full_name,
        Person.position,
        Course.slug,
        Course.title,
        Cohort.name,
        Enrolment.status,
        Enrolment.due_on,
        course_id=course_id,
        cohort_ids=cohort_ids,
    ).where(
        Enrolment.status.in_(_ACTIVE),
        Enrolment.due_on.is_not(None),
        Enrolment.due_on < today,
    )
    found = session.connection().execute(query).tuples().all()  # plain rows, at once
    order = _TreeOrder.of_rows(session, unit, {row[0]: row[1] for row in found})
    rows: list[tuple[tuple[Any, ...], tuple[Cell, ...]]] = []
    for (
        path,
        code,
        name,
        staff,
        full_name,
        position,
        slug,
        title,
        cohort_name,
        status,
        due_on,
    ) in found:
        days = (today - due_on).days
        rows.append(
            (
                (order.rank(path), -days, staff, slug),
                (
                    code,
                    name,
                    staff,
                    full_name,
                    position,
                    slug,
                    title,
                    cohort_name,
                    "in_progress" if status == "in_progress" else "not_started",
                    due_on,
                    days,
                ),
            )
        )
    rows.sort(key=lambda item: item[0])
    return Report(
        name="overdue",
        title_vi="Quá hạn hoàn thành",
        title_en="Overdue enrolments",
        columns=[
            *UNIT_COLUMNS,
            *PERSON_COLUMNS,
            *COURSE_COLUMNS,
            Column("cohort", "Đợt", "Cohort"),
            Column("status", "Tình trạng", "Status"),
            Column("due_on", "Hạn hoàn thành", "Due", "date"),
            Column("days_overdue", "Số ngày quá hạn", "Days overdue", "int"),
        ],
        rows=[row for _, row in rows],
        filters=_filters(unit, {"course": course, "cohort": cohort, "as_of": today}),
        generated_at=utcnow(),
    )


# --------------------------------------------------------------------------- expiring


def expiring(
    session: Session,
    scope: Scope,
    *,
    unit_code: str | None = None,
    course: str | None = None,
    within_days: int = EXPIRING_WITHIN_DAYS,
    include_expired: bool = False,
    today: dt.date | None = None,
) -> Report:
    """Who needs refresher training: certificates whose last valid day is within the window.

    Per active person and course, the latest unrevoked certificate (highest
    id, as ``lms certificates expiring``), valid until ``today`` …
    ``today + within_days``; with ``include_expired`` also those already past.
    A person who renewed is not listed: their latest certificate is the new
    one.  Soonest first.
    """
    if within_days < 0:
        raise LmsError("the number of days must not be negative")
    today = _today(today)
    unit = _scoped_unit(session, scope, unit_code)
    course_id = _course_id(session, course)
    # the latest unrevoked certificate: no later one (NOT EXISTS), as for enrolments
    # (:func:`_current`), rather than max(id) per person and course joined back
    later = _LATER_CERTIFICATE
    renewed = exists().where(
        later.person_id == Certificate.person_id,
        later.course_id == Certificate.course_id,
        later.id > Certificate.id,
        later.revoked_at.is_(None),
    )
    where: list[ColumnElement[bool]] = [
        *_area(scope, unit),
        Person.active.is_(True),
        Certificate.revoked_at.is_(None),
        ~renewed,
        Certificate.valid_until.is_not(None),
        Certificate.valid_until <= today + dt.timedelta(days=within_days),
    ]
    if not include_expired:
        where.append(Certificate.valid_until >= today)
    if course_id is not None:
        where.append(Certificate.course_id == course_id)
    query = (
        select(
            OrgUnit.path,
            OrgUnit.code,
            OrgUnit.name,
            Person.staff_code,
            Person.full_name,
            Person.position,
            Course.slug,
            Course.title,
            Certificate.serial,
            Certificate.completed_on,
            Certificate.valid_until,
        )
        .select_from(Certificate)
        .join(Person, Certificate.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .join(Course, Certificate.course_id == Course.id)
        .where(*where)
    )
    found = session.connection().execute(query).tuples().all()  # plain rows, at once
    order = _TreeOrder.of_rows(session, unit, {row[0]: row[1] for row in found})
    rows: list[tuple[tuple[Any, ...], tuple[Cell, ...]]] = []
    for (
        path,
        code,
        name,
        staff,
        full_name,
        position,
        slug,
        title,
        serial,
        done,
        until,
    ) in found:
        assert until is not None
        days = (until - today).days
        rows.append(
            (
                (until, order.rank(path), staff, slug),
                (
                    code,
                    name,
                    staff,
                    full_name,
                    position,
                    slug,
                    title,
                    serial,
                    done,
                    until,
                    days,
                    "expired" if days < 0 else "expiring",
                ),
            )
        )
    rows.sort(key=lambda item: item[0])
    return Report(
        name="expiring",
        title_vi="Chứng nhận sắp hết hạn",
        title_en="Certificates expiring",
        columns=[
            *UNIT_COLUMNS,
            *PERSON_COLUMNS,
            *COURSE_COLUMNS,
            Column("serial", "Số chứng nhận", "Serial"),
            Column("completed_on", "Ngày hoàn thành", "Completed on", "date"),
            Column("valid_until", "Có giá trị đến", "Valid until", "date"),
            Column("days_left", "Số ngày còn lại", "Days left", "int"),
            Column("status", "Tình trạng", "Status"),
        ],
        rows=[row for _, row in rows],
        filters=_filters(
            unit,
            {
                "course": course,
                "within": f"{within_days} ngày (days)"
                + (", kể cả đã hết hạn (expired included)" if include_expired else ""),
                "as_of": today,
            },
        ),
        generated_at=utcnow(),
    )


# --------------------------------------------------------------------------- attempts


def _seconds_taken(session: Session) -> ColumnElement[Any]:
    """Seconds from start to submit of an attempt, in the engine's own arithmetic.

    Both columns hold naive UTC, so the difference is exact on both engines
    (SQLite through Julian days, to well under a millisecond).
    """
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", Attempt.submitted_at) - extract("epoch", Attempt.started_at)
    return (func.julianday(Attempt.submitted_at) - func.julianday(Attempt.started_at)) * 86400.0


def _graded_in_area(
    scope: Scope,
    unit: OrgUnit,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> list[ColumnElement[bool]]:
    """Graded attempts of people in the area, submitted in the period (Attempt → OrgUnit joined)."""
    return [
        *_area(scope, unit),
        Attempt.state == "graded",
        Attempt.submitted_at.is_not(None),
        *_period(Attempt.submitted_at, date_from, date_to),
    ]


def _join_people(query: Select[Any]) -> Select[Any]:
    return (
        query.join(Enrolment, Attempt.enrolment_id == Enrolment.id)
        .join(Person, Enrolment.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
    )


_TITLES: dict[str, list[tuple[str, str]]] = {}
"""(exercise id, title) of a version's exercises in course order, by the snapshot's
content hash: versions are never updated, so a snapshot is read (and decoded) once
per process, as the learner server's ``lms_core.services.attempts._SNAPSHOTS``."""
_TITLES_LIMIT = 1024


def _titles(
    session: Session, versions: Sequence[tuple[int, int, str]]
) -> dict[str, list[tuple[str, str]]]:
    """The exercises of ``versions`` (id, course id, content hash) by hash, read if not cached."""
    out = {digest: _TITLES[digest] for _, _, digest in versions if digest in _TITLES}
    wanted = {version_id: digest for version_id, _, digest in versions if digest not in out}
    if not wanted:
        return out
    if len(_TITLES) + len(wanted) > _TITLES_LIMIT:
        _TITLES.clear()
    found = session.execute(
        select(CourseVersion.id, CourseVersion.snapshot["exercises"]).where(
            CourseVersion.id.in_(wanted)
        )
    ).tuples()
    for version_id, exercises in found:
        digest = wanted[version_id]
        out[digest] = _TITLES[digest] = [
            (
                str(entry.get("id")),
                str((entry.get("data") or {}).get("title") or entry.get("id")),
            )
            for entry in exercises or []
        ]
    return out


def _exercise_titles(
    session: Session, wanted: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], tuple[int, str]]:
    """(course id, exercise id) -> (position in the course, title), newest version first.

    One small statement lists the versions of the courses (ids and content
    hashes); snapshots are read only for versions not seen before in this
    process, the newest first, older ones only for an exercise the newest
    version no longer has.  Reading the newest snapshot of every course,
    one statement per course, was a quarter of the attempts report over a
    commune on PostgreSQL: twenty round trips, and the exercises' whole
    definitions decoded as JSON each time (benchmarks/reports.py).
    """
    missing: dict[int, set[str]] = {}
    for course_id, exercise_id in wanted:
        missing.setdefault(course_id, set()).add(exercise_id)
    out: dict[tuple[int, str], tuple[int, str]] = {}
    if not missing:
        return out
    versions: dict[int, list[tuple[int, int, str]]] = {}
    for row in session.execute(
        select(CourseVersion.id, CourseVersion.course_id, CourseVersion.content_hash)
        .where(CourseVersion.course_id.in_(missing))
        .order_by(CourseVersion.course_id, CourseVersion.number.desc())
    ).tuples():
        versions.setdefault(row[1], []).append(row)

    def take(listed: Sequence[tuple[int, int, str]]) -> None:
        titles = _titles(session, listed)
        for _, course_id, digest in listed:  # newest first within a course
            ids = missing[course_id]
            for position, (eid, title) in enumerate(titles.get(digest, [])):
                if eid in ids:
                    out[(course_id, eid)] = (position, title)
                    ids.discard(eid)

    take([listed[0] for listed in versions.values()])
    older = [v for cid, ids in missing.items() if ids for v in versions.get(cid, [])[1:]]
    if older:  # rare: an exercise the newest version no longer has
        take(older)
    return out


def attempts_summary(
    session: Session,
    scope: Scope,
    *,
    unit_code: str | None = None,
    course: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Report:
    """Per course × exercise: graded attempts, learners, pass rate, mean score, median time.

    Over graded attempts of people in the area, submitted in the period
    (every attempt counts, not only the best one: this is about the exercise,
    not the learner).  ``pass_rate`` is the share of attempts that passed,
    ``mean_score`` the mean of their percents, ``median_minutes`` the median
    of submit − start (a median, because a few attempts left open for a day
    would drag a mean).  One query: a window function numbers the attempts
    of each exercise by time taken, and the median is the mean of the middle
    one or two.
    """
    _check_period(date_from, date_to)
    unit = _scoped_unit(session, scope, unit_code)
    course_id = _course_id(session, course)
    seconds = _seconds_taken(session)
    percent = case((Attempt.max_score > 0, Attempt.score * 100.0 / Attempt.max_score), else_=None)
    part = (Enrolment.course_id, Attempt.exercise_id)
    where = _graded_in_area(scope, unit, date_from, date_to)
    if course_id is not None:
        where.append(Enrolment.course_id == course_id)
    inner = (
        _join_people(
            select(
                Enrolment.course_id.label("course_id"),
                Attempt.exercise_id.label("exercise_id"),
                Enrolment.person_id.label("person_id"),
                case((Attempt.passed.is_(True), 1), else_=0).label("passed"),
                percent.label("percent"),
                seconds.label("seconds"),
                func.row_number().over(partition_by=part, order_by=seconds).label("rank"),
                func.count().over(partition_by=part).label("total"),
            ).select_from(Attempt)
        )
        .where(*where)
        .subquery()
    )
    middle = or_(inner.c.rank == (inner.c.total + 1) // 2, inner.c.rank == (inner.c.total + 2) // 2)
    grouped = (
        select(
            inner.c.course_id,
            inner.c.exercise_id,
            func.count().label("attempts"),
            func.count(inner.c.person_id.distinct()).label("learners"),
            func.sum(inner.c.passed).label("passed"),
            func.avg(inner.c.percent).label("mean"),
            func.avg(case((middle, inner.c.seconds), else_=None)).label("median"),
        )
        .group_by(inner.c.course_id, inner.c.exercise_id)
        .subquery()
    )
    # The course's slug and title joined to the grouped rows: no statement of their
    # own, and grouped first, so the grouping reads the rows in the order the window
    # functions sorted them (grouping by the title too would sort them all again).
    query = select(
        grouped.c.course_id,
        Course.slug,
        Course.title,
        grouped.c.exercise_id,
        grouped.c.attempts,
        grouped.c.learners,
        grouped.c.passed,
        grouped.c.mean,
        grouped.c.median,
    ).join(Course, Course.id == grouped.c.course_id)
    found = session.connection().execute(query).tuples().all()
    titles = _exercise_titles(session, [(row[0], row[3]) for row in found])
    rows: list[tuple[tuple[Any, ...], tuple[Cell, ...]]] = []
    for cid, slug, course_title, eid, attempts, learners, passed, mean, median in found:
        position, title = titles.get((cid, eid), (len(titles), eid))
        rows.append(
            (
                (slug, position, eid),
                (
                    slug,
                    course_title,
                    eid,
                    title,
                    int(attempts),
                    int(learners),
                    round(100.0 * int(passed or 0) / int(attempts), 1),
                    None if mean is None else round(float(mean), 1),
                    None if median is None else round(float(median) / 60.0, 1),
                ),
            )
        )
    rows.sort(key=lambda item: item[0])
    return Report(
        name="attempts",
        title_vi="Kết quả bài kiểm tra",
        title_en="Attempts by exercise",
        columns=[
            *COURSE_COLUMNS,
            Column("exercise", "Mã bài", "Exercise"),
            Column("exercise_title", "Bài", "Exercise title"),
            Column("attempts", "Lượt làm bài", "Attempts", "int"),
            Column("learners", "Số người làm", "Learners", "int"),
            Column("pass_rate", "Tỷ lệ đạt (%)", "Pass rate (%)", "percent"),
            Column("mean_score", "Điểm trung bình (%)", "Mean score (%)", "percent"),
            Column(
                "median_minutes", "Thời gian làm (phút, trung vị)", "Median time (min)", "float"
            ),
        ],
        rows=[row for _, row in rows],
        filters=_filters(unit, {"course": course, "from": date_from, "to": date_to}),
        generated_at=utcnow(),
    )


# --------------------------------------------------------------------------- item analysis


class ItemOption(Protocol):
    """An author's option of a choice question."""

    @property
    def id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def correct(self) -> bool: ...


class ItemDefinition(Protocol):
    """A question as the author wrote it (``options`` empty unless it is a choice)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def prompt(self) -> str: ...
    @property
    def points(self) -> float: ...
    @property
    def options(self) -> Sequence[ItemOption]: ...


class AnalysedExercise(Protocol):
    """A stored exercise as item analysis needs it, from its plugin.

    Responses hold what the browser sent, in the attempt's own terms (public
    ids that change with the seed); only the plugin can say what they were
    in the author's terms.
    """

    def items(self) -> Sequence[ItemDefinition]:
        """Every question, in written order."""
        ...

    def shown(self, *, seed: int) -> Sequence[str]:
        """Ids of the questions attempt ``seed`` held (a quiz may draw some)."""
        ...

    def chosen(self, question_id: str, answer: object, *, seed: int) -> Sequence[str]:
        """The author's option ids ``answer`` chose (empty: none, or not a choice question)."""
        ...


ItemAnalyser = Callable[[Mapping[str, Any]], AnalysedExercise]
"""Loads a stored exercise (``exercises[].data`` of a version) for analysis."""


def _installed_analysers() -> dict[str, ItemAnalyser]:
    """Analysers of the installed exercise types (their optional ``analyse`` method).

    Found through the plugin manager like everything a plugin offers; a type
    without one still gets difficulty and discrimination, from the points.
    """
    from lms_core.plugins import exercise_types, make_plugin_manager

    out: dict[str, ItemAnalyser] = {}
    for name, kind in exercise_types(make_plugin_manager()).items():
        analyse = getattr(kind, "analyse", None)
        if callable(analyse):
            out[name] = cast(ItemAnalyser, analyse)
    return out


@dataclass(slots=True)
class _ItemStats:
    """Running sums for one question: never a list of attempts."""

    n: int = 0
    right: int = 0
    no_answer: int = 0
    pairs: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    syy: float = 0.0
    sxy: float = 0.0
    chosen: dict[str, int] = field(default_factory=dict)
    upper: int = 0
    upper_right: int = 0
    upper_chosen: dict[str, int] = field(default_factory=dict)

    def correlation(self) -> float | None:
        """Pearson's r of (item fraction, rest of the score); None when undefined."""
        m = self.pairs
        if m < 2:
            return None
        vx = m * self.sxx - self.sx * self.sx
        vy = m * self.syy - self.sy * self.sy
        if vx <= 1e-9 or vy <= 1e-9:
            return None
        return (m * self.sxy - self.sx * self.sy) / math.sqrt(vx * vy)


@dataclass(slots=True)
class _Group:
    """Versions of one exercise with the same definition, analysed together."""

    exercise_id: str
    kind: str
    data: dict[str, Any]
    version_ids: list[int]
    numbers: list[int]
    position: int
    analysed: AnalysedExercise | None = None
    items: dict[str, ItemDefinition] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    stats: dict[str, _ItemStats] = field(default_factory=dict)


def _groups(
    session: Session, pairs: Iterable[tuple[int, str]], exercise: str | None
) -> list[_Group]:
    """Group (version, exercise) pairs by exercise and identical definition.

    Question ids are stable within a version, and usually across versions
    too; but a question edited between versions is another question, so
    versions are pooled only when the exercise's stored definition is
    exactly the same.
    """
    wanted: dict[int, set[str]] = {}
    for version_id, exercise_id in pairs:
        wanted.setdefault(version_id, set()).add(exercise_id)
    groups: dict[tuple[str, str], _Group] = {}
    versions = session.execute(
        select(CourseVersion.id, CourseVersion.number, CourseVersion.snapshot)
        .where(CourseVersion.id.in_(wanted))
        .order_by(CourseVersion.number)
    ).tuples()
    for version_id, number, snapshot in versions:
        for position, entry in enumerate(snapshot.get("exercises") or []):
            eid = str(entry.get("id"))
            if eid not in wanted[version_id] or (exercise is not None and eid != exercise):
                continue
            data = entry.get("data") or {}
            key = (eid, json.dumps(data, sort_keys=True, ensure_ascii=False))
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(eid, str(entry.get("kind")), data, [], [], position)
            group.version_ids.append(version_id)
            group.numbers.append(number)
            group.position = position  # the newest version's place in the course
    return sorted(groups.values(), key=lambda g: (g.position, g.exercise_id, g.numbers[0]))


def _upper_bound(
    session: Session, where: Sequence[ColumnElement[bool]]
) -> tuple[float, int] | None:
    """The last attempt of the best :data:`UPPER_GROUP` share: (its total, its id).

    Attempts ranked by total (fraction of the maximum), best first, ties by
    id: the first k = ⌈27 % × attempts⌉ form the group, exactly k even when
    many share a total (a short quiz has few distinct totals; taking every
    tie could make the "best 27 %" half of everyone).  Found by SQL ordering
    (the k-th row); the total is the same IEEE division the streamed rows
    get in Python, so both sides agree on ties.
    """
    count = session.scalar(_join_people(select(func.count()).select_from(Attempt)).where(*where))
    if not count:
        return None
    k = math.ceil(UPPER_GROUP * int(count))
    total = case(
        (Attempt.max_score > 0, func.coalesce(Attempt.score, 0.0) / Attempt.max_score),
        else_=0.0,
    )
    row = session.execute(
        _join_people(select(Attempt.score, Attempt.max_score, Attempt.id).select_from(Attempt))
        .where(*where)
        .order_by(total.desc(), Attempt.id)
        .offset(k - 1)
        .limit(1)
    ).first()
    if row is None:
        return None
    return _fraction(row[0], row[1]), int(row[2])


def _fraction(score: float | None, most: float | None) -> float:
    return (score or 0.0) / most if most else 0.0


def _bump(counts: dict[str, int], keys: Iterable[str]) -> None:
    for key in keys:
        counts[key] = counts.get(key, 0) + 1


def _accumulate(group: _Group, attempt: Sequence[Any], bound: tuple[float, int] | None) -> None:
    """Add one attempt (its rows: the attempt's columns, then one response each) to the sums."""
    attempt_id, seed, score, most, *_ = attempt[0]
    answers = {row[4]: row for row in attempt if row[4] is not None}
    total = _fraction(score, most)
    upper = bound is not None and (
        total > bound[0] or (total == bound[0] and attempt_id <= bound[1])
    )
    analysed = group.analysed
    shown: Sequence[str] = analysed.shown(seed=seed) if analysed is not None else list(answers)
    for qid in shown:
        stats = group.stats.setdefault(qid, _ItemStats())
        row = answers.get(qid)
        earned = float(row[6] or 0.0) if row is not None else 0.0
        right = bool(row[7]) if row is not None else False
        stats.n += 1
        stats.right += right
        chosen: Sequence[str] = ()
        if row is None:
            stats.no_answer += 1
        elif analysed is not None:
            chosen = analysed.chosen(qid, row[5], seed=seed)
        _bump(stats.chosen, chosen)
        if upper:
            stats.upper += 1
            stats.upper_right += right
            _bump(stats.upper_chosen, chosen)
        weight = group.weights.get(qid)
        rest_most = (most or 0.0) - (weight or 0.0)
        if rest_most <= 0:
            continue  # the question is the whole attempt: no "rest of the score"
        x = earned / weight if weight else float(right)
        y = 100.0 * ((score or 0.0) - earned) / rest_most
        stats.pairs += 1
        stats.sx += x
        stats.sy += y
        stats.sxx += x * x
        stats.syy += y * y
        stats.sxy += x * y


def _wrong_options(item: ItemDefinition | None, stats: _ItemStats) -> str:
    """The most chosen wrong options: ``b) text: 4 (33%)``, most chosen first."""
    if item is None or not item.options or not stats.n:
        return ""
    wrong = [
        (stats.chosen.get(o.id, 0), index, o)
        for index, o in enumerate(item.options)
        if not o.correct
    ]
    wrong = sorted((w for w in wrong if w[0]), key=lambda w: (-w[0], w[1]))[:_TOP_WRONG]
    return "; ".join(
        f"{o.id}) {_clip(o.text, _OPTION_CHARS)}: {count} ({round(100.0 * count / stats.n)}%)"
        for count, _, o in wrong
    )


def _flags(item: ItemDefinition | None, stats: _ItemStats, r: float | None) -> str:
    """Why a question looks broken (empty: nothing seen), from :data:`FLAG_MIN_RESPONSES` on."""
    if stats.n < FLAG_MIN_RESPONSES:
        return ""
    out = []
    if stats.right / stats.n < ALMOST_NOBODY:
        out.append(FLAG_NOBODY)
    if item is not None and stats.upper:
        best_wrong = max(
            (stats.upper_chosen.get(o.id, 0) for o in item.options if not o.correct), default=0
        )
        if best_wrong > stats.upper_right:
            out.append(FLAG_STRONG_WRONG)
    if r is not None and r < NEGATIVE_BELOW:
        out.append(FLAG_NEGATIVE)
    return "; ".join(out)


def item_analysis(
    session: Session,
    scope: Scope,
    *,
    course: str,
    exercise: str | None = None,
    unit_code: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    analysers: Mapping[str, ItemAnalyser] | None = None,
) -> Report:
    """Per question of a graded exercise: difficulty, discrimination, wrong options, flags.

    Over graded attempts of people in the area, submitted in the period, on
    the versions they are pinned to; versions whose definition of the
    exercise differs get rows of their own (``versions``).  A question
    shown in an attempt but not answered counts as wrong.

    * ``difficulty`` p: the share of attempts that got the question right
      (full marks).
    * ``discrimination``: the *corrected item–total correlation*, Pearson's r
      between the question's score (0/1 when right/wrong, partial credit in
      between) and the attempt's percent on the *other* questions; for
      right/wrong questions it is the point-biserial without the item's own
      points inflating it.  Undefined (empty) when everyone scored alike.
    * ``wrong_options``: for choice and true/false questions, the wrong
      options most chosen, with how many attempts chose them.
    * ``flag``, from :data:`FLAG_MIN_RESPONSES` attempts on: "almost nobody
      right" (p < 0.2), "strong learners choose a wrong option" (in the best
      27 % of attempts by total, ``upper_n`` of them, a wrong option chosen
      more often than the question was answered right: often a wrong answer
      key), "negative discrimination" (r < :data:`NEGATIVE_BELOW`: the better
      the learner, the likelier wrong).

    ``analysers`` map exercise kinds to plugins' loaders (default: the
    installed quiz plugin's); without one for a kind, prompts and options
    are unknown and only questions that were answered are seen.  Response
    rows are streamed (``yield_per``) in attempt order; only sums are kept.
    """
    _check_period(date_from, date_to)
    unit = _scoped_unit(session, scope, unit_code)
    course_id = _course_id(session, course)
    assert course_id is not None
    analysers = _installed_analysers() if analysers is None else analysers
    where = [
        *_graded_in_area(scope, unit, date_from, date_to),
        Enrolment.course_id == course_id,
    ]
    if exercise is not None:
        where.append(Attempt.exercise_id == exercise)
    pairs = (
        _join_people(select(Attempt.course_version_id, Attempt.exercise_id).select_from(Attempt))
        .where(*where)
        .group_by(Attempt.course_version_id, Attempt.exercise_id)
    )
    groups = _groups(session, session.execute(pairs).tuples(), exercise)
    if exercise is not None and not groups:
        _known_exercise(session, course_id, course, exercise)
    rows: list[tuple[Cell, ...]] = []
    for group in groups:
        loader = analysers.get(group.kind)
        if loader is not None:
            group.analysed = loader(group.data)
            group.items = {item.id: item for item in group.analysed.items()}
            group.weights = {qid: item.points for qid, item in group.items.items()}
        scoped = [
            *where,
            Attempt.exercise_id == group.exercise_id,
            Attempt.course_version_id.in_(group.version_ids),
        ]
        bound = _upper_bound(session, scoped)
        stream = _join_people(
            select(
                Attempt.id,
                Attempt.seed,
                Attempt.score,
                Attempt.max_score,
                Response.question_id,
                Response.answer,
                Response.points,
                Response.correct,
            ).select_from(Attempt)
        )
        stream = (
            stream.outerjoin(Response, Response.attempt_id == Attempt.id)
            .where(*scoped)
            .order_by(Attempt.id)
            .execution_options(yield_per=_STREAM_ROWS)
        )
        # Plain rows through the session's connection: no ORM bookkeeping per row.
        streamed = session.connection().execute(stream)
        for _, attempt_rows in groupby(streamed, key=lambda r: r[0]):
            _accumulate(group, list(attempt_rows), bound)
        rows.extend(_item_rows(group))
    return Report(
        name="items",
        title_vi="Phân tích câu hỏi",
        title_en="Item analysis",
        columns=[
            Column("exercise", "Mã bài", "Exercise"),
            Column("versions", "Phiên bản", "Versions"),
            Column("question", "Mã câu hỏi", "Question"),
            Column("kind", "Loại câu hỏi", "Kind"),
            Column("prompt", "Câu hỏi", "Prompt"),
            Column("n", "Số lượt", "Attempts", "int"),
            Column("no_answer", "Bỏ trống", "No answer", "int"),
            Column("difficulty", "Độ khó p (tỷ lệ đúng)", "Difficulty p (share right)", "float"),
            Column("discrimination", "Độ phân biệt r", "Discrimination r", "float"),
            Column("upper_n", "Lượt nhóm giỏi", "Upper group attempts", "int"),
            Column("wrong_options", "Phương án sai hay chọn", "Wrong options chosen"),
            Column("flag", "Cảnh báo", "Flag"),
        ],
        rows=rows,
        filters=_filters(
            unit, {"course": course, "exercise": exercise, "from": date_from, "to": date_to}
        ),
        generated_at=utcnow(),
    )


def _known_exercise(session: Session, course_id: int, course: str, exercise: str) -> None:
    """NotFoundError unless the course's latest version has ``exercise`` (no attempts is fine)."""
    snapshot = session.scalar(
        select(CourseVersion.snapshot)
        .where(CourseVersion.course_id == course_id)
        .order_by(CourseVersion.number.desc())
        .limit(1)
    )
    ids = {str(e.get("id")) for e in (snapshot or {}).get("exercises") or []}
    if exercise not in ids:
        raise NotFoundError(f"no exercise '{exercise}' in course '{course}'")


def _item_rows(group: _Group) -> list[tuple[Cell, ...]]:
    versions = ", ".join(str(n) for n in group.numbers)
    items = group.items
    order = list(items) + [qid for qid in group.stats if qid not in items]
    rows: list[tuple[Cell, ...]] = []
    for qid in order:
        stats = group.stats.get(qid, _ItemStats())
        item = items.get(qid)
        r = stats.correlation()
        rows.append(
            (
                group.exercise_id,
                versions,
                qid,
                item.kind if item is not None else "",
                _clip(item.prompt, _PROMPT_CHARS) if item is not None else "",
                stats.n,
                stats.no_answer,
                round(stats.right / stats.n, 3) if stats.n else None,
                None if r is None else round(r, 3),
                stats.upper,
                _wrong_options(item, stats),
                _flags(item, stats, r),
            )
        )
    return rows

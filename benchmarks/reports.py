"""Reports on a generated province: each report's query time against one raw SQL query.

Target (issue 8, "Speed"): on a province of 129 communes, 100,000 staff,
20 courses and 1,000,000 attempts, each report of
:mod:`lms_core.services.reports` within 1.5× of the same aggregate written
as one hand-written SQL query, run through the bare driver (``sqlite3`` or
``psycopg``) in the same run, on SQLite and on PostgreSQL.

The two sides of each row compute the same thing from the same database:

* **ours**: the service function (a read-only session, ``Scope.everything()``,
  a fixed ``today``), returning its :class:`~lms_core.reporting.Report`:
  SQLAlchemy's statement, typed result rows, statuses, tree order, titles.
* **raw SQL**: one query that an engineer who knows the schema would write
  for the same rows or counts (the same "current enrolment" rule, statuses
  and day counts computed in SQL, ordered), executed on a raw DB-API
  connection and fetched whole.  It is the floor: no ORM, no typing of the
  rows (SQLite returns dates as text), no Python per row.

Both sides run on the whole province and on one commune's subtree.  After
timing, a few numbers of each pair are compared (row counts, counts per
status, per-course totals, per-question sums): a fast answer to another
question would be worth nothing.  Item analysis has no target: ours decodes
every answer's options from its attempt's seed in Python (which options were
chosen, the upper group), which SQL cannot do; the raw side computes only
the per-question sums behind difficulty and discrimination.

The province is built once with bulk inserts on the bare driver (1M attempts
through the services would take hours) but consistent with the model: the
org tree and staff of :mod:`lms_core.synthetic`; 20 courses checked and
published through the real services (each a lesson and a graded quiz of ten
single-choice questions, options shuffled); enrolments with due dates,
withdrawals, re-enrolments and renewals (one open enrolment per person and
course, ids growing with time); attempts with scores, pass marks, times and
result JSON of a realistic size; completions for the passed ones;
certificates (12 or 24 months, a few revoked); and, for one course, the
responses of every graded attempt (about 50,000 × 10) in each attempt's own
public option ids, drawn from a simple ability model with one question whose
key is wrong, so item analysis has something to find.  The SQLite file is
cached under the user's cache folder, keyed by the generator version, the
schema revision and the size, so later runs reuse it.  PostgreSQL gets a
fresh schema (``LMS_TEST_DATABASE_URL``, else the local test server; skipped
with the reason printed when there is none), migrated with
:func:`lms_core.schema.upgrade` so the indexes of migration 0006 exist,
filled with ``COPY`` from the cached SQLite file (the same rows on both
engines), analysed as autovacuum would, and dropped afterwards.

Three suites: ``reports`` reads the SQLite file as ``lms`` leaves its
databases, without statistics (``lms`` never runs ``ANALYZE``), so the
planner guesses as it does in the field; ``reports_analyzed`` reads a copy
after ``ANALYZE`` (cached too), to show what statistics change;
``reports_pg`` is PostgreSQL.  ``BENCH_REPORTS=completion,items`` measures
only those reports (to profile one).

``--quick`` (CI): 12 communes, 2,000 staff, 20,000 attempts.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import re
import sqlite3
import tempfile
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from benchmarks.harness import Benchmark, Result, Side, pg_base_url, run
from lms_core.courses import check_courses
from lms_core.db import make_engine, read_only, session_factory
from lms_core.models import Base, Course, CourseVersion, OrgUnit
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.reporting import Report
from lms_core.schema import head_revision, upgrade
from lms_core.services import reports
from lms_core.services.courses import publish
from lms_core.services.scope import Scope
from lms_core.synthetic import generate_province, generate_staff
from lms_quiz.analysis import load
from lms_quiz.attempt import public_ids

GENERATOR_VERSION = 1
"""Bump when the generated data changes: the cached file's name includes it."""

TODAY = dt.date(2026, 11, 29)
"""The reports' "today": fixed, so due dates and certificate expiry stand as generated."""

EVERYTHING = Scope.everything()
TARGET = 1.5


@dataclass(frozen=True, slots=True)
class Size:
    """How big a province to generate."""

    name: str
    communes: int
    staff: int
    courses: int
    attempts: int

    @property
    def key(self) -> str:
        return f"{self.communes}c-{self.staff}s-{self.courses}k-{self.attempts}a"


FULL = Size("full", communes=129, staff=100_000, courses=20, attempts=1_000_000)
QUICK = Size("quick", communes=12, staff=2_000, courses=20, attempts=20_000)

# --------------------------------------------------------------------------- time axis

_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
"""Second 0 of the generated timeline (UTC)."""
_DAY = 86_400
_VN = 7 * 3_600
_DAYS = [(_EPOCH.date() + dt.timedelta(days=d)).isoformat() for d in range(1_600)]
_NOW = int((dt.datetime.combine(TODAY, dt.time(), reports.VN_TZ) - _EPOCH).total_seconds()) - 3_600
"""An hour before "today" began in Vietnam: everything generated happened before it."""
_FIRST_ENROLMENT = int((dt.datetime(2024, 3, 1, tzinfo=dt.UTC) - _EPOCH).total_seconds())


def _stamp(second: int, micro: int = 0) -> str:
    """A UTC second of the timeline as SQLite stores :class:`UTCDateTime` (naive UTC)."""
    day, rest = divmod(second, _DAY)
    hour, rest = divmod(rest, 3_600)
    minute, sec = divmod(rest, 60)
    return f"{_DAYS[day]} {hour:02d}:{minute:02d}:{sec:02d}.{micro:06d}"


def _vn_day(second: int) -> int:
    """Index (into ``_DAYS``) of the Vietnamese date of a UTC second of the timeline."""
    return (second + _VN) // _DAY


def _day_index(day: dt.date) -> int:
    return (day - _EPOCH.date()).days


def _add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months on, as certificates count validity (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


# --------------------------------------------------------------------------- courses

_TOPICS = (
    "Nhận biết dấu hiệu xâm hại trẻ em",
    "Thông báo, tố giác hành vi xâm hại",
    "Bảo đảm an toàn cho trẻ em bị xâm hại",
    "Trò chuyện với trẻ và giữ bí mật",
    "Phòng chống đuối nước cho trẻ em",
    "Phòng chống tai nạn thương tích tại nhà",
    "An toàn cho trẻ trên môi trường mạng",
    "Chỉ thị 28-CT/TW và kế hoạch của tỉnh",
    "Quản lý trường hợp bảo vệ trẻ em",
    "Kỹ năng tham vấn cho trẻ và gia đình",
    "Trẻ em có hoàn cảnh đặc biệt",
    "Phòng chống lao động trẻ em",
    "Phòng chống mua bán trẻ em",
    "Hỗ trợ tâm lý cho trẻ em",
    "Phối hợp liên ngành ở cấp xã",
    "Luật Trẻ em 2016 và văn bản hướng dẫn",
    "Dinh dưỡng và chăm sóc trẻ nhỏ",
    "Phòng chống bạo lực học đường",
    "Truyền thông thay đổi hành vi",
    "Ghi chép và báo cáo số liệu trẻ em",
)
QUESTIONS = 10
OPTIONS = "abcd"
PASS_MARK = 7
"""Right answers out of :data:`QUESTIONS` that pass (``pass=70``)."""
EXERCISE = "kiem-tra"
BROKEN = "q07"
"""The question whose written key (``a``) is wrong: those who know choose ``b``."""
_DIFFICULTY = (-1.6, -1.1, -0.7, -0.4, -0.1, 0.2, -0.5, 0.5, 0.9, 1.3)


def _validity(course: int) -> int:
    """Certificate validity in months of the ``course``-th course (0: no certificate)."""
    if course >= 15:
        return 0
    return 12 if course % 2 == 0 else 24


def _write_courses(root: Path, count: int) -> None:
    """Course folders as authors write them: an intro, a lesson, a graded quiz."""
    for i in range(count):
        folder = root / f"khoa-{i + 1:02d}"
        folder.mkdir(parents=True)
        months = _validity(i)
        certificate = (
            f"certificate:\n  enabled: true\n  validity_months: {months}\n"
            if months
            else "certificate:\n  enabled: false\n"
        )
        topic = _TOPICS[i % len(_TOPICS)]
        (folder / "index.md").write_text(
            f"---\ntitle: {topic}\nsummary: Khóa tập huấn mô phỏng số {i + 1}.\nminutes: 45\n"
            f"completion:\n  rule: final\n  exercise: {EXERCISE}\n{certificate}---\n\n"
            "Giới thiệu khóa học.\n",
            encoding="utf-8",
        )
        (folder / "01-bai-doc.md").write_text(
            "---\ntitle: Bài đọc\nminutes: 20\nrequired: true\n---\n\nNội dung bài đọc.\n",
            encoding="utf-8",
        )
        questions = []
        for q in range(QUESTIONS):
            options = "\n".join(
                f"- ({'x' if j == 0 else ' '}) Phương án {OPTIONS[j].upper()} của câu {q + 1}"
                for j in range(len(OPTIONS))
            )
            questions.append(
                f"? Câu hỏi số {q + 1} về {topic.lower()}?\n{options}\nid: q{q + 1:02d}"
            )
        (folder / "02-kiem-tra.md").write_text(
            "---\ntitle: Bài kiểm tra\nminutes: 15\nrequired: true\n---\n\n"
            f'```quiz id={EXERCISE} graded pass=70 shuffle=options title="Kiểm tra cuối khóa"\n'
            + "\n---\n".join(questions)
            + "\n```\n",
            encoding="utf-8",
        )


@dataclass(slots=True)
class _Courses:
    """The published courses: ids, version ids, and the item-analysis quiz."""

    ids: list[int]
    versions: list[int]
    slugs: list[str]
    quiz: Any
    """The validated quiz of the first course (responses are generated for it)."""


def _publish_courses(engine: Engine, count: int) -> _Courses:
    types = exercise_types(make_plugin_manager())
    with tempfile.TemporaryDirectory(prefix="bench-courses-") as folder:
        _write_courses(Path(folder), count)
        loaded, problems = check_courses(Path(folder), types=types)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise RuntimeError(f"generated courses do not check: {errors[:3]}")
        with session_factory(engine).begin() as session:
            for course in sorted(loaded, key=lambda c: c.slug):
                publish(session, course)
    with session_factory(engine).begin() as session:
        rows = session.execute(
            select(Course.id, Course.slug, CourseVersion.id, CourseVersion.snapshot)
            .join(CourseVersion, CourseVersion.course_id == Course.id)
            .order_by(Course.slug)
        ).all()
    entry = next(e for e in rows[0][3]["exercises"] if e["id"] == EXERCISE)
    quiz = types["quiz"].model.model_validate(entry["data"])
    return _Courses([r[0] for r in rows], [r[2] for r in rows], [r[1] for r in rows], quiz)


# --------------------------------------------------------------------------- the plan

_ENROLLED, _IN_PROGRESS, _COMPLETED, _WITHDRAWN = range(4)
_STATUS_NAMES = ("enrolled", "in_progress", "completed", "withdrawn")


@dataclass(slots=True)
class _Plan:
    """Every enrolment of the province, column by column (compact: 600,000 of them).

    Decided first, so the attempt count can be made exact before any row is
    written: ``attempts`` includes an open attempt when ``open`` is set.
    """

    person: array[int] = field(default_factory=lambda: array("i"))
    course: array[int] = field(default_factory=lambda: array("b"))
    status: array[int] = field(default_factory=lambda: array("b"))
    enrolled: array[int] = field(default_factory=lambda: array("i"))
    start: array[int] = field(default_factory=lambda: array("i"))
    end: array[int] = field(default_factory=lambda: array("i"))
    due: array[int] = field(default_factory=lambda: array("i"))
    attempts: array[int] = field(default_factory=lambda: array("b"))
    open: array[int] = field(default_factory=lambda: array("b"))

    def add(
        self,
        person: int,
        course: int,
        status: int,
        enrolled: int,
        start: int,
        end: int,
        due: int,
        attempts: int,
        is_open: int,
    ) -> None:
        self.person.append(person)
        self.course.append(course)
        self.status.append(status)
        self.enrolled.append(enrolled)
        self.start.append(start)
        self.end.append(end)
        self.due.append(due)
        self.attempts.append(attempts)
        self.open.append(is_open)


def _outcome(rng: random.Random, enrolled: int, *, renewal: bool) -> tuple[int, int, int, int, int]:
    """(status, start, end, attempts, open) of one enrolment made at second ``enrolled``."""
    if not renewal and rng.random() < 0.04:
        withdrawn = min(enrolled + rng.randint(7, 120) * _DAY, _NOW - _DAY)
        started = rng.random() < 0.4
        start = enrolled + rng.randint(0, 6) * _DAY if started else -1
        if start >= withdrawn:
            start = -1
        return _WITHDRAWN, start, withdrawn, (rng.random() < 0.5) if start >= 0 else 0, 0
    # the longer ago someone was enrolled, the likelier they have finished by now
    old = min(1.0, (_NOW - enrolled) / (300 * _DAY))
    start = enrolled + int(rng.random() * 21 * _DAY)
    if rng.random() < 0.25 - 0.2 * old or start >= _NOW - _DAY:
        return _ENROLLED, -1, -1, 0, 0
    if rng.random() < 0.55 + 0.4 * old:
        end = start + int(rng.uniform(1, 60) * _DAY)
        if end < _NOW - _DAY:
            fails = 0
            while fails < 4 and rng.random() < 0.42:
                fails += 1
            return _COMPLETED, start, end, 1 + fails, 0
    end = min(start + int(rng.uniform(1, 90) * _DAY), _NOW - 3_600)
    fails = rng.choices((0, 1, 2, 3), (3, 4, 2, 1))[0]
    is_open = 1 if rng.random() < 0.12 else 0
    return _IN_PROGRESS, start, end, fails + is_open, is_open


def _due(rng: random.Random, enrolled: int) -> int:
    """The due day (index) of an enrolment, or -1 (none: about one in twelve)."""
    if rng.random() < 0.08:
        return -1
    return _vn_day(enrolled) + rng.choice((45, 60, 90, 120))


def _plan(size: Size, rng: random.Random, people: int) -> _Plan:
    """Enrolments per person (six or seven courses each), with renewals and re-enrolments."""
    plan = _Plan()
    # started enrolments average about 2.2 attempts, and about three in four start
    mean = size.attempts / people / 1.65
    span = _NOW - 10 * _DAY - _FIRST_ENROLMENT
    for person in range(1, people + 1):
        k = max(0, min(size.courses, round(rng.gauss(mean, 2.0))))
        for course in rng.sample(range(size.courses), k):
            enrolled = _FIRST_ENROLMENT + int(rng.random() * span)
            status, start, end, attempts, is_open = _outcome(rng, enrolled, renewal=False)
            plan.add(
                person, course, status, enrolled, start, end, _due(rng, enrolled), attempts, is_open
            )
            again = -1
            if status == _WITHDRAWN and rng.random() < 0.5:
                again = end + rng.randint(1, 60) * _DAY
            elif status == _COMPLETED and _validity(course):
                until = _add_months(dt.date.fromisoformat(_DAYS[_vn_day(end)]), _validity(course))
                if _day_index(until) - 60 < _day_index(TODAY) and rng.random() < 0.5:
                    again = max(
                        end + _DAY,
                        (_day_index(until) - rng.randint(15, 60)) * _DAY + 2 * 3_600,
                    )
            if 0 <= again < _NOW - 2 * _DAY:
                status, start, end, attempts, is_open = _outcome(rng, again, renewal=True)
                plan.add(
                    person, course, status, again, start, end, _due(rng, again), attempts, is_open
                )
    _exact_attempts(plan, size.attempts, rng)
    return plan


def _exact_attempts(plan: _Plan, target: int, rng: random.Random) -> None:
    """Add failed attempts to, or take them from, random started enrolments: exactly ``target``."""
    started = [i for i in range(len(plan.status)) if plan.start[i] >= 0]
    delta = target - sum(plan.attempts)
    while delta > 0:
        i = rng.choice(started)
        if plan.attempts[i] < 12:
            plan.attempts[i] += 1
            delta -= 1
    while delta < 0:
        i = rng.choice(started)
        least = (1 if plan.status[i] == _COMPLETED else 0) + plan.open[i]
        if plan.attempts[i] > least:
            plan.attempts[i] -= 1
            delta += 1


# --------------------------------------------------------------------------- writing rows


@dataclass(slots=True)
class _Ids:
    attempt: int = 0
    completion: int = 0
    certificate: int = 0
    response: int = 0


@dataclass(slots=True)
class _Batch:
    enrolment: list[tuple[Any, ...]] = field(default_factory=list)
    attempt: list[tuple[Any, ...]] = field(default_factory=list)
    completion: list[tuple[Any, ...]] = field(default_factory=list)
    certificate: list[tuple[Any, ...]] = field(default_factory=list)
    response: list[tuple[Any, ...]] = field(default_factory=list)


ENROLMENT_COLUMNS = (
    "id, person_id, course_id, course_version_id, cohort_id, status, due_on, enrolled_at, "
    "started_at, withdrawn_at"
)
ATTEMPT_COLUMNS = (
    "id, uuid, enrolment_id, course_version_id, exercise_id, seed, state, save_seq, "
    "started_at, deadline_at, submitted_at, score, max_score, passed, result, source"
)
COMPLETION_COLUMNS = (
    "id, enrolment_id, person_id, course_id, course_version_id, completed_at, score, rule"
)
CERTIFICATE_COLUMNS = (
    "id, serial, completion_id, person_id, course_id, course_version_id, full_name, unit_name, "
    "position, course_title, version_number, score, completed_on, issued_on, valid_until, "
    "issuer, kid, token, previous_id, revoked_at, revoked_reason, created_at"
)
RESPONSE_COLUMNS = "id, attempt_id, question_id, answer, points, correct"
_KID = "b3nchb3nchb3nch0"
_TOKEN = "bench." + "x" * 620
"""A stand-in for the signed token (about the size of a real one); reports never read it."""


class _Writer:
    """Turns the plan into rows, enrolment by enrolment, in id order (ids grow with time)."""

    def __init__(
        self,
        rng: random.Random,
        courses: _Courses,
        people: Sequence[tuple[str, str, str]],
        ability: Sequence[float],
    ) -> None:
        self.rng = rng
        self.courses = courses
        self.people = people  # (full name, unit name, position) by person id - 1
        self.ability = ability
        self.ids = _Ids()
        self.titles = [_TOPICS[i % len(_TOPICS)] for i in range(len(courses.ids))]
        self.questions = list(courses.quiz.questions())

    def enrolment(self, batch: _Batch, eid: int, plan: _Plan, i: int) -> None:
        rng = self.rng
        status = plan.status[i]
        person, course = plan.person[i], plan.course[i]
        start, end = plan.start[i], plan.end[i]
        version = self.courses.versions[course]
        due = plan.due[i]
        batch.enrolment.append(
            (
                eid,
                person,
                self.courses.ids[course],
                version,
                None,
                _STATUS_NAMES[status],
                _DAYS[due] if due >= 0 else None,
                _stamp(plan.enrolled[i], rng.randrange(1_000_000)),
                _stamp(start) if start >= 0 else None,
                _stamp(end) if status == _WITHDRAWN else None,
            )
        )
        count = plan.attempts[i]
        if not count:
            return
        graded = count - plan.open[i]
        # submit times spread over the enrolment's active span; a completion is the last one
        submits = sorted(start + int(rng.random() * (end - start)) for _ in range(graded))
        if status == _COMPLETED:
            submits[-1] = end
        last_score = 0
        for n, submitted in enumerate(submits):
            passed = status == _COMPLETED and n == graded - 1
            last_score = self.attempt(batch, eid, person, course, version, submitted, n, passed)
        if plan.open[i]:
            self.ids.attempt += 1
            opened = end - rng.randint(60, 3_000)
            batch.attempt.append(
                (
                    self.ids.attempt,
                    str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    eid,
                    version,
                    EXERCISE,
                    rng.getrandbits(62),
                    "in_progress",
                    1,
                    _stamp(opened, rng.randrange(1_000_000)),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "web",
                )
            )
        if status == _COMPLETED:
            self.completion(batch, eid, person, course, version, end, last_score)

    def attempt(
        self,
        batch: _Batch,
        eid: int,
        person: int,
        course: int,
        version: int,
        submitted: int,
        n: int,
        passed: bool,
    ) -> int:
        """One graded attempt (and its responses, for the first course); returns its score."""
        rng = self.rng
        self.ids.attempt += 1
        aid = self.ids.attempt
        seed = rng.getrandbits(62)
        if rng.random() < 0.02:
            taken = rng.randint(2 * 3_600, 20 * 3_600)  # left open for hours
        else:
            taken = max(90, int(rng.lognormvariate(math.log(660), 0.45)))
        if course == 0:
            marks, answers = self.responses(seed, self.ability[person - 1] + 0.3 * n, passed)
        else:
            score = rng.randint(PASS_MARK, QUESTIONS) if passed else rng.randint(0, PASS_MARK - 1)
            right = set(rng.sample(range(QUESTIONS), score))
            marks = [q in right for q in range(QUESTIONS)]
            answers = [f"{rng.getrandbits(32):08x}" for _ in range(QUESTIONS)]
        score = sum(1 for m in marks if m)
        entries = ", ".join(
            f'{{"id": "q{q + 1:02d}", "points": {1.0 if m else 0.0}, "max_points": 1.0, '
            f'"correct": {"true" if m else "false"}, "feedback": [], "response": "{a or ""}"}}'
            for q, (m, a) in enumerate(zip(marks, answers, strict=True))
        )
        result = (
            f'{{"questions": [{entries}], "score": {float(score)}, "max_score": 10.0, '
            f'"passed": {"true" if passed else "false"}, "feedback": []}}'
        )
        if course == 0:
            for q, (m, a) in enumerate(zip(marks, answers, strict=True)):
                if a is None:
                    continue  # left blank: no response row
                self.ids.response += 1
                batch.response.append(
                    (
                        self.ids.response,
                        aid,
                        f"q{q + 1:02d}",
                        json.dumps(a),
                        1.0 if m else 0.0,
                        int(m),
                    )
                )
        batch.attempt.append(
            (
                aid,
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                eid,
                version,
                EXERCISE,
                seed,
                "graded",
                2,
                _stamp(submitted - taken, rng.randrange(1_000_000)),
                None,
                _stamp(submitted, rng.randrange(1_000_000)),
                float(score),
                10.0,
                int(passed),
                result,
                "web",
            )
        )
        return score

    def responses(
        self, seed: int, ability: float, passed: bool
    ) -> tuple[list[bool], list[str | None]]:
        """Marks and public answers of one attempt at the analysed quiz.

        A learner knows question q with probability logistic(1.7 (ability − b_q));
        who knows picks the right option, who does not guesses among the
        others (or leaves it blank now and then).  On :data:`BROKEN` the
        written key is ``a`` but the truth is ``b``: those who know are
        marked wrong.  Then answers are nudged until the attempt passes or
        fails as planned (the completion depends on it).
        """
        rng = self.rng
        chosen: list[str | None] = []
        for q in range(QUESTIONS):
            knows = rng.random() < 1.0 / (1.0 + math.exp(-1.7 * (ability - _DIFFICULTY[q])))
            if rng.random() < 0.03:
                chosen.append(None)
            elif knows:
                chosen.append("b" if f"q{q + 1:02d}" == BROKEN else "a")
            else:
                chosen.append(rng.choice("abcd" if q % 3 else "bcd"))
        marks = [c == "a" for c in chosen]
        score = sum(marks)
        while passed and score < PASS_MARK:
            q = rng.choice([q for q in range(QUESTIONS) if not marks[q]])
            chosen[q], marks[q], score = "a", True, score + 1
        while not passed and score >= PASS_MARK:
            q = rng.choice([q for q in range(QUESTIONS) if marks[q]])
            chosen[q], marks[q], score = rng.choice("bcd"), False, score - 1
        answers: list[str | None] = []
        for question, author in zip(self.questions, chosen, strict=True):
            if author is None:
                answers.append(None)
                continue
            ids = public_ids(self.courses.quiz, question, seed=seed, role="option").ids
            answers.append(ids[OPTIONS.index(author)])
        return marks, answers

    def completion(
        self, batch: _Batch, eid: int, person: int, course: int, version: int, end: int, score: int
    ) -> None:
        rng = self.rng
        self.ids.completion += 1
        cid = self.ids.completion
        percent = 100.0 * score / QUESTIONS
        batch.completion.append(
            (
                cid,
                eid,
                person,
                self.courses.ids[course],
                version,
                _stamp(end, rng.randrange(1_000_000)),
                percent,
                json.dumps({"rule": "final", "exercise": EXERCISE, "scores": {EXERCISE: percent}}),
            )
        )
        months = _validity(course)
        if not months:
            return
        completed_on = dt.date.fromisoformat(_DAYS[_vn_day(end)])
        until = _add_months(completed_on, months) - dt.timedelta(days=1)
        issued = end + rng.randint(60, 3 * _DAY)
        issued = min(issued, _NOW - 60)
        self.ids.certificate += 1
        name, unit, position = self.people[person - 1]
        revoked = rng.random() < 0.005
        batch.certificate.append(
            (
                self.ids.certificate,
                f"99-{completed_on.year}-{self.ids.certificate:06d}",
                cid,
                person,
                self.courses.ids[course],
                version,
                name,
                unit,
                position,
                self.titles[course],
                1,
                percent,
                completed_on.isoformat(),
                _DAYS[_vn_day(issued)],
                until.isoformat(),
                "Ủy ban nhân dân tỉnh Ninh Bình (mô phỏng)",
                _KID,
                _TOKEN,
                None,
                _stamp(min(issued + 30 * _DAY, _NOW - 60)) if revoked else None,
                "Cấp nhầm" if revoked else None,
                _stamp(issued),
            )
        )


def _insert(cursor: sqlite3.Cursor, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        marks = ", ".join("?" * (columns.count(",") + 1))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        rows.clear()


# --------------------------------------------------------------------------- the SQLite file


def cache_dir() -> Path:
    """Where generated provinces are kept between runs (``$XDG_CACHE_HOME`` or ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "taphuan-benchmarks"


def province_file(size: Size) -> Path:
    """The cached SQLite province for ``size``, generated first when missing."""
    path = cache_dir() / f"reports-v{GENERATOR_VERSION}-r{head_revision()}-{size.key}.db"
    if path.exists():
        print(f"reports: reusing {path}", flush=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    _generate(size, partial)
    os.replace(partial, path)
    print(f"reports: generated {path} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def analysed_file(size: Size) -> Path:
    """A copy of the province with SQLite's statistics (``ANALYZE``), cached beside it.

    ``lms`` itself never runs ``ANALYZE``; this copy shows what statistics
    change in the plans (see docs/benchmarks.md).
    """
    source = province_file(size)
    path = source.with_name(source.stem + "-analyzed.db")
    if path.exists():
        return path
    partial = path.with_name(path.name + ".part")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src:
        dst = sqlite3.connect(partial, isolation_level=None)
        try:
            src.backup(dst)
            dst.execute("ANALYZE")
        finally:
            dst.close()
    os.replace(partial, path)
    print(f"reports: analysed copy in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def _generate(size: Size, path: Path) -> None:
    """Build the province in ``path``: migrated schema, published courses, bulk rows."""
    engine = make_engine(f"sqlite:///{path.as_posix()}")
    try:
        upgrade(engine)
        courses = _publish_courses(engine, size.courses)
    finally:
        engine.dispose()
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        _fill(raw, size, courses)
    finally:
        raw.close()
    # back to the project's journal mode, as lms leaves its databases
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode = WAL")
    raw.close()


def _fill(raw: sqlite3.Connection, size: Size, courses: _Courses) -> None:
    rng = random.Random(f"taphuan reports benchmark {GENERATOR_VERSION} {size.key}")
    # a cache file, rebuilt if a crash spoils it: no journal, no fsync (and no WAL
    # growing to the size of the database before being copied into it)
    raw.execute("PRAGMA journal_mode = OFF")
    raw.execute("PRAGMA synchronous = OFF")
    raw.execute("PRAGMA cache_size = -400000")
    raw.execute("PRAGMA foreign_keys = ON")
    cursor = raw.cursor()
    cursor.execute("BEGIN")
    units = generate_province(communes=size.communes, seed=8)
    staff = generate_staff(units, count=size.staff, seed=8)
    created = _stamp(_FIRST_ENROLMENT - 30 * _DAY)
    ids: dict[str, int] = {}
    paths: dict[str, str] = {}
    unit_rows = []
    names: dict[str, str] = {}
    for n, unit in enumerate(units, start=1):
        ids[unit.code] = n
        parent = ids.get(unit.parent_code)
        path = f"{paths[unit.parent_code]}{n}/" if parent else f"/{n}/"
        paths[unit.code] = path
        names[unit.code] = unit.name
        depth = path.count("/") - 2
        unit_rows.append(
            (n, unit.code, unit.name, unit.kind, parent, path, depth, None, None, created, created)
        )
    _insert(
        cursor,
        "org_unit",
        "id, code, name, kind, parent_id, path, depth, valid_from, valid_to, created_at, "
        "updated_at",
        unit_rows,
    )
    person_rows = []
    people: list[tuple[str, str, str]] = []
    for n, row in enumerate(staff, start=1):
        active = int(rng.random() >= 0.03)
        person_rows.append(
            (
                n,
                row.staff_code,
                row.full_name,
                ids[row.org_code],
                row.position,
                row.phone,
                row.email,
                active,
                created,
                created,
            )
        )
        people.append((row.full_name, names[row.org_code], row.position))
    _insert(
        cursor,
        "person",
        "id, staff_code, full_name, org_unit_id, position, phone, email, active, created_at, "
        "updated_at",
        person_rows,
    )
    cursor.execute(
        "INSERT INTO signing_key (kid, public_key, created_at, retired_at) VALUES (?, ?, ?, NULL)",
        (_KID, bytes(range(32)), created),
    )
    ability = [rng.gauss(0.0, 1.0) for _ in staff]
    plan = _plan(size, rng, len(staff))
    order = sorted(range(len(plan.status)), key=plan.enrolled.__getitem__)
    writer = _Writer(rng, courses, people, ability)
    batch = _Batch()
    for eid, i in enumerate(order, start=1):
        writer.enrolment(batch, eid, plan, i)
        if eid % 20_000 == 0 or eid == len(order):
            _insert(cursor, "enrolment", ENROLMENT_COLUMNS, batch.enrolment)
            _insert(cursor, "attempt", ATTEMPT_COLUMNS, batch.attempt)
            _insert(cursor, "completion", COMPLETION_COLUMNS, batch.completion)
            _insert(cursor, "certificate", CERTIFICATE_COLUMNS, batch.certificate)
            _insert(cursor, "response", RESPONSE_COLUMNS, batch.response)
    cursor.execute("COMMIT")
    counted = {
        t: raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("person", "enrolment", "attempt", "completion", "certificate", "response")
    }
    assert counted["attempt"] == size.attempts, counted
    print("reports: " + ", ".join(f"{v:,} {k}" for k, v in counted.items()), flush=True)


# --------------------------------------------------------------------------- PostgreSQL


@dataclass(slots=True)
class _PgSchema:
    """A fresh schema holding a copy of the province; :meth:`drop` removes it."""

    url: str
    admin: Engine
    schema: str

    def drop(self) -> None:
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        self.admin.dispose()


def _pg_copy(base: str, source: Path) -> _PgSchema:
    """A new schema, migrated by :func:`upgrade`, filled with ``COPY`` from the SQLite file.

    Rows go as SQLite holds them (timestamps and dates as text, booleans as
    0/1), which PostgreSQL's input functions read into the migrated column
    types; foreign keys are checked as rows arrive.  Then ``ANALYZE``, as
    autovacuum would do soon after a load like this.
    """
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    target = _PgSchema(url.render_as_string(hide_password=False), admin, schema)
    started = time.perf_counter()
    try:
        engine = make_engine(target.url)
        upgrade(engine)
        lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        raw: Any = engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                for table in Base.metadata.sorted_tables:
                    if table.name == "alembic_version":
                        continue
                    columns = [r[1] for r in lite.execute(f"PRAGMA table_info({table.name})")]
                    listed = ", ".join(columns)
                    rows = lite.execute(f"SELECT {listed} FROM {table.name} ORDER BY rowid")
                    with cursor.copy(f"COPY {table.name} ({listed}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            raw.commit()
            # statistics are transactional: committed, or the pool's rollback on
            # return drops them and the planner guesses (one guess took minutes)
            with raw.cursor() as cursor:
                cursor.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
            lite.close()
            engine.dispose()
    except BaseException:
        target.drop()
        raise
    print(f"reports: PostgreSQL schema filled in {time.perf_counter() - started:.0f} s", flush=True)
    return target


# --------------------------------------------------------------------------- raw SQL


@dataclass(frozen=True, slots=True)
class _Dialect:
    """The few spellings that differ between the engines, for the raw queries."""

    name: str
    vn_date: str
    """The Vietnamese date of a timestamp column ``{0}``."""
    days: str
    """Whole days from date ``{1}`` to date ``{0}``."""
    seconds: str
    """Seconds between two timestamps, ``{1}`` − ``{0}``."""

    def sql(self, query: str) -> str:
        """``:name`` parameters in the driver's style (sqlite3 takes them as they are)."""
        if self.name == "sqlite":
            return query
        return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", query)

    def value(self, value: object) -> object:
        """Dates as SQLite stores them (text); PostgreSQL's driver takes dates."""
        if self.name == "sqlite" and isinstance(value, dt.date):
            return value.isoformat()
        return value


SQLITE = _Dialect(
    "sqlite",
    vn_date="date({0}, '+7 hours')",
    days="CAST(julianday({0}) - julianday({1}) AS INTEGER)",
    seconds="(julianday({1}) - julianday({0})) * 86400.0",
)
POSTGRES = _Dialect(
    "postgresql",
    vn_date="CAST({0} + INTERVAL '7 hours' AS date)",
    days="(CAST({0} AS date) - CAST({1} AS date))",
    seconds="EXTRACT(EPOCH FROM {1}) - EXTRACT(EPOCH FROM {0})",
)

_CURRENT = """
    SELECT max(e.id) AS id FROM enrolment e
    JOIN person p ON p.id = e.person_id
    JOIN org_unit u ON u.id = p.org_unit_id
    WHERE u.path >= :lo AND u.path < :hi AND p.active = :yes AND e.status <> 'withdrawn'
    GROUP BY e.person_id, e.course_id
"""
"""The current enrolment of each active person and course in the area (latest not withdrawn)."""


def _matrix_sql(d: _Dialect) -> str:
    return f"""
SELECT u.code, u.name, p.staff_code, p.full_name, p.position, c.slug, c.title, h.name,
  CASE WHEN e.status = 'completed' THEN
         CASE WHEN v.valid_until < :today THEN 'cert_expired'
              WHEN v.valid_until <= :soon THEN 'cert_expiring'
              ELSE 'completed' END
       WHEN e.due_on < :today THEN 'overdue'
       WHEN e.status = 'in_progress' THEN 'in_progress'
       ELSE 'not_started' END AS status,
  e.due_on, {d.vn_date.format("m.completed_at")},
  CASE WHEN e.status = 'completed' THEN v.valid_until END
FROM ({_CURRENT}) cur
JOIN enrolment e ON e.id = cur.id
JOIN person p ON p.id = e.person_id
JOIN org_unit u ON u.id = p.org_unit_id
JOIN course c ON c.id = e.course_id
LEFT JOIN cohort h ON h.id = e.cohort_id
LEFT JOIN completion m ON m.enrolment_id = e.id
LEFT JOIN certificate v ON v.completion_id = m.id AND v.revoked_at IS NULL
ORDER BY u.path, p.staff_code, c.slug
"""


def _rollup_sql(d: _Dialect) -> str:
    return f"""
WITH RECURSIVE area AS (
  SELECT id, parent_id FROM org_unit WHERE path >= :lo AND path < :hi
), up(unit_id, ancestor_id) AS (
  SELECT id, id FROM area
  UNION ALL
  SELECT up.unit_id, a.parent_id FROM up
  JOIN area a ON a.id = up.ancestor_id
  JOIN area parent ON parent.id = a.parent_id
), cur AS ({_CURRENT}
), leaf AS (
  SELECT p.org_unit_id AS unit_id, e.course_id AS course_id, count(*) AS enrolled,
    sum(CASE WHEN m.id IS NOT NULL THEN 1 ELSE 0 END) AS completed,
    sum(CASE WHEN m.id IS NULL AND e.due_on < :today THEN 1 ELSE 0 END) AS overdue
  FROM cur JOIN enrolment e ON e.id = cur.id
  JOIN person p ON p.id = e.person_id
  LEFT JOIN completion m ON m.enrolment_id = e.id
  GROUP BY p.org_unit_id, e.course_id
)
SELECT u.code, c.slug, sum(leaf.enrolled), sum(leaf.completed),
  round(100.0 * sum(leaf.completed) / sum(leaf.enrolled), 1), sum(leaf.overdue)
FROM leaf JOIN up ON up.unit_id = leaf.unit_id
JOIN org_unit u ON u.id = up.ancestor_id
JOIN course c ON c.id = leaf.course_id
GROUP BY u.path, u.code, c.slug
ORDER BY u.path, c.slug
"""


def _overdue_sql(d: _Dialect) -> str:
    return f"""
SELECT u.code, u.name, p.staff_code, p.full_name, p.position, c.slug, c.title, h.name,
  CASE WHEN e.status = 'in_progress' THEN 'in_progress' ELSE 'not_started' END,
  e.due_on, {d.days.format(":today", "e.due_on")} AS days
FROM ({_CURRENT}) cur
JOIN enrolment e ON e.id = cur.id
JOIN person p ON p.id = e.person_id
JOIN org_unit u ON u.id = p.org_unit_id
JOIN course c ON c.id = e.course_id
LEFT JOIN cohort h ON h.id = e.cohort_id
WHERE e.status IN ('enrolled', 'in_progress') AND e.due_on < :today
ORDER BY u.path, days DESC, p.staff_code, c.slug
"""


def _expiring_sql(d: _Dialect) -> str:
    return f"""
SELECT u.code, u.name, p.staff_code, p.full_name, p.position, c.slug, c.title, v.serial,
  v.completed_on, v.valid_until, {d.days.format("v.valid_until", ":today")}
FROM (
  SELECT max(v.id) AS id FROM certificate v
  JOIN person p ON p.id = v.person_id
  JOIN org_unit u ON u.id = p.org_unit_id
  WHERE u.path >= :lo AND u.path < :hi AND p.active = :yes AND v.revoked_at IS NULL
  GROUP BY v.person_id, v.course_id
) latest
JOIN certificate v ON v.id = latest.id
JOIN person p ON p.id = v.person_id
JOIN org_unit u ON u.id = p.org_unit_id
JOIN course c ON c.id = v.course_id
WHERE v.valid_until >= :today AND v.valid_until <= :soon
ORDER BY v.valid_until, u.path, p.staff_code, c.slug
"""


def _attempts_sql(d: _Dialect) -> str:
    seconds = d.seconds.format("a.started_at", "a.submitted_at")
    return f"""
SELECT c.slug, t.exercise_id, count(*), count(DISTINCT t.person_id),
  round(100.0 * sum(t.passed) / count(*), 1), avg(t.percent),
  avg(CASE WHEN t.rank IN ((t.total + 1) / 2, (t.total + 2) / 2) THEN t.seconds END) / 60.0
FROM (
  SELECT e.course_id, a.exercise_id, e.person_id,
    CASE WHEN a.passed = :yes THEN 1 ELSE 0 END AS passed,
    CASE WHEN a.max_score > 0 THEN a.score * 100.0 / a.max_score END AS percent,
    {seconds} AS seconds,
    row_number() OVER (PARTITION BY e.course_id, a.exercise_id ORDER BY {seconds}) AS rank,
    count(*) OVER (PARTITION BY e.course_id, a.exercise_id) AS total
  FROM attempt a
  JOIN enrolment e ON e.id = a.enrolment_id
  JOIN person p ON p.id = e.person_id
  JOIN org_unit u ON u.id = p.org_unit_id
  WHERE u.path >= :lo AND u.path < :hi AND a.state = 'graded' AND a.submitted_at IS NOT NULL
) t
JOIN course c ON c.id = t.course_id
GROUP BY c.slug, t.exercise_id
ORDER BY c.slug, t.exercise_id
"""


def _items_sql(d: _Dialect, questions: Sequence[tuple[str, float]]) -> str:
    listed = ", ".join(f"('{qid}', {weight})" for qid, weight in questions)
    return f"""
WITH q(qid, weight) AS (VALUES {listed}),
att AS (
  SELECT a.id, a.score, a.max_score FROM attempt a
  JOIN enrolment e ON e.id = a.enrolment_id
  JOIN person p ON p.id = e.person_id
  JOIN org_unit u ON u.id = p.org_unit_id
  WHERE u.path >= :lo AND u.path < :hi AND a.state = 'graded' AND a.submitted_at IS NOT NULL
    AND e.course_id = :course AND a.exercise_id = :exercise
), xy AS (
  SELECT q.qid, r.id AS rid, r.correct,
    coalesce(r.points, 0.0) / q.weight AS x,
    100.0 * (coalesce(att.score, 0.0) - coalesce(r.points, 0.0)) / (att.max_score - q.weight) AS y
  FROM att CROSS JOIN q
  LEFT JOIN response r ON r.attempt_id = att.id AND r.question_id = q.qid
)
SELECT qid, count(*), sum(CASE WHEN rid IS NULL THEN 1 ELSE 0 END),
  sum(CASE WHEN correct = :yes THEN 1 ELSE 0 END),
  sum(x), sum(y), sum(x * x), sum(y * y), sum(x * y)
FROM xy GROUP BY qid ORDER BY qid
"""


def _pearson(m: int, sx: float, sy: float, sxx: float, syy: float, sxy: float) -> float | None:
    vx, vy = m * sxx - sx * sx, m * syy - sy * sy
    if m < 2 or vx <= 1e-9 or vy <= 1e-9:
        return None
    return (m * sxy - sx * sy) / math.sqrt(vx * vy)


# --------------------------------------------------------------------------- the pairs


def _columns(report: Report) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """Column positions by key, and the rows (cells of any kind) to compare."""
    return {c.key: i for i, c in enumerate(report.columns)}, [tuple(r) for r in report.rows]


def _agree_matrix(ours: Report, raw: list[tuple[Any, ...]]) -> str:
    at, rows = _columns(ours)
    mine = Counter(r[at["status"]] for r in rows)
    theirs = Counter(r[8] for r in raw)
    # completion days (Vietnamese dates) as a multiset: SQLite gives text, the report dates
    days_same = Counter(str(r[at["completed_on"]]) for r in rows) == Counter(
        str(r[10]) for r in raw
    )
    same = mine == theirs and days_same and len(rows) == len(raw)
    return _verdict(
        same,
        f"{len(raw):,} rows; completed {theirs['completed']:,}, overdue {theirs['overdue']:,}",
        f"ours {dict(mine)} vs {dict(theirs)}; completion days the same: {days_same}",
    )


def _agree_rollup(ours: Report, raw: list[tuple[Any, ...]]) -> str:
    at, rows = _columns(ours)
    keys = ("enrolled", "completed", "overdue")
    mine = {
        (r[at["unit_code"]], r[at["course"]]): tuple(r[at[k]] for k in keys)
        for r in rows
        if r[at["enrolled"]]
    }
    theirs = {(r[0], r[1]): (int(r[2]), int(r[3]), int(r[5])) for r in raw}
    # rates to the tenth: SQL's round() takes halves away from zero, Python's round() the
    # nearest binary float (12.25 -> 12.2), so they may differ by one tenth on a half
    rates = {(r[at["unit_code"]], r[at["course"]]): r[at["rate"]] for r in rows}
    close = all(abs(rates[tuple(r[:2])] - float(r[4])) < 0.1001 for r in raw)
    top = rows[0][at["unit_code"]]
    enrolled = sum(v[0] for k, v in theirs.items() if k[0] == top)
    done = sum(v[1] for k, v in theirs.items() if k[0] == top)
    return _verdict(
        mine == theirs and close,
        f"{len(rows):,} rows ({len(theirs):,} not empty); top: {done:,}/{enrolled:,} completed",
        f"{len(set(mine.items()) ^ set(theirs.items()))} cells differ, rates close: {close}",
    )


def _agree_overdue(ours: Report, raw: list[tuple[Any, ...]]) -> str:
    at, rows = _columns(ours)
    mine = sum(r[at["days_overdue"]] for r in rows)
    theirs = sum(int(r[10]) for r in raw)
    same = mine == theirs and len(rows) == len(raw)
    return _verdict(same, f"{len(raw):,} rows, {theirs:,} days in all", f"{mine} vs {theirs}")


def _agree_expiring(ours: Report, raw: list[tuple[Any, ...]]) -> str:
    at, rows = _columns(ours)
    mine = sorted(str(r[at["serial"]]) for r in rows)
    theirs = sorted(str(r[7]) for r in raw)
    days = sum(int(r[10]) for r in raw)
    same = mine == theirs and days == sum(r[at["days_left"]] for r in rows)
    return _verdict(same, f"{len(raw):,} rows, {days:,} days left in all", "serials differ")


def _agree_attempts(ours: Report, raw: list[tuple[Any, ...]]) -> str:
    at, rows = _columns(ours)
    keys = ("attempts", "learners", "pass_rate", "mean_score", "median_minutes")
    mine = {(r[at["course"]], r[at["exercise"]]): tuple(r[at[k]] for k in keys) for r in rows}
    theirs = {
        (r[0], r[1]): (
            int(r[2]),
            int(r[3]),
            float(r[4]),
            round(float(r[5]), 1),
            round(float(r[6]), 1),
        )
        for r in raw
    }
    attempts = sum(v[0] for v in theirs.values())
    return _verdict(
        mine == theirs, f"{len(raw)} rows, {attempts:,} attempts", f"ours {mine} vs {theirs}"
    )


def _agree_items(ours: Report, raw: list[tuple[Any, ...]]) -> str:
    at, rows = _columns(ours)
    mine = {
        r[at["question"]]: (
            r[at["n"]],
            r[at["no_answer"]],
            r[at["difficulty"]],
            r[at["discrimination"]],
        )
        for r in rows
    }
    theirs = {}
    for qid, n, blank, right, sx, sy, sxx, syy, sxy in raw:
        r = _pearson(int(n), float(sx), float(sy), float(sxx), float(syy), float(sxy))
        theirs[qid] = (
            int(n),
            int(blank),
            round(int(right) / int(n), 3),
            None if r is None else round(r, 3),
        )
    flagged = sum(1 for r in rows if r[at["flag"]])
    answered = sum(v[0] - v[1] for v in theirs.values())
    return _verdict(
        mine == theirs,
        f"{len(raw)} questions, {answered:,} answers, {flagged} flagged",
        f"ours {mine} vs {theirs}",
    )


def _verdict(same: bool, summary: str, difference: str) -> str:
    return f"same: {summary}" if same else f"**DIFFERENT**: {difference}"


@dataclass(frozen=True, slots=True)
class _Pair:
    """One report on one area: our service call and the raw query for the same numbers."""

    report: str
    ours: Callable[[Session, str], Report]
    sql: Callable[[_Dialect], str]
    agree: Callable[[Report, list[tuple[Any, ...]]], str]
    target: bool = True


def _pairs(course: str, questions: Sequence[tuple[str, float]]) -> list[_Pair]:
    return [
        _Pair(
            "completion",
            lambda s, u: reports.completion_matrix(s, EVERYTHING, unit_code=u, today=TODAY),
            _matrix_sql,
            _agree_matrix,
        ),
        _Pair(
            "rollup",
            lambda s, u: reports.rollup(s, EVERYTHING, unit_code=u, today=TODAY),
            _rollup_sql,
            _agree_rollup,
        ),
        _Pair(
            "overdue",
            lambda s, u: reports.overdue(s, EVERYTHING, unit_code=u, today=TODAY),
            _overdue_sql,
            _agree_overdue,
        ),
        _Pair(
            "expiring",
            lambda s, u: reports.expiring(s, EVERYTHING, unit_code=u, today=TODAY),
            _expiring_sql,
            _agree_expiring,
        ),
        _Pair(
            "attempts",
            lambda s, u: reports.attempts_summary(s, EVERYTHING, unit_code=u),
            _attempts_sql,
            _agree_attempts,
        ),
        _Pair(
            "items",
            lambda s, u: reports.item_analysis(
                s, EVERYTHING, course=course, exercise=EXERCISE, unit_code=u
            ),
            lambda d: _items_sql(d, questions),
            _agree_items,
            target=False,
        ),
    ]


@dataclass(slots=True)
class _Row:
    engine: str
    report: str
    area: str
    ours: Result
    raw: Result
    agreement: str
    target: bool

    @property
    def ratio(self) -> float:
        return self.ours.median / self.raw.median if self.raw.median else float("inf")


def _measure(
    engine: Engine,
    dialect: _Dialect,
    *,
    label: str,
    rounds: int,
    only: Sequence[str] = (),
) -> list[_Row]:
    """Time every pair on the province and on one commune, interleaved round by round."""
    with session_factory(engine)() as session:
        top = session.execute(
            select(OrgUnit.code, OrgUnit.path).where(OrgUnit.parent_id.is_(None))
        ).one()
        commune = session.execute(
            select(OrgUnit.code, OrgUnit.path)
            .where(OrgUnit.depth == 1)
            .order_by(OrgUnit.code)
            .limit(1)
        ).one()
        course_id, slug, snapshot = session.execute(
            select(Course.id, Course.slug, CourseVersion.snapshot)
            .join(CourseVersion, CourseVersion.course_id == Course.id)
            .order_by(Course.slug)
            .limit(1)
        ).one()
    entry = next(e for e in snapshot["exercises"] if e["id"] == EXERCISE)
    questions = [(str(q["id"]), float(q.get("points", 1.0))) for q in _quiz_questions(entry)]
    rows: list[_Row] = []
    for pair in _pairs(slug, questions):
        if only and pair.report not in only:
            continue
        for area, (code, path) in (("province", top), ("commune", commune)):
            params = {
                "lo": path,
                "hi": path[:-1] + "0",
                "yes": True,
                "today": dialect.value(TODAY),
                "soon": dialect.value(TODAY + dt.timedelta(days=reports.EXPIRING_WITHIN_DAYS)),
                "course": course_id,
                "exercise": EXERCISE,
            }
            query = dialect.sql(pair.sql(dialect))
            seen: dict[str, Any] = {}

            def ours(pair: _Pair = pair, code: str = code, seen: dict[str, Any] = seen) -> object:
                with read_only(engine) as session:
                    seen["ours"] = pair.ours(session, code)
                return seen["ours"]

            def raw(
                query: str = query, params: Mapping[str, Any] = params, seen: dict[str, Any] = seen
            ) -> object:
                connection: Any = engine.raw_connection()
                try:
                    cursor = connection.cursor()
                    cursor.execute(query, dict(params))
                    seen["raw"] = cursor.fetchall()
                    cursor.close()
                finally:
                    connection.close()
                return seen["raw"]

            bench = Benchmark(
                name=f"reports {pair.report} {area}",
                description=f"{pair.report} on the {area}",
                ours=Side("ours", _ready(ours)),
                anchors=(Side("raw SQL", _ready(raw)),),
                target=f"ours ≤ {TARGET}× raw SQL",
                rows=1,
            )
            ours()  # once each, untimed: both sides then read from warm caches
            raw()
            ours_result, raw_result = run(bench, rounds=rounds, memory=False)
            agreement = pair.agree(seen["ours"], seen["raw"])
            row = _Row(label, pair.report, area, ours_result, raw_result, agreement, pair.target)
            print(
                f"  {label} {pair.report:<10} {area:<8} ours {row.ours.median:8.3f} s  "
                f"raw {row.raw.median:8.3f} s  {row.ratio:5.2f}×  {agreement}",
                flush=True,
            )
            rows.append(row)
    return rows


def _ready(run: Callable[[], object]) -> Callable[[], Callable[[], object]]:
    """A harness set-up with nothing to prepare: the run is ready as it is."""
    return lambda: run


def _quiz_questions(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The questions of a stored quiz with their points, as its plugin reads them."""
    return [{"id": item.id, "points": item.points} for item in load(entry["data"]).items()]


def _table(rows: Sequence[_Row], *, size: Size, rounds: int) -> str:
    lines = [
        f"### reports: each report vs one raw SQL query ({size.name}: {size.communes} communes, "
        f"{size.staff:,} staff, {size.courses} courses, {size.attempts:,} attempts)",
        "",
        f"target: ours ≤ {TARGET}× raw SQL (items: no target, see below); "
        f"medians of {rounds} round(s)",
        "",
        "| engine | report | area | ours s | raw SQL s | ours ÷ raw | results |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        mark = "" if not row.target else (" ✓" if row.ratio <= TARGET else " ✗")
        lines.append(
            f"| {row.engine} | {row.report} | {row.area} | {row.ours.median:.3f} "
            f"| {row.raw.median:.3f} | {row.ratio:.2f}×{mark} | {row.agreement} |"
        )
    return "\n".join(lines)


def _only() -> list[str]:
    """``BENCH_REPORTS=rollup,overdue`` measures only those (for profiling a slow one)."""
    return [n for n in os.environ.get("BENCH_REPORTS", "").split(",") if n]


def _sqlite(path: Path, label: str, *, size: Size, rounds: int) -> str:
    engine = make_engine(f"sqlite:///{path.as_posix()}")
    try:
        rows = _measure(engine, SQLITE, label=label, rounds=rounds, only=_only())
    finally:
        engine.dispose()
    return _table(rows, size=size, rounds=rounds)


def suite(*, quick: bool, rounds: int) -> str | None:
    """SQLite as ``lms`` leaves it (no statistics): the cached province file, read in place."""
    size = QUICK if quick else FULL
    return _sqlite(province_file(size), "SQLite", size=size, rounds=rounds)


def suite_analysed(*, quick: bool, rounds: int) -> str | None:
    """SQLite with statistics: the same rows after ``ANALYZE`` (a cached copy)."""
    size = QUICK if quick else FULL
    return _sqlite(analysed_file(size), "SQLite + ANALYZE", size=size, rounds=rounds)


def suite_pg(*, quick: bool, rounds: int) -> str | None:
    """The PostgreSQL half: a fresh schema with the same rows; None when there is no server."""
    base, reason = pg_base_url()
    if base is None:
        print(f"reports_pg skipped: {reason}")
        return None
    size = QUICK if quick else FULL
    target = _pg_copy(base, province_file(size))
    try:
        engine = make_engine(target.url)
        try:
            rows = _measure(engine, POSTGRES, label="PostgreSQL", rounds=rounds, only=_only())
        finally:
            engine.dispose()
    finally:
        target.drop()
    return _table(rows, size=size, rounds=rounds)

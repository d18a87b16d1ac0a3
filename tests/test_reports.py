"""Report services (issue 8) on SQLite and PostgreSQL: exact numbers, and scoping.

The world: the built-in Ninh Bình tree with residential groups under wards
13285 and 13291; twelve learners; two small courses written here so every
number is known:

* ``kiem-tra-nhanh``: one graded quiz of four 1-point questions, pass 50 %,
  completed when it is passed, certificates valid 12 months.  Question ``c2``
  is broken on purpose: its answer key ticks ``a`` (18), the truth is ``b``
  (16), so the learners who know the law are marked wrong.
* ``on-tap``: two required lessons, no quiz, no certificate.

Attempts, lesson views and completions are made through the services with
chosen times (``now=``), days before ``TODAY`` (Vietnamese date), so the
certificate and period figures below hold whatever the real date is.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms_certificates.keys import init_keys
from lms_certificates.service import issue_for_completion, revoke
from lms_certificates.settings import IssuerSettings
from lms_core.config import Project
from lms_core.courses import check_courses
from lms_core.errors import ForbiddenError, LmsError, NotFoundError
from lms_core.models import (
    Account,
    Certificate,
    Completion,
    Course,
    CourseVersion,
    Enrolment,
    Person,
)
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.reporting import Report
from lms_core.services import reports
from lms_core.services.accounts import grant_role
from lms_core.services.attempts import record_lesson_viewed, start_attempt, submit_attempt
from lms_core.services.courses import publish
from lms_core.services.enrolment import enrol, withdraw
from lms_core.services.org import import_units_file, load_builtin_tree
from lms_core.services.scope import Scope, scope_of_account
from lms_core.services.staff import import_staff_file
from lms_quiz.analysis import ANALYSERS, author_options, load
from lms_quiz.attempt import public_ids

TYPES = exercise_types(make_plugin_manager())
VN = reports.VN_TZ
TODAY = dt.datetime.now(VN).date()
QUIZ_COURSE, LESSON_COURSE, QUIZ = "kiem-tra-nhanh", "on-tap", "bai-kiem-tra"

INDEX_QUIZ = """---
title: Kiểm tra nhanh
summary: Một khóa học ngắn để thử các báo cáo.
minutes: 10
completion:
  rule: final
  exercise: bai-kiem-tra
certificate:
  enabled: true
  validity_months: 12
---

Giới thiệu.
"""
LESSON_QUIZ = """---
title: Bài kiểm tra
minutes: 5
required: true
---

Trả lời bốn câu hỏi.

```quiz id=bai-kiem-tra graded pass=50 title="Bài kiểm tra"
? Tổng đài quốc gia bảo vệ trẻ em là số nào?
- ( ) 113
- (x) 111
- ( ) 115
id: c1
---
? Theo Luật Trẻ em, trẻ em là người dưới bao nhiêu tuổi?
- (x) 18
- ( ) 16
- ( ) 15
id: c2
---
? Mọi người đều có trách nhiệm thông báo khi trẻ bị xâm hại.
answer: đúng
id: c3
---
? Cơ quan thường trực về công tác trẻ em của tỉnh là cơ quan nào?
- (x) Sở Y tế
- ( ) Sở Tư pháp
id: c4
```
"""
INDEX_LESSONS = """---
title: Ôn tập
summary: Hai bài đọc ôn tập.
minutes: 20
---

Giới thiệu.
"""
LESSON = """---
title: {title}
minutes: 10
required: true
---

Nội dung.
"""
GROUPS = (
    "code,name,kind,parent_code\n"
    "13285-TDP01,Tổ dân phố số 1,residential_group,13285\n"
    "13285-TDP02,Tổ dân phố số 2,residential_group,13285\n"
    "13291-TDP01,Tổ dân phố số 1 Phù Vân,residential_group,13291\n"
)
PEOPLE = {
    "PL001": ("Nguyễn Thị Thu Hà", "13285"),
    "PL002": ("Trần Văn Nam", "13285"),
    "PL101": ("Lê Thị Lan", "13285-TDP01"),
    "PL102": ("Phạm Quốc Bình", "13285-TDP01"),
    "PL103": ("Đỗ Minh Khắc", "13285-TDP01"),
    "PL201": ("Vũ Thị Hồng", "13285-TDP02"),
    "PL202": ("Hoàng Văn Sơn", "13285-TDP02"),
    "PV001": ("Ngô Thị Yến", "13291"),
    "PV002": ("Trịnh Văn Quang", "13291"),
    "PV101": ("Mai Thị Thảo", "13291-TDP01"),
    "PV102": ("Lý Văn Hải", "13291-TDP01"),
    "YT001": ("Bùi Văn Tâm", "37-SYT"),
    "GD001": ("Đinh Thị Mai", "37-SGDDT"),
    # readers
    "QL285": ("Cao Thị Ngọc", "13285"),
    "QLTDP": ("Tạ Văn Lợi", "13285-TDP01"),
    "GVSYT": ("Hà Thị Nhung", "37-SYT"),
    "QTV01": ("Kiều Văn Toàn", "37-SNV"),
}
READERS = {
    "admin": ("QTV01", "admin", None),
    "commune": ("QL285", "manager", "13285"),
    "village": ("QLTDP", "manager", "13285-TDP01"),
    "agency": ("GVSYT", "trainer", "37-SYT"),
    "learner": ("PL201", "learner", None),
}

# (staff, answers by the author's ids, days before TODAY submitted, minutes taken).
# Totals by the (broken) key: c1 right if b, c2 right if a, c3 if true, c4 if a.
ATTEMPTS: list[tuple[str, dict[str, object], int, int]] = [
    ("PL001", {"c1": "b", "c2": "b", "c3": True, "c4": "a"}, 350, 10),  # 3
    ("PL002", {"c1": "b", "c2": "b", "c3": True, "c4": "a"}, 400, 12),  # 3
    ("PL101", {"c1": "b", "c2": "b", "c3": True, "c4": "a"}, 10, 8),  # 3
    ("PL102", {"c1": "b", "c2": "b", "c3": True, "c4": "b"}, 380, 15),  # 2
    ("PL103", {"c1": "b", "c2": "c", "c3": True, "c4": "a"}, 5, 9),  # 3
    ("PL201", {"c1": "a", "c2": "a", "c3": False, "c4": "b"}, 8, 20),  # 1, fails
    ("PL202", {"c1": "c", "c2": "c", "c4": "b"}, 20, 5),  # 0, fails (c3 left blank)
    ("PL202", {"c1": "b", "c2": "b", "c3": True, "c4": "b"}, 15, 11),  # 2
    ("PV001", {"c1": "b", "c2": "b", "c3": True, "c4": "a"}, 12, 7),  # 3
    ("PV002", {"c1": "a", "c2": "a", "c3": True, "c4": "b"}, 3, 14),  # 2
    ("PV101", {"c1": "b", "c2": "c", "c3": False, "c4": "b"}, 9, 6),  # 1, fails
    ("PV102", {"c1": "c", "c2": "c", "c3": False, "c4": "a"}, 9, 13),  # 1, fails
    ("YT001", {"c1": "b", "c2": "b", "c3": False, "c4": "a"}, 30, 16),  # 2
]
CERTIFIED = ("PL001", "PL002", "PL101", "PL102", "YT001")
REVOKED = "PL102"


def noon(days_ago: int) -> dt.datetime:
    """Midday in Vietnam, ``days_ago`` days before TODAY (far from any date boundary)."""
    return dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(12), VN)


@dataclass
class World:
    session: Session
    scopes: dict[str, Scope]
    valid_until: dict[str, dt.date]


def write_courses(root: Path) -> None:
    quiz = root / QUIZ_COURSE
    quiz.mkdir(parents=True)
    (quiz / "index.md").write_text(INDEX_QUIZ, encoding="utf-8")
    (quiz / "01-bai-kiem-tra.md").write_text(LESSON_QUIZ, encoding="utf-8")
    lessons = root / LESSON_COURSE
    lessons.mkdir(parents=True)
    (lessons / "index.md").write_text(INDEX_LESSONS, encoding="utf-8")
    (lessons / "01-bai-mot.md").write_text(LESSON.format(title="Bài một"), encoding="utf-8")
    (lessons / "02-bai-hai.md").write_text(LESSON.format(title="Bài hai"), encoding="utf-8")


def enrolment_of(s: Session, staff: str, course: str) -> Enrolment:
    return s.scalars(
        select(Enrolment)
        .join(Person, Enrolment.person_id == Person.id)
        .where(Person.staff_code == staff, Enrolment.status != "withdrawn")
        .join(Course, Enrolment.course_id == Course.id)
        .where(Course.slug == course)
    ).one()


def quiz_of(s: Session, version_id: int) -> Any:
    snapshot = s.get_one(CourseVersion, version_id).snapshot
    entry = next(e for e in snapshot["exercises"] if e["id"] == QUIZ)
    return TYPES["quiz"].model.model_validate(entry["data"])


def public_answers(quiz: Any, seed: int, choices: dict[str, object]) -> dict[str, object]:
    """The author's choices in the attempt's public ids, as the browser sends them."""
    questions = {q.id: q for q in quiz.questions()}
    out: dict[str, object] = {}
    for qid, choice in choices.items():
        if isinstance(choice, bool):
            out[qid] = choice
            continue
        question = questions[qid]
        position = [o.id for o in question.options].index(choice)
        out[qid] = public_ids(quiz, question, seed=seed, role="option").ids[position]
    return out


def take(s: Session, staff: str, choices: dict[str, object], days: int, minutes: int) -> None:
    enrolment = enrolment_of(s, staff, QUIZ_COURSE)
    submitted = noon(days)
    key = str(uuid.uuid4())
    started = start_attempt(
        s,
        enrolment_id=enrolment.id,
        exercise_id=QUIZ,
        attempt_uuid=key,
        types=TYPES,
        now=submitted - dt.timedelta(minutes=minutes),
    )
    answers = public_answers(quiz_of(s, enrolment.course_version_id), started.seed, choices)
    submit_attempt(s, attempt_uuid=key, responses=answers, types=TYPES, now=submitted)


@pytest.fixture
def world(session: Session, project: Project, tmp_path: Path) -> World:
    s = session
    load_builtin_tree(s)
    groups = tmp_path / "groups.csv"
    groups.write_text(GROUPS, encoding="utf-8")
    import_units_file(s, str(groups))
    staff = tmp_path / "staff.csv"
    staff.write_text(
        "staff_code,full_name,org_code,position\n"
        + "".join(f"{c},{n},{u},Cộng tác viên\n" for c, (n, u) in PEOPLE.items()),
        encoding="utf-8",
    )
    import_staff_file(s, str(staff))
    write_courses(project.courses_dir)
    loaded, problems = check_courses(project.courses_dir, types=TYPES)
    assert not [p for p in problems if p.severity == "error"], problems
    for course in loaded:
        publish(s, course)

    enrolments = [
        (QUIZ_COURSE, ["PL001", "PL002", "PL101", "PL102", "PL103", "PL201", "PL202"], "Đợt 1", -5),
        (QUIZ_COURSE, ["PV001", "PV002", "PV101", "YT001"], "Đợt 2", 20),
        (QUIZ_COURSE, ["PV102"], None, None),
        (LESSON_COURSE, ["PL001"], "Ôn tập 2026", -1),
        (LESSON_COURSE, ["PL101", "PL102", "PV001"], "Ôn tập 2026", 10),
        (LESSON_COURSE, ["GD001"], None, None),
    ]
    for course, codes, cohort, due in enrolments:
        on = TODAY + dt.timedelta(days=due) if due is not None else None
        report = enrol(s, course=course, staff_codes=codes, cohort=cohort, due=on)
        assert report.enrolled_count == len(codes)
    withdraw(s, course=LESSON_COURSE, staff_code="PV001")

    for who, choices, days, minutes in ATTEMPTS:
        take(s, who, choices, days, minutes)
    first = enrolment_of(s, "PL101", LESSON_COURSE).id
    record_lesson_viewed(s, enrolment_id=first, lesson_slug="bai-mot", now=noon(4))
    both = enrolment_of(s, "PL102", LESSON_COURSE).id
    for lesson in ("bai-mot", "bai-hai"):
        record_lesson_viewed(s, enrolment_id=both, lesson_slug=lesson, now=noon(2))

    settings = IssuerSettings(
        issuer="UBND tỉnh Ninh Bình", province_code="37", key_dir=tmp_path / "keys"
    )
    init_keys(s, key_dir=settings.key_dir)
    valid_until: dict[str, dt.date] = {}
    for who in CERTIFIED:
        completion = s.scalars(
            select(Completion).where(
                Completion.enrolment_id == enrolment_of(s, who, QUIZ_COURSE).id
            )
        ).one()
        cert = issue_for_completion(
            s, completion_id=completion.id, settings=settings, now=completion.completed_at
        )
        assert cert is not None and cert.valid_until is not None
        valid_until[who] = cert.valid_until
    serial = s.scalars(
        select(Certificate.serial)
        .join(Person, Certificate.person_id == Person.id)
        .where(Person.staff_code == REVOKED)
    ).one()
    revoke(s, serial=serial, reason="Cấp nhầm")

    scopes = {}
    for name, (code, role, org) in READERS.items():
        grant_role(s, staff_code=code, role=role, scope_org=org)
        account = s.scalars(select(Account.id).join(Person).where(Person.staff_code == code)).one()
        # As if the invite had been redeemed (the password plays no part in scoping;
        # hashing five with argon2 would double the fixture's time).
        s.execute(update(Account).where(Account.id == account).values(status="active"))
        if role != "learner":
            scopes[name] = scope_of_account(s, account)
    s.flush()
    return World(s, scopes, valid_until)


def as_dicts(report: Report) -> list[dict[str, Any]]:
    keys = [c.key for c in report.columns]
    for row in report.rows:
        assert len(row) == len(keys)
    return [dict(zip(keys, row, strict=True)) for row in report.rows]


# --------------------------------------------------------------------------- completion


def test_completion_matrix(world: World) -> None:
    report = reports.completion_matrix(world.session, world.scopes["admin"], today=TODAY)
    assert report.name == "completion"
    rows = as_dicts(report)
    got = [(r["unit_code"], r["staff_code"], r["course"], r["status"]) for r in rows]
    assert got == [
        ("13285", "PL001", QUIZ_COURSE, "cert_expiring"),
        ("13285", "PL001", LESSON_COURSE, "overdue"),
        ("13285", "PL002", QUIZ_COURSE, "cert_expired"),
        ("13285-TDP01", "PL101", QUIZ_COURSE, "completed"),
        ("13285-TDP01", "PL101", LESSON_COURSE, "in_progress"),
        ("13285-TDP01", "PL102", QUIZ_COURSE, "completed"),  # its certificate was revoked
        ("13285-TDP01", "PL102", LESSON_COURSE, "completed"),
        ("13285-TDP01", "PL103", QUIZ_COURSE, "completed"),
        ("13285-TDP02", "PL201", QUIZ_COURSE, "overdue"),
        ("13285-TDP02", "PL202", QUIZ_COURSE, "completed"),
        ("13291", "PV001", QUIZ_COURSE, "completed"),
        ("13291", "PV002", QUIZ_COURSE, "completed"),
        ("13291-TDP01", "PV101", QUIZ_COURSE, "in_progress"),
        ("13291-TDP01", "PV102", QUIZ_COURSE, "in_progress"),
        ("37-SGDDT", "GD001", LESSON_COURSE, "not_started"),
        ("37-SYT", "YT001", QUIZ_COURSE, "completed"),
    ]
    first = rows[0]
    assert first["full_name"] == "Nguyễn Thị Thu Hà"
    assert first["cohort"] == "Đợt 1"
    assert first["due_on"] == TODAY - dt.timedelta(days=5)
    assert first["completed_on"] == TODAY - dt.timedelta(days=350)
    assert first["valid_until"] == world.valid_until["PL001"]
    assert rows[1]["completed_on"] is None and rows[1]["valid_until"] is None
    assert rows[5]["valid_until"] is None  # revoked: no certificate stands
    personal = {c.key: c.personal for c in report.columns if c.personal}
    assert personal == {"staff_code": "staff_code", "full_name": "name"}
    assert {r["status"] for r in rows} <= set(reports.STATUSES)
    assert report.filters["unit"].startswith("37 ")


def test_completion_matrix_filters(world: World) -> None:
    s, admin = world.session, world.scopes["admin"]
    village = reports.completion_matrix(s, admin, unit_code="13285-TDP01", today=TODAY)
    assert {r["staff_code"] for r in as_dicts(village)} == {"PL101", "PL102", "PL103"}
    lessons = reports.completion_matrix(s, admin, course=LESSON_COURSE, today=TODAY)
    assert [r["staff_code"] for r in as_dicts(lessons)] == ["PL001", "PL101", "PL102", "GD001"]
    cohort = reports.completion_matrix(s, admin, course=QUIZ_COURSE, cohort="Đợt 2", today=TODAY)
    assert [r["staff_code"] for r in as_dicts(cohort)] == ["PV001", "PV002", "PV101", "YT001"]
    later = reports.completion_matrix(
        s, admin, unit_code="13285", today=TODAY + dt.timedelta(days=90)
    )
    statuses = {(r["staff_code"], r["course"]): r["status"] for r in as_dicts(later)}
    assert statuses[("PL001", QUIZ_COURSE)] == "cert_expired"
    with pytest.raises(NotFoundError):
        reports.completion_matrix(s, admin, cohort="no such round")
    with pytest.raises(NotFoundError):
        reports.completion_matrix(s, admin, course="no-such-course")


# --------------------------------------------------------------------------- roll-up


def by_unit_course(report: Report) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["unit_code"], r["course"]): r for r in as_dicts(report)}


def test_rollup(world: World) -> None:
    report = reports.rollup(world.session, world.scopes["admin"], today=TODAY)
    rows = by_unit_course(report)

    def figures(code: str, course: str) -> tuple[Any, ...]:
        r = rows[(code, course)]
        return (r["level"], r["enrolled"], r["completed"], r["rate"], r["overdue"])

    assert figures("37", QUIZ_COURSE) == (0, 12, 9, 75.0, 1)
    assert figures("37", LESSON_COURSE) == (0, 4, 1, 25.0, 1)
    assert figures("13285", QUIZ_COURSE) == (1, 7, 6, 85.7, 1)
    assert figures("13285", LESSON_COURSE) == (1, 3, 1, 33.3, 1)
    assert figures("13285-TDP01", QUIZ_COURSE) == (2, 3, 3, 100.0, 0)
    assert figures("13285-TDP01", LESSON_COURSE) == (2, 2, 1, 50.0, 0)
    assert figures("13285-TDP02", QUIZ_COURSE) == (2, 2, 1, 50.0, 1)
    assert figures("13285-TDP02", LESSON_COURSE) == (2, 0, 0, None, 0)
    assert figures("13291", QUIZ_COURSE) == (1, 4, 2, 50.0, 0)
    assert figures("13291", LESSON_COURSE) == (1, 0, 0, None, 0)  # PV001 withdrew
    assert figures("37-SYT", QUIZ_COURSE) == (1, 1, 1, 100.0, 0)
    assert figures("37-SGDDT", LESSON_COURSE) == (1, 1, 0, 0.0, 0)
    assert figures("13318", QUIZ_COURSE) == (1, 0, 0, None, 0)  # every unit is listed
    codes = [r["unit_code"] for r in as_dicts(report)]
    assert (
        codes[:8]
        == ["37", "37", "13285", "13285", "13285-TDP01", "13285-TDP01"] + ["13285-TDP02"] * 2
    )
    assert "completed_in_period" not in [c.key for c in report.columns]

    # The roll-up counts exactly the rows of the matrix.
    matrix = as_dicts(reports.completion_matrix(world.session, world.scopes["admin"], today=TODAY))
    done = {"completed", "cert_expiring", "cert_expired"}
    assert rows[("37", QUIZ_COURSE)]["completed"] == sum(
        1 for r in matrix if r["course"] == QUIZ_COURSE and r["status"] in done
    )


def test_rollup_period_depth_and_cohort(world: World) -> None:
    s, admin = world.session, world.scopes["admin"]
    period = reports.rollup(
        s, admin, date_from=TODAY - dt.timedelta(days=30), date_to=TODAY, today=TODAY
    )
    rows = by_unit_course(period)
    assert rows[("37", QUIZ_COURSE)]["completed_in_period"] == 6
    assert rows[("37", QUIZ_COURSE)]["completed"] == 9
    assert rows[("37", LESSON_COURSE)]["completed_in_period"] == 1
    assert rows[("13285", QUIZ_COURSE)]["completed_in_period"] == 3  # PL101, PL103, PL202
    assert period.filters["from"] == (TODAY - dt.timedelta(days=30)).isoformat()

    shallow = reports.rollup(s, admin, unit_code="13285", depth=0, today=TODAY)
    assert [(r["unit_code"], r["enrolled"]) for r in as_dicts(shallow)] == [
        ("13285", 7),
        ("13285", 3),
    ]
    one = reports.rollup(s, admin, depth=1, course=QUIZ_COURSE, today=TODAY)
    assert {r["level"] for r in as_dicts(one)} == {0, 1}
    assert by_unit_course(one)[("13285", QUIZ_COURSE)]["enrolled"] == 7  # villages summed in

    with pytest.raises(LmsError, match="starts"):
        reports.rollup(s, admin, date_from=TODAY, date_to=TODAY - dt.timedelta(days=1))

    cohort = reports.rollup(s, admin, cohort="Đợt 1", today=TODAY)
    rows = by_unit_course(cohort)
    assert {course for _, course in rows} == {QUIZ_COURSE}
    assert rows[("37", QUIZ_COURSE)]["cohort"] == "Đợt 1"
    assert (rows[("37", QUIZ_COURSE)]["enrolled"], rows[("37", QUIZ_COURSE)]["overdue"]) == (7, 1)


# --------------------------------------------------------------------------- overdue, expiring


def test_overdue(world: World) -> None:
    report = reports.overdue(world.session, world.scopes["admin"], today=TODAY)
    got = [
        (r["unit_code"], r["staff_code"], r["course"], r["status"], r["days_overdue"])
        for r in as_dicts(report)
    ]
    assert got == [
        ("13285", "PL001", LESSON_COURSE, "not_started", 1),
        ("13285-TDP02", "PL201", QUIZ_COURSE, "in_progress", 5),
    ]
    later = reports.overdue(
        world.session, world.scopes["admin"], course=QUIZ_COURSE, today=TODAY + dt.timedelta(30)
    )
    # Due in 20 days and not passed: PV101; PV102 has no due date.
    assert [r["staff_code"] for r in as_dicts(later)] == ["PL201", "PV101"]


def test_expiring(world: World) -> None:
    s, admin = world.session, world.scopes["admin"]
    soon = as_dicts(reports.expiring(s, admin, today=TODAY))
    assert [(r["staff_code"], r["status"]) for r in soon] == [("PL001", "expiring")]
    assert soon[0]["valid_until"] == world.valid_until["PL001"]
    assert soon[0]["days_left"] == (world.valid_until["PL001"] - TODAY).days
    assert soon[0]["serial"].startswith("37-")
    assert soon[0]["completed_on"] == TODAY - dt.timedelta(days=350)
    both = as_dicts(reports.expiring(s, admin, include_expired=True, today=TODAY))
    assert [(r["staff_code"], r["status"]) for r in both] == [
        ("PL002", "expired"),
        ("PL001", "expiring"),
    ]
    assert both[0]["days_left"] < 0
    year = as_dicts(reports.expiring(s, admin, within_days=400, today=TODAY))
    # PL102's certificate is revoked: never listed.
    assert [r["staff_code"] for r in year] == ["PL001", "YT001", "PL101"]


# --------------------------------------------------------------------------- attempts


def test_attempts_summary(world: World) -> None:
    s, admin = world.session, world.scopes["admin"]
    rows = as_dicts(reports.attempts_summary(s, admin))
    assert rows == [
        {
            "course": QUIZ_COURSE,
            "course_title": "Kiểm tra nhanh",
            "exercise": QUIZ,
            "exercise_title": "Bài kiểm tra",
            "attempts": 13,
            "learners": 12,
            "pass_rate": 69.2,  # 9 of 13
            "mean_score": 50.0,  # 26 points of 52
            "median_minutes": 11.0,  # 5 6 7 8 9 10 [11] 12 13 14 15 16 20
        }
    ]
    ward = as_dicts(reports.attempts_summary(s, admin, unit_code="13291"))
    assert [
        (r["attempts"], r["learners"], r["pass_rate"], r["mean_score"], r["median_minutes"])
        for r in ward
    ] == [(4, 4, 50.0, 43.8, 10.0)]  # 7/16 = 43.75 %; minutes 6 7 13 14
    recent = as_dicts(
        reports.attempts_summary(s, admin, date_from=TODAY - dt.timedelta(days=10), date_to=TODAY)
    )
    assert recent[0]["attempts"] == 6  # PL101 PL103 PL201 PV002 PV101 PV102
    assert reports.attempts_summary(s, admin, course=LESSON_COURSE).rows == []


# --------------------------------------------------------------------------- item analysis


def test_item_analysis_matches_a_hand_calculation(world: World) -> None:
    """Ward 13291's four attempts, by hand (points by the key; rest = total − item):

    ========  ==  ==  ==  ==  =====
    attempt   c1  c2  c3  c4  total
    ========  ==  ==  ==  ==  =====
    PV001      1   0   1   1    3
    PV002      0   1   1   0    2
    PV101      1   0   0   0    1
    PV102      0   0   0   1    1
    ========  ==  ==  ==  ==  =====

    c1: x = 1 0 1 0, rest = 2 2 0 1: Σdxdy = −0.5, Σdx² = 1, Σdy² = 2.75,
        r = −0.5 / √2.75 = −0.302.
    c2: x = 0 1 0 0, rest = 3 1 1 1: Σdxdy = −0.5, Σdx² = 0.75, Σdy² = 3,
        r = −0.5 / √2.25 = −0.333.
    c3: x = 1 1 0 0, rest = 2 1 1 1: Σdxdy = 0.5, Σdx² = 1, Σdy² = 0.75, r = 0.577.
    c4: x = 1 0 0 1, rest = 2 2 1 0: Σdxdy = −0.5, Σdx² = 1, Σdy² = 2.75, r = −0.302.
    Upper 27 %: ⌈0.27 × 4⌉ = 2nd best total (2) → PV001 and PV002.  Too few for flags.
    """
    report = reports.item_analysis(
        world.session, world.scopes["admin"], course=QUIZ_COURSE, unit_code="13291"
    )
    rows = as_dicts(report)
    got = [
        (r["question"], r["n"], r["difficulty"], r["discrimination"], r["upper_n"], r["flag"])
        for r in rows
    ]
    assert got == [
        ("c1", 4, 0.5, -0.302, 2, ""),
        ("c2", 4, 0.25, -0.333, 2, ""),
        ("c3", 4, 0.5, 0.577, 2, ""),
        ("c4", 4, 0.5, -0.302, 2, ""),
    ]
    assert rows[0]["versions"] == "1" and rows[0]["exercise"] == QUIZ
    assert rows[0]["kind"] == "single"
    assert rows[0]["prompt"] == "Tổng đài quốc gia bảo vệ trẻ em là số nào?"
    assert rows[0]["wrong_options"] == "a) 113: 1 (25%); c) 115: 1 (25%)"
    assert rows[2]["wrong_options"] == "false) Sai (false): 2 (50%)"

    # Without the plugin's analyser the same figures come from the stored marks alone.
    bare = as_dicts(
        reports.item_analysis(
            world.session,
            world.scopes["admin"],
            course=QUIZ_COURSE,
            unit_code="13291",
            analysers={},
        )
    )
    assert [(r["question"], r["difficulty"], r["discrimination"]) for r in bare] == [
        (q, d, r) for q, _, d, r, _, _ in got
    ]
    assert all(r["prompt"] == "" and r["wrong_options"] == "" for r in bare)


def test_item_analysis_flags_the_broken_question(world: World) -> None:
    report = reports.item_analysis(
        world.session, world.scopes["admin"], course=QUIZ_COURSE, exercise=QUIZ
    )
    rows = {r["question"]: r for r in as_dicts(report)}
    assert [(q, r["n"], r["difficulty"], r["upper_n"]) for q, r in rows.items()] == [
        ("c1", 13, 0.692, 4),  # upper group: ⌈0.27 × 13⌉ = 4 of the five who scored 3
        ("c2", 13, 0.154, 4),
        ("c3", 13, 0.615, 4),
        ("c4", 13, 0.538, 4),
    ]
    broken = rows["c2"]
    assert broken["flag"] == (
        "almost nobody right; strong learners choose a wrong option; negative discrimination"
    )
    assert broken["discrimination"] < 0
    assert broken["wrong_options"] == "b) 16: 7 (54%); c) 15: 4 (31%)"
    assert rows["c3"]["no_answer"] == 1  # PL202's first attempt left it blank: counted wrong
    assert rows["c3"]["wrong_options"] == "false) Sai (false): 4 (31%)"
    for good in ("c1", "c3", "c4"):
        assert rows[good]["flag"] == "" and rows[good]["discrimination"] > 0
    assert set(reports.FLAG_LABELS) >= set(broken["flag"].split("; "))
    with pytest.raises(NotFoundError):
        reports.item_analysis(
            world.session, world.scopes["admin"], course=QUIZ_COURSE, exercise="nope"
        )


def test_item_analysis_keeps_changed_versions_apart(world: World, project: Project) -> None:
    s = world.session
    lesson = project.courses_dir / QUIZ_COURSE / "01-bai-kiem-tra.md"
    text = lesson.read_text(encoding="utf-8")
    lesson.write_text(text.replace("- ( ) Sở Tư pháp", "- ( ) Sở Nội vụ"), encoding="utf-8")
    loaded, problems = check_courses(project.courses_dir, types=TYPES)
    assert not [p for p in problems if p.severity == "error"], problems
    for course in loaded:
        publish(s, course)
    assert enrol(s, course=QUIZ_COURSE, staff_codes=["GD001"]).enrolled_count == 1
    take(s, "GD001", {"c1": "b", "c2": "b", "c3": True, "c4": "b"}, 1, 4)
    rows = as_dicts(reports.item_analysis(s, world.scopes["admin"], course=QUIZ_COURSE))
    assert [(r["versions"], r["question"], r["n"]) for r in rows] == [
        ("1", "c1", 13),
        ("1", "c2", 13),
        ("1", "c3", 13),
        ("1", "c4", 13),
        ("2", "c1", 1),
        ("2", "c2", 1),
        ("2", "c3", 1),
        ("2", "c4", 1),
    ]
    assert rows[-1]["wrong_options"] == "b) Sở Nội vụ: 1 (100%)"


def test_attempts_titles_come_from_the_newest_version_that_has_the_exercise(
    world: World, project: Project
) -> None:
    s, admin = world.session, world.scopes["admin"]
    folder = project.courses_dir / QUIZ_COURSE

    def republish(old: str, new: str, *files: str) -> None:
        for name in files:
            path = folder / name
            path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        loaded, problems = check_courses(project.courses_dir, types=TYPES)
        assert not [p for p in problems if p.severity == "error"], problems
        for course in loaded:
            publish(s, course)

    def titles() -> list[tuple[str, str]]:
        return [
            (r["exercise"], r["exercise_title"])
            for r in as_dicts(reports.attempts_summary(s, admin))
        ]

    assert titles() == [(QUIZ, "Bài kiểm tra")]
    republish('title="Bài kiểm tra"', 'title="Bài kiểm tra cuối"', "01-bai-kiem-tra.md")
    assert titles() == [(QUIZ, "Bài kiểm tra cuối")]  # the newest version's title
    # the exercise is gone from the newest version: its title is the latest one it had
    republish(QUIZ, "kiem-tra-moi", "01-bai-kiem-tra.md", "index.md")
    assert titles() == [(QUIZ, "Bài kiểm tra cuối")]


def test_author_options_inverts_public_ids(world: World) -> None:
    s = world.session
    version = enrolment_of(s, "PL001", QUIZ_COURSE).course_version_id
    quiz = quiz_of(s, version)
    c2 = next(q for q in quiz.questions() if q.id == "c2")
    for seed in (0, 1, 2**62):
        sent = public_answers(quiz, seed, {"c2": "b"})
        assert author_options(quiz, c2, sent["c2"], seed=seed) == ("b",)
    assert author_options(quiz, c2, "not-an-id", seed=0) == ()
    items = load(s.get_one(CourseVersion, version).snapshot["exercises"][0]["data"])
    assert items.chosen("c3", "false", seed=5) == ("false",)
    assert [i.id for i in items.items()] == ["c1", "c2", "c3", "c4"]
    assert set(ANALYSERS) == {"quiz"}


# --------------------------------------------------------------------------- scoping

ALLOWED = {
    "admin": None,
    "commune": {"13285", "13285-TDP01", "13285-TDP02"},
    "village": {"13285-TDP01"},
    "agency": {"37-SYT"},
}
# Units asked for by each reader: own, child, sibling, parent.
ASKED = {
    "admin": {"37": True, "13285": True, "13291": True, "37-SYT": True},
    "commune": {"13285": True, "13285-TDP01": True, "13291": False, "37": False},
    "village": {"13285-TDP01": True, "13285-TDP02": False, "13285": False},
    "agency": {"37-SYT": True, "37-SGDDT": False, "37": False},
}
ATTEMPTS_IN = {"commune": 8, "village": 3, "agency": 1}


REPORTS: list[Callable[[Session, Scope, str | None], Report]] = [
    lambda s, scope, unit: reports.completion_matrix(s, scope, unit_code=unit, today=TODAY),
    lambda s, scope, unit: reports.rollup(s, scope, unit_code=unit, today=TODAY),
    lambda s, scope, unit: reports.overdue(s, scope, unit_code=unit, today=TODAY),
    lambda s, scope, unit: reports.expiring(
        s, scope, unit_code=unit, include_expired=True, today=TODAY
    ),
    lambda s, scope, unit: reports.attempts_summary(s, scope, unit_code=unit),
    lambda s, scope, unit: reports.item_analysis(s, scope, course=QUIZ_COURSE, unit_code=unit),
]


@pytest.mark.parametrize("reader", sorted(ASKED))
def test_scope_matrix(world: World, reader: str) -> None:
    s, scope = world.session, world.scopes[reader]
    allowed = ALLOWED[reader]
    for unit, visible in [(None, True), *ASKED[reader].items()]:
        if not visible:
            for report in REPORTS:
                with pytest.raises(NotFoundError) as caught:
                    report(s, scope, unit)
                assert str(caught.value) == f"no unit with code '{unit}' in your area"
            continue
        for report in (make(s, scope, unit) for make in REPORTS):
            keys = [c.key for c in report.columns]
            if "unit_code" in keys and allowed is not None:
                codes = {row[keys.index("unit_code")] for row in report.rows}
                assert codes <= allowed, (report.name, unit, codes - allowed)
        if allowed is not None and unit is None:
            summary = reports.attempts_summary(s, scope)
            assert as_dicts(summary)[0]["attempts"] == ATTEMPTS_IN[reader]
            items = as_dicts(reports.item_analysis(s, scope, course=QUIZ_COURSE))
            assert {r["n"] for r in items} == {ATTEMPTS_IN[reader]}


def test_missing_unit_reads_like_a_unit_outside_the_area(world: World) -> None:
    scope = world.scopes["commune"]
    with pytest.raises(NotFoundError) as missing:
        reports.overdue(world.session, scope, unit_code="99999")
    assert str(missing.value) == "no unit with code '99999' in your area"


def test_learner_cannot_read_reports(world: World) -> None:
    code = READERS["learner"][0]
    account = world.session.scalars(
        select(Account.id).join(Person).where(Person.staff_code == code)
    ).one()
    with pytest.raises(ForbiddenError):
        scope_of_account(world.session, account)


def test_operator_scope_reads_the_whole_tree(world: World) -> None:
    everything = Scope.everything()
    assert everything.whole_tree and everything.account_id == 0
    ours = reports.completion_matrix(world.session, everything, today=TODAY)
    admins = reports.completion_matrix(world.session, world.scopes["admin"], today=TODAY)
    assert ours.rows == admins.rows

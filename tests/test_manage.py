"""The manager's API (/api/manage/…) through a real uvicorn server, on SQLite and PostgreSQL.

The area: ward 13285 (Phủ Lý) with two residential groups, ward 13291 (Phù
Vân) and two provincial agencies, from the built-in Ninh Bình tree.  Learners
make progress through the attempt services; managers, a trainer and an admin
read it over HTTP.  Every URL the tests send is recorded and checked for
staff codes and names.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import Engine, select
from test_http import PASSWORD, redeem, serving
from test_http_learner import COURSE, FINAL, REPO_COURSES, TYPES

from lms_core.config import Project
from lms_core.courses import check_courses
from lms_core.db import session_factory
from lms_core.http import create_app
from lms_core.models import Attempt, CourseVersion, Person
from lms_core.services.accounts import grant_role
from lms_core.services.attempts import (
    exercise_score,
    record_lesson_viewed,
    start_attempt,
    submit_attempt,
)
from lms_core.services.courses import publish
from lms_core.services.enrolment import enrol, withdraw
from lms_core.services.learner import own_enrolment
from lms_core.services.org import import_units_file, load_builtin_tree
from lms_core.services.staff import import_staff_file
from lms_quiz.view import practice_key

GROUPS = (
    "code,name,kind,parent_code\n"
    "13285-TDP01,Tổ dân phố số 1,residential_group,13285\n"
    "13285-TDP02,Tổ dân phố số 2,residential_group,13285\n"
)
PEOPLE = {
    # learners
    "PL001": ("Nguyễn Thị Thu Hà", "13285-TDP01", "Cộng tác viên bảo vệ trẻ em"),
    "PL002": ("Trần Văn Nam", "13285-TDP01", "Tổ trưởng tổ dân phố"),
    "PL003": ("Lê Thị Lan", "13285-TDP02", "Nhân viên y tế"),
    "PL004": ("Phạm Quốc Bình", "13285", "Công an phường"),
    "PV001": ("Đỗ Minh Khắc", "13291", "Giáo viên tiểu học"),
    "GD001": ("Vũ Thị Hồng", "37-SGDDT", "Chuyên viên"),
    "YT001": ("Hoàng Văn Sơn", "37-SYT", "Chuyên viên"),
    # readers
    "PL900": ("Đinh Thị Mai", "13285", "Công chức Văn hóa - Xã hội"),
    "PL901": ("Bùi Văn Tâm", "13285", "Giảng viên"),
    "PV900": ("Ngô Thị Yến", "13291", "Công chức Văn hóa - Xã hội"),
    "YT900": ("Trịnh Văn Quang", "37-SYT", "Phó trưởng phòng"),
    "GD900": ("Mai Thị Thảo", "37-SGDDT", "Chuyên viên"),
    "NV900": ("Lý Văn Hải", "37-SNV", "Quản trị hệ thống"),
}
ROLES = {
    "PL900": ("manager", "13285"),
    "PL901": ("trainer", "13285"),
    "PV900": ("manager", "13291"),
    "YT900": ("manager", "37"),  # a provincial officer looking after the whole province
    "GD900": ("manager", "37-SGDDT"),
    "NV900": ("admin", None),
    "PL001": ("learner", None),
}
MANAGER, TRAINER, OTHER_WARD, PROVINCE, AGENCY, ADMIN, LEARNER = ROLES
TODAY = dt.date.today()


def progress_of(engine: Engine, staff: str, *, lessons: bool = True, passing: bool) -> str:
    """Have ``staff`` view every required lesson (optionally) and submit the final quiz.

    Returns the attempt id.  Full marks from the stored seed when ``passing``,
    no answers (0 points) otherwise.
    """
    with session_factory(engine).begin() as s:
        person = s.scalars(select(Person.id).where(Person.staff_code == staff)).one()
        enrolment = own_enrolment(s, person_id=person, course=COURSE)
        snapshot = s.get_one(CourseVersion, enrolment.course_version_id).snapshot
        if lessons:
            for lesson in snapshot["lessons"]:
                if lesson.get("required"):
                    record_lesson_viewed(s, enrolment_id=enrolment.id, lesson_slug=lesson["slug"])
        key = str(uuid.uuid4())
        start_attempt(
            s, enrolment_id=enrolment.id, exercise_id=FINAL, attempt_uuid=key, types=TYPES
        )
        answers: dict[str, object] = {}
        if passing:
            seed = s.scalars(select(Attempt.seed).where(Attempt.uuid == key)).one()
            entry = next(e for e in snapshot["exercises"] if e["id"] == FINAL)
            quiz = TYPES[entry["kind"]].model.model_validate(entry["data"])
            answers = dict(practice_key(quiz, seed=seed)["answers"])
        submit_attempt(s, attempt_uuid=key, responses=answers, types=TYPES)
        return key


@pytest.fixture
def world(engine: Engine, project: Project) -> dict[str, Any]:
    """The tree, the people, one published course with progress; invite codes and attempt ids."""
    with session_factory(engine).begin() as s:
        load_builtin_tree(s)
        groups = project.root / "groups.csv"
        groups.write_text(GROUPS, encoding="utf-8")
        import_units_file(s, str(groups))
        staff = project.root / "staff.csv"
        staff.write_text(
            "staff_code,full_name,org_code,position\n"
            + "".join(f"{c},{n},{u},{p}\n" for c, (n, u, p) in PEOPLE.items()),
            encoding="utf-8",
        )
        import_staff_file(s, str(staff))
        project.courses_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(REPO_COURSES / COURSE, project.courses_dir / COURSE)
        loaded, problems = check_courses(project.courses_dir, types=TYPES)
        assert not [p for p in problems if p.severity == "error"], problems
        for course in loaded:
            publish(s, course)
        yesterday, later = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=30)
        ward = ["PL001", "PL002", "PL003", "PL004"]
        assert enrol(s, course=COURSE, staff_codes=ward, due=yesterday).enrolled_count == 4
        assert enrol(s, course=COURSE, staff_codes=["PV001"], due=later).enrolled_count == 1
        assert enrol(s, course=COURSE, staff_codes=["GD001", "YT001"]).enrolled_count == 2
        withdraw(s, course=COURSE, staff_code="PL003")
        codes = {}
        for code, (role, org) in ROLES.items():
            invite = grant_role(s, staff_code=code, role=role, scope_org=org)
            assert invite is not None
            codes[code] = invite.code
    attempts = {
        "PL001": progress_of(engine, "PL001", passing=True),  # completed
        "PL002": progress_of(engine, "PL002", lessons=False, passing=False),  # in progress
    }
    with session_factory(engine).begin() as s:  # PV001 viewed one lesson: in progress
        person = s.scalars(select(Person.id).where(Person.staff_code == "PV001")).one()
        enrolment = own_enrolment(s, person_id=person, course=COURSE)
        first = s.get_one(CourseVersion, enrolment.course_version_id).snapshot["lessons"][0]
        record_lesson_viewed(s, enrolment_id=enrolment.id, lesson_slug=first["slug"])
    return {"codes": codes, "attempts": attempts}


@pytest.fixture
def base(project: Project, engine: Engine, world: dict[str, Any]) -> Iterator[str]:
    with serving(create_app(project, engine=engine)) as url:
        yield url


@pytest.fixture
def as_(base: str, world: dict[str, Any]) -> Iterator[Callable[[str], httpx.Client]]:
    """Clients signed in as a given staff code; afterwards, no URL sent held personal data."""
    clients: dict[str, httpx.Client] = {}
    urls: list[str] = []

    def record(request: httpx.Request) -> None:
        urls.append(unquote(str(request.url)))

    def signed_in(staff: str) -> httpx.Client:
        if staff not in clients:
            client = httpx.Client(base_url=base, timeout=30, event_hooks={"request": [record]})
            r = redeem(client, world["codes"][staff], staff=staff, password=PASSWORD)
            assert r.status_code == 200, r.text
            client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            clients[staff] = client
        return clients[staff]

    yield signed_in
    for client in clients.values():
        client.close()
    assert urls
    for url in urls:
        for code, (name, _, _) in PEOPLE.items():
            assert code.lower() not in url.lower(), url
            assert name not in url, url


def progress(client: httpx.Client, unit: str, **params: str) -> dict[str, Any]:
    r = client.get(f"/api/manage/units/{unit}/progress", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def people(client: httpx.Client, unit: str, **params: str | int) -> dict[str, Any]:
    r = client.get(f"/api/manage/units/{unit}/people", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def person(client: httpx.Client, staff: str) -> httpx.Response:
    return client.post("/api/manage/person", json={"staff_code": staff})


def attempt(client: httpx.Client, attempt_id: str) -> httpx.Response:
    return client.post("/api/manage/attempt", json={"attempt_id": attempt_id})


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """The counts of the one course in a list of course rows."""
    [row] = rows
    assert row["course"] == COURSE
    keys = ("enrolled", "in_progress", "completed", "withdrawn", "overdue", "total")
    return {k: row[k] for k in keys}


def expect(
    enrolled: int = 0,
    in_progress: int = 0,
    completed: int = 0,
    withdrawn: int = 0,
    overdue: int = 0,
) -> dict[str, int]:
    total = enrolled + in_progress + completed + withdrawn
    return {
        "enrolled": enrolled,
        "in_progress": in_progress,
        "completed": completed,
        "withdrawn": withdrawn,
        "overdue": overdue,
        "total": total,
    }


WARD = expect(enrolled=1, in_progress=1, completed=1, withdrawn=1, overdue=2)


def test_a_manager_sees_their_ward(as_: Callable[[str], httpx.Client]) -> None:
    manager = as_(MANAGER)
    scope = manager.get("/api/manage/scope").json()
    assert scope == {
        "role": "manager",
        "whole_tree": False,
        "roots": [{"code": "13285", "name": "Phường Phủ Lý", "kind": "ward"}],
    }
    body = progress(manager, "13285")
    assert body["unit"]["code"] == "13285" and body["parent"] is None  # 37 is not theirs
    assert body["as_of"] == TODAY.isoformat()
    assert body["people"] == 6
    assert counts(body["courses"]) == WARD
    assert counts(body["here"]) == expect(enrolled=1, overdue=1)  # PL004, not started
    groups = {c["unit"]["code"]: c for c in body["children"]}
    assert list(groups) == ["13285-TDP01", "13285-TDP02"]
    assert groups["13285-TDP01"]["people"] == 2
    assert counts(groups["13285-TDP01"]["courses"]) == expect(in_progress=1, completed=1, overdue=1)
    assert counts(groups["13285-TDP02"]["courses"]) == expect(withdrawn=1)

    below = progress(manager, "13285-TDP01")  # drill down, and back up
    assert below["parent"]["code"] == "13285" and below["children"] == []
    assert counts(below["courses"]) == counts(groups["13285-TDP01"]["courses"])


def test_a_manager_lists_people_and_reads_a_record(
    as_: Callable[[str], httpx.Client], world: dict[str, Any]
) -> None:
    manager = as_(MANAGER)
    everyone = people(manager, "13285")
    assert everyone["total"] == 6 and everyone["next_offset"] is None
    codes = [p["staff_code"] for p in everyone["people"]]
    assert sorted(codes) == ["PL001", "PL002", "PL003", "PL004", "PL900", "PL901"]
    enrolled = people(manager, "13285", course=COURSE)
    assert [p["staff_code"] for p in enrolled["people"]] == [
        c for c in codes if c in ("PL001", "PL002", "PL003", "PL004")
    ]
    ha = next(p for p in enrolled["people"] if p["staff_code"] == "PL001")
    assert ha["full_name"] == "Nguyễn Thị Thu Hà" and ha["unit"]["code"] == "13285-TDP01"
    [course] = ha["enrolments"]
    assert course["status"] == "completed" and course["completed_at"] is not None
    assert course["overdue"] is False and course["due_on"] is not None
    assert 0 < course["lessons_viewed"] <= course["lessons_total"]
    [final] = course["exercises"]
    assert final["id"] == FINAL and final["attempts"] == 1
    assert final["best"] == final["score"] == 100 and final["passed"] is True
    nam = next(p for p in enrolled["people"] if p["staff_code"] == "PL002")
    assert nam["enrolments"][0]["status"] == "in_progress"
    assert nam["enrolments"][0]["overdue"] is True
    assert nam["enrolments"][0]["exercises"][0]["score"] == 0
    assert nam["enrolments"][0]["exercises"][0]["passed"] is False

    r = person(manager, "pl001")  # staff codes are case-insensitive
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["staff_code"] == "PL001" and "phone" not in record and "email" not in record
    [enrolment] = record["enrolments"]
    assert set(enrolment["required_lessons"]) <= set(enrolment["lessons_viewed"])
    [tried] = enrolment["attempts"]
    assert tried["attempt_id"] == world["attempts"]["PL001"]
    assert tried["state"] == "graded" and tried["percent"] == 100 and tried["passed"] is True
    assert "result" not in tried and "seed" not in tried

    r = attempt(manager, tried["attempt_id"])
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["person"]["staff_code"] == "PL001" and detail["course"] == COURSE
    assert detail["score"] == detail["max_score"] > 0
    assert detail["questions"] and all(q["correct"] is True for q in detail["questions"])
    assert all(
        set(q) == {"id", "points", "max_points", "correct", "feedback"} for q in detail["questions"]
    )


def test_another_ward_is_not_found_like_nothing(
    as_: Callable[[str], httpx.Client], world: dict[str, Any]
) -> None:
    other = as_(OTHER_WARD)
    assert counts(progress(other, "13291")["courses"]) == expect(in_progress=1)
    for unit in ("13285", "13285-TDP01", "37", "37-SYT"):
        for route in ("progress", "people"):
            r = other.get(f"/api/manage/units/{unit}/{route}")
            missing = other.get(f"/api/manage/units/X{unit}/{route}")
            assert r.status_code == missing.status_code == 404
            assert r.json()["error"] == missing.json()["error"].replace(f"X{unit}", unit)
    nobody = person(other, "KHONGCO1")
    assert nobody.status_code == 404
    for staff in ("PL001", "PL900", "YT001"):
        r = person(other, staff)
        assert r.status_code == 404 and r.json() == nobody.json()
    nothing = attempt(other, str(uuid.uuid4()))
    assert nothing.status_code == 404
    r = attempt(other, world["attempts"]["PL001"])
    assert r.status_code == 404 and r.json() == nothing.json()
    assert person(other, "PV001").status_code == 200

    manager = as_(MANAGER)  # and the other way round
    assert manager.get("/api/manage/units/13291/progress").status_code == 404
    assert person(manager, "PV001").status_code == 404


def test_a_provincial_manager_sees_the_whole_subtree(
    as_: Callable[[str], httpx.Client], world: dict[str, Any]
) -> None:
    province = as_(PROVINCE)
    body = progress(province, "37")
    assert body["unit"]["code"] == "37" and body["parent"] is None
    assert counts(body["courses"]) == expect(
        enrolled=3, in_progress=2, completed=1, withdrawn=1, overdue=2
    )
    children = {c["unit"]["code"]: c for c in body["children"]}
    assert len(children) == 136  # 97 communes, 32 wards, 7 agencies
    assert counts(children["13285"]["courses"]) == WARD
    assert counts(children["13291"]["courses"]) == expect(in_progress=1)
    assert counts(children["37-SYT"]["courses"]) == expect(enrolled=1)
    assert counts(children["13456"]["courses"]) == expect()  # nobody enrolled there yet
    assert progress(province, "13285-TDP01")["parent"]["code"] == "13285"
    for staff in ("PL001", "PV001", "GD001"):
        assert person(province, staff).status_code == 200
    assert attempt(province, world["attempts"]["PL002"]).status_code == 200

    agency = as_(AGENCY)  # an agency's manager: that agency only
    assert counts(progress(agency, "37-SGDDT")["courses"]) == expect(enrolled=1)
    assert [p["staff_code"] for p in people(agency, "37-SGDDT")["people"]] == ["GD001", "GD900"]
    assert agency.get("/api/manage/units/37/progress").status_code == 404
    assert person(agency, "YT001").status_code == 404
    assert attempt(agency, world["attempts"]["PL001"]).status_code == 404


def test_a_trainer_reads_their_area_like_a_manager(as_: Callable[[str], httpx.Client]) -> None:
    trainer, manager = as_(TRAINER), as_(MANAGER)
    assert trainer.get("/api/manage/scope").json()["role"] == "trainer"
    assert progress(trainer, "13285") == progress(manager, "13285")
    assert people(trainer, "13285") == people(manager, "13285")
    assert trainer.get("/api/manage/units/13291/progress").status_code == 404


def test_a_learner_is_refused(
    as_: Callable[[str], httpx.Client], base: str, world: dict[str, Any]
) -> None:
    learner = as_(LEARNER)
    own = world["attempts"]["PL001"]
    responses = [
        learner.get("/api/manage/scope"),
        learner.get("/api/manage/units/13285-TDP01/progress"),
        learner.get("/api/manage/units/13285-TDP01/people"),
        learner.get("/api/manage/units/KHONGCO/people"),
        person(learner, "PL001"),  # not even their own record, through this door
        attempt(learner, own),
    ]
    for r in responses:
        assert r.status_code == 403, r.text
        assert "managers" in r.json()["error"]
    with httpx.Client(base_url=base) as anonymous:
        assert anonymous.get("/api/manage/units/13285/progress").status_code == 401
        r = anonymous.post("/api/manage/attempt", json={"attempt_id": own})
        assert r.status_code == 401
    # the manager's POSTs need the CSRF token like every other
    manager = as_(MANAGER)
    token = manager.headers.pop("X-CSRF-Token")
    assert person(manager, "PL001").status_code == 403
    manager.headers["X-CSRF-Token"] = token
    assert person(manager, "PL001").status_code == 200


def test_the_admin_sees_everything(
    as_: Callable[[str], httpx.Client], world: dict[str, Any]
) -> None:
    admin = as_(ADMIN)
    scope = admin.get("/api/manage/scope").json()
    assert scope["whole_tree"] is True and [u["code"] for u in scope["roots"]] == ["37"]
    body = progress(admin, "37")
    assert body == progress(as_(PROVINCE), "37")
    assert body["people"] == len(PEOPLE)
    for staff in PEOPLE:
        assert person(admin, staff).status_code == 200
    for key in world["attempts"].values():
        assert attempt(admin, key).status_code == 200


def test_pages_are_stable_and_complete(as_: Callable[[str], httpx.Client]) -> None:
    admin = as_(ADMIN)
    whole = people(admin, "37", limit=200)
    assert whole["total"] == len(PEOPLE) and whole["next_offset"] is None
    order = [p["staff_code"] for p in whole["people"]]
    assert sorted(order) == sorted(PEOPLE)
    paged: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = people(admin, "37", limit=3, offset=offset)
        assert page["total"] == len(PEOPLE) and page["limit"] == 3
        paged += [p["staff_code"] for p in page["people"]]
        offset = page["next_offset"]
    assert paged == order
    assert people(admin, "37", limit=3, offset=3) == people(admin, "37", limit=3, offset=3)
    assert people(admin, "37", offset=100)["people"] == []
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}):
        assert admin.get("/api/manage/units/37/people", params=bad).status_code == 422
    r = admin.get("/api/manage/units/37/people", params={"course": "khong-co"})
    assert r.status_code == 404


def test_counts_follow_new_attempts_and_completions(
    as_: Callable[[str], httpx.Client], engine: Engine
) -> None:
    manager = as_(MANAGER)
    assert counts(progress(manager, "13285", course=COURSE)["courses"]) == WARD
    progress_of(engine, "PL002", passing=True)  # second attempt, full marks: completes
    after = progress(manager, "13285", course=COURSE)
    assert counts(after["courses"]) == expect(enrolled=1, completed=2, withdrawn=1, overdue=1)
    groups = {c["unit"]["code"]: c for c in after["children"]}
    assert counts(groups["13285-TDP01"]["courses"]) == expect(completed=2)
    listed = people(manager, "13285-TDP01", course=COURSE)["people"]
    nam = next(p for p in listed if p["staff_code"] == "PL002")
    [final] = nam["enrolments"][0]["exercises"]
    assert final["attempts"] == 2 and final["best"] == 100 and final["passed"] is True
    with session_factory(engine)() as s:  # the same score as the completion rule's
        person_id = s.scalars(select(Person.id).where(Person.staff_code == "PL002")).one()
        enrolment = own_enrolment(s, person_id=person_id, course=COURSE)
        assert final["score"] == exercise_score(
            s, enrolment_id=enrolment.id, exercise_id=FINAL, method=final["grading"]
        )
    record = person(manager, "PL002").json()
    assert [a["percent"] for a in record["enrolments"][0]["attempts"]] == [0, 100]


def test_a_role_change_applies_at_once(as_: Callable[[str], httpx.Client], engine: Engine) -> None:
    manager = as_(MANAGER)
    assert progress(manager, "13285")["unit"]["code"] == "13285"
    with session_factory(engine).begin() as s:
        grant_role(s, staff_code=MANAGER, role="manager", scope_org="13285-TDP02")
    assert manager.get("/api/manage/units/13285/progress").status_code == 404
    assert counts(progress(manager, "13285-TDP02")["courses"]) == expect(withdrawn=1)
    with session_factory(engine).begin() as s:
        grant_role(s, staff_code=MANAGER, role="learner")
    assert manager.get("/api/manage/units/13285-TDP02/progress").status_code == 403

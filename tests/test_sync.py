"""Offline sync (``POST /api/my/sync``) through a real uvicorn server, on SQLite and PostgreSQL.

Every batch may be replayed, reordered, duplicated or sent twice at once; the
database must show each lesson view, attempt and completion exactly once.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from test_http import serving
from test_http_learner import (
    COURSE,
    FINAL,
    STAFF,
    TYPES,
    full_marks,
    learner,
    my_course,
    start,
)

from lms_core.config import Project
from lms_core.courses import check_courses
from lms_core.db import session_factory
from lms_core.http import create_app
from lms_core.models import Attempt, Completion, CourseVersion, Enrolment, Event, Person
from lms_core.services.accounts import invite_people
from lms_core.services.courses import publish
from lms_core.services.enrolment import enrol
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff_file
from lms_quiz.view import practice_key

REPO_COURSES = Path(__file__).resolve().parents[1] / "courses"


@pytest.fixture
def codes(engine: Engine, project: Project) -> dict[str, str]:
    """Two invited learners enrolled in the published course; invite codes by staff code."""
    with session_factory(engine).begin() as s:
        load_builtin_tree(s)
        staff = project.root / "staff.csv"
        staff.write_text(STAFF, encoding="utf-8")
        import_staff_file(s, str(staff))
        project.courses_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(REPO_COURSES / COURSE, project.courses_dir / COURSE)
        loaded, problems = check_courses(project.courses_dir, types=TYPES)
        assert not [p for p in problems if p.severity == "error"], problems
        for course in loaded:
            publish(s, course)
        assert enrol(s, course=COURSE, staff_codes=["NB001", "NB002"]).enrolled_count == 2
        return {i.staff_code: i.code for i in invite_people(s, org="13285")}


@pytest.fixture
def base(project: Project, engine: Engine, codes: dict[str, str]) -> Iterator[str]:
    with serving(create_app(project, engine=engine)) as url:
        yield url


@pytest.fixture
def ha(base: str, codes: dict[str, str]) -> Iterator[httpx.Client]:
    c = learner(base, codes, "NB001")
    yield c
    c.close()


@pytest.fixture
def nam(base: str, codes: dict[str, str]) -> Iterator[httpx.Client]:
    c = learner(base, codes, "NB002")
    yield c
    c.close()


# --------------------------------------------------------------------------- helpers


def new_id() -> str:
    return str(uuid.uuid4())


def pinned(engine: Engine, staff: str = "NB001") -> CourseVersion:
    """The course version the person's enrolment is pinned to."""
    with session_factory(engine)() as s:
        version_id = s.scalars(
            select(Enrolment.course_version_id)
            .join(Person, Enrolment.person_id == Person.id)
            .where(Person.staff_code == staff)
        ).one()
        return s.get_one(CourseVersion, version_id)


def offline_answers(version: CourseVersion, *, right: bool = True) -> dict[str, Any]:
    """Answers as the static page (seed 0) would send them: full marks, or all wrong."""
    entry = next(e for e in version.snapshot["exercises"] if e["id"] == FINAL)
    quiz = TYPES[entry["kind"]].model.model_validate(entry["data"])
    answers = dict(practice_key(quiz, seed=0)["answers"])
    return answers if right else {qid: "no such option" for qid in answers}


def lesson_item(lesson: str, *, course: str = COURSE, item_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "lesson_viewed",
        "id": item_id or new_id(),
        "course": course,
        "lesson": lesson,
        "at": "2001-03-02T08:15:00+07:00",
    }


def attempt_item(
    *,
    responses: dict[str, Any],
    version: str | None = None,
    attempt_id: str | None = None,
    exercise: str = FINAL,
    course: str = COURSE,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "attempt",
        "id": new_id(),
        "course": course,
        "exercise": exercise,
        "attempt_id": attempt_id or new_id(),
        "responses": responses,
        "started_at": "2001-03-02T08:20:00+07:00",
        "submitted_at": "2001-03-02T08:31:00+07:00",
    }
    if version is not None:
        item["version"] = version
    return item


def sync(client: httpx.Client, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r = client.post("/api/my/sync", json={"items": items})
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    assert [x["id"] for x in results] == [i["id"] for i in items]
    return results


def counts(engine: Engine) -> dict[str, int]:
    """What the database holds, to prove every item counted exactly once."""
    with session_factory(engine)() as s:

        def count(*where: Any, model: Any = Attempt) -> int:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        return {
            "attempts": count(),
            "graded": count(Attempt.state == "graded"),
            "completions": count(model=Completion),
            "submitted": count(Event.verb == "attempt.submitted", model=Event),
            "viewed": count(Event.verb == "lesson.viewed", model=Event),
            "completed_events": count(Event.verb == "course.completed", model=Event),
            "receipts": count(Event.verb == "sync.applied", model=Event),
        }


# --------------------------------------------------------------------------- tests


def test_replayed_reordered_and_duplicated_batches_count_once(
    ha: httpx.Client, engine: Engine
) -> None:
    version = pinned(engine)
    required = my_course(ha)["required_lessons"]
    attempt = attempt_item(responses=offline_answers(version), version=version.content_hash)
    batch = [lesson_item(lesson) for lesson in required] + [attempt, attempt]

    first = sync(ha, batch)
    assert [x["status"] for x in first] == ["applied"] * len(required) + ["applied", "duplicate"]
    graded = first[-2]["result"]
    assert graded["attempt_id"] == attempt["attempt_id"] and graded["state"] == "graded"
    assert graded["passed"] is True and graded["score"] == graded["max_score"] > 0
    assert graded["course_completed"] is True
    assert first[-1]["result"] == graded  # repeated within the batch: the stored result
    assert "error" not in first[-2] and "result" not in first[0]
    once = {
        "attempts": 1,
        "graded": 1,
        "completions": 1,
        "submitted": 1,
        "viewed": len(required),
        "completed_events": 1,
        "receipts": len(required) + 1,
    }
    assert counts(engine) == once

    replays = [batch, list(reversed(batch)), batch + batch, batch[-1:] + batch[:2]]
    for replay in replays:
        results = sync(ha, replay)
        assert {x["status"] for x in results} == {"duplicate"}
        assert [x["result"] for x in results if "result" in x] == [graded] * sum(
            1 for i in replay if i["type"] == "attempt"
        )
    assert counts(engine) == once

    with session_factory(engine)() as s:
        stored = s.scalars(select(Attempt)).one()
        assert stored.seed == 0 and stored.source == "offline"
        receipt = s.scalars(
            select(Event).where(Event.verb == "sync.applied", Event.object_type == "attempt")
        ).one()
        assert receipt.data["item"] == attempt["id"] and receipt.data["created"] is True
        assert receipt.data["client_submitted_at"] == "2001-03-02T08:31:00+07:00"
        # server clocks decide; the client's times are kept in the receipt only
        assert stored.submitted_at is not None and stored.submitted_at.year != 2001
        assert stored.started_at.year != 2001
    course = my_course(ha)
    assert course["completed"] is True and set(course["lessons_viewed"]) == set(required)
    # a completed enrolment takes no new attempt
    [late] = sync(ha, [attempt_item(responses={}, version=version.content_hash)])
    assert late["status"] == "rejected" and "the enrolment is completed" in late["error"]
    assert counts(engine) == once


def test_attempt_before_lessons_completes_at_the_last_lesson(
    nam: httpx.Client, engine: Engine
) -> None:
    version = pinned(engine, "NB002")
    required = my_course(nam)["required_lessons"]
    attempt = attempt_item(responses=offline_answers(version), version=version.content_hash)
    batch = [attempt] + [lesson_item(lesson) for lesson in required]
    results = sync(nam, batch)
    assert {x["status"] for x in results} == {"applied"}
    assert results[0]["result"]["course_completed"] is False  # lessons not yet viewed
    assert my_course(nam)["completed"] is True
    assert sync(nam, list(reversed(batch)))[-1]["result"]["course_completed"] is True
    assert counts(engine)["completions"] == 1 and counts(engine)["graded"] == 1


def test_two_batches_at_once_apply_each_item_once(
    base: str, codes: dict[str, str], engine: Engine
) -> None:
    version = pinned(engine)
    client = learner(base, codes, "NB001")
    lessons = my_course(client)["required_lessons"][:2]
    batch = [lesson_item(lesson) for lesson in lessons] + [
        attempt_item(responses=offline_answers(version), version=version.content_hash)
    ]
    barrier = threading.Barrier(4)
    outcomes: list[list[dict[str, Any]]] = []
    errors: list[BaseException] = []

    def send() -> None:
        with httpx.Client(
            base_url=base, cookies=client.cookies, headers=client.headers, timeout=60
        ) as c:
            barrier.wait()
            try:
                outcomes.append(sync(c, batch))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert not errors and len(outcomes) == 4
    for index in range(len(batch)):
        statuses = sorted(results[index]["status"] for results in outcomes)
        assert statuses == ["applied", "duplicate", "duplicate", "duplicate"]
    results = [o[-1]["result"] for o in outcomes]
    assert all(r == results[0] for r in results)
    c = counts(engine)
    assert (c["attempts"], c["graded"], c["submitted"], c["viewed"]) == (1, 1, 1, 2)


def test_server_started_attempt_is_submitted_once(ha: httpx.Client, engine: Engine) -> None:
    key = start(ha).json()["attempt_id"]
    answers = full_marks(engine, key)  # the server's random seed, not 0
    item = attempt_item(responses=answers, attempt_id=key)  # no version: it exists
    [first] = sync(ha, [item])
    assert first["status"] == "applied"
    assert first["result"]["score"] == first["result"]["max_score"] > 0
    [again] = sync(ha, [{**item, "id": new_id(), "responses": {}}])  # another item, same attempt
    assert again["status"] == "duplicate" and again["result"] == first["result"]
    r = ha.post("/api/my/attempts/submit", json={"attempt_id": key, "responses": {}})
    assert r.status_code == 200 and r.json() == first["result"]
    c = counts(engine)
    assert (c["attempts"], c["graded"], c["submitted"]) == (1, 1, 1)
    with session_factory(engine)() as s:
        assert s.scalars(select(Attempt.source)).one() == "web"  # it was started online


def test_mixed_good_and_bad_items(ha: httpx.Client, engine: Engine) -> None:
    version = pinned(engine)
    lesson = my_course(ha)["required_lessons"][0]
    wrong = offline_answers(version, right=False)
    key = version.content_hash
    items = [
        lesson_item(lesson),
        lesson_item("khong-co"),
        lesson_item(lesson, course="khong-co"),
        attempt_item(responses=wrong, version=key, exercise="khong-co"),
        attempt_item(responses=wrong),  # never started on the server, no version
        attempt_item(responses={"q": "x" * 20000}, version=key),
        *[attempt_item(responses=wrong, version=key) for _ in range(4)],  # attempts=3
    ]
    results = sync(ha, items)
    assert [x["status"] for x in results] == [
        "applied",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "applied",
        "applied",
        "applied",
        "rejected",
    ]
    errors = [x.get("error", "") for x in results]
    assert "lesson 'khong-co' is not in this course version" in errors[1]
    assert "not enrolled in course 'khong-co'" in errors[2]
    assert "exercise 'khong-co' is not in the course version" in errors[3]
    assert "not started on the server" in errors[4]
    assert "too long" in errors[5]
    assert "all 3 attempts" in errors[9]
    assert all("result" not in x for x, e in zip(results, errors, strict=True) if e)
    assert all(x["result"]["passed"] is False for x in results[6:9])
    c = counts(engine)
    assert (c["attempts"], c["graded"], c["viewed"], c["completions"]) == (3, 3, 1, 0)
    [exercise] = my_course(ha)["exercises"]
    assert exercise["attempts"] == 3


def test_offline_attempt_from_another_version_is_refused(
    ha: httpx.Client, engine: Engine, project: Project
) -> None:
    v1 = pinned(engine)
    lesson = my_course(ha)["required_lessons"][0]
    assert sync(ha, [lesson_item(lesson)])[0]["status"] == "applied"  # started: stays on v1
    first = project.courses_dir / COURSE / "01-chi-thi-28.md"
    first.write_text(first.read_text(encoding="utf-8") + "\nThêm một câu.\n", encoding="utf-8")
    loaded, _ = check_courses(project.courses_dir, types=TYPES)
    with session_factory(engine).begin() as s:
        assert publish(s, loaded[0]).version == 2
        v2 = s.scalars(select(CourseVersion).where(CourseVersion.number == 2)).one()
    assert pinned(engine).number == 1 and pinned(engine, "NB002").number == 2

    answers = offline_answers(v1)
    items = [
        attempt_item(responses=answers, version=v2.content_hash),
        attempt_item(responses=answers, version="ab" * 32),
        attempt_item(responses=answers, version=v1.content_hash),
    ]
    results = sync(ha, items)
    assert [x["status"] for x in results] == ["rejected", "rejected", "applied"]
    assert "built from version 2" in results[0]["error"]
    assert "enrolment is on version 1" in results[0]["error"]
    assert "no published version abababababab" in results[1]["error"]
    assert results[2]["result"]["passed"] is True
    assert counts(engine)["attempts"] == 1


def test_another_persons_attempt_id_is_refused(
    ha: httpx.Client, nam: httpx.Client, engine: Engine
) -> None:
    key = start(ha).json()["attempt_id"]
    unknown = new_id()
    answers = {"q": "x"}
    results = sync(
        nam,
        [
            attempt_item(responses=answers, attempt_id=key),
            attempt_item(responses=answers, attempt_id=unknown),
            attempt_item(
                responses=answers, attempt_id=key, version=pinned(engine, "NB002").content_hash
            ),
        ],
    )
    assert [x["status"] for x in results] == ["rejected"] * 3
    # someone else's attempt looks exactly like one that does not exist
    assert results[0]["error"] == results[1]["error"].replace(unknown, key)
    assert "already used for another attempt" in results[2]["error"]
    assert all("result" not in x for x in results)
    with session_factory(engine)() as s:
        assert s.scalars(select(Attempt.state)).all() == ["in_progress"]
    assert my_course(nam)["exercises"][0]["attempts"] == 0
    r = ha.post("/api/my/attempts/submit", json={"attempt_id": key, "responses": {}})
    assert r.status_code == 200


def test_batches_are_validated(ha: httpx.Client, engine: Engine) -> None:
    lesson = my_course(ha)["required_lessons"][0]

    def refused(body: Any) -> str:
        r = ha.post("/api/my/sync", json=body)
        assert r.status_code == 422, r.text
        payload = r.json()
        assert isinstance(payload["error"], str) and payload["problems"]
        return str(payload["error"])

    assert "at most 200" in refused({"items": [lesson_item(lesson) for _ in range(201)]})
    assert "items" in refused({})
    assert "type" in refused({"items": [{"id": new_id(), "course": COURSE, "lesson": lesson}]})
    assert "lesson_viewed" in refused({"items": [{**lesson_item(lesson), "type": "bogus"}]})
    assert "items.0.lesson_viewed.extra" in refused(
        {"items": [{**lesson_item(lesson), "extra": 1}]}
    )
    message = refused({"items": [lesson_item(lesson), attempt_item(responses={}, version="v1")]})
    assert "items.1.attempt.version" in message
    assert "attempt_id" in refused({"items": [{**attempt_item(responses={}), "attempt_id": "a b"}]})
    assert "responses" in refused({"items": [{**attempt_item(responses={}), "responses": []}]})
    assert "items.0.lesson_viewed.at" in refused(
        {"items": [{**lesson_item(lesson), "at": "yesterday"}]}
    )
    # a refused batch applies nothing, and 200 items are fine
    assert counts(engine)["viewed"] == 0
    results = sync(ha, [lesson_item(lesson) for _ in range(200)])
    assert [x["status"] for x in results] == ["applied"] + ["duplicate"] * 199
    assert sync(ha, []) == []


def test_sync_needs_sign_in_and_csrf(base: str, ha: httpx.Client, engine: Engine) -> None:
    lesson = my_course(ha)["required_lessons"][0]
    body = {"items": [lesson_item(lesson)]}
    with httpx.Client(base_url=base) as anonymous:
        r = anonymous.post("/api/my/sync", json=body)
        assert r.status_code == 401
    token = ha.headers.pop("X-CSRF-Token")
    assert ha.post("/api/my/sync", json=body).status_code == 403
    ha.headers["X-CSRF-Token"] = "wrong"
    assert ha.post("/api/my/sync", json=body).status_code == 403
    ha.headers["X-CSRF-Token"] = token
    assert counts(engine)["viewed"] == 0
    assert sync(ha, body["items"])[0]["status"] == "applied"


def test_openapi_lists_sync(ha: httpx.Client) -> None:
    paths = ha.get("/api/openapi.json").json()["paths"]
    assert "/api/my/sync" in paths

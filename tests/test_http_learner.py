"""The learner API (my courses, lessons viewed, attempts) through a real uvicorn server."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, update
from test_http import PASSWORD, redeem, serving

from lms_core.config import Project
from lms_core.courses import check_courses
from lms_core.db import session_factory
from lms_core.http import create_app
from lms_core.http.common import Db, HttpError
from lms_core.models import Attempt, CourseVersion, WebSession, utcnow
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.services import auth
from lms_core.services.accounts import invite_people
from lms_core.services.courses import publish
from lms_core.services.enrolment import enrol
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff_file
from lms_quiz.view import practice_key

TYPES = exercise_types(make_plugin_manager())
REPO_COURSES = Path(__file__).resolve().parents[1] / "courses"
COURSE = "chi-thi-28-ke-hoach-tinh"
FINAL = "kiem-tra-cuoi"
STAFF = (
    "staff_code,full_name,org_code,position\n"
    "NB001,Nguyễn Thị Thu Hà,13285,Giáo viên tiểu học\n"
    "NB002,Trần Văn Nam,13285,Giáo viên tiểu học\n"
)


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


def learner(base: str, codes: dict[str, str], staff: str) -> httpx.Client:
    """A client signed in as ``staff``, sending the CSRF header on every request."""
    client = httpx.Client(base_url=base, timeout=30)
    r = redeem(client, codes[staff], staff=staff, password=PASSWORD)
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


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


def any_answers(view: dict[str, Any]) -> dict[str, Any]:
    """Some answer to every question of a public view (right or wrong)."""
    questions: list[dict[str, Any]] = []
    for entry in view["entries"]:
        questions.extend(entry["questions"] if entry.get("kind") == "scenario" else [entry])
    out: dict[str, Any] = {}
    for q in questions:
        if q.get("options"):
            first = q["options"][0]["id"]
            out[q["id"]] = [first] if q["kind"] == "multiple_choice" else first
        elif q["kind"] == "true_false":
            out[q["id"]] = True
        else:
            out[q["id"]] = "x"
    return out


def full_marks(engine: Engine, attempt_id: str) -> dict[str, Any]:
    """A full-marks response, from the seed stored in the database (never sent to the browser)."""
    with session_factory(engine)() as s:
        attempt = s.scalars(select(Attempt).where(Attempt.uuid == attempt_id)).one()
        snapshot = s.get_one(CourseVersion, attempt.course_version_id).snapshot
        entry = next(e for e in snapshot["exercises"] if e["id"] == attempt.exercise_id)
        quiz = TYPES[entry["kind"]].model.model_validate(entry["data"])
        return dict(practice_key(quiz, seed=attempt.seed)["answers"])


def start(client: httpx.Client, attempt_id: str | None = None) -> httpx.Response:
    body = {"course": COURSE, "exercise": FINAL, "attempt_id": attempt_id or str(uuid.uuid4())}
    return client.post("/api/my/attempts/start", json=body)


def my_course(client: httpx.Client) -> dict[str, Any]:
    r = client.get("/api/my/courses")
    assert r.status_code == 200, r.text
    courses = r.json()["courses"]
    assert [c["course"] for c in courses] == [COURSE]
    return dict(courses[0])


def test_my_courses_lists_the_enrolment(ha: httpx.Client) -> None:
    course = my_course(ha)
    assert course["status"] == "enrolled" and course["version"] == 1
    assert course["title"].startswith("Chỉ thị 28-CT/TW")
    assert course["lessons_viewed"] == [] and course["completed"] is False
    assert course["required_lessons"]
    [exercise] = course["exercises"]  # graded ones only
    assert exercise["id"] == FINAL and exercise["grading"] == "highest"
    assert exercise["score"] is None and exercise["attempts"] == 0 and not exercise["passed"]


def test_lessons_viewed(ha: httpx.Client) -> None:
    lesson = my_course(ha)["required_lessons"][0]
    for _ in range(2):  # a repeat adds nothing
        r = ha.post("/api/my/lessons/viewed", json={"course": COURSE, "lesson": lesson})
        assert r.status_code == 200, r.text
        assert r.json() == {"completed": False}
    course = my_course(ha)
    assert course["lessons_viewed"] == [lesson] and course["status"] == "in_progress"
    r = ha.post("/api/my/lessons/viewed", json={"course": COURSE, "lesson": "khong-co"})
    assert r.status_code == 404
    r = ha.post("/api/my/lessons/viewed", json={"course": "khong-co", "lesson": lesson})
    assert r.status_code == 404


def test_start_save_submit_and_submit_again(ha: httpx.Client) -> None:
    key = str(uuid.uuid4())
    r = start(ha, key)
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["attempt_id"] == key and started["created"] is True
    assert "seed" not in started and "seed" not in started["view"]
    assert started["view"]["entries"]
    again = start(ha, key).json()
    assert again["attempt_id"] == key and again["view"] == started["view"]
    assert start(ha).json()["attempt_id"] == key  # a second tab resumes it

    answers = any_answers(started["view"])
    r = ha.post("/api/my/attempts/save", json={"attempt_id": key, "seq": 1, "responses": answers})
    assert r.status_code == 200, r.text
    assert r.json() == {"attempt_id": key, "seq": 1}
    stale = ha.post("/api/my/attempts/save", json={"attempt_id": key, "seq": 1, "responses": {}})
    assert stale.status_code == 409

    r = ha.post("/api/my/attempts/submit", json={"attempt_id": key, "responses": answers})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["attempt_id"] == key and result["state"] == "graded"
    assert result["max_score"] > 0 and 0 <= result["score"] <= result["max_score"]
    assert {q["id"] for q in result["questions"]} == set(answers)
    keys = {"points", "max_points", "correct", "feedback"}
    assert all(keys <= set(q) for q in result["questions"])
    repeat = ha.post("/api/my/attempts/submit", json={"attempt_id": key, "responses": {}})
    assert repeat.status_code == 200 and repeat.json() == result

    [exercise] = my_course(ha)["exercises"]
    assert exercise["attempts"] == 1
    # my courses shows percents rounded to 4 places
    assert exercise["score"] == pytest.approx(100 * result["score"] / result["max_score"], abs=1e-4)


def test_another_learner_cannot_touch_an_attempt(ha: httpx.Client, nam: httpx.Client) -> None:
    key = start(ha).json()["attempt_id"]
    r = nam.post("/api/my/attempts/save", json={"attempt_id": key, "seq": 1, "responses": {}})
    assert r.status_code == 404
    r = nam.post("/api/my/attempts/submit", json={"attempt_id": key, "responses": {}})
    assert r.status_code == 404
    assert start(nam, key).status_code == 409  # the id is taken; nothing of it is shown
    # still untouched, and still the first learner's to submit
    assert my_course(nam)["exercises"][0]["attempts"] == 0
    r = ha.post("/api/my/attempts/submit", json={"attempt_id": key, "responses": {}})
    assert r.status_code == 200
    assert r.json()["attempt_id"] == key


def test_csrf_and_sign_in_are_required(base: str, ha: httpx.Client) -> None:
    key = start(ha).json()["attempt_id"]
    body = {"attempt_id": key, "responses": {}}
    token = ha.headers.pop("X-CSRF-Token")
    assert ha.post("/api/my/attempts/submit", json=body).status_code == 403
    assert start(ha).status_code == 403
    ha.headers["X-CSRF-Token"] = "wrong"
    r = ha.post("/api/my/lessons/viewed", json={"course": COURSE, "lesson": "x"})
    assert r.status_code == 403
    ha.headers["X-CSRF-Token"] = token
    with httpx.Client(base_url=base) as anonymous:
        assert anonymous.get("/api/my/courses").status_code == 401
        assert anonymous.post("/api/my/attempts/submit", json=body).status_code == 401
        assert start(anonymous).status_code == 401


def test_csrf_token_is_derived_from_the_cookie_and_stored_tokens_still_work(
    base: str, engine: Engine, ha: httpx.Client
) -> None:
    cookie = ha.cookies.get("lms_session")
    assert cookie and ha.headers["X-CSRF-Token"] == auth.csrf_token_for(cookie)
    # a session from before derived tokens keeps its stored random token
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    with session_factory(engine).begin() as s:
        s.execute(
            update(WebSession)
            .where(WebSession.token_hash == digest)
            .values(csrf_token="stored-random-token")
        )
    ha.headers["X-CSRF-Token"] = "stored-random-token"
    assert start(ha).status_code == 200
    assert ha.get("/api/me").json()["csrf_token"] == "stored-random-token"
    ha.headers["X-CSRF-Token"] = "wrong"
    assert start(ha).status_code == 403
    # a made-up cookie sent with the token derived from it is still no session
    with httpx.Client(base_url=base) as forger:
        forger.cookies.set("lms_session", "made-up")
        forger.headers["X-CSRF-Token"] = auth.csrf_token_for("made-up")
        assert start(forger).status_code == 401
        body = {"attempt_id": "x", "seq": 1, "responses": {}}
        assert forger.post("/api/my/attempts/save", json=body).status_code == 401
        body = {"attempt_id": "x", "responses": {}}
        assert forger.post("/api/my/attempts/submit", json=body).status_code == 401
        body = {"course": COURSE, "lesson": "x"}
        assert forger.post("/api/my/lessons/viewed", json=body).status_code == 401
        assert forger.post("/api/my/sync", json={"items": []}).status_code == 401
        assert forger.get("/api/my/courses").status_code == 401


def test_run_signed_in_reads_the_session_and_touches_it_when_due(
    engine: Engine, ha: httpx.Client
) -> None:
    db = Db(engine)
    with pytest.raises(HttpError) as refused:
        db.run_signed_in("made-up", lambda s, user: user.staff_code)
    assert refused.value.status == 401
    cookie = ha.cookies.get("lms_session")
    assert cookie
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    old = utcnow() - auth.LAST_SEEN_RESOLUTION - dt.timedelta(minutes=1)
    with session_factory(engine).begin() as s:
        s.execute(
            update(WebSession).where(WebSession.token_hash == digest).values(last_seen_at=old)
        )
    assert db.run_signed_in(cookie, lambda s, user: user.staff_code) == "NB001"
    with session_factory(engine)() as s:
        seen = s.scalar(select(WebSession.last_seen_at).where(WebSession.token_hash == digest))
    assert seen is not None and seen > old


def test_requests_are_validated(ha: httpx.Client) -> None:
    r = ha.post(
        "/api/my/attempts/start",
        json={"course": COURSE, "exercise": FINAL, "attempt_id": str(uuid.uuid4()), "seed": 1},
    )
    assert r.status_code == 422 and "seed" in r.json()["error"]
    r = ha.post(
        "/api/my/attempts/start", json={"course": COURSE, "exercise": FINAL, "attempt_id": "a b"}
    )
    assert r.status_code == 422
    r = ha.post("/api/my/attempts/save", json={"attempt_id": "x", "seq": 0, "responses": {}})
    assert r.status_code == 422
    r = ha.post(
        "/api/my/attempts/save",
        content=b'{"attempt_id": "x", "seq": 1, "responses": {"q": "' + b"a" * 1100000 + b'"}}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413


def test_viewing_every_lesson_and_passing_completes_the_course(
    ha: httpx.Client, engine: Engine
) -> None:
    required = my_course(ha)["required_lessons"]
    for lesson in required:
        r = ha.post("/api/my/lessons/viewed", json={"course": COURSE, "lesson": lesson})
        assert r.json() == {"completed": False}
    key = start(ha).json()["attempt_id"]
    answers = full_marks(engine, key)
    r = ha.post("/api/my/attempts/submit", json={"attempt_id": key, "responses": answers})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["passed"] is True and result["score"] == result["max_score"]
    assert result["course_completed"] is True
    course = my_course(ha)
    assert course["completed"] is True and course["status"] == "completed"
    assert course["completed_at"] is not None
    assert course["exercises"][0]["passed"] is True
    assert set(course["lessons_viewed"]) == set(required)
    # a completed course can still be read; no new attempt can start
    r = ha.post("/api/my/lessons/viewed", json={"course": COURSE, "lesson": required[0]})
    assert r.json() == {"completed": True}
    assert start(ha).status_code == 409

"""Attempts: idempotent start, autosave order, exactly-once submit, deadlines, completion.

Every test runs on SQLite and PostgreSQL (see conftest); the concurrent-submit
test commits for real and races eight sessions behind a barrier.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from lms_core.config import Project
from lms_core.courses import check_courses
from lms_core.db import session_factory
from lms_core.errors import LmsError, NotFoundError
from lms_core.hookspecs import hookimpl
from lms_core.models import Attempt, Completion, Enrolment, Event, Person, Response, utcnow
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.services.attempts import (
    MAX_ANSWER_BYTES,
    AttemptError,
    StartedAttempt,
    evaluate_completion,
    exercise_score,
    finish_overdue,
    record_lesson_viewed,
    save_responses,
    saved_answers,
    start_attempt,
    submit_attempt,
)
from lms_core.services.courses import publish
from lms_core.services.enrolment import enrol
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff_file
from lms_quiz.view import practice_key

T = TypeVar("T")
TYPES = exercise_types(make_plugin_manager())
REPO_COURSES = Path(__file__).resolve().parents[1] / "courses"
COURSE = "chi-thi-28-ke-hoach-tinh"
FINAL = "kiem-tra-cuoi"
STAFF = (
    "staff_code,full_name,org_code,position\n"
    "NB001,Nguyễn Thị Thu Hà,13285,Giáo viên tiểu học\n"
    "NB002,Trần Văn Nam,13285,Giáo viên tiểu học\n"
)


@dataclass
class Setup:
    enrolment_id: int
    other_enrolment_id: int
    snapshot: dict[str, Any]

    def exercise(self, exercise_id: str = FINAL) -> Any:
        entry = next(e for e in self.snapshot["exercises"] if e["id"] == exercise_id)
        return TYPES[entry["kind"]].model.model_validate(entry["data"])

    def lessons(self) -> list[str]:
        return [lesson["slug"] for lesson in self.snapshot["lessons"]]


def setup_course(session: Session, project: Project, *, fence_extra: str = "") -> Setup:
    load_builtin_tree(session)
    staff = project.root / "staff.csv"
    staff.write_text(STAFF, encoding="utf-8")
    import_staff_file(session, str(staff))
    courses = project.courses_dir
    courses.mkdir(parents=True, exist_ok=True)
    for slug in ("phong-chong-xam-hai", COURSE):
        shutil.copytree(REPO_COURSES / slug, courses / slug, dirs_exist_ok=True)
    if fence_extra:
        final = courses / COURSE / "05-kiem-tra.md"
        text = final.read_text(encoding="utf-8")
        assert "grading=highest" in text
        final.write_text(text.replace("grading=highest", fence_extra, 1), encoding="utf-8")
    loaded, problems = check_courses(courses, types=TYPES)
    assert not [p for p in problems if p.severity == "error"], problems
    for course in loaded:
        publish(session, course)
    report = enrol(session, course=COURSE, staff_codes=["NB001", "NB002"])
    assert report.enrolled_count == 2
    ids = dict(
        session.execute(
            select(Person.staff_code, Enrolment.id).join(Person, Enrolment.person_id == Person.id)
        )
        .tuples()
        .all()
    )
    version_id = session.get_one(Enrolment, ids["NB001"]).course_version_id
    from lms_core.models import CourseVersion

    snapshot = session.get_one(CourseVersion, version_id).snapshot
    return Setup(ids["NB001"], ids["NB002"], snapshot)


def new_uuid() -> str:
    return str(uuid.uuid4())


def full_marks(setup: Setup, seed: int, exercise_id: str = FINAL) -> dict[str, Any]:
    return dict(practice_key(setup.exercise(exercise_id), seed=seed)["answers"])


def all_wrong(setup: Setup, seed: int) -> dict[str, Any]:
    return {qid: "no such option" for qid in full_marks(setup, seed)}


def start_final(session: Session, s: Any) -> StartedAttempt:
    """A new attempt at the course's final quiz."""
    return start_attempt(
        session,
        enrolment_id=s.enrolment_id,
        exercise_id=FINAL,
        attempt_uuid=new_uuid(),
        types=TYPES,
    )


def test_owner_only_and_objects_the_caller_holds_are_refreshed(
    session: Session, project: Project
) -> None:
    s = setup_course(session, project)
    enrolment = session.get_one(Enrolment, s.enrolment_id)  # loaded before the start
    assert enrolment.status == "enrolled"
    started = start_final(session, s)
    assert enrolment.status == "in_progress" and enrolment.started_at is not None
    attempt = session.scalars(select(Attempt).where(Attempt.uuid == started.uuid)).one()
    assert attempt.id == started.id and attempt.save_seq == 0
    owner = enrolment.person_id
    other = session.get_one(Enrolment, s.other_enrolment_id).person_id
    key = started.uuid
    with pytest.raises(NotFoundError, match="no attempt"):
        save_responses(session, attempt_uuid=key, seq=1, responses={}, person_id=other)
    assert save_responses(session, attempt_uuid=key, seq=1, responses={}, person_id=owner) == 1
    assert attempt.save_seq == 1
    with pytest.raises(NotFoundError, match="no attempt"):
        submit_attempt(session, attempt_uuid=key, types=TYPES, person_id=other)
    assert attempt.state == "in_progress"
    result = submit_attempt(session, attempt_uuid=key, types=TYPES, person_id=owner)
    assert attempt.state == "graded" and attempt.score == result.score
    assert result.newly_graded and result.course_completed is False
    again = submit_attempt(session, attempt_uuid=key, types=TYPES, person_id=owner)
    assert again == result and again.course_completed is None  # not looked up again


def test_answers_of_any_json_shape_are_stored_exactly_with_their_marks(
    session: Session, project: Project
) -> None:
    s = setup_course(session, project)
    started = start_final(session, s)
    assert started.id is not None
    odd: dict[str, Any] = {
        "q-null": None,
        "q-list": ["a", 1, 2.5, True, None, {"k": "Việt Nam"}],
        "q-text": 'quote " backslash \\ tab \t ✓ 𝄞',
        "q-zero": 0,
        "q-false": False,
    }
    right = full_marks(s, started.seed)
    save_responses(session, attempt_uuid=started.uuid, seq=1, responses={**right, **odd})
    assert saved_answers(session, started.id) == {**right, **odd}
    result = submit_attempt(
        session, attempt_uuid=started.uuid, responses={"q-late": "x"}, types=TYPES
    )
    assert result.passed
    rows = session.execute(
        select(Response.question_id, Response.answer, Response.points, Response.correct).where(
            Response.attempt_id == started.id
        )
    ).all()
    assert {r.question_id: r.answer for r in rows} == {**right, **odd, "q-late": "x"}
    marks = {q["id"]: q for q in result.result["questions"]}
    assert set(right) <= set(marks)
    for row in rows:
        mark = marks.get(row.question_id)
        if mark is None:
            assert row.points is None and row.correct is None
        else:
            assert row.points == mark["points"] and row.correct == mark["correct"]


def test_answer_limits_are_per_answer_and_name_the_question(
    session: Session, project: Project
) -> None:
    s = setup_course(session, project)
    key = start_final(session, s).uuid
    # many answers adding up to far more than one answer's limit are fine
    big: dict[str, object] = {f"q{i}": "x" * (MAX_ANSWER_BYTES // 2) for i in range(8)}
    assert save_responses(session, attempt_uuid=key, seq=1, responses=big) == 1
    assert saved_answers(session, session.scalars(select(Attempt.id)).one()) == big
    with pytest.raises(LmsError, match="answer to 'q-long' is too long"):
        save_responses(
            session,
            attempt_uuid=key,
            seq=2,
            responses={"a": 1, "q-long": "ư" * MAX_ANSWER_BYTES},  # 3 bytes a letter
        )
    bad: object
    for bad in (float("nan"), float("inf"), {"set": {1, 2}}, b"bytes"):
        with pytest.raises(LmsError, match="answer to 'q-bad' is not plain JSON"):
            save_responses(session, attempt_uuid=key, seq=2, responses={"ok": "x", "q-bad": bad})
    with pytest.raises(LmsError, match="question id"):
        save_responses(session, attempt_uuid=key, seq=2, responses={"": "x"})


def test_start_is_idempotent_and_marks_enrolment_started(
    session: Session, project: Project
) -> None:
    s = setup_course(session, project)
    key = new_uuid()
    first = start_attempt(
        session, enrolment_id=s.enrolment_id, exercise_id=FINAL, attempt_uuid=key, types=TYPES
    )
    again = start_attempt(
        session, enrolment_id=s.enrolment_id, exercise_id=FINAL, attempt_uuid=key, types=TYPES
    )
    assert first.created and not again.created
    assert first == again and 0 <= first.seed < 2**63
    assert session.scalar(select(func.count()).select_from(Attempt)) == 1
    enrolment = session.get_one(Enrolment, s.enrolment_id)
    assert enrolment.status == "in_progress" and enrolment.started_at is not None
    # a second tab with a new uuid resumes the attempt in progress
    other_tab = start_final(session, s)
    assert other_tab.uuid == key and not other_tab.created
    # the same uuid for another enrolment is refused
    with pytest.raises(AttemptError, match="already used"):
        start_attempt(
            session,
            enrolment_id=s.other_enrolment_id,
            exercise_id=FINAL,
            attempt_uuid=key,
            types=TYPES,
        )
    with pytest.raises(NotFoundError, match="not in the course version"):
        start_attempt(
            session,
            enrolment_id=s.enrolment_id,
            exercise_id="khong-co",
            attempt_uuid=new_uuid(),
            types=TYPES,
        )
    # idempotent even after submit
    submit_attempt(session, attempt_uuid=key, types=TYPES)
    after = start_attempt(
        session, enrolment_id=s.enrolment_id, exercise_id=FINAL, attempt_uuid=key, types=TYPES
    )
    assert after.uuid == key and after.state == "graded"


def test_public_view_has_no_answers(session: Session, project: Project) -> None:
    s = setup_course(session, project)
    started = start_final(session, s)
    text = str(started.view)
    assert "correct" not in text.replace("correct_", "")
    quiz = s.exercise()
    for question in quiz.questions():
        for option in getattr(question, "options", []) or []:
            for line in option.feedback if isinstance(option.feedback, list) else [option.feedback]:
                if line:
                    assert str(line) not in text
        if getattr(question, "feedback", ""):
            assert question.feedback not in text


def test_refused_for_withdrawn_and_completed(session: Session, project: Project) -> None:
    s = setup_course(session, project)
    enrolment = session.get_one(Enrolment, s.enrolment_id)
    for status in ("withdrawn", "completed"):
        enrolment.status = status
        session.flush()
        with pytest.raises(AttemptError, match=status):
            start_final(session, s)


def test_autosave_sequence(session: Session, project: Project) -> None:
    s = setup_course(session, project)
    started = start_final(session, s)
    answers = full_marks(s, started.seed)
    first_q, second_q = list(answers)[:2]
    assert save_responses(session, attempt_uuid=started.uuid, seq=1, responses={first_q: "x"}) == 1
    save_responses(session, attempt_uuid=started.uuid, seq=3, responses={first_q: answers[first_q]})
    with pytest.raises(AttemptError, match="a newer save exists"):
        save_responses(session, attempt_uuid=started.uuid, seq=2, responses={first_q: "old"})
    with pytest.raises(AttemptError, match="a newer save exists"):
        save_responses(session, attempt_uuid=started.uuid, seq=3, responses={first_q: "old"})
    save_responses(
        session, attempt_uuid=started.uuid, seq=4, responses={second_q: answers[second_q]}
    )
    rows = {r.question_id: r.answer for r in session.scalars(select(Response))}
    assert rows == {first_q: answers[first_q], second_q: answers[second_q]}
    with pytest.raises(LmsError):
        save_responses(session, attempt_uuid=started.uuid, seq=5, responses={"": 1})
    with pytest.raises(NotFoundError):
        save_responses(session, attempt_uuid="nope", seq=9, responses={})
    submit_attempt(session, attempt_uuid=started.uuid, types=TYPES)
    with pytest.raises(AttemptError, match="already been submitted"):
        save_responses(session, attempt_uuid=started.uuid, seq=6, responses={first_q: "x"})


def test_submit_grades_pinned_version_once(session: Session, project: Project) -> None:
    s = setup_course(session, project)
    started = start_final(session, s)
    answers = full_marks(s, started.seed)
    first_q = next(iter(answers))
    save_responses(session, attempt_uuid=started.uuid, seq=1, responses={first_q: "sai"})
    result = submit_attempt(session, attempt_uuid=started.uuid, responses=answers, types=TYPES)
    assert result.newly_graded and result.passed and result.percent == pytest.approx(100)
    assert result.state == "graded" and not result.late
    again = submit_attempt(
        session, attempt_uuid=started.uuid, responses=all_wrong(s, started.seed), types=TYPES
    )
    assert again == result and not again.newly_graded
    rows = session.scalars(select(Response)).all()
    assert {r.question_id for r in rows} == set(answers)
    assert all(r.correct and r.points for r in rows)
    events = session.scalars(select(Event).where(Event.verb == "attempt.submitted")).all()
    assert len(events) == 1
    data = events[0].data
    assert set(data) == {
        "enrolment_id",
        "course_version_id",
        "exercise_id",
        "score",
        "max_score",
        "passed",
        "late",
    }
    assert "Nguyễn" not in str(data) and "NB001" not in str(data)


def test_wrong_shape_scores_zero(session: Session, project: Project) -> None:
    s = setup_course(session, project)
    started = start_final(session, s)
    garbage: dict[str, object] = {
        qid: value
        for qid, value in zip(
            full_marks(s, started.seed),
            [{"a": [1, 2]}, None, 12345678901234567890, [[["x"]]], True, "", 1.5, {}],
            strict=False,
        )
    }
    garbage["khong-co-cau-nay"] = "x"
    result = submit_attempt(session, attempt_uuid=started.uuid, responses=garbage, types=TYPES)
    assert result.score == 0 and not result.passed and result.max_score > 0


def test_time_limit(session: Session, project: Project) -> None:
    s = setup_course(session, project, fence_extra="grading=highest time=10")
    t0 = utcnow()
    started = start_attempt(
        session,
        enrolment_id=s.enrolment_id,
        exercise_id=FINAL,
        attempt_uuid=new_uuid(),
        types=TYPES,
        now=t0,
    )
    assert started.deadline_at == t0 + dt.timedelta(minutes=10)
    answers = full_marks(s, started.seed)
    half = dict(list(answers.items())[: len(answers) // 2])
    save_responses(session, attempt_uuid=started.uuid, seq=1, responses=half, now=t0)
    late = t0 + dt.timedelta(minutes=20)
    with pytest.raises(AttemptError, match="time limit"):
        save_responses(session, attempt_uuid=started.uuid, seq=2, responses=answers, now=late)
    result = submit_attempt(
        session, attempt_uuid=started.uuid, responses=answers, types=TYPES, now=late
    )
    assert result.late and not result.passed
    assert 0 < result.percent < 100  # only the saved half counted

    # an overdue attempt is finished by finish_overdue from its saved answers
    other = start_attempt(
        session,
        enrolment_id=s.other_enrolment_id,
        exercise_id=FINAL,
        attempt_uuid=new_uuid(),
        types=TYPES,
        now=t0,
    )
    save_responses(
        session, attempt_uuid=other.uuid, seq=1, responses=full_marks(s, other.seed), now=t0
    )
    assert finish_overdue(session, types=TYPES, now=t0 + dt.timedelta(minutes=5)) == 0
    assert finish_overdue(session, types=TYPES, now=late) == 1
    assert finish_overdue(session, types=TYPES, now=late) == 0
    graded = session.scalars(select(Attempt).where(Attempt.uuid == other.uuid)).one()
    assert graded.state == "graded" and graded.passed


def test_max_attempts_and_grading_methods(session: Session, project: Project) -> None:
    s = setup_course(session, project)  # attempts=3
    percents = []
    for make in (all_wrong, full_marks, "half"):
        started = start_attempt(
            session,
            enrolment_id=s.other_enrolment_id,
            exercise_id=FINAL,
            attempt_uuid=new_uuid(),
            types=TYPES,
        )
        if make == "half":
            answers = full_marks(s, started.seed)
            responses = dict(list(answers.items())[: len(answers) // 2])
        else:
            assert callable(make)
            responses = make(s, started.seed)
        percents.append(
            submit_attempt(
                session, attempt_uuid=started.uuid, responses=responses, types=TYPES
            ).percent
        )
    assert percents[0] == 0 and percents[1] == pytest.approx(100) and 0 < percents[2] < 100
    with pytest.raises(AttemptError, match="all 3 attempts"):
        start_attempt(
            session,
            enrolment_id=s.other_enrolment_id,
            exercise_id=FINAL,
            attempt_uuid=new_uuid(),
            types=TYPES,
        )

    def score(method: str) -> float | None:
        return exercise_score(
            session, enrolment_id=s.other_enrolment_id, exercise_id=FINAL, method=method
        )

    assert score("highest") == pytest.approx(100)
    assert score("first") == 0
    assert score("last") == pytest.approx(percents[2])
    assert score("average") == pytest.approx(sum(percents) / 3)
    assert (
        exercise_score(session, enrolment_id=s.enrolment_id, exercise_id=FINAL, method="last")
        is None
    )
    with pytest.raises(LmsError, match="unknown grading method"):
        score("best")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[int] = []

    @hookimpl
    def lms_completion_recorded(self, session: Session, completion: Completion) -> None:
        assert session.get(Completion, completion.id) is completion
        self.calls.append(completion.enrolment_id)


def test_lessons_and_completion_rule_all(session: Session, project: Project) -> None:
    s = setup_course(session, project)
    recorder = Recorder()
    pm = make_plugin_manager(load_entry_points=True, plugins=[recorder])
    lessons = s.lessons()
    assert len(lessons) == 5
    assert record_lesson_viewed(session, enrolment_id=s.enrolment_id, lesson_slug=lessons[0], pm=pm)
    assert not record_lesson_viewed(
        session, enrolment_id=s.enrolment_id, lesson_slug=lessons[0], pm=pm
    )
    with pytest.raises(NotFoundError):
        record_lesson_viewed(session, enrolment_id=s.enrolment_id, lesson_slug="khong-co")
    started = start_final(session, s)
    result = submit_attempt(
        session,
        attempt_uuid=started.uuid,
        responses=full_marks(s, started.seed),
        types=TYPES,
        pm=pm,
    )
    assert result.passed
    assert session.scalar(select(func.count()).select_from(Completion)) == 0  # lessons unread
    for lesson in lessons[1:]:
        record_lesson_viewed(session, enrolment_id=s.enrolment_id, lesson_slug=lesson, pm=pm)
    completions = session.scalars(select(Completion)).all()
    assert len(completions) == 1 and recorder.calls == [s.enrolment_id]
    assert completions[0].score == pytest.approx(100)
    assert completions[0].rule["rule"] == "all"
    assert session.get_one(Enrolment, s.enrolment_id).status == "completed"
    assert evaluate_completion(session, enrolment_id=s.enrolment_id, pm=pm) is None
    assert recorder.calls == [s.enrolment_id]
    events = session.scalars(select(Event).where(Event.verb == "lesson.viewed")).all()
    assert len(events) == 5
    assert (
        session.scalar(
            select(func.count()).select_from(Event).where(Event.verb == "course.completed")
        )
        == 1
    )


def at_once(count: int, work: Callable[[], T]) -> tuple[list[T], list[BaseException]]:
    """Run ``work`` in ``count`` threads released together; their results and errors."""
    barrier = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            result = work()
            with lock:
                results.append(result)
        except BaseException as exc:  # collected for the test to assert
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def final_started_after_lessons(session: Session, project: Project) -> tuple[Setup, StartedAttempt]:
    """The course with every lesson read and the final quiz started: one submit completes it."""
    s = setup_course(session, project)
    for lesson in s.lessons():
        record_lesson_viewed(session, enrolment_id=s.enrolment_id, lesson_slug=lesson)
    return s, start_final(session, s)


def test_eight_concurrent_submits(engine: Engine, project: Project) -> None:
    factory = session_factory(engine)
    with factory.begin() as session:
        s, started = final_started_after_lessons(session, project)
        answers = full_marks(s, started.seed)
    recorder = Recorder()
    pm = make_plugin_manager(load_entry_points=True, plugins=[recorder])

    def work() -> Any:
        with factory.begin() as session:
            return submit_attempt(
                session, attempt_uuid=started.uuid, responses=answers, types=TYPES, pm=pm
            )

    results, errors = at_once(8, work)
    assert not errors, errors
    assert not any(isinstance(e, OperationalError) for e in errors)
    assert len(results) == 8
    assert sum(r.newly_graded for r in results) == 1
    assert all(r == results[0] for r in results)
    assert results[0].passed
    with factory.begin() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Event).where(Event.verb == "attempt.submitted")
            )
            == 1
        )
        assert session.scalar(select(func.count()).select_from(Completion)) == 1
        attempt = session.scalars(select(Attempt)).one()
        assert attempt.state == "graded"
    assert recorder.calls == [s.enrolment_id]


def test_eight_concurrent_completion_checks_record_one_completion(
    engine: Engine, project: Project
) -> None:
    """Each check reads the completion in its locking statement; on PostgreSQL a check
    that waited for the lock reads it as it was before the wait, and the completion's
    unique enrolment must turn that into "already recorded", not an error."""
    factory = session_factory(engine)
    with factory.begin() as session:
        s, started = final_started_after_lessons(session, project)
        submit_attempt(
            session, attempt_uuid=started.uuid, responses=full_marks(s, started.seed), types=TYPES
        )
        # the rule is met and recorded; take the record back, so that it is due again
        session.execute(delete(Completion))
        session.get_one(Enrolment, s.enrolment_id).status = "in_progress"
    recorder = Recorder()
    pm = make_plugin_manager(load_entry_points=True, plugins=[recorder])

    def work() -> Completion | None:
        with factory.begin() as session:
            return evaluate_completion(session, enrolment_id=s.enrolment_id, pm=pm)

    found, errors = at_once(8, work)
    assert not errors, errors
    assert len(found) == 8
    assert sum(c is not None for c in found) == 1
    assert recorder.calls == [s.enrolment_id]
    with factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Completion)) == 1
        assert session.get_one(Enrolment, s.enrolment_id).status == "completed"

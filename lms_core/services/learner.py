"""What a signed-in learner may see and do about their own enrolments.

The HTTP layer knows only the signed-in account; these functions turn it into
the person and refuse anything that is not theirs.  Someone else's enrolment
or attempt is reported exactly like one that does not exist
(:class:`NotFoundError`), so ids cannot be probed.  The attempt rules
themselves live in :mod:`lms_core.services.attempts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from lms_core.errors import NotFoundError
from lms_core.exercises import Exercise, ExerciseType
from lms_core.models import (
    Account,
    Attempt,
    Completion,
    Course,
    CourseVersion,
    Enrolment,
    Event,
)
from lms_core.services.attempts import (
    _COMPLETION_ID,
    StartedAttempt,
    _exercise,
    _snapshot,
    exercise_score,
    saved_answers,
)

__all__ = [
    "AttemptForm",
    "MyCourse",
    "MyExercise",
    "attempt_form",
    "is_completed",
    "my_courses",
    "own_attempt",
    "own_enrolment",
    "own_enrolment_id",
    "person_of_account",
    "started_form",
]

ACTIVE = ("enrolled", "in_progress")


@dataclass(frozen=True, slots=True)
class MyExercise:
    """A graded exercise of an enrolment, scored by its own grading method."""

    id: str
    title: str
    grading: str
    pass_mark: float
    max_attempts: int
    attempts: int
    """Graded attempts so far."""
    score: float | None
    """Percent by ``grading`` over graded attempts; None before the first."""
    passed: bool


@dataclass(frozen=True, slots=True)
class MyCourse:
    """One of the learner's enrolments as the learner sees it."""

    course: str
    title: str
    version: int
    version_hash: str
    """The pinned version's content hash; a built page says which version it shows."""
    status: str
    due_on: dt.date | None
    enrolled_at: dt.datetime
    required_lessons: list[str]
    lessons_viewed: list[str]
    exercises: list[MyExercise]
    completed: bool
    completed_at: dt.datetime | None


def person_of_account(session: Session, account_id: int) -> int:
    """The person an account belongs to."""
    person_id = session.scalar(select(Account.person_id).where(Account.id == account_id))
    if person_id is None:
        raise NotFoundError("no such account")
    return person_id


# Built once: the learner server runs these on every request (see
# lms_core.services.attempts for the measured reason).
_OWN_ENROLMENTS = (
    select(Enrolment.id, Enrolment.status)
    .join(Course, Enrolment.course_id == Course.id)
    .where(
        Enrolment.person_id == bindparam("person_id"),
        Course.slug == bindparam("course"),
        Enrolment.status != "withdrawn",
    )
    .order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc())
)
_OWN_ATTEMPT = (
    select(Attempt)
    .join(Enrolment, Attempt.enrolment_id == Enrolment.id)
    .where(Attempt.uuid == bindparam("uuid"), Enrolment.person_id == bindparam("person_id"))
)


def own_enrolment_id(session: Session, *, person_id: int, course: str) -> int:
    """The id of the person's enrolment in ``course`` (a slug): the active one, else the
    latest completed.

    Withdrawn enrolments, and courses the person is not enrolled in, are not
    found.  Plain rows through the connection: the learner server asks this on
    every start and lesson view.
    """
    session.flush()
    rows = (
        session.connection()
        .execute(_OWN_ENROLMENTS, {"person_id": person_id, "course": course})
        .tuples()
        .all()
    )
    for enrolment_id, status in rows:
        if status in ACTIVE:
            return enrolment_id
    if rows:
        return rows[0][0]
    raise NotFoundError(f"you are not enrolled in course '{course}'")


def own_enrolment(session: Session, *, person_id: int, course: str) -> Enrolment:
    """The person's enrolment in ``course``, as :func:`own_enrolment_id` finds it."""
    return session.get_one(Enrolment, own_enrolment_id(session, person_id=person_id, course=course))


def own_attempt(session: Session, *, person_id: int, attempt_uuid: str) -> Attempt:
    """The attempt, if it belongs to one of the person's enrolments; else not found."""
    attempt = session.scalar(_OWN_ATTEMPT, {"uuid": attempt_uuid, "person_id": person_id})
    if attempt is None:
        raise NotFoundError(f"no attempt {attempt_uuid}")
    return attempt


def is_completed(session: Session, enrolment_id: int) -> bool:
    """Whether the enrolment's course completion is recorded."""
    session.flush()  # a completion pending in this session counts
    found = session.connection().scalar(_COMPLETION_ID, {"enrolment_id": enrolment_id})
    return found is not None


def _viewed(session: Session, enrolment_id: int) -> list[str]:
    data = session.scalars(
        select(Event.data).where(
            Event.object_type == "enrolment",
            Event.object_id == str(enrolment_id),
            Event.verb == "lesson.viewed",
        )
    )
    return sorted({str(d.get("lesson")) for d in data if isinstance(d, dict)})


def _graded_count(session: Session, enrolment_id: int, exercise_id: str) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(
            Attempt.enrolment_id == enrolment_id,
            Attempt.exercise_id == exercise_id,
            Attempt.state == "graded",
        )
    )
    return int(count or 0)


def _exercises(session: Session, enrolment_id: int, snapshot: dict[str, Any]) -> list[MyExercise]:
    out = []
    for entry in snapshot.get("exercises") or []:
        data = entry.get("data") or {}
        if not data.get("graded"):
            continue
        method = str(data.get("grading", "highest"))
        pass_mark = float(data.get("pass_mark", 80.0))
        score = exercise_score(
            session, enrolment_id=enrolment_id, exercise_id=entry["id"], method=method
        )
        out.append(
            MyExercise(
                id=entry["id"],
                title=str(data.get("title") or entry["id"]),
                grading=method,
                pass_mark=pass_mark,
                max_attempts=int(data.get("max_attempts") or 0),
                attempts=_graded_count(session, enrolment_id, entry["id"]),
                score=None if score is None else round(score, 4),
                passed=score is not None and score + 1e-9 >= pass_mark,
            )
        )
    return out


def my_courses(session: Session, *, person_id: int) -> list[MyCourse]:
    """The person's enrolments (withdrawn ones left out), most recent first."""
    rows = session.execute(
        select(Enrolment, Course, CourseVersion)
        .join(Course, Enrolment.course_id == Course.id)
        .join(CourseVersion, Enrolment.course_version_id == CourseVersion.id)
        .where(Enrolment.person_id == person_id, Enrolment.status != "withdrawn")
        .order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc())
    ).tuples()
    out = []
    for enrolment, course, version in rows:
        snapshot = version.snapshot
        completed_at = session.scalar(
            select(Completion.completed_at).where(Completion.enrolment_id == enrolment.id)
        )
        out.append(
            MyCourse(
                course=course.slug,
                title=str((snapshot.get("meta") or {}).get("title") or course.title),
                version=version.number,
                version_hash=version.content_hash,
                status=enrolment.status,
                due_on=enrolment.due_on,
                enrolled_at=enrolment.enrolled_at,
                required_lessons=[
                    lesson["slug"]
                    for lesson in snapshot.get("lessons") or []
                    if lesson.get("required")
                ],
                lessons_viewed=_viewed(session, enrolment.id),
                exercises=_exercises(session, enrolment.id, snapshot),
                completed=completed_at is not None,
                completed_at=completed_at,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class AttemptForm:
    """What a page needs to show an attempt: its own form and the answers saved so far."""

    exercise: Exercise
    kind: ExerciseType[Any]
    seed: int
    responses: dict[str, Any]

    def html(self, *, language: str) -> str:
        """The form, rendered by the exercise's plugin for the attempt's own seed.

        Pure: the server calls it after the transaction, so rendering never
        holds SQLite's write lock.
        """
        return self.kind.render(self.exercise, seed=self.seed, language=language)


def started_form(session: Session, started: StartedAttempt) -> AttemptForm:
    """The form of an attempt just returned by :func:`~lms_core.services.attempts.start_attempt`.

    A new attempt has no answers yet; a resumed one gets those saved so far.
    """
    assert started.exercise is not None and started.kind is not None and started.id is not None
    return AttemptForm(
        exercise=started.exercise,
        kind=started.kind,
        seed=started.seed,
        responses={} if started.created else saved_answers(session, started.id),
    )


def attempt_form(
    session: Session,
    *,
    attempt: Attempt,
    types: Mapping[str, ExerciseType[Any]],
) -> AttemptForm:
    """The attempt's exercise, seed and saved answers, to render its own form.

    The static page shows every learner the same order and question ids
    (seed 0); an attempt started on the server has its own seed, so the page
    swaps in this form.  A resumed attempt (second tab, reload) also gets
    the answers already autosaved, to put back in the form.
    """
    exercise, kind = _exercise(
        _snapshot(session, attempt.course_version_id), attempt.exercise_id, types
    )
    return AttemptForm(
        exercise=exercise,
        kind=kind,
        seed=attempt.seed,
        responses=saved_answers(session, attempt.id),  # pending answers are flushed first
    )

"""Attempts at exercises: start, autosave, submit exactly once, and completion.

The browser may double-click, open two tabs, lose the network and retry, or
replay an offline bundle; the server must still count every attempt exactly
once.  So:

* the client generates the attempt's UUID: starting or submitting again with
  it returns what the first call did;
* autosaves carry a sequence number; a save not newer than the stored one is
  refused (another tab, or a retry that arrived late);
* grading is a conditional ``UPDATE … WHERE state = 'in_progress'`` with a
  row-count check: one caller wins, every other caller gets the stored result;
* grading uses the course version the attempt is pinned to, never the latest;
* after the deadline, only what was saved in time counts.

Writers of one enrolment are serialised by a row lock on the enrolment
(PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers already), always
taken before the attempt's row, so the lock order is the same everywhere.
Events hold ids and scores only, never answers or names.  See
``docs/attempts.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pluggy
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms_core.errors import ConflictError, LmsError, NotFoundError
from lms_core.exercises import Exercise, ExerciseType, Grade
from lms_core.models import (
    Attempt,
    Completion,
    CourseVersion,
    Enrolment,
    Event,
    Response,
    utcnow,
)
from lms_core.services.events import record_event

__all__ = [
    "DEADLINE_GRACE",
    "GRADING_METHODS",
    "AttemptError",
    "StartedAttempt",
    "SubmitResult",
    "evaluate_completion",
    "exercise_score",
    "finish_overdue",
    "record_lesson_viewed",
    "save_responses",
    "start_attempt",
    "submit_attempt",
]

GRADING_METHODS = ("highest", "last", "first", "average")

DEADLINE_GRACE = dt.timedelta(seconds=30)
"""Saves and submits this long after the deadline still count (network latency)."""

MAX_RESPONSES = 500
"""Answers per save: far above any quiz's question count."""
MAX_ANSWER_BYTES = 16 * 1024
"""JSON size of one answer: typed answers are at most a few hundred characters."""

_EPSILON = 1e-9


class AttemptError(ConflictError):
    """The attempt cannot do what was asked in its current state."""


@dataclass(frozen=True, slots=True)
class StartedAttempt:
    """What the browser needs to show an attempt (no answers in ``view``)."""

    uuid: str
    exercise_id: str
    seed: int
    state: str
    started_at: dt.datetime
    deadline_at: dt.datetime | None
    save_seq: int
    view: dict[str, Any]
    created: bool = field(default=False, compare=False)
    """False when an existing attempt was returned (same UUID, or one in progress)."""


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The stored grade of an attempt; identical for every caller that submits it."""

    uuid: str
    state: str
    score: float
    max_score: float
    passed: bool
    submitted_at: dt.datetime
    late: bool
    """Submitted after the deadline (plus grace): only answers saved in time were graded."""
    result: dict[str, Any]
    newly_graded: bool = field(default=False, compare=False)
    """True for the one call that graded the attempt."""

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


# --------------------------------------------------------------------------- helpers


# The statements of the learner server's hot path, built once.  Building a
# statement and computing its cache key on every call was about a quarter of
# the server's CPU per start-save-save-submit (benchmarks/serve_load.py); a
# prebuilt statement with bound parameters keeps its cache key.
_LOCK_ENROLMENT = (
    select(Enrolment)
    .where(Enrolment.id == bindparam("enrolment_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_ATTEMPT = (
    select(Attempt)
    .where(Attempt.uuid == bindparam("uuid"))
    .execution_options(populate_existing=True)
)
_ATTEMPT_ENROLMENT = select(Attempt.enrolment_id).where(Attempt.uuid == bindparam("uuid"))
_VERSION_HASH = select(CourseVersion.content_hash).where(CourseVersion.id == bindparam("id"))
_SAVED = (
    select(Response)
    .where(Response.attempt_id == bindparam("attempt_id"))
    .execution_options(populate_existing=True)
)
_COMPLETION_ID = select(Completion.id).where(Completion.enrolment_id == bindparam("enrolment_id"))
_MOVE_SEQ = (
    update(Attempt)
    .where(
        Attempt.id == bindparam("attempt_id"),
        Attempt.state == "in_progress",
        Attempt.save_seq < bindparam("seq"),
    )
    .values(save_seq=bindparam("seq"))
    .execution_options(synchronize_session=False)
)
_GRADE = (
    update(Attempt)
    .where(Attempt.id == bindparam("attempt_id"), Attempt.state == "in_progress")
    .values(
        state="graded",
        submitted_at=bindparam("submitted_at"),
        score=bindparam("score"),
        max_score=bindparam("max_score"),
        passed=bindparam("passed"),
        result=bindparam("result", type_=Attempt.__table__.c.result.type),
    )
    .execution_options(synchronize_session=False)
)


def _lock_enrolment(session: Session, enrolment_id: int) -> Enrolment:
    """The enrolment, row-locked until the transaction ends (PostgreSQL), fresh from the DB."""
    enrolment = session.scalar(_LOCK_ENROLMENT, {"enrolment_id": enrolment_id})
    if enrolment is None:
        raise NotFoundError(f"no enrolment with id {enrolment_id}")
    return enrolment


def _attempt(session: Session, attempt_uuid: str) -> Attempt | None:
    return session.scalar(_ATTEMPT, {"uuid": attempt_uuid})


def _attempt_enrolment(session: Session, attempt_uuid: str) -> int:
    # plain columns through the connection: the ORM's statement path costs
    # more than the query, and nothing pending can change these rows
    enrolment_id = session.connection().scalar(_ATTEMPT_ENROLMENT, {"uuid": attempt_uuid})
    if enrolment_id is None:
        raise NotFoundError(f"no attempt {attempt_uuid}")
    return enrolment_id


_SNAPSHOTS: dict[str, dict[str, Any]] = {}
"""Course version snapshots by content hash: rows are never updated, so a
snapshot read once serves every later request of this process (the learner
server reads one per start, save and submit).  Keyed by content, not row id,
so one process may use several databases."""
_PARSED: dict[tuple[int, type[Any]], tuple[object, Exercise]] = {}
"""Validated exercises by (identity of the cached snapshot's data, model)."""
_CACHE_LIMIT = 256


def _snapshot(session: Session, version_id: int) -> dict[str, Any]:
    """The version's snapshot, treat it as read-only (it is shared)."""
    digest = session.connection().scalar(_VERSION_HASH, {"id": version_id})  # immutable row
    if digest is None:
        raise NotFoundError(f"no course version {version_id}")
    snapshot = _SNAPSHOTS.get(digest)
    if snapshot is None:
        snapshot = session.get_one(CourseVersion, version_id).snapshot
        if len(_SNAPSHOTS) >= _CACHE_LIMIT:
            _SNAPSHOTS.clear()
            _PARSED.clear()
        _SNAPSHOTS[digest] = snapshot
    return snapshot


def _validated(kind: ExerciseType[Any], data: Any) -> Exercise:
    """``kind.model.model_validate(data)``, once per cached snapshot's exercise."""
    key = (id(data), kind.model)
    hit = _PARSED.get(key)
    if hit is not None and hit[0] is data:
        return hit[1]
    exercise: Exercise = kind.model.model_validate(data)
    if len(_PARSED) >= 4 * _CACHE_LIMIT:
        _PARSED.clear()
    _PARSED[key] = (data, exercise)  # holding ``data`` keeps its id from being reused
    return exercise


def _exercise_entry(snapshot: Mapping[str, Any], exercise_id: str) -> dict[str, Any] | None:
    for entry in snapshot.get("exercises") or []:
        if entry["id"] == exercise_id:
            return cast(dict[str, Any], entry)
    return None


def _exercise(
    snapshot: Mapping[str, Any], exercise_id: str, types: Mapping[str, ExerciseType[Any]]
) -> tuple[Exercise, ExerciseType[Any]]:
    """The exercise as the pinned version defines it, with the plugin that grades it."""
    entry = _exercise_entry(snapshot, exercise_id)
    if entry is None:
        raise NotFoundError(
            f"exercise '{exercise_id}' is not in the course version this enrolment is pinned to"
        )
    kind = types.get(entry["kind"])
    if kind is None:
        raise LmsError(
            f"exercise '{exercise_id}' is of type '{entry['kind']}', which no installed "
            "plugin offers (install the plugin that provides it)"
        )
    return _validated(kind, entry["data"]), kind


def _on_time(attempt: Attempt, now: dt.datetime) -> bool:
    return attempt.deadline_at is None or now <= attempt.deadline_at + DEADLINE_GRACE


def _check_answers(responses: Mapping[str, object]) -> dict[str, object]:
    if not isinstance(responses, Mapping):
        raise LmsError("responses must be an object of question id -> answer")
    if len(responses) > MAX_RESPONSES:
        raise LmsError(f"too many answers in one save ({len(responses)}, at most {MAX_RESPONSES})")
    out: dict[str, object] = {}
    for qid, answer in responses.items():
        if not isinstance(qid, str) or not 1 <= len(qid) <= 64:
            raise LmsError("a question id must be a string of 1 to 64 characters")
        try:
            size = len(json.dumps(answer, ensure_ascii=False, allow_nan=False).encode("utf-8"))
        except (TypeError, ValueError):
            raise LmsError(f"the answer to '{qid}' is not plain JSON") from None
        if size > MAX_ANSWER_BYTES:
            raise LmsError(f"the answer to '{qid}' is too long ({size} bytes)")
        out[qid] = answer
    return out


def _saved(session: Session, attempt_id: int) -> dict[str, Response]:
    rows = session.scalars(_SAVED, {"attempt_id": attempt_id})
    return {row.question_id: row for row in rows}


def _upsert_answers(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (attempt_id, question_id) DO UPDATE SET answer``, built once."""
    found = _UPSERTS.get(dialect)
    if found is None:
        make_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = make_insert(Response)
        found = _UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=[Response.attempt_id, Response.question_id],
            set_={"answer": statement.excluded.answer},
        )
    return found


_UPSERTS: dict[str, Any] = {}
_MARK = (
    update(Response)
    .where(
        Response.attempt_id == bindparam("a_id"),
        Response.question_id == bindparam("q_id"),
    )
    .values(points=bindparam("mark_points"), correct=bindparam("mark_correct"))
    .execution_options(synchronize_session=False)
)


def _store_answers(session: Session, attempt_id: int, answers: Mapping[str, object]) -> None:
    """Insert or replace answers (the caller holds the attempt's row lock).

    One upsert statement for the whole batch: an autosave of 20 answers was
    20 ORM objects and as many statements, a sixth of the server's time per
    learner under load (benchmarks/serve_load.py).
    """
    if not answers:
        return
    session.flush()
    session.execute(
        _upsert_answers(session.get_bind().dialect.name),
        [
            {"attempt_id": attempt_id, "question_id": qid, "answer": answer}
            for qid, answer in answers.items()
        ],
    )


def _store_marks(
    session: Session, attempt_id: int, question_ids: Iterable[str], grade: Grade
) -> None:
    """Write each stored answer's points and correctness (None: the grade has no such question).

    One executemany UPDATE keyed by (attempt, question): loading the answers
    as ORM objects to set two columns cost more than grading them.
    """
    marks = {q.id: q for q in grade.questions}
    rows = []
    for qid in question_ids:
        mark = marks.get(qid)
        rows.append(
            {
                "a_id": attempt_id,
                "q_id": qid,
                "mark_points": mark.points if mark is not None else None,
                "mark_correct": mark.correct if mark is not None else None,
            }
        )
    if rows:
        session.connection().execute(_MARK, rows)  # Core executemany, not the ORM bulk path


def _stored_result(attempt: Attempt, *, newly: bool = False) -> SubmitResult:
    assert attempt.submitted_at is not None
    return SubmitResult(
        uuid=attempt.uuid,
        state=attempt.state,
        score=attempt.score or 0.0,
        max_score=attempt.max_score or 0.0,
        passed=bool(attempt.passed),
        submitted_at=attempt.submitted_at,
        late=attempt.deadline_at is not None
        and attempt.submitted_at > attempt.deadline_at + DEADLINE_GRACE,
        result=dict(attempt.result or {}),
        newly_graded=newly,
    )


def _started(
    attempt: Attempt,
    kind: ExerciseType[Any],
    exercise: Exercise,
    *,
    created: bool,
) -> StartedAttempt:
    return StartedAttempt(
        uuid=attempt.uuid,
        exercise_id=attempt.exercise_id,
        seed=attempt.seed,
        state=attempt.state,
        started_at=attempt.started_at,
        deadline_at=attempt.deadline_at,
        save_seq=attempt.save_seq,
        view=kind.public_view(exercise, seed=attempt.seed),
        created=created,
    )


# --------------------------------------------------------------------------- start


def start_attempt(
    session: Session,
    *,
    enrolment_id: int,
    exercise_id: str,
    attempt_uuid: str,
    types: Mapping[str, ExerciseType[Any]],
    source: str = "web",
    pm: pluggy.PluginManager | None = None,
    now: dt.datetime | None = None,
    seed: int | None = None,
) -> StartedAttempt:
    """Start an attempt, or return the one this call already started.

    * The same ``attempt_uuid`` always returns the same attempt, whatever its
      state (a retried request); used for another enrolment or exercise it is
      refused.
    * An attempt already in progress for this enrolment and exercise is
      returned (with its own UUID, which the client should adopt): a second
      tab resumes the attempt instead of failing.  If it is past its deadline
      it is graded first from its saved answers, and a new one is started.
    * Refused: a withdrawn or completed enrolment, an exercise not in the
      pinned version, and more than ``max_attempts`` finished attempts.
    * ``seed`` is random when None; an attempt answered offline on the static
      page is created with the page's fixed seed (0), so its public ids match.
    """
    now = now or utcnow()
    if not isinstance(attempt_uuid, str) or not 1 <= len(attempt_uuid) <= 36:
        raise LmsError("the attempt id must be a string of 1 to 36 characters (a UUID)")
    enrolment = _lock_enrolment(session, enrolment_id)
    existing = _attempt(session, attempt_uuid)
    if existing is not None:
        if existing.enrolment_id != enrolment_id or existing.exercise_id != exercise_id:
            raise AttemptError(f"attempt id {attempt_uuid} is already used for another attempt")
        exercise, kind = _exercise(
            _snapshot(session, existing.course_version_id), exercise_id, types
        )
        return _started(existing, kind, exercise, created=False)
    if enrolment.status in ("withdrawn", "completed"):
        raise AttemptError(f"the enrolment is {enrolment.status}; no new attempts can be started")
    snapshot = _snapshot(session, enrolment.course_version_id)
    exercise, kind = _exercise(snapshot, exercise_id, types)

    active = session.scalar(
        select(Attempt)
        .where(
            Attempt.enrolment_id == enrolment_id,
            Attempt.exercise_id == exercise_id,
            Attempt.state == "in_progress",
        )
        .execution_options(populate_existing=True)
    )
    if active is not None:
        if _on_time(active, now):
            active_ex, active_kind = _exercise(
                _snapshot(session, active.course_version_id), exercise_id, types
            )
            return _started(active, active_kind, active_ex, created=False)
        submit_attempt(session, attempt_uuid=active.uuid, types=types, pm=pm, now=now)

    if exercise.max_attempts:
        used = session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(
                Attempt.enrolment_id == enrolment_id,
                Attempt.exercise_id == exercise_id,
                Attempt.state.in_(("submitted", "graded")),
            )
        )
        if (used or 0) >= exercise.max_attempts:
            raise AttemptError(
                f"all {exercise.max_attempts} attempts at '{exercise_id}' have been used"
            )

    deadline = (
        now + dt.timedelta(minutes=exercise.time_limit_minutes)
        if exercise.time_limit_minutes
        else None
    )
    attempt = Attempt(
        uuid=attempt_uuid,
        enrolment_id=enrolment_id,
        course_version_id=enrolment.course_version_id,
        exercise_id=exercise_id,
        seed=secrets.randbits(63) if seed is None else seed,
        state="in_progress",
        save_seq=0,
        started_at=now,
        deadline_at=deadline,
        source=source[:16],
    )
    try:
        # The partial unique index is the last guard against a second attempt in
        # progress; a savepoint keeps the caller's transaction usable if it fires.
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        raise AttemptError(
            f"another attempt at '{exercise_id}' was started at the same time; retry"
        ) from None
    if enrolment.status == "enrolled":
        enrolment.status = "in_progress"
    if enrolment.started_at is None:
        enrolment.started_at = now
    session.flush()
    record_event(
        session,
        verb="attempt.started",
        object_type="attempt",
        object_id=str(attempt.id),
        source=attempt.source,
        data={
            "enrolment_id": enrolment_id,
            "course_version_id": attempt.course_version_id,
            "exercise_id": exercise_id,
        },
    )
    return _started(attempt, kind, exercise, created=True)


# --------------------------------------------------------------------------- autosave


def save_responses(
    session: Session,
    *,
    attempt_uuid: str,
    seq: int,
    responses: dict[str, object],
    now: dt.datetime | None = None,
) -> int:
    """Autosave answers of an attempt in progress; return the stored sequence number.

    ``seq`` grows with every save a tab makes; a save whose ``seq`` is not
    above the stored one is refused (a newer save exists, from another tab or
    an earlier retry), so an old tab can never overwrite newer answers.
    Answers only: nothing is marked before submit.
    """
    now = now or utcnow()
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise LmsError("the save sequence number must be a positive integer")
    answers = _check_answers(responses)
    _lock_enrolment(session, _attempt_enrolment(session, attempt_uuid))
    attempt = _attempt(session, attempt_uuid)
    assert attempt is not None
    if attempt.state != "in_progress":
        raise AttemptError("the attempt has already been submitted; answers can no longer change")
    if not _on_time(attempt, now):
        raise AttemptError("the time limit has passed; answers can no longer change")
    if seq <= attempt.save_seq:
        raise AttemptError(
            f"a newer save exists (another tab?): save {seq} is not after save {attempt.save_seq}"
        )
    moved = session.execute(_MOVE_SEQ, {"attempt_id": attempt.id, "seq": seq})
    if int(cast(Any, moved).rowcount) != 1:
        raise AttemptError("a newer save exists (another tab?), or the attempt was submitted")
    _store_answers(session, attempt.id, answers)
    return seq


# --------------------------------------------------------------------------- submit


def submit_attempt(
    session: Session,
    *,
    attempt_uuid: str,
    responses: dict[str, object] | None = None,
    types: Mapping[str, ExerciseType[Any]],
    pm: pluggy.PluginManager | None = None,
    now: dt.datetime | None = None,
) -> SubmitResult:
    """Grade an attempt exactly once and return its result.

    ``responses`` (optional) are merged over the saved answers, unless the
    deadline has passed: then only the answers saved in time are graded.  If
    the attempt is already graded, its stored result is returned unchanged,
    whatever ``responses`` say.  Grading uses the pinned course version and
    the attempt's seed.  Records ``attempt.submitted`` and evaluates the
    course completion (``pm`` gets ``lms_completion_recorded``).
    """
    now = now or utcnow()
    answers = _check_answers(responses) if responses else {}
    enrolment_id = _attempt_enrolment(session, attempt_uuid)
    _lock_enrolment(session, enrolment_id)
    attempt = _attempt(session, attempt_uuid)
    assert attempt is not None
    if attempt.state != "in_progress":
        return _stored_result(attempt)
    on_time = _on_time(attempt, now)
    merged: dict[str, object] = {
        qid: row.answer for qid, row in _saved(session, attempt.id).items()
    }
    if on_time:
        merged.update(answers)
    exercise, kind = _exercise(
        _snapshot(session, attempt.course_version_id), attempt.exercise_id, types
    )
    grade = kind.grade(exercise, merged, seed=attempt.seed)
    score = float(grade.score) if math.isfinite(grade.score) else 0.0
    max_score = float(grade.max_score) if math.isfinite(grade.max_score) else 0.0
    result = grade.to_json()
    won = session.execute(
        _GRADE,
        {
            "attempt_id": attempt.id,
            "submitted_at": now,
            "score": score,
            "max_score": max_score,
            "passed": bool(grade.passed),
            "result": result,
        },
    )
    attempt = _attempt(session, attempt_uuid)
    assert attempt is not None
    if int(cast(Any, won).rowcount) != 1:
        return _stored_result(attempt)

    if on_time and answers:
        _store_answers(session, attempt.id, answers)
    # the stored answers are now exactly the graded ones: saved, plus new if on time
    _store_marks(session, attempt.id, merged, grade)
    outcome = _stored_result(attempt, newly=True)
    record_event(
        session,
        verb="attempt.submitted",
        object_type="attempt",
        object_id=str(attempt.id),
        source=attempt.source,
        data={
            "enrolment_id": enrolment_id,
            "course_version_id": attempt.course_version_id,
            "exercise_id": attempt.exercise_id,
            "score": score,
            "max_score": max_score,
            "passed": bool(grade.passed),
            "late": outcome.late,
        },
    )
    evaluate_completion(session, enrolment_id=enrolment_id, pm=pm, now=now)
    return outcome


def finish_overdue(
    session: Session,
    *,
    types: Mapping[str, ExerciseType[Any]] | None = None,
    pm: pluggy.PluginManager | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Grade every attempt in progress past its deadline from its saved answers.

    Returns how many this call graded.  ``types`` defaults to the installed
    plugins' exercise types.
    """
    now = now or utcnow()
    if types is None:
        from lms_core.plugins import exercise_types, make_plugin_manager

        types = exercise_types(make_plugin_manager())
    overdue = session.scalars(
        select(Attempt.uuid)
        .where(
            Attempt.state == "in_progress",
            Attempt.deadline_at.is_not(None),
            Attempt.deadline_at < now - DEADLINE_GRACE,
        )
        .order_by(Attempt.id)
    ).all()
    done = 0
    for attempt_uuid in overdue:
        result = submit_attempt(session, attempt_uuid=attempt_uuid, types=types, pm=pm, now=now)
        done += result.newly_graded
    return done


# --------------------------------------------------------------------------- scores


def _percents(session: Session, enrolment_id: int, exercise_id: str) -> list[float]:
    rows = session.execute(
        select(Attempt.score, Attempt.max_score)
        .where(
            Attempt.enrolment_id == enrolment_id,
            Attempt.exercise_id == exercise_id,
            Attempt.state == "graded",
        )
        .order_by(Attempt.submitted_at, Attempt.id)
    ).tuples()
    return [100.0 * (score or 0.0) / most if most else 0.0 for score, most in rows]


def exercise_score(
    session: Session, *, enrolment_id: int, exercise_id: str, method: str
) -> float | None:
    """The exercise's score in percent by ``method`` over graded attempts (None: no attempt)."""
    if method not in GRADING_METHODS:
        raise LmsError(f"unknown grading method '{method}' (one of: {', '.join(GRADING_METHODS)})")
    percents = _percents(session, enrolment_id, exercise_id)
    if not percents:
        return None
    if method == "highest":
        return max(percents)
    if method == "first":
        return percents[0]
    if method == "last":
        return percents[-1]
    return sum(percents) / len(percents)


# --------------------------------------------------------------------------- lessons


def _viewed_lessons(session: Session, enrolment_id: int) -> set[str]:
    data = session.scalars(
        select(Event.data).where(
            Event.object_type == "enrolment",
            Event.object_id == str(enrolment_id),
            Event.verb == "lesson.viewed",
        )
    )
    return {str(d.get("lesson")) for d in data if isinstance(d, dict)}


def record_lesson_viewed(
    session: Session,
    *,
    enrolment_id: int,
    lesson_slug: str,
    pm: pluggy.PluginManager | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Record that a lesson was viewed; True if this is the first view of it.

    At most one ``lesson.viewed`` event per enrolment and lesson (views after
    the first add nothing).  Viewing counts as starting the course, and may
    complete it.
    """
    now = now or utcnow()
    enrolment = _lock_enrolment(session, enrolment_id)
    if enrolment.status == "withdrawn":
        raise AttemptError("the enrolment is withdrawn")
    snapshot = _snapshot(session, enrolment.course_version_id)
    if lesson_slug not in {lesson["slug"] for lesson in snapshot.get("lessons") or []}:
        raise NotFoundError(f"lesson '{lesson_slug}' is not in this course version")
    if lesson_slug in _viewed_lessons(session, enrolment_id):
        return False
    if enrolment.status == "enrolled":
        enrolment.status = "in_progress"
    if enrolment.started_at is None:
        enrolment.started_at = now
    session.flush()
    record_event(
        session,
        verb="lesson.viewed",
        object_type="enrolment",
        object_id=str(enrolment_id),
        source="web",
        data={"lesson": lesson_slug, "course_version_id": enrolment.course_version_id},
    )
    evaluate_completion(session, enrolment_id=enrolment_id, pm=pm, now=now)
    return True


# --------------------------------------------------------------------------- completion


def evaluate_completion(
    session: Session,
    *,
    enrolment_id: int,
    pm: pluggy.PluginManager | None = None,
    now: dt.datetime | None = None,
) -> Completion | None:
    """Record the course completion if the pinned version's rule is met.

    Rule ``all``: every required lesson viewed and every graded exercise
    passed (its score by its grading method at least its pass mark).  Rule
    ``final``: the named exercise passed.  Returns the new completion, or
    None when the rule is not met or a completion already exists.
    """
    now = now or utcnow()
    enrolment = _lock_enrolment(session, enrolment_id)
    if enrolment.status == "withdrawn":
        return None
    if session.scalar(_COMPLETION_ID, {"enrolment_id": enrolment_id}):
        return None
    snapshot = _snapshot(session, enrolment.course_version_id)
    rule = (snapshot.get("meta") or {}).get("completion") or {"rule": "all"}
    exercises = {e["id"]: e for e in snapshot.get("exercises") or []}
    if rule.get("rule") == "final":
        wanted = [str(rule.get("exercise") or "")]
    else:
        required = {
            lesson["slug"] for lesson in snapshot.get("lessons") or [] if lesson.get("required")
        }
        if required - _viewed_lessons(session, enrolment_id):
            return None
        wanted = [eid for eid, e in exercises.items() if e["data"].get("graded")]
    scores: dict[str, float] = {}
    for eid in wanted:
        entry = exercises.get(eid)
        if entry is None:
            return None
        data = entry["data"]
        score = exercise_score(
            session,
            enrolment_id=enrolment_id,
            exercise_id=eid,
            method=str(data.get("grading", "highest")),
        )
        if score is None or score + _EPSILON < float(data.get("pass_mark", 80.0)):
            return None
        scores[eid] = round(score, 4)
    overall = round(sum(scores.values()) / len(scores), 4) if scores else None
    completion = Completion(
        enrolment_id=enrolment_id,
        person_id=enrolment.person_id,
        course_id=enrolment.course_id,
        course_version_id=enrolment.course_version_id,
        completed_at=now,
        score=overall,
        rule={"rule": rule.get("rule", "all"), "exercise": rule.get("exercise"), "scores": scores},
    )
    try:
        with session.begin_nested():
            session.add(completion)
    except IntegrityError:
        return None  # recorded meanwhile by another transaction
    enrolment.status = "completed"
    session.flush()
    record_event(
        session,
        verb="course.completed",
        object_type="completion",
        object_id=str(completion.id),
        source="web",
        data={
            "enrolment_id": enrolment_id,
            "course_id": enrolment.course_id,
            "course_version_id": enrolment.course_version_id,
            "score": overall,
        },
    )
    if pm is not None:
        pm.hook.lms_completion_recorded(session=session, completion=completion)
    return completion

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pluggy
from sqlalchemy import (
    Connection,
    Integer,
    Row,
    TextClause,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from lms_core.errors import ConflictError, LmsError, NotFoundError
from lms_core.exercises import Exercise, ExerciseType, Grade
from lms_core.models import (
    Attempt,
    Completion,
    CourseVersion,
    Enrolment,
    Event,
    Response,
    UTCDateTime,
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
    "saved_answers",
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
    id: int | None = field(default=None, compare=False)
    """The attempt's row id."""
    exercise: Exercise | None = field(default=None, compare=False, repr=False)
    """The exercise as the pinned version defines it (to render the attempt's own form)."""
    kind: ExerciseType[Any] | None = field(default=None, compare=False, repr=False)
    """The plugin's exercise type that shows and grades it."""


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
    course_completed: bool | None = field(default=None, compare=False)
    """Whether the course completion is recorded after this call; None: not looked up
    (an attempt graded before, see :func:`lms_core.services.learner.is_completed`)."""

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


# --------------------------------------------------------------------------- helpers


# The learner server's hot path, as Core statements built once.  Building a
# statement and computing its cache key on every call was about a quarter of
# the server's CPU per start-save-save-submit (benchmarks/serve_load.py), and
# the ORM's unit of work and identity map cost more than the queries
# themselves, so the common path reads plain rows through the session's
# connection and writes with single statements.  ORM objects of the same rows
# that a caller holds are expired after a write (:func:`_expire`), so they
# reload instead of showing stale values.
_ATTEMPT_COLUMNS = (
    Attempt.id,
    Attempt.uuid,
    Attempt.enrolment_id,
    Attempt.course_version_id,
    Attempt.exercise_id,
    Attempt.seed,
    Attempt.state,
    Attempt.save_seq,
    Attempt.started_at,
    Attempt.deadline_at,
    Attempt.submitted_at,
    Attempt.score,
    Attempt.max_score,
    Attempt.passed,
    Attempt.result,
    Attempt.source,
    CourseVersion.content_hash,
)
_LOCK_ENROLMENT = (
    select(
        Enrolment.id,
        Enrolment.person_id,
        Enrolment.course_id,
        Enrolment.course_version_id,
        Enrolment.status,
        Enrolment.started_at,
        CourseVersion.content_hash,
    )
    .join(CourseVersion, CourseVersion.id == Enrolment.course_version_id)
    .where(Enrolment.id == bindparam("enrolment_id"))
    .with_for_update(of=Enrolment)
)
"""The enrolment and its version's hash, row-locked until the transaction ends (PostgreSQL;
SQLite's ``BEGIN IMMEDIATE`` already serialises writers)."""
_FOR_START = (
    select(*_ATTEMPT_COLUMNS)
    .join(CourseVersion, CourseVersion.id == Attempt.course_version_id)
    .where(
        or_(
            Attempt.uuid == bindparam("uuid"),
            and_(
                Attempt.enrolment_id == bindparam("enrolment_id"),
                Attempt.exercise_id == bindparam("exercise_id"),
                Attempt.state == "in_progress",
            ),
        )
    )
)
"""The attempt with this UUID and the one in progress for the enrolment and exercise (one query)."""
_ATTEMPT = (
    select(*_ATTEMPT_COLUMNS)
    .join(CourseVersion, CourseVersion.id == Attempt.course_version_id)
    .where(Attempt.uuid == bindparam("uuid"))
)


def _locked_attempt_statement(*, own: bool) -> Any:
    statement = (
        select(*_ATTEMPT_COLUMNS)
        .join(CourseVersion, CourseVersion.id == Attempt.course_version_id)
        .join(Enrolment, Enrolment.id == Attempt.enrolment_id)
        .where(Attempt.uuid == bindparam("uuid"))
        .with_for_update(of=Enrolment)
    )
    return statement.where(Enrolment.person_id == bindparam("person_id")) if own else statement


_LOCKED_ATTEMPT = _locked_attempt_statement(own=False)
"""The attempt, with its enrolment row-locked in the same statement (one round trip).

On PostgreSQL a statement that waited for the lock may return the attempt's
columns as they were before the holder's commit; every write that depends on
them is conditional (``WHERE state = 'in_progress'``, ``save_seq < :seq``),
so a stale read can only lead to a refused write, which then re-reads."""
_OWN_LOCKED_ATTEMPT = _locked_attempt_statement(own=True)
"""The same, only if the attempt belongs to ``person_id`` (others' are "not found")."""
_COUNT_USED = (
    select(func.count())
    .select_from(Attempt)
    .where(
        Attempt.enrolment_id == bindparam("enrolment_id"),
        Attempt.exercise_id == bindparam("exercise_id"),
        Attempt.state.in_(("submitted", "graded")),
    )
)
_VERSION_HASH = select(CourseVersion.content_hash).where(CourseVersion.id == bindparam("id"))
_VERSION_SNAPSHOT = select(CourseVersion.snapshot).where(CourseVersion.id == bindparam("id"))
_SAVED_ANSWERS = select(Response.question_id, Response.answer).where(
    Response.attempt_id == bindparam("attempt_id")
)
_COMPLETION_ID = select(Completion.id).where(Completion.enrolment_id == bindparam("enrolment_id"))
_FOR_COMPLETION = _LOCK_ENROLMENT.add_columns(
    select(Completion.id)
    .where(Completion.enrolment_id == Enrolment.id)
    .correlate(Enrolment)
    .scalar_subquery()
    .label("completion_id")
)
""":data:`_LOCK_ENROLMENT` and the id of its completion, if any, in one round trip.

On PostgreSQL a statement that waited for the lock reads the completion as
it was before the wait.  The submit and the lesson view already hold the
lock by then; for anyone else, the completion's unique enrolment catches a
completion recorded meanwhile (:func:`_evaluate`)."""
_START_ENROLMENT = (
    update(Enrolment)
    .where(Enrolment.id == bindparam("enrolment_id"))
    .values(
        status=case((Enrolment.status == "enrolled", "in_progress"), else_=Enrolment.status),
        started_at=func.coalesce(Enrolment.started_at, bindparam("now", type_=UTCDateTime())),
    )
)
_COMPLETE_ENROLMENT = (
    update(Enrolment).where(Enrolment.id == bindparam("enrolment_id")).values(status="completed")
)
_MOVE_SEQ = (
    update(Attempt)
    .where(
        Attempt.id == bindparam("attempt_id"),
        Attempt.state == "in_progress",
        Attempt.save_seq < bindparam("seq"),
    )
    .values(save_seq=bindparam("seq"))
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
)
_VIEWED_LESSONS = select(Event.data).where(
    Event.object_type == "enrolment",
    Event.object_id == bindparam("object_id"),
    Event.verb == "lesson.viewed",
)
_PERCENTS = (
    select(Attempt.score, Attempt.max_score)
    .where(
        Attempt.enrolment_id == bindparam("enrolment_id"),
        Attempt.exercise_id == bindparam("exercise_id"),
        Attempt.state == "graded",
    )
    .order_by(Attempt.submitted_at, Attempt.id)
)


def _expire(session: Session, model: type[Any], row_id: int) -> None:
    """Make an ORM object of this row that the session holds reload on next access.

    The services write with Core statements; a caller that loaded the same
    row as an ORM object would otherwise keep seeing the old values.
    """
    held = session.identity_map.get(identity_key(model, row_id))
    if held is not None:
        session.expire(held)


def _connection(session: Session) -> Connection:
    """The session's connection, after writing what the session has pending.

    Core statements on the connection do not autoflush as ``session.execute``
    does; a caller may have added rows these services read (an enrolment,
    answers).  Flushing a clean session costs next to nothing.
    """
    session.flush()
    return session.connection()


def _lock_enrolment(connection: Connection, enrolment_id: int) -> Row[Any]:
    """The enrolment (with its version's hash), row-locked until the transaction ends."""
    row = connection.execute(_LOCK_ENROLMENT, {"enrolment_id": enrolment_id}).first()
    if row is None:
        raise NotFoundError(f"no enrolment with id {enrolment_id}")
    return row


def _locked_attempt(
    connection: Connection, attempt_uuid: str, *, person_id: int | None
) -> Row[Any]:
    """The attempt, its enrolment row-locked; not found when ``person_id`` is not its owner."""
    if person_id is None:
        row = connection.execute(_LOCKED_ATTEMPT, {"uuid": attempt_uuid}).first()
    else:
        row = connection.execute(
            _OWN_LOCKED_ATTEMPT, {"uuid": attempt_uuid, "person_id": person_id}
        ).first()
    if row is None:
        raise NotFoundError(f"no attempt {attempt_uuid}")
    return row


def _fresh_attempt(connection: Connection, attempt_uuid: str) -> Row[Any]:
    row = connection.execute(_ATTEMPT, {"uuid": attempt_uuid}).first()
    if row is None:
        raise NotFoundError(f"no attempt {attempt_uuid}")
    return row


_SNAPSHOTS: dict[str, dict[str, Any]] = {}
"""Course version snapshots by content hash: rows are never updated, so a
snapshot read once serves every later request of this process (the learner
server reads one per start, save and submit).  Keyed by content, not row id,
so one process may use several databases."""
_PARSED: dict[tuple[int, type[Any]], tuple[object, Exercise]] = {}
"""Validated exercises by (identity of the cached snapshot's data, model)."""
_CACHE_LIMIT = 256


def _snapshot_of(connection: Connection, version_id: int, digest: str) -> dict[str, Any]:
    """The snapshot of version ``version_id``, content hash ``digest`` (read-only: shared)."""
    snapshot = _SNAPSHOTS.get(digest)
    if snapshot is None:
        snapshot = connection.scalar(_VERSION_SNAPSHOT, {"id": version_id})
        if snapshot is None:
            raise NotFoundError(f"no course version {version_id}")
        if len(_SNAPSHOTS) >= _CACHE_LIMIT:
            _SNAPSHOTS.clear()
            _PARSED.clear()
        _SNAPSHOTS[digest] = snapshot
    return snapshot


def _snapshot(session: Session, version_id: int) -> dict[str, Any]:
    """The version's snapshot, treat it as read-only (it is shared)."""
    connection = session.connection()
    digest = connection.scalar(_VERSION_HASH, {"id": version_id})  # immutable row
    if digest is None:
        raise NotFoundError(f"no course version {version_id}")
    return _snapshot_of(connection, version_id, digest)


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


def _attempt_exercise(
    connection: Connection, attempt: Row[Any], types: Mapping[str, ExerciseType[Any]]
) -> tuple[Exercise, ExerciseType[Any]]:
    """The exercise of an attempt (a row of ``_ATTEMPT_COLUMNS``), from its pinned version."""
    snapshot = _snapshot_of(connection, attempt.course_version_id, attempt.content_hash)
    return _exercise(snapshot, attempt.exercise_id, types)


def _on_time(deadline_at: dt.datetime | None, now: dt.datetime) -> bool:
    return deadline_at is None or now <= deadline_at + DEADLINE_GRACE


def _check_answers(responses: Mapping[str, object]) -> dict[str, object]:
    if not isinstance(responses, Mapping):
        raise LmsError("responses must be an object of question id -> answer")
    if len(responses) > MAX_RESPONSES:
        raise LmsError(f"too many answers in one save ({len(responses)}, at most {MAX_RESPONSES})")
    out: dict[str, object] = {}
    for qid, answer in responses.items():
        if not isinstance(qid, str) or not 1 <= len(qid) <= 64:
            raise LmsError("a question id must be a string of 1 to 64 characters")
        out[qid] = answer
    # One encoding of the whole batch: when it is plain JSON within the limit,
    # so is every answer in it (each answer was encoded once per save before).
    try:
        whole = json.dumps(out, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        whole = None
    if whole is not None and len(whole.encode("utf-8")) <= MAX_ANSWER_BYTES:
        return out
    for qid, answer in out.items():  # find the answer at fault, and say which
        try:
            size = len(json.dumps(answer, ensure_ascii=False, allow_nan=False).encode("utf-8"))
        except (TypeError, ValueError):
            raise LmsError(f"the answer to '{qid}' is not plain JSON") from None
        if size > MAX_ANSWER_BYTES:
            raise LmsError(f"the answer to '{qid}' is too long ({size} bytes)")
    return out


def saved_answers(session: Session, attempt_id: int) -> dict[str, Any]:
    """The answers stored for an attempt so far, by question id."""
    rows = _connection(session).execute(_SAVED_ANSWERS, {"attempt_id": attempt_id}).tuples()
    return dict(rows.all())


def _typed_text(sql: str, table: Any, names: tuple[str, ...]) -> TextClause:
    """``text(sql)`` with each named parameter typed as the column of that name."""
    return text(sql).bindparams(*(bindparam(name, type_=table.c[name].type) for name in names))


# ``INSERT … ON CONFLICT`` as text, the same on SQLite and PostgreSQL: the
# dialects' own ``on_conflict_do_*`` constructs have no cache key, so
# SQLAlchemy compiled them again on every call (a tenth of a save's CPU).
_UPSERT_ANSWERS = _typed_text(
    "INSERT INTO response (attempt_id, question_id, answer)"
    " VALUES (:attempt_id, :question_id, :answer)"
    " ON CONFLICT (attempt_id, question_id) DO UPDATE SET answer = excluded.answer",
    Response.__table__,
    ("attempt_id", "question_id", "answer"),
)
"""Insert or replace a batch of answers in one executemany: an autosave of 20
answers was 20 ORM objects and as many statements, a sixth of the server's
time per learner under load (benchmarks/serve_load.py)."""
_UPSERT_GRADED = _typed_text(
    "INSERT INTO response (attempt_id, question_id, answer, points, correct)"
    " VALUES (:attempt_id, :question_id, :answer, :points, :correct)"
    " ON CONFLICT (attempt_id, question_id) DO UPDATE SET answer = excluded.answer,"
    " points = excluded.points, correct = excluded.correct",
    Response.__table__,
    ("attempt_id", "question_id", "answer", "points", "correct"),
)
"""The same with each answer's points and correctness (a submit writes both at once)."""
_ATTEMPT_FIELDS = (
    "uuid",
    "enrolment_id",
    "course_version_id",
    "exercise_id",
    "seed",
    "state",
    "save_seq",
    "started_at",
    "deadline_at",
    "source",
)
_INSERT_ATTEMPT = _typed_text(
    "INSERT INTO attempt (uuid, enrolment_id, course_version_id, exercise_id, seed, state,"
    " save_seq, started_at, deadline_at, source) VALUES (:uuid, :enrolment_id,"
    " :course_version_id, :exercise_id, :seed, :state, :save_seq, :started_at, :deadline_at,"
    " :source) ON CONFLICT DO NOTHING RETURNING id",
    Attempt.__table__,
    _ATTEMPT_FIELDS,
).columns(id=Integer)
"""A new attempt's row, or no row if a unique index refused it (the partial index
of one attempt in progress, or the UUID): the caller's transaction stays usable."""


# On PostgreSQL a batch is one statement over a JSON parameter: psycopg's
# executemany sends one prepared execution per row, and its Python side cost
# a seventh of the learner server's CPU per flow (benchmarks/serve_load.py).
# SQLite's executemany is a loop in C and stays.
_PG_UPSERT_ANSWERS = text(
    "INSERT INTO response (attempt_id, question_id, answer)"
    " SELECT :attempt_id, a.key, a.value FROM json_each(CAST(:answers AS json)) AS a"
    " ON CONFLICT (attempt_id, question_id) DO UPDATE SET answer = excluded.answer"
)
_PG_UPSERT_GRADED = text(
    "INSERT INTO response (attempt_id, question_id, answer, points, correct)"
    " SELECT :attempt_id, a.key, a.value, CAST(m.value ->> 0 AS double precision),"
    " CAST(m.value ->> 1 AS boolean)"
    " FROM json_each(CAST(:answers AS json)) AS a"
    " LEFT JOIN json_each(CAST(:marks AS json)) AS m ON m.key = a.key"
    " ON CONFLICT (attempt_id, question_id) DO UPDATE SET answer = excluded.answer,"
    " points = excluded.points, correct = excluded.correct"
)


def _store_answers(connection: Connection, attempt_id: int, answers: Mapping[str, object]) -> None:
    """Insert or replace answers (the caller holds the enrolment's row lock)."""
    if answers and connection.dialect.name == "postgresql":
        connection.execute(
            _PG_UPSERT_ANSWERS, {"attempt_id": attempt_id, "answers": json.dumps(answers)}
        )
    elif answers:
        connection.execute(
            _UPSERT_ANSWERS,
            [
                {"attempt_id": attempt_id, "question_id": qid, "answer": answer}
                for qid, answer in answers.items()
            ],
        )


def _store_graded(
    connection: Connection, attempt_id: int, graded: Mapping[str, object], grade: Grade
) -> None:
    """Store exactly the graded answers, each with its points and correctness.

    None for a question the grade does not mention.  Answers and marks in one
    executemany upsert: loading the answers as ORM objects to set two columns
    cost more than grading them.
    """
    marks = {q.id: q for q in grade.questions}
    if graded and connection.dialect.name == "postgresql":
        points = {
            qid: [mark.points, mark.correct]
            for qid, mark in marks.items()
            if qid in graded and math.isfinite(mark.points)  # JSON has no NaN: NULL, as None
        }
        connection.execute(
            _PG_UPSERT_GRADED,
            {"attempt_id": attempt_id, "answers": json.dumps(graded), "marks": json.dumps(points)},
        )
        return
    rows = []
    for qid, answer in graded.items():
        mark = marks.get(qid)
        rows.append(
            {
                "attempt_id": attempt_id,
                "question_id": qid,
                "answer": answer,
                "points": mark.points if mark is not None else None,
                "correct": mark.correct if mark is not None else None,
            }
        )
    if rows:
        connection.execute(_UPSERT_GRADED, rows)


def _stored_result(
    attempt: Row[Any], *, newly: bool = False, completed: bool | None = None
) -> SubmitResult:
    submitted_at = attempt.submitted_at
    assert submitted_at is not None
    return SubmitResult(
        uuid=attempt.uuid,
        state=attempt.state,
        score=attempt.score or 0.0,
        max_score=attempt.max_score or 0.0,
        passed=bool(attempt.passed),
        submitted_at=submitted_at,
        late=attempt.deadline_at is not None
        and submitted_at > attempt.deadline_at + DEADLINE_GRACE,
        result=dict(attempt.result or {}),
        newly_graded=newly,
        course_completed=completed,
    )


def _started(
    attempt: Row[Any] | Mapping[str, Any],
    kind: ExerciseType[Any],
    exercise: Exercise,
    *,
    created: bool,
) -> StartedAttempt:
    values = cast(Mapping[str, Any], attempt if isinstance(attempt, Mapping) else attempt._mapping)
    seed = int(values["seed"])
    return StartedAttempt(
        uuid=values["uuid"],
        exercise_id=values["exercise_id"],
        seed=seed,
        state=values["state"],
        started_at=values["started_at"],
        deadline_at=values["deadline_at"],
        save_seq=values["save_seq"],
        view=kind.public_view(exercise, seed=seed),
        created=created,
        id=values["id"],
        exercise=exercise,
        kind=kind,
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
    connection = _connection(session)
    enrolment = _lock_enrolment(connection, enrolment_id)
    found = connection.execute(
        _FOR_START,
        {"uuid": attempt_uuid, "enrolment_id": enrolment_id, "exercise_id": exercise_id},
    ).all()
    existing = next((row for row in found if row.uuid == attempt_uuid), None)
    if existing is not None:
        if existing.enrolment_id != enrolment_id or existing.exercise_id != exercise_id:
            raise AttemptError(f"attempt id {attempt_uuid} is already used for another attempt")
        exercise, kind = _attempt_exercise(connection, existing, types)
        return _started(existing, kind, exercise, created=False)
    if enrolment.status in ("withdrawn", "completed"):
        raise AttemptError(f"the enrolment is {enrolment.status}; no new attempts can be started")
    snapshot = _snapshot_of(connection, enrolment.course_version_id, enrolment.content_hash)
    exercise, kind = _exercise(snapshot, exercise_id, types)

    active = next((row for row in found if row.uuid != attempt_uuid), None)
    if active is not None:
        if _on_time(active.deadline_at, now):
            active_ex, active_kind = _attempt_exercise(connection, active, types)
            return _started(active, active_kind, active_ex, created=False)
        submit_attempt(session, attempt_uuid=active.uuid, types=types, pm=pm, now=now)

    if exercise.max_attempts:
        used = connection.scalar(
            _COUNT_USED, {"enrolment_id": enrolment_id, "exercise_id": exercise_id}
        )
        if (used or 0) >= exercise.max_attempts:
            raise AttemptError(
                f"all {exercise.max_attempts} attempts at '{exercise_id}' have been used"
            )

    values: dict[str, Any] = {
        "uuid": attempt_uuid,
        "enrolment_id": enrolment_id,
        "course_version_id": enrolment.course_version_id,
        "exercise_id": exercise_id,
        "seed": secrets.randbits(63) if seed is None else seed,
        "state": "in_progress",
        "save_seq": 0,
        "started_at": now,
        "deadline_at": (
            now + dt.timedelta(minutes=exercise.time_limit_minutes)
            if exercise.time_limit_minutes
            else None
        ),
        "source": source[:16],
    }
    # The partial unique index is the last guard against a second attempt in progress.
    new_id = connection.scalar(_INSERT_ATTEMPT, values)
    if new_id is None:
        raise AttemptError(
            f"another attempt at '{exercise_id}' was started at the same time; retry"
        )
    values["id"] = new_id
    if enrolment.status == "enrolled" or enrolment.started_at is None:
        connection.execute(_START_ENROLMENT, {"enrolment_id": enrolment_id, "now": now})
        _expire(session, Enrolment, enrolment_id)
    record_event(
        session,
        verb="attempt.started",
        object_type="attempt",
        object_id=str(new_id),
        source=values["source"],
        data={
            "enrolment_id": enrolment_id,
            "course_version_id": enrolment.course_version_id,
            "exercise_id": exercise_id,
        },
    )
    return _started(values, kind, exercise, created=True)


# --------------------------------------------------------------------------- autosave


def save_responses(
    session: Session,
    *,
    attempt_uuid: str,
    seq: int,
    responses: dict[str, object],
    now: dt.datetime | None = None,
    person_id: int | None = None,
) -> int:
    """Autosave answers of an attempt in progress; return the stored sequence number.

    ``seq`` grows with every save a tab makes; a save whose ``seq`` is not
    above the stored one is refused (a newer save exists, from another tab or
    an earlier retry), so an old tab can never overwrite newer answers.
    Answers only: nothing is marked before submit.  With ``person_id``, an
    attempt of anyone else is reported as not found.
    """
    now = now or utcnow()
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise LmsError("the save sequence number must be a positive integer")
    answers = _check_answers(responses)
    connection = _connection(session)
    attempt = _locked_attempt(connection, attempt_uuid, person_id=person_id)
    moved = 0
    if attempt.state == "in_progress" and _on_time(attempt.deadline_at, now):
        moved = connection.execute(_MOVE_SEQ, {"attempt_id": attempt.id, "seq": seq}).rowcount
    if moved != 1:
        attempt = _fresh_attempt(connection, attempt_uuid)  # the read above may predate a commit
        if attempt.state != "in_progress":
            raise AttemptError(
                "the attempt has already been submitted; answers can no longer change"
            )
        if not _on_time(attempt.deadline_at, now):
            raise AttemptError("the time limit has passed; answers can no longer change")
        raise AttemptError(
            f"a newer save exists (another tab?): save {seq} is not after save {attempt.save_seq}"
        )
    _expire(session, Attempt, attempt.id)
    _store_answers(connection, attempt.id, answers)
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
    person_id: int | None = None,
) -> SubmitResult:
    """Grade an attempt exactly once and return its result.

    ``responses`` (optional) are merged over the saved answers, unless the
    deadline has passed: then only the answers saved in time are graded.  If
    the attempt is already graded, its stored result is returned unchanged,
    whatever ``responses`` say.  Grading uses the pinned course version and
    the attempt's seed.  Records ``attempt.submitted`` and evaluates the
    course completion (``pm`` gets ``lms_completion_recorded``).  With
    ``person_id``, an attempt of anyone else is reported as not found.
    """
    now = now or utcnow()
    answers = _check_answers(responses) if responses else {}
    connection = _connection(session)
    attempt = _locked_attempt(connection, attempt_uuid, person_id=person_id)
    if attempt.state != "in_progress":
        return _stored_result(attempt)
    on_time = _on_time(attempt.deadline_at, now)
    graded = dict(connection.execute(_SAVED_ANSWERS, {"attempt_id": attempt.id}).tuples().all())
    if on_time:
        graded.update(answers)
    exercise, kind = _attempt_exercise(connection, attempt, types)
    grade = kind.grade(exercise, graded, seed=attempt.seed)
    score = float(grade.score) if math.isfinite(grade.score) else 0.0
    max_score = float(grade.max_score) if math.isfinite(grade.max_score) else 0.0
    passed = bool(grade.passed)
    # as it will read back from the database, so every caller gets the same result
    result = json.loads(json.dumps(grade.to_json()))
    won = connection.execute(
        _GRADE,
        {
            "attempt_id": attempt.id,
            "submitted_at": now,
            "score": score,
            "max_score": max_score,
            "passed": passed,
            "result": result,
        },
    ).rowcount
    if won != 1:  # graded meanwhile (the read above predates its commit)
        return _stored_result(_fresh_attempt(connection, attempt_uuid))
    _expire(session, Attempt, attempt.id)
    # the stored answers are now exactly the graded ones: saved, plus new if on time
    _store_graded(connection, attempt.id, graded, grade)
    late = attempt.deadline_at is not None and now > attempt.deadline_at + DEADLINE_GRACE
    record_event(
        session,
        verb="attempt.submitted",
        object_type="attempt",
        object_id=str(attempt.id),
        source=attempt.source,
        data={
            "enrolment_id": attempt.enrolment_id,
            "course_version_id": attempt.course_version_id,
            "exercise_id": attempt.exercise_id,
            "score": score,
            "max_score": max_score,
            "passed": passed,
            "late": late,
        },
    )
    completed = _evaluate(session, connection, attempt.enrolment_id, pm=pm, now=now)
    return SubmitResult(
        uuid=attempt.uuid,
        state="graded",
        score=score,
        max_score=max_score,
        passed=passed,
        submitted_at=now.astimezone(dt.UTC),
        late=late,
        result=result,
        newly_graded=True,
        course_completed=completed.done,
    )


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


def _percents(connection: Connection, enrolment_id: int, exercise_id: str) -> list[float]:
    rows = connection.execute(
        _PERCENTS, {"enrolment_id": enrolment_id, "exercise_id": exercise_id}
    ).tuples()
    return [100.0 * (score or 0.0) / most if most else 0.0 for score, most in rows]


def _by_method(percents: list[float], method: str) -> float | None:
    if not percents:
        return None
    if method == "highest":
        return max(percents)
    if method == "first":
        return percents[0]
    if method == "last":
        return percents[-1]
    return sum(percents) / len(percents)


def exercise_score(
    session: Session, *, enrolment_id: int, exercise_id: str, method: str
) -> float | None:
    """The exercise's score in percent by ``method`` over graded attempts (None: no attempt)."""
    if method not in GRADING_METHODS:
        raise LmsError(f"unknown grading method '{method}' (one of: {', '.join(GRADING_METHODS)})")
    return _by_method(_percents(_connection(session), enrolment_id, exercise_id), method)


# --------------------------------------------------------------------------- lessons


def _viewed_lessons(connection: Connection, enrolment_id: int) -> set[str]:
    data = connection.execute(_VIEWED_LESSONS, {"object_id": str(enrolment_id)}).scalars()
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
    connection = _connection(session)
    enrolment = _lock_enrolment(connection, enrolment_id)
    if enrolment.status == "withdrawn":
        raise AttemptError("the enrolment is withdrawn")
    snapshot = _snapshot_of(connection, enrolment.course_version_id, enrolment.content_hash)
    if lesson_slug not in {lesson["slug"] for lesson in snapshot.get("lessons") or []}:
        raise NotFoundError(f"lesson '{lesson_slug}' is not in this course version")
    if lesson_slug in _viewed_lessons(connection, enrolment_id):
        return False
    if enrolment.status == "enrolled" or enrolment.started_at is None:
        connection.execute(_START_ENROLMENT, {"enrolment_id": enrolment_id, "now": now})
        _expire(session, Enrolment, enrolment_id)
    record_event(
        session,
        verb="lesson.viewed",
        object_type="enrolment",
        object_id=str(enrolment_id),
        source="web",
        data={"lesson": lesson_slug, "course_version_id": enrolment.course_version_id},
    )
    _evaluate(session, connection, enrolment_id, pm=pm, now=now)
    return True


# --------------------------------------------------------------------------- completion


@dataclass(frozen=True, slots=True)
class _Evaluated:
    done: bool
    """A completion of the enrolment is recorded (now or before)."""
    completion: Completion | None = None
    """The completion this evaluation recorded."""


def _required_scores(
    connection: Connection, enrolment: Row[Any], snapshot: Mapping[str, Any]
) -> dict[str, float] | None:
    """The score of each exercise the rule requires, or None when the rule is not met."""
    rule = (snapshot.get("meta") or {}).get("completion") or {"rule": "all"}
    exercises = {e["id"]: e for e in snapshot.get("exercises") or []}
    if rule.get("rule") == "final":
        wanted = [str(rule.get("exercise") or "")]
    else:
        required = {
            lesson["slug"] for lesson in snapshot.get("lessons") or [] if lesson.get("required")
        }
        if required and required - _viewed_lessons(connection, enrolment.id):
            return None
        wanted = [eid for eid, e in exercises.items() if e["data"].get("graded")]
    scores: dict[str, float] = {}
    for eid in wanted:
        entry = exercises.get(eid)
        if entry is None:
            return None
        data = entry["data"]
        method = str(data.get("grading", "highest"))
        if method not in GRADING_METHODS:
            raise LmsError(
                f"unknown grading method '{method}' (one of: {', '.join(GRADING_METHODS)})"
            )
        score = _by_method(_percents(connection, enrolment.id, eid), method)
        if score is None or score + _EPSILON < float(data.get("pass_mark", 80.0)):
            return None
        scores[eid] = round(score, 4)
    return scores


def _evaluate(
    session: Session,
    connection: Connection,
    enrolment_id: int,
    *,
    pm: pluggy.PluginManager | None,
    now: dt.datetime,
) -> _Evaluated:
    """Record the completion if the rule is met; say whether one is recorded."""
    enrolment = connection.execute(_FOR_COMPLETION, {"enrolment_id": enrolment_id}).first()
    if enrolment is None:
        raise NotFoundError(f"no enrolment with id {enrolment_id}")
    if enrolment.completion_id is not None:
        return _Evaluated(done=True)
    if enrolment.status == "withdrawn":
        return _Evaluated(done=False)
    snapshot = _snapshot_of(connection, enrolment.course_version_id, enrolment.content_hash)
    scores = _required_scores(connection, enrolment, snapshot)
    if scores is None:
        return _Evaluated(done=False)
    rule = (snapshot.get("meta") or {}).get("completion") or {"rule": "all"}
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
        return _Evaluated(done=True)  # recorded meanwhile by another transaction
    connection.execute(_COMPLETE_ENROLMENT, {"enrolment_id": enrolment_id})
    _expire(session, Enrolment, enrolment_id)
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
    return _Evaluated(done=True, completion=completion)


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
    evaluated = _evaluate(session, _connection(session), enrolment_id, pm=pm, now=now or utcnow())
    return evaluated.completion

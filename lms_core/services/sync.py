"""Offline work brought back later: queued items from the browser, and result files.

A learner on a cheap phone loses the network, or uses a static copy of the
site with no server at all.  The browser queues what happens (lessons viewed,
attempts answered) and later sends the queue to ``POST /api/my/sync``, or
exports it as a result file that a trainer imports with ``lms results
import``.  Both end here, in :func:`apply_items`.

Queues are replayed, reordered, duplicated and sent from two tabs at once, so
every item must count exactly once.  That rests on the natural keys the
attempt services already guard, not on the item ids:

* an attempt is its client-made UUID (unique in the database): submitting
  it again returns the stored result, so a replay is reported as
  ``duplicate``;
* a lesson view counts once per (enrolment, lesson).

Each item runs in its own SAVEPOINT after the enrolment's row lock (the same
lock order as the attempt services), so one refused item never loses the
others and two batches never both apply one item.  Client clocks are not
trusted: server time decides deadlines and order; the client's times are kept
in the ``sync.applied`` event only.  See ``docs/attempts.md``, "Offline and
result files".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pluggy
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_core.errors import ConflictError, InputFileError, LmsError, NotFoundError
from lms_core.exercises import ExerciseType
from lms_core.models import CourseVersion, Enrolment, Person
from lms_core.services import learner
from lms_core.services.attempts import (
    AttemptError,
    SubmitResult,
    record_lesson_viewed,
    start_attempt,
    submit_attempt,
)
from lms_core.services.events import record_event
from lms_core.services.staff import normalise_staff_code

__all__ = [
    "MAX_RESULT_FILE_BYTES",
    "MAX_SYNC_ITEMS",
    "OFFLINE_SEED",
    "RESULT_FORMAT",
    "AttemptItem",
    "FileReport",
    "ItemResult",
    "LessonViewedItem",
    "ResultFile",
    "SyncItem",
    "apply_items",
    "import_results",
    "read_result_file",
]

MAX_SYNC_ITEMS = 200
"""Items per ``POST /api/my/sync``: a browser sends a long queue in several batches."""
MAX_FILE_ITEMS = 10_000
"""Items per result file: months of offline work, far below the size limit."""
MAX_RESULT_FILE_BYTES = 5 * 1024 * 1024
"""A result file holds answers and ids only; anything bigger is not one."""
RESULT_FORMAT = "taphuan.result/1"
OFFLINE_SEED = 0
"""The seed the static site renders graded quizzes with (``site_builder.markdown``)."""

APPLIED = "applied"
DUPLICATE = "duplicate"
REJECTED = "rejected"

_SHOWN_PROBLEMS = 10

ItemId = Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9A-Za-z-]+$")]
"""A client-made id (a UUID): letters, digits and dashes."""
Slug = Annotated[str, Field(min_length=1, max_length=64)]
ContentHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
"""A course version's ``content_hash``: 64 lower-case hex digits."""


class _Item(BaseModel):
    """Base of queued items: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LessonViewedItem(_Item):
    """The learner opened a lesson while offline."""

    type: Literal["lesson_viewed"]
    id: ItemId
    course: Slug
    lesson: Slug
    at: dt.datetime | None = None
    """Client clock; informative only."""


class AttemptItem(_Item):
    """An attempt answered while offline, to submit (and create, if it never reached us)."""

    type: Literal["attempt"]
    id: ItemId
    course: Slug
    version: ContentHash | None = None
    """Content hash of the course version the page was built from; needed to create."""
    exercise: Slug
    attempt_id: ItemId
    responses: dict[str, Any] = Field(default_factory=dict, max_length=500)
    started_at: dt.datetime | None = None
    submitted_at: dt.datetime | None = None


SyncItem = Annotated[LessonViewedItem | AttemptItem, Field(discriminator="type")]
"""One queued item; ``type`` says which."""


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What became of one item: applied now, applied before (duplicate), or refused."""

    id: str
    type: str
    status: str
    """``applied``, ``duplicate`` or ``rejected``."""
    error: str | None = None
    """Why it was rejected (a message for the learner or trainer)."""
    result: SubmitResult | None = None
    """For an attempt: its stored grade (the same for every replay)."""
    course_completed: bool = False
    """The course completion is recorded (after this item)."""


# --------------------------------------------------------------------------- applying


def _lock(session: Session, enrolment: Enrolment) -> Enrolment:
    """Row-lock the enrolment first, as the attempt services do: one lock order everywhere."""
    locked = session.scalar(
        select(Enrolment)
        .where(Enrolment.id == enrolment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert locked is not None
    return locked


def _enrolment(session: Session, person_id: int, course: str) -> Enrolment:
    try:
        enrolment = learner.own_enrolment(session, person_id=person_id, course=course)
    except NotFoundError:
        # neutral wording: a trainer importing a file reads it as well as the learner
        raise NotFoundError(f"not enrolled in course '{course}' (or withdrawn)") from None
    return _lock(session, enrolment)


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _check_version(session: Session, enrolment: Enrolment, item: AttemptItem) -> None:
    """An offline attempt's answers use the public ids of the page's version: it must be ours."""
    if item.version is None:
        raise NotFoundError(
            f"no attempt {item.attempt_id}: it was not started on the server, and the item "
            "names no course version to create it from"
        )
    pinned = session.get_one(CourseVersion, enrolment.course_version_id)
    if item.version == pinned.content_hash:
        return
    number = session.scalar(
        select(CourseVersion.number).where(
            CourseVersion.course_id == enrolment.course_id,
            CourseVersion.content_hash == item.version,
        )
    )
    if number is None:
        raise NotFoundError(
            f"course '{item.course}' has no published version {item.version[:12]}: the page "
            "was built from course files that were never published (publish them, or use a "
            "site built from the published course)"
        )
    raise ConflictError(
        f"the page was built from version {number} of course '{item.course}', but the "
        f"enrolment is on version {pinned.number}; these answers cannot be graded against "
        "it (answer again on the current site)"
    )


def _apply_attempt(
    session: Session,
    *,
    person_id: int,
    item: AttemptItem,
    types: Mapping[str, ExerciseType[Any]],
    pm: pluggy.PluginManager | None,
    source: str,
    now: dt.datetime | None,
    origin: Mapping[str, Any],
) -> ItemResult:
    enrolment = _enrolment(session, person_id, item.course)
    try:
        mine = learner.own_attempt(session, person_id=person_id, attempt_uuid=item.attempt_id)
    except NotFoundError:
        mine = None  # not on the server, or someone else's: the same to this person
    created = False
    if mine is not None:
        # Case 1: started on the server; the page showed the server's view of it.
        if mine.enrolment_id != enrolment.id or mine.exercise_id != item.exercise:
            raise AttemptError(f"attempt id {item.attempt_id} is already used for another attempt")
    else:
        # Case 2: answered on the static page (seed 0) and never seen here.
        _check_version(session, enrolment, item)
        started = start_attempt(
            session,
            enrolment_id=enrolment.id,
            exercise_id=item.exercise,
            attempt_uuid=item.attempt_id,
            types=types,
            source=source,
            pm=pm,
            now=now,
            seed=OFFLINE_SEED,
        )
        if started.uuid != item.attempt_id:
            raise AttemptError(
                f"another attempt at '{item.exercise}' is in progress on the server; "
                "submit it first, then send this one again"
            )
        created = started.created
    result = submit_attempt(
        session,
        attempt_uuid=item.attempt_id,
        responses=dict(item.responses),
        types=types,
        pm=pm,
        now=now,
    )
    if result.newly_graded:
        attempt = learner.own_attempt(session, person_id=person_id, attempt_uuid=item.attempt_id)
        record_event(
            session,
            verb="sync.applied",
            object_type="attempt",
            object_id=str(attempt.id),
            source=source,
            data={
                **origin,
                "item": item.id,
                "type": item.type,
                "enrolment_id": enrolment.id,
                "exercise_id": item.exercise,
                "created": created,
                "client_started_at": _stamp(item.started_at),
                "client_submitted_at": _stamp(item.submitted_at),
            },
        )
    return ItemResult(
        id=item.id,
        type=item.type,
        status=APPLIED if result.newly_graded else DUPLICATE,
        result=result,
        course_completed=learner.is_completed(session, enrolment.id),
    )


def _apply_lesson(
    session: Session,
    *,
    person_id: int,
    item: LessonViewedItem,
    pm: pluggy.PluginManager | None,
    source: str,
    now: dt.datetime | None,
    origin: Mapping[str, Any],
) -> ItemResult:
    enrolment = _enrolment(session, person_id, item.course)
    first = record_lesson_viewed(
        session, enrolment_id=enrolment.id, lesson_slug=item.lesson, pm=pm, now=now
    )
    if first:
        record_event(
            session,
            verb="sync.applied",
            object_type="enrolment",
            object_id=str(enrolment.id),
            source=source,
            data={
                **origin,
                "item": item.id,
                "type": item.type,
                "lesson": item.lesson,
                "client_at": _stamp(item.at),
            },
        )
    return ItemResult(
        id=item.id,
        type=item.type,
        status=APPLIED if first else DUPLICATE,
        course_completed=learner.is_completed(session, enrolment.id),
    )


def apply_items(
    session: Session,
    *,
    person_id: int,
    items: Sequence[LessonViewedItem | AttemptItem],
    types: Mapping[str, ExerciseType[Any]],
    pm: pluggy.PluginManager | None,
    source: str,
    now: dt.datetime | None = None,
    origin: Mapping[str, Any] | None = None,
) -> list[ItemResult]:
    """Apply a person's queued items in order; one result per item, in the same order.

    Each item is applied in its own SAVEPOINT: a refused item (not enrolled,
    unknown exercise or lesson, attempts used up, another version of the
    course...) is rolled back alone and reported with the service's message.
    An item already applied, by an earlier batch, a file, the online API or
    an earlier item of this batch, is reported as ``duplicate`` with the
    stored result.  ``source`` (``offline``, ``import``) marks attempts
    created here and the ``sync.applied`` events; ``origin`` (ids only, for
    example a file's checksum) is added to those events.  Database errors
    are not caught: the caller's transaction fails and the whole batch can
    be sent again safely.
    """
    extra = dict(origin or {})
    results: list[ItemResult] = []
    for item in items:
        try:
            with session.begin_nested():
                if isinstance(item, AttemptItem):
                    outcome = _apply_attempt(
                        session,
                        person_id=person_id,
                        item=item,
                        types=types,
                        pm=pm,
                        source=source,
                        now=now,
                        origin=extra,
                    )
                else:
                    outcome = _apply_lesson(
                        session,
                        person_id=person_id,
                        item=item,
                        pm=pm,
                        source=source,
                        now=now,
                        origin=extra,
                    )
        except LmsError as exc:
            outcome = ItemResult(id=item.id, type=item.type, status=REJECTED, error=str(exc))
        results.append(outcome)
    return results


# --------------------------------------------------------------------------- result files


class ResultPayload(BaseModel):
    """What a result file's ``payload`` string decodes to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    staff_code: str = Field(min_length=1, max_length=64)
    exported_at: dt.datetime
    items: list[SyncItem] = Field(max_length=MAX_FILE_ITEMS)


@dataclass(frozen=True, slots=True)
class ResultFile:
    """A checked result file: whose it is, and its items in the order they happened."""

    path: str
    staff_code: str
    """Normalised (upper case), as stored on the person."""
    exported_at: dt.datetime
    items: list[LessonViewedItem | AttemptItem]
    sha256: str


@dataclass(frozen=True, slots=True)
class FileReport:
    """What an import did with one file.

    ``error`` is set when the whole file was refused (nothing of it was
    applied); else ``items`` holds one result per item.
    """

    file: str
    error: str | None = None
    items: tuple[ItemResult, ...] = ()

    def count(self, status: str) -> int:
        return sum(1 for r in self.items if r.status == status)

    @property
    def applied(self) -> int:
        return self.count(APPLIED)

    @property
    def duplicates(self) -> int:
        return self.count(DUPLICATE)

    @property
    def rejected(self) -> int:
        return self.count(REJECTED)

    @property
    def ok(self) -> bool:
        """Nothing refused: every item is applied now or was before."""
        return self.error is None and not self.rejected


def _where(loc: Sequence[int | str]) -> str:
    """``('items', 2, 'attempt', 'responses')`` → ``item 3: responses`` (items count from 1)."""
    parts = list(loc)
    head = ""
    if len(parts) >= 2 and parts[0] == "items" and isinstance(parts[1], int):
        head = f"item {parts[1] + 1}"
        parts = parts[2:]
        if parts and parts[0] in ("attempt", "lesson_viewed"):
            parts = parts[1:]  # the union's tag, not a field
    tail = ".".join(str(p) for p in parts)
    return ": ".join(p for p in (head, tail) if p)


def _schema_problems(name: str, exc: ValidationError) -> str:
    lines = []
    errors = exc.errors(include_url=False, include_input=False)
    for error in errors[:_SHOWN_PROBLEMS]:
        where = _where(error["loc"])
        lines.append(f"{name}: {where + ': ' if where else ''}{error['msg']}")
    if len(errors) > _SHOWN_PROBLEMS:
        lines.append(f"{name}: … and {len(errors) - _SHOWN_PROBLEMS} more problems")
    return "\n".join(lines)


def _read_bytes(path: Path) -> bytes:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_RESULT_FILE_BYTES:
            raise InputFileError(
                f"{name}: too large for a result file ({size} bytes; at most "
                f"{MAX_RESULT_FILE_BYTES // 2**20} MiB = {MAX_RESULT_FILE_BYTES} bytes)"
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_RESULT_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{name}: is a folder, not a file") from None
    except PermissionError:
        raise InputFileError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputFileError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_RESULT_FILE_BYTES:  # grew while we looked
        raise InputFileError(
            f"{name}: too large for a result file (at most {MAX_RESULT_FILE_BYTES // 2**20} MiB)"
        )
    return data


def _envelope(name: str, data: bytes) -> tuple[str, str]:
    """The payload string and its claimed checksum, after the outer checks."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(
            f"{name}: not a result file (it is not UTF-8 text; export it again from the browser)"
        ) from None
    if not text.strip():
        raise InputFileError(f"{name}: the file is empty (export it again from the browser)")
    try:
        outer = json.loads(text)
    except RecursionError:
        raise InputFileError(f"{name}: not a result file (JSON nested too deeply)") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{name}: not complete JSON, the file is truncated or damaged (line {exc.lineno}, "
            f"column {exc.colno}: {exc.msg}); copy or export it again"
        ) from None
    if not isinstance(outer, dict) or "format" not in outer:
        raise InputFileError(
            f"{name}: not a taphuan result file (expected an object with "
            f'"format": "{RESULT_FORMAT}")'
        )
    fmt = outer["format"]
    if fmt != RESULT_FORMAT:
        if isinstance(fmt, str) and fmt.startswith("taphuan.result/"):
            raise InputFileError(
                f"{name}: result file format '{fmt}' is not supported: this version of lms "
                f"reads '{RESULT_FORMAT}' (upgrade lms)"
            )
        raise InputFileError(f"{name}: not a taphuan result file (format is {fmt!r})")
    unknown = sorted(set(outer) - {"format", "payload", "sha256"})
    if unknown:
        raise InputFileError(f"{name}: unexpected field(s) {', '.join(unknown)}")
    payload, claimed = outer.get("payload"), outer.get("sha256")
    if not isinstance(payload, str):
        raise InputFileError(f'{name}: "payload" must be a JSON string')
    if not isinstance(claimed, str) or len(claimed) != 64:
        raise InputFileError(f'{name}: "sha256" must be 64 hex digits')
    return payload, claimed.lower()


def read_result_file(path: str | os.PathLike[str]) -> ResultFile:
    """Read and check a result file exported by a learner's browser.

    The SHA-256 of the payload only tells a truncated or edited file from a
    whole one: the static page holds no secret, so it is no signature, and
    whoever imports a file vouches for it.  Every problem is an
    :class:`InputFileError` that names the file (items count from 1).
    """
    file = Path(path)
    name = str(path)
    payload, claimed = _envelope(name, _read_bytes(file))
    try:
        actual = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        actual = ""
    if actual != claimed:
        raise InputFileError(
            f"{name}: checksum mismatch: the file was changed or damaged after it was "
            "exported (export it again from the learner's browser)"
        )
    try:
        inner = json.loads(payload)
    except RecursionError:
        raise InputFileError(f"{name}: the payload is JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{name}: the payload is not JSON ({exc.msg})") from None
    try:
        parsed = ResultPayload.model_validate(inner)
    except ValidationError as exc:
        raise InputFileError(_schema_problems(name, exc)) from None
    return ResultFile(
        path=name,
        staff_code=normalise_staff_code(parsed.staff_code),
        exported_at=parsed.exported_at,
        items=list(parsed.items),
        sha256=actual,
    )


def _import_one(
    session: Session,
    *,
    path: str | os.PathLike[str],
    types: Mapping[str, ExerciseType[Any]],
    pm: pluggy.PluginManager | None,
    expect: str | None,
    now: dt.datetime | None,
) -> FileReport:
    name = str(path)
    try:
        result_file = read_result_file(path)
    except InputFileError as exc:
        return FileReport(file=name, error=str(exc))
    if expect is not None and result_file.staff_code != expect:
        return FileReport(file=name, error=f"{name}: this file is for another person, not {expect}")
    person_id = session.scalar(select(Person.id).where(Person.staff_code == result_file.staff_code))
    if person_id is None:
        return FileReport(
            file=name,
            error=f"{name}: no person with staff code {result_file.staff_code} "
            "(import the staff list first, or check the file)",
        )
    results = apply_items(
        session,
        person_id=person_id,
        items=result_file.items,
        types=types,
        pm=pm,
        source="import",
        now=now,
        origin={
            "file_sha256": result_file.sha256,
            "exported_at": result_file.exported_at.isoformat(),
        },
    )
    return FileReport(file=name, items=tuple(results))


def import_results(
    session: Session,
    *,
    files: Sequence[str | os.PathLike[str]],
    types: Mapping[str, ExerciseType[Any]],
    pm: pluggy.PluginManager | None,
    expect_staff_code: str | None = None,
    now: dt.datetime | None = None,
) -> list[FileReport]:
    """Import result files, each on its own: a bad file or item never stops the others.

    A file is refused whole when it cannot be read or checked, when its staff
    code names nobody, or when ``expect_staff_code`` is given and the file
    belongs to someone else.  Its items are then applied as the person's
    (:func:`apply_items`, source ``import``): importing a file again applies
    nothing and reports every item as a duplicate.
    """
    expect = normalise_staff_code(expect_staff_code) if expect_staff_code is not None else None
    return [
        _import_one(session, path=path, types=types, pm=pm, expect=expect, now=now)
        for path in files
    ]

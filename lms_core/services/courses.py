"""Publishing courses: immutable versions, their history and their differences.

A version is a snapshot (settings, lessons, exercises with answers, file
hashes) plus its content hash.  Publishing content identical to the latest
version creates nothing; anything else creates version N+1 and moves the
enrolments that have not started to it.  Rows of ``course_version`` are never
updated, so attempts and completions keep pointing at exactly what the
learner saw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms_core.courses import LoadedCourse, content_hash
from lms_core.errors import ConflictError, NotFoundError
from lms_core.models import Course, CourseVersion, Enrolment, utcnow
from lms_core.services.enrolment import move_unstarted
from lms_core.services.events import record_event
from lms_core.text import did_you_mean


@dataclass(frozen=True, slots=True)
class PublishResult:
    slug: str
    version: int
    created: bool
    moved_enrolments: int = 0


def publish(
    session: Session, course: LoadedCourse, *, actor_account_id: int | None = None
) -> PublishResult:
    """Store ``course`` as a new version unless the latest one has the same content.

    Refuses a course with errors: what learners see must have passed the check.
    """
    if not course.ok or course.meta is None:
        raise ConflictError(f"course '{course.slug}' has errors; run 'lms course check' first")
    snapshot = course.snapshot()
    digest = content_hash(snapshot)
    row = session.scalar(select(Course).where(Course.slug == course.slug))
    if row is None:
        row = Course(slug=course.slug, title=course.meta.title, created_at=utcnow())
        session.add(row)
        session.flush()
    latest = _latest(session, row.id)
    if latest is not None and latest.content_hash == digest:
        return PublishResult(course.slug, latest.number, created=False)
    number = (latest.number if latest else 0) + 1
    version = CourseVersion(
        course_id=row.id,
        number=number,
        content_hash=digest,
        snapshot=snapshot,
        published_at=utcnow(),
    )
    session.add(version)
    row.title = course.meta.title
    session.flush()
    moved = move_unstarted(session, course_id=row.id, version_id=version.id)
    record_event(
        session,
        verb="course.published",
        object_type="course_version",
        object_id=str(version.id),
        actor_account_id=actor_account_id,
        data={"course_id": row.id, "number": number, "moved_enrolments": moved},
    )
    return PublishResult(course.slug, number, created=True, moved_enrolments=moved)


def _latest(session: Session, course_id: int) -> CourseVersion | None:
    return session.scalar(
        select(CourseVersion)
        .where(CourseVersion.course_id == course_id)
        .order_by(CourseVersion.number.desc())
        .limit(1)
    )


def _course(session: Session, slug: str) -> Course:
    row = session.scalar(select(Course).where(Course.slug == slug))
    if row is None:
        known = session.scalars(select(Course.slug)).all()
        hint = did_you_mean(slug, known)
        raise NotFoundError(
            f"course '{slug}' has never been published"
            + (f" ({hint})" if hint else " (run 'lms course publish')")
        )
    return row


@dataclass(frozen=True, slots=True)
class VersionInfo:
    number: int
    content_hash: str
    published_at: dt.datetime
    lessons: int
    exercises: int
    enrolments: int


def list_versions(session: Session, *, slug: str) -> list[VersionInfo]:
    """The versions of a course, newest first, with how many enrolments each holds."""
    course = _course(session, slug)
    counts = dict(
        session.execute(
            select(Enrolment.course_version_id, func.count())
            .where(Enrolment.course_id == course.id)
            .group_by(Enrolment.course_version_id)
        )
        .tuples()
        .all()
    )
    rows = session.scalars(
        select(CourseVersion)
        .where(CourseVersion.course_id == course.id)
        .order_by(CourseVersion.number.desc())
    ).all()
    return [
        VersionInfo(
            v.number,
            v.content_hash,
            v.published_at,
            len(v.snapshot["lessons"]),
            len(v.snapshot["exercises"]),
            counts.get(v.id, 0),
        )
        for v in rows
    ]


def get_version(session: Session, *, slug: str, number: int | None = None) -> CourseVersion:
    """Version ``number`` of a course (default: the latest)."""
    course = _course(session, slug)
    query = select(CourseVersion).where(CourseVersion.course_id == course.id)
    if number is None:
        version = _latest(session, course.id)
    else:
        version = session.scalar(query.where(CourseVersion.number == number))
    if version is None:
        raise NotFoundError(f"course '{slug}' has no version {number}")
    return version


@dataclass(slots=True)
class CourseDiff:
    """What changed between two versions, by lesson slug and exercise id."""

    settings: list[str] = field(default_factory=list)
    lessons_added: list[str] = field(default_factory=list)
    lessons_removed: list[str] = field(default_factory=list)
    lessons_changed: list[str] = field(default_factory=list)
    exercises_added: list[str] = field(default_factory=list)
    exercises_removed: list[str] = field(default_factory=list)
    exercises_changed: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(getattr(self, name) for name in self.__slots__)


def _without_lines(value: Any) -> Any:
    """Drop source line numbers: moving a quiz down a page does not change it."""
    if isinstance(value, dict):
        return {k: _without_lines(v) for k, v in value.items() if k != "line"}
    if isinstance(value, list):
        return [_without_lines(v) for v in value]
    return value


def _changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    added = sorted(new.keys() - old.keys())
    removed = sorted(old.keys() - new.keys())
    changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    return added, removed, changed


def diff_versions(session: Session, *, slug: str, old: int, new: int) -> CourseDiff:
    """Compare two versions of a course."""
    a = get_version(session, slug=slug, number=old).snapshot
    b = get_version(session, slug=slug, number=new).snapshot
    out = CourseDiff()
    out.settings = sorted(
        k for k in a["meta"].keys() | b["meta"].keys() if a["meta"].get(k) != b["meta"].get(k)
    )
    if a.get("intro") != b.get("intro"):
        out.settings.append("introduction")
    lessons_a = {x["slug"]: {k: v for k, v in x.items() if k != "exercises"} for x in a["lessons"]}
    lessons_b = {x["slug"]: {k: v for k, v in x.items() if k != "exercises"} for x in b["lessons"]}
    out.lessons_added, out.lessons_removed, out.lessons_changed = _changes(lessons_a, lessons_b)
    ex_a = {x["id"]: _without_lines(x["data"]) for x in a["exercises"]}
    ex_b = {x["id"]: _without_lines(x["data"]) for x in b["exercises"]}
    out.exercises_added, out.exercises_removed, out.exercises_changed = _changes(ex_a, ex_b)
    files_a, files_b = a.get("files", {}), b.get("files", {})
    out.files_changed = sorted(
        k for k in files_a.keys() | files_b.keys() if files_a.get(k) != files_b.get(k)
    )
    return out

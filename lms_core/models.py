"""Database tables as SQLAlchemy 2 typed models.

Only ``lms_core`` services talk to these.  Timestamps are stored as UTC and
returned timezone-aware on every engine (SQLite has no time zones, so a small
type decorator does it), because a completion date off by seven hours is a
wrong certificate in Vietnam.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as naive UTC and read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


def sql_timestamp(value: dt.datetime) -> ColumnElement[dt.datetime]:
    """``value`` as a typed SQL constant, for bulk statements.

    Rendered once into the statement instead of bound and converted for every
    row of an executemany; stored exactly as :class:`UTCDateTime` stores it.
    """
    naive = value.astimezone(dt.UTC).replace(tzinfo=None)
    return literal_column(f"'{naive:%Y-%m-%d %H:%M:%S.%f}'", UTCDateTime())


# Materialised paths are compared byte-wise ("/1/5/" < "/1/50"); PostgreSQL's
# default collation may ignore punctuation, so the column uses "C" there.
PathString = String(1024).with_variant(String(1024, collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


ORG_KINDS = (
    "province",
    "commune",
    "ward",
    "special_zone",
    "village",
    "residential_group",
    "agency",
    "unit",
)
ROLES = ("learner", "trainer", "manager", "admin")
ACCOUNT_STATUSES = ("invited", "active", "disabled")


class OrgUnit(Base):
    """A node of the organisation tree: province, commune, village, agency…

    ``path`` is the chain of ids from the root, ``"/1/17/245/"``, so a subtree
    is one indexed range query.  ``valid_to`` is set when a unit is dissolved
    or merged: its history stays, new enrolments do not go there.
    """

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(24))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_unit.id", ondelete="RESTRICT"), index=True
    )
    path: Mapped[str] = mapped_column(PathString, index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])


class Person(Base):
    """A member of staff who may be trained.  ``full_name`` is stored NFC."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_code: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    org_unit_id: Mapped[int] = mapped_column(
        ForeignKey("org_unit.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship()


class Account(Base):
    """How a person signs in, and what they may see.

    ``scope_org_id`` bounds what a trainer or manager sees: that unit and its
    whole subtree.  ``password_hash`` (argon2) is empty until the person
    redeems an invite.
    """

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="learner")
    scope_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_unit.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="invited")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship()


class Invite(Base):
    """A single-use, expiring code that lets a person set their password.

    Only a SHA-256 of the code is stored: the code has at least 60 bits of
    randomness, so a slow hash adds nothing and a fast one allows lookup.
    """

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Event(Base):
    """Append-only log of what happened: who, what, when, from where.

    ``data`` never holds personal data (names, staff codes, answers); it holds
    ids and counts, so the log can be kept and shared for audit.
    """

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_verb_time", "verb", "occurred_at"),
        Index("ix_event_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL")
    )
    verb: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(String(32), default="cli")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


COURSE_STATUSES = ("enrolled", "in_progress", "completed", "withdrawn")


class Course(Base):
    """A course known to the database (its content lives in its versions)."""

    __tablename__ = "course"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CourseVersion(Base):
    """An immutable snapshot of a published course.

    ``snapshot`` holds settings, lessons and every exercise's full definition
    (answers included); ``content_hash`` is the SHA-256 of its canonical JSON
    plus the hashes of the course's files.  Rows are never updated.
    """

    __tablename__ = "course_version"
    __table_args__ = (UniqueConstraint("course_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Cohort(Base):
    """A training round: a course for an org scope and positions, between dates."""

    __tablename__ = "cohort"
    __table_args__ = (UniqueConstraint("course_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id", ondelete="RESTRICT"))
    positions: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    trainer_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Enrolment(Base):
    """A person enrolled in a course, pinned to one course version.

    At most one *active* enrolment (enrolled or in progress) per person and
    course; completed and withdrawn ones stay as history.
    """

    __tablename__ = "enrolment"
    __table_args__ = (
        Index(
            "uq_enrolment_active",
            "person_id",
            "course_id",
            unique=True,
            sqlite_where=text("status IN ('enrolled', 'in_progress')"),
            postgresql_where=text("status IN ('enrolled', 'in_progress')"),
        ),
        Index("ix_enrolment_course_status", "course_id", "status"),
        # reports (migration 0006): latest enrolment per person and course, cohort
        # filters, and overdue enrolments over a large area
        Index("ix_enrolment_person_course", "person_id", "course_id", "id"),
        Index("ix_enrolment_cohort", "cohort_id"),
        Index(
            "ix_enrolment_due_open",
            "due_on",
            sqlite_where=text("status IN ('enrolled', 'in_progress')"),
            postgresql_where=text("status IN ('enrolled', 'in_progress')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="RESTRICT"))
    course_version_id: Mapped[int] = mapped_column(
        ForeignKey("course_version.id", ondelete="RESTRICT"), index=True
    )
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="enrolled")
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Completion(Base):
    """A course completed: one per enrolment, with a snapshot of score and rule."""

    __tablename__ = "completion"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="RESTRICT"), unique=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="RESTRICT"), index=True)
    course_version_id: Mapped[int] = mapped_column(
        ForeignKey("course_version.id", ondelete="RESTRICT")
    )
    completed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    score: Mapped[float | None] = mapped_column()
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


ATTEMPT_STATES = ("in_progress", "submitted", "graded")


class Attempt(Base):
    """One try at an exercise by an enrolment, pinned to a course version.

    ``uuid`` is generated by the client and is the idempotency key: starting
    or submitting twice with it changes nothing.  ``seed`` decides shuffling
    and drawing (the plugin's public view and grading both use it).  A partial
    unique index allows at most one ``in_progress`` attempt per enrolment and
    exercise.  ``result`` is the plugin's :class:`~lms_core.exercises.Grade`
    as JSON, stored once when the attempt is graded.
    """

    __tablename__ = "attempt"
    __table_args__ = (
        Index(
            "uq_attempt_active",
            "enrolment_id",
            "exercise_id",
            unique=True,
            sqlite_where=text("state = 'in_progress'"),
            postgresql_where=text("state = 'in_progress'"),
        ),
        Index("ix_attempt_enrolment_exercise", "enrolment_id", "exercise_id"),
        Index("ix_attempt_state_deadline", "state", "deadline_at"),
        # reports (migration 0006): item analysis per exercise, attempts in a period
        Index("ix_attempt_version_exercise_state", "course_version_id", "exercise_id", "state"),
        Index("ix_attempt_state_submitted", "state", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="RESTRICT"))
    course_version_id: Mapped[int] = mapped_column(
        ForeignKey("course_version.id", ondelete="RESTRICT")
    )
    exercise_id: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="in_progress")
    save_seq: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16), default="web")


class Response(Base):
    """The answer to one question of an attempt (autosaved), marked at submit."""

    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    answer: Mapped[Any] = mapped_column(JSON)
    points: Mapped[float | None] = mapped_column(Float)
    correct: Mapped[bool | None] = mapped_column(Boolean)


# Core tables of the bulk paths (imports use Core insert/update executemany).
org_unit_table = cast(Table, OrgUnit.__table__)
person_table = cast(Table, Person.__table__)


class WebSession(Base):
    """A signed-in browser: only a SHA-256 of its cookie token is stored.

    Everything lives here (no server memory), so any number of server
    processes can answer the same browser.  ``csrf_token`` is handed to the
    page, which echoes it in ``X-CSRF-Token`` on every state-changing request.
    """

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginFailure(Base):
    """One failed sign-in or invite redemption, counted to throttle guessing.

    ``key`` is ``"account:<sha256>"`` or ``"ip:<sha256>"``: never a staff code
    or an address in plain.
    """

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SigningKey(Base):
    """A public key of the certificate issuer (Ed25519), by key id.

    Only the public half is here; the private key is a file outside the
    project (``[certificates] key_dir``).  Retired keys stay, so the
    certificates they signed still verify; at most one key is active (not
    retired) at a time.
    """

    __tablename__ = "signing_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(16), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Ob3Key(Base):
    """A public key that signs Open Badges 3.0 credentials (RS256), by key id.

    Not in ``signing_key``: that table holds the certificate tokens' raw
    32-byte Ed25519 keys, and OB 3.0 §8.2.3 wants RS256 for JWT proofs
    (1EdTech's validator accepts no EdDSA), so these are RSA keys, kept as
    their public JWK.  ``public_jwk`` holds the public members ``kty``,
    ``n`` and ``e`` only, never a private one: the private key is a file
    outside the project (``[certificates] key_dir``).  As for
    ``signing_key``, retired keys stay so the credentials they signed still
    verify, and at most one key is active (not retired) at a time.
    """

    __tablename__ = "ob3_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(40), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16), default="RS256")
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Certificate(Base):
    """A certificate issued for one completion, with a snapshot of what it states.

    Name, unit, position and course title are copied at issue time: a later
    rename must not change what a printed certificate says.  ``token`` is the
    signed token of docs/certificates.md, exactly as issued.  One per
    completion (a unique constraint, the last guard against issuing twice);
    ``previous_id`` links a renewal to the certificate it renews.
    """

    __tablename__ = "certificate"
    __table_args__ = (
        Index("ix_certificate_person_course", "person_id", "course_id"),
        Index("ix_certificate_valid_until", "valid_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    completion_id: Mapped[int] = mapped_column(
        ForeignKey("completion.id", ondelete="RESTRICT"), unique=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="RESTRICT"))
    course_version_id: Mapped[int] = mapped_column(
        ForeignKey("course_version.id", ondelete="RESTRICT")
    )
    full_name: Mapped[str] = mapped_column(String(255))
    unit_name: Mapped[str] = mapped_column(String(255))
    position: Mapped[str] = mapped_column(String(255), default="")
    course_title: Mapped[str] = mapped_column(String(255))
    version_number: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    completed_on: Mapped[dt.date] = mapped_column(Date)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    issuer: Mapped[str] = mapped_column(String(255))
    kid: Mapped[str] = mapped_column(ForeignKey("signing_key.kid", ondelete="RESTRICT"))
    token: Mapped[str] = mapped_column(Text)
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate.id", ondelete="RESTRICT")
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CertificateCounter(Base):
    """The last serial number used per prefix (``<province>-<year>``).

    Serials are allocated by incrementing this row, which locks it until the
    issuing transaction ends: concurrent issuers wait instead of taking the
    same number, and a rolled-back issue gives its number back (no gaps).
    """

    __tablename__ = "certificate_counter"

    prefix: Mapped[str] = mapped_column(String(24), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)

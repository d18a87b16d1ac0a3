"""Issuing, renewing, revoking and reading certificates (docs/certificates.md).

A certificate is issued from a stored completion only, inside the
transaction that records the completion (the ``lms_completion_recorded``
hook), so both commit or neither does.  Exactly one per completion: the
issuer looks first, and a unique constraint on ``completion_id`` (under a
savepoint) is the last guard when two transactions race.  Serials are
``<province>-<year>-<000001…>``, taken from a counter row that stays locked
until the issuing transaction ends, so concurrent issuers wait rather than
collide, and a rolled-back issue gives its number back.

Everything signed is NFC, the name, unit and position are copied from the
person as they are at issue time, and dates are Vietnamese dates.  A
certificate is valid through the day before the same date ``validity_months``
later (24 months from 15 March 2026: through 14 March 2028); 0 months means
no expiry.  Completing the course again after expiry, or within
``renew_within_days`` before it, *renews*: the new certificate names the
previous one (``prev``).

Logs and events hold ids only, never names or staff codes.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from lms_certificates.keys import LoadedKey, load_signing_key, public_keys
from lms_certificates.settings import VN_TZ, IssuerSettings, today_vn
from lms_certificates.token import (
    FORMAT_VERSION,
    Verdict,
    b64url_encode,
    sign_token,
    verify_token,
)
from lms_core.errors import ConflictError, LmsError, NotFoundError
from lms_core.models import (
    Certificate,
    CertificateCounter,
    Completion,
    Course,
    CourseVersion,
    LoginFailure,
    OrgUnit,
    Person,
    SigningKey,
    utcnow,
)
from lms_core.services.auth import (
    FAILURE_WINDOW,
    MAX_FAILURES_PER_ADDRESS,
    THROTTLED,
    ThrottledError,
)
from lms_core.services.events import record_event
from lms_core.services.org import get_unit, subtree_filter
from lms_core.services.scope import NO_UNIT, Scope
from lms_core.text import clean

__all__ = [
    "CertificateEntry",
    "ExpiringEntry",
    "PendingReport",
    "add_months",
    "certificate_enabled",
    "expiring",
    "get_certificate",
    "issue_for_completion",
    "issue_pending",
    "list_certificates",
    "person_certificates",
    "publish_lists",
    "published_keys",
    "revocation_list",
    "revoke",
    "revoke_for_completion",
    "revoked_serials",
    "scope_certificates",
    "valid_until_for",
    "verify",
    "verify_from_address",
]

MAX_REASON_CHARS = 1000
VERIFY_FAILURE_KEY = "verify-ip:"
"""Prefix of the throttling key of failed verifications (with a SHA-256 of the address)."""


# --------------------------------------------------------------------------- dates


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved ``months`` calendar months on (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def valid_until_for(completed_on: dt.date, validity_months: int) -> dt.date | None:
    """The last valid day of a certificate, or None (``validity_months`` 0: no expiry)."""
    if validity_months <= 0:
        return None
    return add_months(completed_on, validity_months) - dt.timedelta(days=1)


def _vn_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(VN_TZ).date()


# --------------------------------------------------------------------------- issuing


def _certificate_meta(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    meta = snapshot.get("meta") or {}
    found = meta.get("certificate") or {}
    return found if isinstance(found, dict) else {}


def certificate_enabled(session: Session, *, course_version_id: int) -> bool:
    """Whether the course version's front matter enables certificates."""
    version = session.get_one(CourseVersion, course_version_id)
    return bool(_certificate_meta(version.snapshot).get("enabled"))


def _score(value: float | None) -> int | float | None:
    """A completion's percent as signed: two decimals, a whole number when whole.

    Whole numbers are written ``100``, not ``100.0``, the way JavaScript writes
    them too, so every verifier shows the same text.
    """
    if value is None or not math.isfinite(value):
        return None
    rounded = round(float(value), 2)
    return int(rounded) if rounded.is_integer() else rounded


def _next_serial(session: Session, *, prefix: str) -> str:
    """The next serial of ``prefix``; the counter row stays locked until commit."""
    for _ in range(3):
        value = session.execute(
            update(CertificateCounter)
            .where(CertificateCounter.prefix == prefix)
            .values(last=CertificateCounter.last + 1)
            .returning(CertificateCounter.last),
            execution_options={"synchronize_session": False},
        ).scalar_one_or_none()
        if value is not None:
            return f"{prefix}-{value:06d}"
        try:
            with session.begin_nested():
                session.execute(insert(CertificateCounter).values(prefix=prefix, last=1))
        except IntegrityError:
            continue  # another issuer created the row meanwhile: increment it
        return f"{prefix}-{1:06d}"
    raise ConflictError("could not allocate a certificate serial number; try again")


def _renews(
    session: Session, *, completion: Completion, completed_on: dt.date, window_days: int
) -> Certificate | None:
    """The certificate this completion renews: the person's latest unrevoked one
    for the course, if it has expired by ``completed_on`` or expires within
    ``window_days`` after it.
    """
    latest = session.scalar(
        select(Certificate)
        .where(
            Certificate.person_id == completion.person_id,
            Certificate.course_id == completion.course_id,
            Certificate.completion_id != completion.id,
            Certificate.revoked_at.is_(None),
            Certificate.completed_on <= completed_on,
        )
        .order_by(Certificate.completed_on.desc(), Certificate.id.desc())
        .limit(1)
    )
    if latest is None or latest.valid_until is None:
        return None
    if completed_on >= latest.valid_until - dt.timedelta(days=window_days):
        return latest
    return None


def _existing(session: Session, completion_id: int) -> Certificate | None:
    return session.scalar(
        select(Certificate)
        .where(Certificate.completion_id == completion_id)
        .execution_options(populate_existing=True)
    )


def _load_key(session: Session, settings: IssuerSettings) -> LoadedKey:
    return load_signing_key(
        session,
        key_dir=settings.key_dir,
        project_root=settings.project_root,
        output_dir=settings.output_dir,
    )


def issue_for_completion(
    session: Session,
    *,
    completion_id: int,
    settings: IssuerSettings,
    key: LoadedKey | None = None,
    now: dt.datetime | None = None,
) -> Certificate | None:
    """Issue the certificate of a completion, or return the one it already has.

    Returns None when the completed course version has certificates
    disabled.  The key is loaded (and checked) before anything is written:
    a missing or wrong key raises a
    :class:`~lms_certificates.keys.SigningKeyError` and nothing is issued.
    Runs in the caller's transaction, its writes under a savepoint.
    """
    now = now or utcnow()
    existing = _existing(session, completion_id)
    if existing is not None:
        return existing
    completion = session.get(Completion, completion_id)
    if completion is None:
        raise NotFoundError(f"no completion with id {completion_id}")
    version = session.get_one(CourseVersion, completion.course_version_id)
    settings_of_course = _certificate_meta(version.snapshot)
    if not settings_of_course.get("enabled"):
        return None
    key = key or _load_key(session, settings)
    person = session.get_one(Person, completion.person_id)
    unit = session.get_one(OrgUnit, person.org_unit_id)
    course = session.get_one(Course, completion.course_id)
    meta = version.snapshot.get("meta") or {}

    completed_on = _vn_date(completion.completed_at)
    issued_on = _vn_date(now)
    months = int(settings_of_course.get("validity_months", 24) or 0)
    valid_until = valid_until_for(completed_on, months)
    previous = _renews(
        session,
        completion=completion,
        completed_on=completed_on,
        window_days=settings.renew_within_days,
    )
    score = _score(completion.score)
    try:
        with session.begin_nested():
            serial = _next_serial(
                session, prefix=f"{clean(settings.province_code)}-{issued_on.year}"
            )
            fields = {
                "v": FORMAT_VERSION,
                "kid": key.kid,
                "serial": serial,
                "name": clean(person.full_name),
                "unit": clean(unit.name),
                "position": clean(person.position or ""),
                "course": course.slug,
                "title": clean(str(meta.get("title") or course.title)),
                "version": version.number,
                "completed": completed_on.isoformat(),
                "score": score,
                "issued": issued_on.isoformat(),
                "valid_until": valid_until.isoformat() if valid_until else None,
                "issuer": clean(settings.issuer),
                "prev": previous.serial if previous is not None else None,
            }
            token = sign_token(fields, key.private_key)
            certificate = Certificate(
                serial=serial,
                completion_id=completion.id,
                person_id=person.id,
                course_id=course.id,
                course_version_id=version.id,
                full_name=fields["name"],
                unit_name=fields["unit"],
                position=fields["position"],
                course_title=fields["title"],
                version_number=version.number,
                score=None if score is None else float(score),
                completed_on=completed_on,
                issued_on=issued_on,
                valid_until=valid_until,
                issuer=fields["issuer"],
                kid=key.kid,
                token=token,
                previous_id=previous.id if previous is not None else None,
                created_at=now,
            )
            session.add(certificate)
            session.flush()
    except IntegrityError:
        # Issued meanwhile by another transaction (the unique completion_id).
        found = _existing(session, completion_id)
        if found is None:
            raise
        return found
    record_event(
        session,
        verb="certificate.issued",
        object_type="certificate",
        object_id=str(certificate.id),
        data={
            "completion_id": completion.id,
            "course_id": course.id,
            "course_version_id": version.id,
            "kid": key.kid,
            "previous_id": certificate.previous_id,
        },
    )
    return certificate


@dataclass(slots=True)
class PendingReport:
    """What ``lms certificates issue-pending`` did."""

    issued: list[str] = field(default_factory=list)
    """Serials issued, in completion order."""


def issue_pending(
    session: Session, *, settings: IssuerSettings, now: dt.datetime | None = None
) -> PendingReport:
    """Issue the certificates of completions that should have one and do not.

    They exist when a completion was recorded while the key could not be
    used (the completion is kept; the hook only logged a warning).  The key
    is loaded once, first: if it still cannot be used, nothing is issued.
    """
    key = _load_key(session, settings)
    rows = session.execute(
        select(Completion.id, Completion.course_version_id)
        .outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .where(Certificate.id.is_(None))
        .order_by(Completion.completed_at, Completion.id)
    ).all()
    enabled: dict[int, bool] = {}
    report = PendingReport()
    for completion_id, version_id in rows:
        if version_id not in enabled:
            enabled[version_id] = certificate_enabled(session, course_version_id=version_id)
        if not enabled[version_id]:
            continue
        issued = issue_for_completion(
            session, completion_id=completion_id, settings=settings, key=key, now=now
        )
        if issued is not None:
            report.issued.append(issued.serial)
    return report


# --------------------------------------------------------------------------- revoking


def _by_serial(session: Session, serial: str) -> Certificate:
    found = session.scalar(
        select(Certificate)
        .where(Certificate.serial == clean(serial))
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFoundError(f"no certificate with serial '{clean(serial)}'")
    return found


def _revoke(
    session: Session,
    certificate: Certificate,
    *,
    reason: str,
    actor_account_id: int | None,
    now: dt.datetime,
) -> Certificate:
    text = clean(reason)
    if not text:
        raise LmsError("give the reason for revoking (it stays in the database)")
    if len(text) > MAX_REASON_CHARS:
        raise LmsError(f"the reason is too long (at most {MAX_REASON_CHARS} characters)")
    won = session.execute(
        update(Certificate)
        .where(Certificate.id == certificate.id, Certificate.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=text),
        execution_options={"synchronize_session": False},
    )
    session.refresh(certificate)
    if int(cast(Any, won).rowcount) != 1:
        assert certificate.revoked_at is not None
        raise ConflictError(
            f"certificate {certificate.serial} was already revoked on "
            f"{_vn_date(certificate.revoked_at).isoformat()}"
        )
    record_event(
        session,
        verb="certificate.revoked",
        object_type="certificate",
        object_id=str(certificate.id),
        actor_account_id=actor_account_id,
        data={"completion_id": certificate.completion_id},
    )
    return certificate


def revoke(
    session: Session,
    *,
    serial: str,
    reason: str,
    actor_account_id: int | None = None,
    now: dt.datetime | None = None,
) -> Certificate:
    """Revoke a certificate; the reason stays in the database, never in the published list.

    Revoking twice is refused (the first date and reason stand).
    """
    return _revoke(
        session,
        _by_serial(session, serial),
        reason=reason,
        actor_account_id=actor_account_id,
        now=now or utcnow(),
    )


def revoke_for_completion(
    session: Session,
    *,
    completion_id: int,
    reason: str,
    actor_account_id: int | None = None,
    now: dt.datetime | None = None,
) -> Certificate | None:
    """Revoke the certificate of a completion found invalid after the fact.

    The core has no way to invalidate a completion yet; the path that adds it
    must call this in the same transaction, and delete the completion (or
    mark it) so that ``issue-pending`` does not issue for it later.  Returns
    None when the completion has no certificate; revoking an already revoked
    one changes nothing.
    """
    certificate = _existing(session, completion_id)
    if certificate is None:
        return None
    if certificate.revoked_at is not None:
        return certificate
    return _revoke(
        session,
        certificate,
        reason=reason,
        actor_account_id=actor_account_id,
        now=now or utcnow(),
    )


# --------------------------------------------------------------------------- verifying


def revoked_serials(session: Session) -> dict[str, dt.date]:
    """serial -> revocation date (in Vietnam) of every revoked certificate."""
    rows = session.execute(
        select(Certificate.serial, Certificate.revoked_at).where(
            Certificate.revoked_at.is_not(None)
        )
    ).tuples()
    return {serial: _vn_date(at) for serial, at in rows if at is not None}


def verify(session: Session, *, token: str, today: dt.date | None = None) -> Verdict:
    """The verdict on ``token`` with this database's keys and revocations."""
    return verify_token(
        token,
        keys=public_keys(session),
        revoked=revoked_serials(session),
        today=today or today_vn(),
    )


def _address_key(address: str) -> str:
    return VERIFY_FAILURE_KEY + hashlib.sha256(address.encode("utf-8")).hexdigest()


def verify_from_address(
    session: Session, *, token: str, address: str, now: dt.datetime | None = None
) -> Verdict:
    """:func:`verify` for the public endpoint, throttled per client address.

    Like sign-in: unreadable and forged answers count as failures of the
    address (stored as a SHA-256), and past the limit the address is refused
    for a while.  Valid, expired and revoked answers do not count, so an HR
    office checking a pile of certificates is never locked out.
    """
    now = now or utcnow()
    key = _address_key(address)
    failures = session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.key == key, LoginFailure.at > now - FAILURE_WINDOW)
    )
    if (failures or 0) >= MAX_FAILURES_PER_ADDRESS:
        raise ThrottledError(THROTTLED)
    verdict = verify(session, token=token, today=today_vn(now))
    if verdict.verdict in ("unreadable", "forged"):
        session.execute(
            delete(LoginFailure).where(
                LoginFailure.key == key, LoginFailure.at <= now - FAILURE_WINDOW
            )
        )
        session.execute(insert(LoginFailure).values(key=key, at=now))
    return verdict


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class CertificateEntry:
    """A certificate as listed: what it says (snapshot), who it is, and its verdict today."""

    serial: str
    staff_code: str
    full_name: str
    unit_name: str
    unit_code: str
    """The person's *current* unit (the snapshot names the unit at issue time)."""
    position: str
    course: str
    title: str
    version: int
    score: float | None
    completed_on: dt.date
    issued_on: dt.date
    valid_until: dt.date | None
    kid: str
    token: str
    previous: str | None
    revoked_at: dt.datetime | None
    revoked_reason: str | None
    verdict: str


_Previous = aliased(Certificate)


def _entries(
    session: Session, where: list[ColumnElement[bool]], *, today: dt.date
) -> list[CertificateEntry]:
    query = (
        select(Certificate, Person.staff_code, OrgUnit.code, Course.slug, _Previous.serial)
        .join(Person, Certificate.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .join(Course, Certificate.course_id == Course.id)
        .outerjoin(_Previous, Certificate.previous_id == _Previous.id)
        .where(*where)
        .order_by(OrgUnit.path, Person.full_name, Person.staff_code, Course.slug, Certificate.id)
    )
    rows = session.execute(query).tuples().all()
    if not rows:
        return []
    keys = public_keys(session)
    revoked = revoked_serials(session)
    out = []
    for cert, staff_code, unit_code, slug, previous in rows:
        verdict = verify_token(cert.token, keys=keys, revoked=revoked, today=today)
        out.append(
            CertificateEntry(
                serial=cert.serial,
                staff_code=staff_code,
                full_name=cert.full_name,
                unit_name=cert.unit_name,
                unit_code=unit_code,
                position=cert.position,
                course=slug,
                title=cert.course_title,
                version=cert.version_number,
                score=cert.score,
                completed_on=cert.completed_on,
                issued_on=cert.issued_on,
                valid_until=cert.valid_until,
                kid=cert.kid,
                token=cert.token,
                previous=previous,
                revoked_at=cert.revoked_at,
                revoked_reason=cert.revoked_reason,
                verdict=verdict.verdict,
            )
        )
    return out


def _course_id(session: Session, course: str) -> int:
    found = session.scalar(select(Course.id).where(Course.slug == course))
    if found is None:
        raise NotFoundError(f"no course '{course}'")
    return found


def get_certificate(
    session: Session, *, serial: str, today: dt.date | None = None
) -> CertificateEntry:
    """One certificate by serial (the reason of a revocation included)."""
    found = _entries(session, [Certificate.serial == clean(serial)], today=today or today_vn())
    if not found:
        raise NotFoundError(f"no certificate with serial '{clean(serial)}'")
    return found[0]


def list_certificates(
    session: Session,
    *,
    org: str | None = None,
    subtree: bool = False,
    course: str | None = None,
    today: dt.date | None = None,
) -> list[CertificateEntry]:
    """Certificates by the person's current unit (``org``, ``subtree``) and course."""
    if subtree and org is None:
        raise LmsError("subtree needs org")
    where: list[ColumnElement[bool]] = []
    if org is not None:
        unit = get_unit(session, clean(org))
        where.append(
            Person.org_unit_id.in_(subtree_filter(unit.path))
            if subtree
            else Person.org_unit_id == unit.id
        )
    if course is not None:
        where.append(Certificate.course_id == _course_id(session, course))
    return _entries(session, where, today=today or today_vn())


def person_certificates(
    session: Session, *, person_id: int, today: dt.date | None = None
) -> list[CertificateEntry]:
    """A person's own certificates (the learner's page), revoked ones included."""
    return _entries(session, [Certificate.person_id == person_id], today=today or today_vn())


def scope_certificates(
    session: Session,
    scope: Scope,
    *,
    unit_code: str,
    course: str | None = None,
    today: dt.date | None = None,
) -> list[CertificateEntry]:
    """Certificates of the people of a unit's subtree, for a trainer, manager or admin.

    The unit must lie in the reader's scope; one outside it is reported
    exactly like one that does not exist (the same rule and message as
    :mod:`lms_core.services.scope`).
    """
    code = clean(unit_code)
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    root = scope.root_path
    if unit is None or (root is not None and not (root <= unit.path < root[:-1] + "0")):
        raise NotFoundError(NO_UNIT.format(code=code))
    where: list[ColumnElement[bool]] = [Person.org_unit_id.in_(subtree_filter(unit.path))]
    if course is not None:
        where.append(Certificate.course_id == _course_id(session, course))
    return _entries(session, where, today=today or today_vn())


@dataclass(frozen=True, slots=True)
class ExpiringEntry:
    """A person whose latest certificate of a course expires soon (or has expired)."""

    staff_code: str
    full_name: str
    unit_code: str
    unit_name: str
    course: str
    serial: str
    valid_until: dt.date
    days_left: int
    """Negative once expired."""


def expiring(
    session: Session,
    *,
    within_days: int,
    org: str | None = None,
    subtree: bool = False,
    today: dt.date | None = None,
) -> list[ExpiringEntry]:
    """Who needs refresher training: active people whose latest unrevoked
    certificate of a course is valid until ``today + within_days`` at most
    (already expired ones included), soonest first.

    A person who has renewed is not listed (their latest certificate is the
    new one).  ``org`` filters on the person's current unit.
    """
    if within_days < 0:
        raise LmsError("the number of days must not be negative")
    if subtree and org is None:
        raise LmsError("subtree needs org")
    today = today or today_vn()
    latest = (
        select(func.max(Certificate.id).label("id"))
        .where(Certificate.revoked_at.is_(None))
        .group_by(Certificate.person_id, Certificate.course_id)
        .subquery()
    )
    query = (
        select(
            Person.staff_code,
            Person.full_name,
            OrgUnit.code,
            OrgUnit.name,
            Course.slug,
            Certificate.serial,
            Certificate.valid_until,
        )
        .join(latest, latest.c.id == Certificate.id)
        .join(Person, Certificate.person_id == Person.id)
        .join(OrgUnit, Person.org_unit_id == OrgUnit.id)
        .join(Course, Certificate.course_id == Course.id)
        .where(
            Person.active.is_(True),
            and_(
                Certificate.valid_until.is_not(None),
                Certificate.valid_until <= today + dt.timedelta(days=within_days),
            ),
        )
        .order_by(Certificate.valid_until, OrgUnit.path, Person.full_name, Person.staff_code)
    )
    if org is not None:
        unit = get_unit(session, clean(org))
        query = query.where(
            Person.org_unit_id.in_(subtree_filter(unit.path))
            if subtree
            else Person.org_unit_id == unit.id
        )
    out = []
    for staff_code, name, unit_code, unit_name, slug, serial, until in session.execute(
        query
    ).tuples():
        assert until is not None
        out.append(
            ExpiringEntry(
                staff_code, name, unit_code, unit_name, slug, serial, until, (until - today).days
            )
        )
    return out


# --------------------------------------------------------------------------- published lists


def published_keys(session: Session) -> dict[str, Any]:
    """``verify/keys.json``: every public key, retired ones included (docs/certificates.md)."""
    keys = session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.id))
    return {
        "keys": [
            {
                "kid": key.kid,
                "alg": "Ed25519",
                "public_key": b64url_encode(bytes(key.public_key)),
                "created": _vn_date(key.created_at).isoformat(),
                "retired": _vn_date(key.retired_at).isoformat() if key.retired_at else None,
            }
            for key in keys
        ]
    }


def revocation_list(session: Session, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """``verify/revoked.json``: serials and dates only, no names, no reasons."""
    now = now or utcnow()
    revoked = revoked_serials(session)
    return {
        "updated": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "revoked": [
            {"serial": serial, "revoked_on": revoked[serial].isoformat()}
            for serial in sorted(revoked)
        ],
    }


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write atomically: a verifier never fetches half a list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def publish_lists(
    session: Session, *, output_dir: Path, now: dt.datetime | None = None
) -> list[Path]:
    """Write ``verify/keys.json`` and ``verify/revoked.json`` into the built site."""
    keys_path = output_dir / "verify" / "keys.json"
    revoked_path = output_dir / "verify" / "revoked.json"
    _write_json(keys_path, published_keys(session))
    _write_json(revoked_path, revocation_list(session, now=now))
    return [keys_path, revoked_path]

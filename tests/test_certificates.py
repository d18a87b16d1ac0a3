"""Certificates: issued once per completion, signed, renewed, revoked, verified.

Every database test runs on SQLite and PostgreSQL (see conftest).  Learners
complete the sample course "Phòng, chống xâm hại trẻ em" (certificates
enabled, 24 months) through the attempt services, with the certificates
plugin registered with explicit settings; the signing key lives in a folder
of the test's own, outside the project.  Dates that matter are passed in
(``now``, ``today``): nothing depends on the wall clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import shutil
import threading
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from lms_certificates import keys as keyring
from lms_certificates import service
from lms_certificates.plugin import CertificatesPlugin
from lms_certificates.settings import VN_TZ, IssuerSettings
from lms_certificates.token import (
    FIELDS,
    b64url_encode,
    decode_token,
    keys_from_json,
    kid_of,
    revoked_from_json,
    sign_token,
    verify_token,
)
from lms_core.config import Project, parse_config, render_config_template
from lms_core.courses import check_courses
from lms_core.db import session_factory
from lms_core.errors import ConfigError, ConflictError, LmsError
from lms_core.models import (
    Base,
    Certificate,
    CertificateCounter,
    Completion,
    Course,
    CourseVersion,
    Enrolment,
    Event,
    OrgUnit,
    Person,
    SigningKey,
    utcnow,
)
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.services.attempts import start_attempt, submit_attempt
from lms_core.services.courses import publish
from lms_core.services.enrolment import enrol
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff_file
from lms_quiz.view import practice_key

TYPES = exercise_types(make_plugin_manager())
REPO_COURSES = Path(__file__).resolve().parents[1] / "courses"
COURSE = "phong-chong-xam-hai"
NO_CERTIFICATE = "chi-thi-28-ke-hoach-tinh"
FINAL = "kiem-tra-cuoi"

UPPER = "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
EVERY_DIACRITIC = f"{UPPER} {UPPER.lower()}"
"""Every Vietnamese letter with a diacritic, capital and small (and Đ/đ)."""
LONG_NAME = ("Nguyễn Thị Hoàng Phương Thảo " * 5)[:119] + "x"
assert len(LONG_NAME) == 120

PEOPLE = {
    "PL001": ("Nguyễn Thị Thu Hà", "13285", "Cộng tác viên bảo vệ trẻ em"),
    "PL002": ("Trần Văn Nam", "13285", "Giáo viên tiểu học"),
    "PL003": ("Lê Thị Lan", "13285", "Nhân viên y tế"),
    "PV001": ("Đỗ Minh Khắc", "13291", "Công an phường"),
}
for _n in range(4, 10):
    PEOPLE[f"PL{_n:03d}"] = (f"Phạm Văn Số {_n}", "13285", "Trưởng thôn")


def at(day: str, hour: int = 9) -> dt.datetime:
    """A moment on ``day`` in Vietnam, as an aware UTC datetime."""
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=VN_TZ)


@dataclasses.dataclass
class World:
    project: Project
    settings: IssuerSettings
    pm: Any

    @property
    def key_dir(self) -> Path:
        return self.settings.key_dir


def setup_world(session: Session, project: Project, key_dir: Path, *, keys: bool = True) -> World:
    """The tree, the people enrolled in the course, and (optionally) the issuer's key."""
    load_builtin_tree(session)
    staff = project.root / "staff.csv"
    staff.write_text(
        "staff_code,full_name,org_code,position\n"
        + "".join(f"{c},{n},{u},{p}\n" for c, (n, u, p) in PEOPLE.items()),
        encoding="utf-8",
    )
    import_staff_file(session, str(staff))
    courses = project.courses_dir
    courses.mkdir(parents=True, exist_ok=True)
    for slug in (COURSE, NO_CERTIFICATE):
        shutil.copytree(REPO_COURSES / slug, courses / slug, dirs_exist_ok=True)
    index = courses / COURSE / "index.md"
    source = index.read_text(encoding="utf-8")
    assert "prerequisites: [chi-thi-28-ke-hoach-tinh]" in source
    index.write_text(source.replace("[chi-thi-28-ke-hoach-tinh]", "[]", 1), encoding="utf-8")
    loaded, problems = check_courses(courses, types=TYPES)
    assert not [p for p in problems if p.severity == "error"], problems
    for course in loaded:
        publish(session, course)
    assert enrol(session, course=COURSE, staff_codes=list(PEOPLE)).enrolled_count == len(PEOPLE)
    assert enrol(session, course=NO_CERTIFICATE, staff_codes=["PL001"]).enrolled_count == 1
    settings = dataclasses.replace(IssuerSettings.of(project), key_dir=key_dir)
    if keys:
        keyring.init_keys(
            session, key_dir=key_dir, project_root=project.root, output_dir=project.output_dir
        )
    pm = make_plugin_manager(load_entry_points=False, plugins=[CertificatesPlugin(settings)])
    return World(project, settings, pm)


def enrolment_of(session: Session, staff: str, course: str = COURSE) -> Enrolment:
    found = session.scalars(
        select(Enrolment)
        .join(Person, Enrolment.person_id == Person.id)
        .join(Course, Enrolment.course_id == Course.id)
        .where(
            Person.staff_code == staff,
            Course.slug == course,
            Enrolment.status.in_(("enrolled", "in_progress")),
        )
    ).one_or_none()
    assert found is not None, f"{staff} has no active enrolment in {course}"
    return found


def pass_final(
    session: Session,
    enrolment_id: int,
    *,
    pm: Any,
    now: dt.datetime | None = None,
    course: str = COURSE,
) -> str:
    """Start and pass the course's final quiz (full marks); returns the attempt id."""
    enrolment = session.get_one(Enrolment, enrolment_id)
    snapshot = session.get_one(CourseVersion, enrolment.course_version_id).snapshot
    if course == NO_CERTIFICATE:
        from lms_core.services.attempts import record_lesson_viewed

        for lesson in snapshot["lessons"]:
            record_lesson_viewed(
                session, enrolment_id=enrolment_id, lesson_slug=lesson["slug"], pm=pm, now=now
            )
    key = str(uuid.uuid4())
    started = start_attempt(
        session,
        enrolment_id=enrolment_id,
        exercise_id=FINAL,
        attempt_uuid=key,
        types=TYPES,
        now=now,
    )
    entry = next(e for e in snapshot["exercises"] if e["id"] == FINAL)
    quiz = TYPES[entry["kind"]].model.model_validate(entry["data"])
    answers = dict(practice_key(quiz, seed=started.seed)["answers"])
    result = submit_attempt(
        session, attempt_uuid=key, responses=answers, types=TYPES, pm=pm, now=now
    )
    assert result.passed
    return key


def complete(
    session: Session, world: World, staff: str, *, now: dt.datetime | None = None
) -> Completion:
    """``staff`` completes the course (a new enrolment if the last one is completed)."""
    enrolment = enrolment_of(session, staff)
    pass_final(session, enrolment.id, pm=world.pm, now=now)
    return session.scalars(select(Completion).where(Completion.enrolment_id == enrolment.id)).one()


def reenrol(session: Session, staff: str) -> None:
    """A refresher round: a new enrolment after a completed one (as a later cohort would)."""
    person = session.scalars(select(Person).where(Person.staff_code == staff)).one()
    last = session.scalars(
        select(Enrolment)
        .join(Course, Enrolment.course_id == Course.id)
        .where(Enrolment.person_id == person.id, Course.slug == COURSE)
        .order_by(Enrolment.id.desc())
    ).first()
    assert last is not None and last.status == "completed"
    session.add(
        Enrolment(
            person_id=person.id,
            course_id=last.course_id,
            course_version_id=last.course_version_id,
            status="enrolled",
            enrolled_at=utcnow(),
        )
    )
    session.flush()


def certificate_of(session: Session, completion_id: int) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.completion_id == completion_id))


def verdict(session: Session, token: str, today: dt.date) -> str:
    return service.verify(session, token=token, today=today).verdict


@pytest.fixture
def world(session: Session, project: Project, tmp_path: Path) -> World:
    return setup_world(session, project, tmp_path / "keys")


# --------------------------------------------------------------------------- issuing


def test_completion_issues_one_signed_certificate(session: Session, world: World) -> None:
    completion = complete(session, world, "PL001", now=at("2026-03-15"))
    certificate = certificate_of(session, completion.id)
    assert certificate is not None
    year = dt.datetime.now(VN_TZ).year
    assert certificate.serial == f"37-{year}-000001"
    assert certificate.full_name == "Nguyễn Thị Thu Hà"
    assert certificate.unit_name == "Phường Phủ Lý"
    assert certificate.position == "Cộng tác viên bảo vệ trẻ em"
    assert certificate.course_title == "Phòng, chống xâm hại trẻ em"
    assert certificate.version_number == 1
    assert certificate.score == 100
    assert certificate.completed_on == dt.date(2026, 3, 15)
    assert certificate.valid_until == dt.date(2028, 3, 14)  # 24 months, through the day before
    assert certificate.previous_id is None and certificate.revoked_at is None
    fields = decode_token(certificate.token)
    assert set(fields) == set(FIELDS)
    active = keyring.active_key(session)
    assert active is not None and fields["kid"] == certificate.kid == active.kid
    assert fields["serial"] == certificate.serial
    assert fields["course"] == COURSE and fields["version"] == 1
    assert fields["score"] == 100 and isinstance(fields["score"], int)
    assert fields["completed"] == "2026-03-15" and fields["valid_until"] == "2028-03-14"
    assert fields["issuer"] == "Ủy ban nhân dân tỉnh Ninh Bình" and fields["prev"] is None
    assert verdict(session, certificate.token, dt.date(2026, 3, 15)) == "valid"
    assert verdict(session, certificate.token, dt.date(2028, 3, 14)) == "valid"
    assert verdict(session, certificate.token, dt.date(2028, 3, 15)) == "expired"
    # the event log holds ids only
    event = session.scalars(select(Event).where(Event.verb == "certificate.issued")).one()
    assert event.data["completion_id"] == completion.id
    assert "Nguyễn" not in json.dumps(event.data, ensure_ascii=False)
    # a second completion of the same hook call changes nothing
    again = service.issue_for_completion(
        session, completion_id=completion.id, settings=world.settings
    )
    assert again is not None and again.id == certificate.id
    assert session.scalar(select(func.count()).select_from(Certificate)) == 1


def test_the_serial_counts_per_province_and_year(session: Session, world: World) -> None:
    first = complete(session, world, "PL001")
    second = complete(session, world, "PL002")
    year = dt.datetime.now(VN_TZ).year
    serials = [getattr(certificate_of(session, c.id), "serial", None) for c in (first, second)]
    assert serials == [f"37-{year}-000001", f"37-{year}-000002"]
    # six digits at least, never wrapping round
    session.execute(update(CertificateCounter).values(last=999_999))
    third = certificate_of(session, complete(session, world, "PL003").id)
    assert third is not None and third.serial == f"37-{year}-1000000"


def test_a_course_without_certificates_issues_nothing(
    session: Session, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.rmtree(world.key_dir)  # not even looked at
    enrolment = enrolment_of(session, "PL001", NO_CERTIFICATE)
    with caplog.at_level(logging.WARNING, logger="lms.certificates"):
        pass_final(session, enrolment.id, pm=world.pm, course=NO_CERTIFICATE)
    assert session.scalar(select(func.count()).select_from(Completion)) == 1
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0
    assert caplog.records == []


def test_a_completion_rolled_back_leaves_no_certificate_and_no_gap(
    engine: Engine, project: Project, tmp_path: Path
) -> None:
    factory = session_factory(engine)
    with factory.begin() as session:
        world = setup_world(session, project, tmp_path / "keys")
    with factory() as session:
        completion = complete(session, world, "PL001")
        assert certificate_of(session, completion.id) is not None
        session.rollback()  # the caller's transaction fails after the completion
    with factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Completion)) == 0
        assert session.scalar(select(func.count()).select_from(Certificate)) == 0
        certificate = certificate_of(session, complete(session, world, "PL002").id)
        assert certificate is not None and certificate.serial.endswith("-000001")


def test_a_completion_invalidated_later_is_revoked_with_its_reason(
    session: Session, world: World
) -> None:
    completion = complete(session, world, "PL001", now=at("2026-03-15"))
    certificate = service.revoke_for_completion(
        session,
        completion_id=completion.id,
        reason="Kết quả bài kiểm tra bị hủy do gian lận",
        now=at("2026-04-01"),
    )
    assert certificate is not None
    assert certificate.revoked_reason == "Kết quả bài kiểm tra bị hủy do gian lận"
    found = service.verify(session, token=certificate.token, today=dt.date(2026, 4, 2))
    assert found.verdict == "revoked" and found.revoked_on == dt.date(2026, 4, 1)
    # nothing to revoke for a completion without a certificate
    other = enrolment_of(session, "PL001", NO_CERTIFICATE)
    pass_final(session, other.id, pm=world.pm, course=NO_CERTIFICATE)
    plain = session.scalars(select(Completion).where(Completion.enrolment_id == other.id)).one()
    assert service.revoke_for_completion(session, completion_id=plain.id, reason="x") is None


# --------------------------------------------------------------------------- concurrency


def _race(count: int, work: Any) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as exc:  # collected and asserted by the caller
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_eight_concurrent_completions_of_one_enrolment_issue_one_certificate(
    engine: Engine, project: Project, tmp_path: Path
) -> None:
    factory = session_factory(engine)
    with factory.begin() as session:
        world = setup_world(session, project, tmp_path / "keys")
        enrolment = enrolment_of(session, "PL001")
        snapshot = session.get_one(CourseVersion, enrolment.course_version_id).snapshot
        key = str(uuid.uuid4())
        started = start_attempt(
            session, enrolment_id=enrolment.id, exercise_id=FINAL, attempt_uuid=key, types=TYPES
        )
        entry = next(e for e in snapshot["exercises"] if e["id"] == FINAL)
        quiz = TYPES[entry["kind"]].model.model_validate(entry["data"])
        answers = dict(practice_key(quiz, seed=started.seed)["answers"])

    def work(_index: int) -> None:
        with factory.begin() as session:
            submit_attempt(session, attempt_uuid=key, responses=answers, types=TYPES, pm=world.pm)

    assert _race(8, work) == []
    with factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Completion)) == 1
        certificate = session.scalars(select(Certificate)).one()
        assert certificate.serial.endswith("-000001")
        assert verdict(session, certificate.token, certificate.completed_on) == "valid"
        issued = select(func.count()).select_from(Event).where(Event.verb == "certificate.issued")
        assert session.scalar(issued) == 1


def test_eight_people_completing_at_once_get_eight_distinct_serials(
    engine: Engine, project: Project, tmp_path: Path
) -> None:
    factory = session_factory(engine)
    people = [code for code in PEOPLE if code != "PV001"][:8]
    prepared: dict[str, tuple[str, dict[str, Any]]] = {}
    with factory.begin() as session:
        world = setup_world(session, project, tmp_path / "keys")
        for staff in people:
            enrolment = enrolment_of(session, staff)
            snapshot = session.get_one(CourseVersion, enrolment.course_version_id).snapshot
            key = str(uuid.uuid4())
            started = start_attempt(
                session,
                enrolment_id=enrolment.id,
                exercise_id=FINAL,
                attempt_uuid=key,
                types=TYPES,
            )
            entry = next(e for e in snapshot["exercises"] if e["id"] == FINAL)
            quiz = TYPES[entry["kind"]].model.model_validate(entry["data"])
            prepared[staff] = (key, dict(practice_key(quiz, seed=started.seed)["answers"]))

    def work(index: int) -> None:
        key, answers = prepared[people[index]]
        with factory.begin() as session:
            submit_attempt(session, attempt_uuid=key, responses=answers, types=TYPES, pm=world.pm)

    assert _race(8, work) == []
    with factory.begin() as session:
        serials = sorted(session.scalars(select(Certificate.serial)))
        year = dt.datetime.now(VN_TZ).year
        assert serials == [f"37-{year}-{n:06d}" for n in range(1, 9)]
        assert session.scalar(select(CertificateCounter.last)) == 8


# --------------------------------------------------------------------------- the token


def _fields(private_key: Ed25519PrivateKey, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "v": 1,
        "kid": kid_of(private_key.public_key().public_bytes_raw()),
        "serial": "37-2026-000123",
        "name": "Nguyễn Thị Thu Hà",
        "unit": "Phường Phủ Lý",
        "position": "Cộng tác viên bảo vệ trẻ em",
        "course": COURSE,
        "title": "Phòng, chống xâm hại trẻ em",
        "version": 2,
        "completed": "2026-03-15",
        "score": 92.5,
        "issued": "2026-03-16",
        "valid_until": "2028-03-14",
        "issuer": "Ủy ban nhân dân tỉnh Ninh Bình",
        "prev": None,
    }
    fields.update(changes)
    return fields


def test_every_single_byte_change_of_a_token_is_rejected() -> None:
    private_key = Ed25519PrivateKey.generate()
    kid = kid_of(private_key.public_key().public_bytes_raw())
    keys = {kid: private_key.public_key().public_bytes_raw()}
    token = sign_token(_fields(private_key), private_key)
    today = dt.date(2026, 6, 1)
    assert verify_token(token, keys=keys, revoked=(), today=today).verdict == "valid"
    raw = token.encode("ascii")
    seen: dict[str, int] = {}
    for position in range(len(raw)):
        for value in range(256):
            if value == raw[position]:
                continue
            changed = raw[:position] + bytes([value]) + raw[position + 1 :]
            result = verify_token(changed.decode("latin-1"), keys=keys, revoked=(), today=today)
            assert result.verdict in ("forged", "unreadable"), (position, value)
            assert result.fields is None
            seen[result.verdict] = seen.get(result.verdict, 0) + 1
    assert seen["forged"] > 0 and seen["unreadable"] > 0
    # dropping or adding a byte too
    for position in range(len(token)):
        shorter = token[:position] + token[position + 1 :]
        assert not verify_token(shorter, keys=keys, revoked=(), today=today).ok
    assert not verify_token(token + "A", keys=keys, revoked=(), today=today).ok


def test_unknown_key_and_other_keys_are_forged() -> None:
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = {kid_of(ours.public_key().public_bytes_raw()): ours.public_key().public_bytes_raw()}
    today = dt.date(2026, 6, 1)
    # signed by a key nobody published
    stranger = sign_token(_fields(theirs), theirs)
    result = verify_token(stranger, keys=keys, revoked=(), today=today)
    assert result.verdict == "forged" and "unknown key" in result.reason
    # signed by another key but claiming ours
    payload = _fields(ours)
    forged_payload = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    data = forged_payload.encode("utf-8")
    forged = f"{b64url_encode(data)}.{b64url_encode(theirs.sign(data))}"
    assert verify_token(forged, keys=keys, revoked=(), today=today).verdict == "forged"
    assert verify_token(forged, keys={}, revoked=(), today=today).verdict == "forged"


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("", "empty"),
        ("abc", "two parts"),
        ("a.b.c", "two parts"),
        ("YQ==.YQ", "base64url"),
        ("é.x", "characters"),
        ("x" * 9000, "longer"),
    ],
)
def test_unreadable_tokens_say_why(token: str, why: str) -> None:
    result = verify_token(token, keys={}, revoked=(), today=dt.date(2026, 1, 1))
    assert result.verdict == "unreadable" and why in result.reason


def test_ill_typed_payloads_are_unreadable_and_never_signed() -> None:
    private_key = Ed25519PrivateKey.generate()
    keys = {kid_of(private_key.public_key().public_bytes_raw()): b""}
    for changes in (
        {"v": 2},
        {"version": 0},
        {"score": 101},
        {"score": True},
        {"completed": "2026-02-30"},
        {"valid_until": "15/03/2028"},
        {"name": ""},
        {"prev": ""},
        {"extra": 1},
    ):
        fields = _fields(private_key, **changes)
        with pytest.raises(LmsError, match="cannot sign"):
            sign_token(fields, private_key)
        data = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")
        token = f"{b64url_encode(data)}.{b64url_encode(private_key.sign(data))}"
        result = verify_token(token, keys=keys, revoked=(), today=dt.date(2026, 1, 1))
        assert result.verdict == "unreadable", changes


def test_names_are_signed_nfc_with_every_diacritic_and_120_characters(
    session: Session, world: World
) -> None:
    capitals, smalls = EVERY_DIACRITIC.split(" ")
    # legacy rows written before imports normalised text: decomposed in the database
    # (each half separately: decomposed, all of them exceed a name's 255 characters)
    for staff, name, position in (
        ("PL001", capitals, ""),
        ("PL003", smalls, "Nhân viên y tế"),
        ("PL002", LONG_NAME, "Trưởng  thôn "),
    ):
        decomposed = unicodedata.normalize("NFD", name)
        assert decomposed != name
        session.execute(
            update(Person)
            .where(Person.staff_code == staff)
            .values(full_name=decomposed, position=position)
        )
    session.execute(
        update(OrgUnit)
        .where(OrgUnit.code == "13285")
        .values(name=unicodedata.normalize("NFD", "Phường Phủ Lý"))
    )
    settings = dataclasses.replace(
        world.settings, issuer=unicodedata.normalize("NFD", "Ủy ban nhân dân tỉnh Ninh Bình")
    )
    world.pm = make_plugin_manager(load_entry_points=False, plugins=[CertificatesPlugin(settings)])
    first, third, second = (
        certificate_of(session, complete(session, world, staff).id)
        for staff in ("PL001", "PL003", "PL002")
    )
    assert first is not None and second is not None and third is not None
    assert f"{first.full_name} {third.full_name}" == EVERY_DIACRITIC
    assert first.unit_name == "Phường Phủ Lý" and first.position == ""
    assert first.issuer == "Ủy ban nhân dân tỉnh Ninh Bình"
    assert second.full_name == LONG_NAME and len(second.full_name) == 120
    assert second.position == "Trưởng thôn"
    for certificate in (first, second, third):
        result = service.verify(session, token=certificate.token, today=certificate.issued_on)
        assert result.verdict == "valid"
        assert result.fields is not None
        assert result.fields["name"] == certificate.full_name
        assert all(
            unicodedata.is_normalized("NFC", v)
            for v in result.fields.values()
            if isinstance(v, str)
        )
    # the stored rows read back exactly, on both engines
    session.expire_all()
    assert session.get_one(Certificate, first.id).full_name == capitals
    assert session.get_one(Certificate, third.id).full_name == smalls


# --------------------------------------------------------------------------- revocation, expiry


def test_revoked_and_expired(session: Session, world: World) -> None:
    completion = complete(session, world, "PL001", now=at("2026-03-15"))
    certificate = certificate_of(session, completion.id)
    assert certificate is not None
    assert verdict(session, certificate.token, dt.date(2028, 3, 15)) == "expired"
    with pytest.raises(LmsError, match="reason"):
        service.revoke(session, serial=certificate.serial, reason="  ")
    service.revoke(
        session, serial=certificate.serial, reason="Cấp nhầm người", now=at("2026-05-02", 23)
    )
    result = service.verify(session, token=certificate.token, today=dt.date(2026, 5, 3))
    assert result.verdict == "revoked" and result.revoked_on == dt.date(2026, 5, 2)
    assert result.fields is not None and result.fields["serial"] == certificate.serial
    with pytest.raises(ConflictError, match="already revoked on 2026-05-02"):
        service.revoke(session, serial=certificate.serial, reason="again")
    with pytest.raises(LmsError, match="no certificate with serial"):
        service.revoke(session, serial="37-1999-000001", reason="x")
    listed = service.revocation_list(session, now=at("2026-05-03"))
    assert listed == {
        "updated": "2026-05-03T02:00:00+00:00",
        "revoked": [{"serial": certificate.serial, "revoked_on": "2026-05-02"}],
    }
    assert "Cấp nhầm" not in json.dumps(listed, ensure_ascii=False)
    assert revoked_from_json(listed) == {certificate.serial: dt.date(2026, 5, 2)}


def test_rotation_keeps_old_certificates_valid(session: Session, world: World) -> None:
    old = certificate_of(session, complete(session, world, "PL001").id)
    before = keyring.active_key(session)
    assert old is not None and before is not None
    rotated = keyring.rotate_key(
        session, key_dir=world.key_dir, project_root=world.project.root, now=utcnow()
    )
    assert rotated.kid != before.kid
    new = certificate_of(session, complete(session, world, "PL002").id)
    assert new is not None and new.kid == rotated.kid != old.kid
    today = new.issued_on
    assert verdict(session, old.token, today) == verdict(session, new.token, today) == "valid"
    published = service.published_keys(session)
    assert [k["kid"] for k in published["keys"]] == [before.kid, rotated.kid]
    assert published["keys"][0]["retired"] is not None and published["keys"][1]["retired"] is None
    assert set(published["keys"][0]) == {"kid", "alg", "public_key", "created", "retired"}
    # the published list alone verifies both, offline
    offline = keys_from_json(json.loads(json.dumps(published)))
    for certificate in (old, new):
        assert verify_token(certificate.token, keys=offline, revoked={}, today=today).ok
    # a tampered list (a key under another's id) is refused
    published["keys"][0]["public_key"] = published["keys"][1]["public_key"]
    with pytest.raises(LmsError, match="does not match its id"):
        keys_from_json(published)
    infos = [i for i in keyring.list_keys(session, key_dir=world.key_dir) if i.alg == "Ed25519"]
    assert [i.has_private_key for i in infos] == [True, True]
    assert [i.retired_at is None for i in infos] == [False, True]


# --------------------------------------------------------------------------- renewal, expiring


def test_renewal_links_the_previous_certificate(session: Session, world: World) -> None:
    world.pm = make_plugin_manager(load_entry_points=False)  # certificates issued at chosen dates

    def issue(staff: str, day: str) -> Certificate:
        completion = complete(session, world, staff, now=at(day))
        found = service.issue_for_completion(
            session, completion_id=completion.id, settings=world.settings, now=at(day, 10)
        )
        assert found is not None
        return found

    first = issue("PL001", "2024-01-10")
    assert first.valid_until == dt.date(2026, 1, 9)
    reenrol(session, "PL001")
    early = issue("PL001", "2025-10-01")  # 100 days before expiry: a new certificate, no renewal
    assert early.previous_id is None and early.valid_until == dt.date(2027, 9, 30)
    reenrol(session, "PL001")
    renewed = issue("PL001", "2027-08-15")  # 46 days before the latest one expires
    assert renewed.previous_id == early.id
    assert decode_token(renewed.token)["prev"] == early.serial

    lapsed = issue("PL002", "2024-02-01")
    reenrol(session, "PL002")
    after = issue("PL002", "2026-03-01")  # a month after it expired (2026-01-31)
    assert after.previous_id == lapsed.id
    listed = service.get_certificate(session, serial=after.serial, today=dt.date(2026, 3, 2))
    assert listed.previous == lapsed.serial and listed.verdict == "valid"
    # a revoked certificate is not renewed: the next one starts a new chain
    service.revoke(session, serial=after.serial, reason="Nhầm khóa học")
    reenrol(session, "PL002")
    fresh = issue("PL002", "2028-02-01")
    assert fresh.previous_id == lapsed.id  # the latest unrevoked one (long expired)


def test_expiring_lists_who_needs_refresher_training(session: Session, world: World) -> None:
    world.pm = make_plugin_manager(load_entry_points=False)

    def issue(staff: str, day: str) -> Certificate:
        completion = complete(session, world, staff, now=at(day))
        found = service.issue_for_completion(
            session, completion_id=completion.id, settings=world.settings, now=at(day)
        )
        assert found is not None
        return found

    issue("PL001", "2024-05-01")  # valid until 2026-04-30
    issue("PL002", "2024-07-15")  # valid until 2026-07-14: outside 60 days
    issue("PV001", "2024-05-10")  # 13291, valid until 2026-05-09
    issue("PL003", "2024-03-01")  # expired 2026-02-28
    revoked = issue("PL004", "2024-05-02")
    service.revoke(session, serial=revoked.serial, reason="Hủy")
    issue("PL005", "2024-04-01")  # renewed below: not listed
    reenrol(session, "PL005")
    issue("PL005", "2026-03-20")
    today = dt.date(2026, 4, 1)

    everyone = service.expiring(session, within_days=60, today=today)
    assert [(e.staff_code, e.valid_until.isoformat(), e.days_left) for e in everyone] == [
        ("PL003", "2026-02-28", -32),
        ("PL001", "2026-04-30", 29),
        ("PV001", "2026-05-09", 38),
    ]
    ward = service.expiring(session, within_days=60, today=today, org="13285")
    assert [e.staff_code for e in ward] == ["PL003", "PL001"]
    province = service.expiring(session, within_days=60, today=today, org="37", subtree=True)
    assert [e.staff_code for e in province] == ["PL003", "PL001", "PV001"]
    assert service.expiring(session, within_days=60, today=today, org="37") == []
    assert [e.staff_code for e in service.expiring(session, within_days=0, today=today)] == [
        "PL003"
    ]
    # people who left are not called back for training
    session.execute(update(Person).where(Person.staff_code == "PL003").values(active=False))
    assert "PL003" not in [
        e.staff_code for e in service.expiring(session, within_days=60, today=today)
    ]
    with pytest.raises(LmsError, match="subtree needs org"):
        service.expiring(session, within_days=60, subtree=True)


# --------------------------------------------------------------------------- keys


def test_key_files_are_private(session: Session, world: World) -> None:
    key = keyring.active_key(session)
    assert key is not None
    path = world.key_dir / f"{key.kid}.pem"
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
        assert world.key_dir.stat().st_mode & 0o777 == 0o700
    assert kid_of(bytes(key.public_key)) == key.kid
    with pytest.raises(ConflictError, match="lms keys rotate"):
        keyring.init_keys(session, key_dir=world.key_dir)


def test_a_key_folder_inside_the_project_the_site_or_git_is_refused(
    session: Session, project: Project, tmp_path: Path
) -> None:
    for folder in (project.root / "keys", project.output_dir / "verify", tmp_path / "repo" / "k"):
        (tmp_path / "repo" / ".git").mkdir(parents=True, exist_ok=True)
        with pytest.raises(keyring.KeyDirError, match="outside it"):
            keyring.init_keys(
                session, key_dir=folder, project_root=project.root, output_dir=project.output_dir
            )
    assert session.scalar(select(func.count()).select_from(SigningKey)) == 0


def _private_key_path(session: Session, world: World) -> Path:
    key = keyring.active_key(session)
    assert key is not None
    return world.key_dir / f"{key.kid}.pem"


@pytest.mark.parametrize("damage", ["missing", "wrong key", "not a key", "readable by others"])
def test_a_bad_key_file_issues_nothing_then_issue_pending_does(
    session: Session, world: World, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = _private_key_path(session, world)
    good = path.read_bytes()
    errors = {
        "missing": keyring.KeyMissingError,
        "wrong key": keyring.KeyNotRegisteredError,
        "not a key": keyring.NotAKeyError,
        "readable by others": keyring.KeyPermissionError,
    }
    if damage == "readable by others" and os.name != "posix":
        pytest.skip("file modes are POSIX")
    if damage == "missing":
        path.unlink()
    elif damage == "wrong key":
        other = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(other)
    elif damage == "not a key":
        path.write_bytes(b"not a key at all\n")
    else:
        path.chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="lms.certificates"):
        completion = complete(session, world, "PL001")
    # the completion stands; the certificate waits
    assert session.get(Completion, completion.id) is not None
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0
    assert session.scalar(select(func.count()).select_from(CertificateCounter)) == 0
    [record] = caplog.records
    message = record.getMessage()
    assert errors[damage].__name__ in message and "issue-pending" in message
    assert "Nguyễn" not in message and "PL001" not in message
    assert "PRIVATE KEY" not in message
    with pytest.raises(errors[damage]) as info:
        service.issue_pending(session, settings=world.settings)
    assert "PRIVATE KEY" not in str(info.value)
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0

    path.unlink(missing_ok=True)
    path.write_bytes(good)
    path.chmod(0o600)
    report = service.issue_pending(session, settings=world.settings)
    assert len(report.issued) == 1
    certificate = certificate_of(session, completion.id)
    assert certificate is not None and certificate.serial == report.issued[0]
    assert verdict(session, certificate.token, certificate.issued_on) == "valid"
    assert service.issue_pending(session, settings=world.settings).issued == []


def test_no_key_yet_waits_for_issue_pending(
    session: Session, project: Project, tmp_path: Path
) -> None:
    world = setup_world(session, project, tmp_path / "keys", keys=False)
    completion = complete(session, world, "PL001")
    assert certificate_of(session, completion.id) is None
    with pytest.raises(keyring.KeyNotRegisteredError, match="lms keys init"):
        service.issue_pending(session, settings=world.settings)
    keyring.init_keys(session, key_dir=world.key_dir, project_root=project.root)
    assert len(service.issue_pending(session, settings=world.settings).issued) == 1


# --------------------------------------------------------------------------- lists, config, schema


def test_listing_by_unit_course_and_person(session: Session, world: World) -> None:
    for staff in ("PL001", "PL002", "PV001"):
        complete(session, world, staff)
    today = dt.datetime.now(VN_TZ).date()
    assert [e.staff_code for e in service.list_certificates(session)] == [
        "PL001",
        "PL002",
        "PV001",
    ]
    ward = service.list_certificates(session, org="13291")
    assert [(e.staff_code, e.unit_code, e.verdict) for e in ward] == [("PV001", "13291", "valid")]
    assert len(service.list_certificates(session, org="37", subtree=True, course=COURSE)) == 3
    assert service.list_certificates(session, course=NO_CERTIFICATE) == []
    person = session.scalars(select(Person.id).where(Person.staff_code == "PL002")).one()
    mine = service.person_certificates(session, person_id=person, today=today)
    assert [e.full_name for e in mine] == ["Trần Văn Nam"]
    with pytest.raises(LmsError, match="no course"):
        service.list_certificates(session, course="khong-co")


def test_site_build_hook_publishes_the_lists(
    session: Session, world: World, tmp_path: Path
) -> None:
    complete(session, world, "PL001")
    session.commit()
    plugin = CertificatesPlugin()
    out = tmp_path / "site"
    written = plugin.lms_site_built(world.project, out)
    assert written == [Path("verify/keys.json"), Path("verify/revoked.json")]
    keys = json.loads((out / "verify" / "keys.json").read_text(encoding="utf-8"))
    revoked = json.loads((out / "verify" / "revoked.json").read_text(encoding="utf-8"))
    assert set(keys) == {"keys"} and set(revoked) == {"updated", "revoked"}
    assert keys_from_json(keys) and revoked["revoked"] == []
    # a project without a database file: nothing, and no file created
    bare = Project(root=tmp_path / "bare", config=parse_config({}, source="x"))
    assert plugin.lms_site_built(bare, out) is None
    assert not (tmp_path / "bare" / "lms.db").exists()


def test_certificates_config_section() -> None:
    config = parse_config({}, source="lms.toml")
    assert config.certificates.issuer == "Ủy ban nhân dân tỉnh Ninh Bình"
    assert config.certificates.renew_within_days == 60 and config.certificates.key_dir == ""
    nfd = unicodedata.normalize("NFD", "UBND  tỉnh Ninh Bình")
    assert parse_config({"certificates": {"issuer": nfd}}, source="x").certificates.issuer == (
        "UBND tỉnh Ninh Bình"
    )
    with pytest.raises(
        ConfigError,
        match=r"unknown key 'certificates.renew_within' \(did you mean 'renew_within_days'\?\)",
    ):
        parse_config({"certificates": {"renew_within": 30}}, source="lms.toml")
    with pytest.raises(ConfigError, match=r"certificates\.renew_within_days"):
        parse_config({"certificates": {"renew_within_days": -1}}, source="lms.toml")
    import tomllib

    template = tomllib.loads(render_config_template())
    assert parse_config(template, source="template").certificates == config.certificates


def test_key_dir_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMS_KEY_DIR", raising=False)
    project = Project(root=tmp_path, config=parse_config({}, source="x"))
    assert project.key_dir == Path("~/.config/taphuan/keys").expanduser()
    relative = Project(
        root=tmp_path, config=parse_config({"certificates": {"key_dir": "../k"}}, source="x")
    )
    assert relative.key_dir == tmp_path / ".." / "k"
    monkeypatch.setenv("LMS_KEY_DIR", str(tmp_path / "env"))
    assert relative.key_dir == tmp_path / "env"


def test_migration_matches_the_models(engine: Engine) -> None:
    ours = ("certificate", "signing_key")
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert [d for d in diffs if any(name in str(d) for name in ours)] == []

"""``lms demo``: a ready-to-try workspace on SQLite, built from the real tree.

It goes through the same services as real use (imports, invites, roles), so
a demo that works is also a smoke test of the whole path.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pluggy
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lms_core.config import CONFIG_NAME, Project
from lms_core.courses import check_courses
from lms_core.db import redact_url, session_factory
from lms_core.errors import ConflictError
from lms_core.exercises import ExerciseType
from lms_core.models import Completion, Course, CourseVersion, Enrolment, OrgUnit, Person, utcnow
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.project import init_project, open_database
from lms_core.services.accounts import grant_role, set_password
from lms_core.services.attempts import record_lesson_viewed, start_attempt, submit_attempt
from lms_core.services.courses import publish
from lms_core.services.enrolment import enrol
from lms_core.services.org import import_units, load_builtin_tree
from lms_core.services.staff import import_staff
from lms_core.synthetic import UnitRow, generate_staff, generate_villages
from lms_core.tabular import Row, Table


@dataclass(frozen=True, slots=True)
class DemoAccount:
    role: str
    staff_code: str
    full_name: str
    scope: str
    password: str


@dataclass(frozen=True, slots=True)
class DemoInvite:
    staff_code: str
    full_name: str
    code: str


@dataclass(slots=True)
class DemoResult:
    project: Project
    units: int = 0
    staff: int = 0
    accounts: list[DemoAccount] = field(default_factory=list)
    invites: list[DemoInvite] = field(default_factory=list)
    """Learners who sign in the first time with an invite code and choose a password."""
    courses: list[str] = field(default_factory=list)
    enrolments: list[str] = field(default_factory=list)


def sample_courses_dir() -> Path:
    """The sample courses: packaged in a wheel, or ``courses/`` of a source checkout."""
    packaged = Path(str(resources.files("lms_core") / "sample_courses"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "courses"


def _courses(session: Session, project: Project, result: DemoResult) -> None:
    """Copy the sample courses into the project, publish them and enrol everyone."""
    source = sample_courses_dir()
    for folder in sorted(p for p in source.iterdir() if (p / "index.md").is_file()):
        target = project.courses_dir / folder.name
        if not target.exists():
            shutil.copytree(folder, target)
    types = exercise_types(make_plugin_manager())
    loaded, problems = check_courses(
        project.courses_dir, types=types, language=project.config.language
    )
    errors = [p.format() for p in problems if p.severity == "error"]
    if errors:
        raise ConflictError("the sample courses do not pass the check:\n" + "\n".join(errors))
    for course in loaded:
        published = publish(session, course)
        result.courses.append(f"{course.slug} v{published.version}")
    for course in loaded:
        report = enrol(session, course=course.slug, org="37", subtree=True, cohort="Demo 2026")
        reason = f" ({report.not_eligible[0][1]})" if report.not_eligible else ""
        result.enrolments.append(f"{course.slug}: {report.summary()}{reason}")


def _table(name: str, columns: tuple[str, ...], records: list[tuple[str, ...]]) -> Table:
    rows = [
        Row(line=i + 2, values=dict(zip(columns, rec, strict=True)))
        for i, rec in enumerate(records)
    ]
    return Table(path=name, columns=list(columns), rows=rows)


def create_demo(
    folder: Path,
    *,
    staff: int = 300,
    villages_in: int = 8,
    seed: int = 2025,
    force: bool = False,
    database_url: str = "",
) -> DemoResult:
    """Create (or with ``force`` recreate) a demo project in ``folder``.

    The real Ninh Bình tree, villages for a few communes, ``staff`` generated
    people, and one admin, one trainer and one manager account with printed
    random passwords.  Refuses to overwrite an existing project.  On SQLite
    (the default) ``force`` recreates the database file; with another
    ``database_url`` the database must hold no people yet.
    """
    if (folder / CONFIG_NAME).exists():
        if not force:
            raise ConflictError(f"{folder} already holds a project (pass --force to recreate it)")
        for name in ("lms.db", "lms.db-wal", "lms.db-shm"):
            (folder / name).unlink(missing_ok=True)
    project = init_project(folder, force=force, database_url=database_url)
    if database_url:
        _empty_database(project)
    engine = open_database(project)
    result = DemoResult(project=project)
    try:
        with session_factory(engine).begin() as session:
            load_builtin_tree(session)
            communes = [
                UnitRow(c, n, k, p)
                for c, n, k, p in session.execute(
                    select(OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.code)
                    .where(OrgUnit.kind.in_(("commune", "ward")))
                    .order_by(OrgUnit.code)
                )
            ]
            rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not secrets
            chosen = rng.sample(communes, min(villages_in, len(communes)))
            villages = generate_villages(sorted(chosen, key=lambda u: u.code), rng=rng)
            import_units(
                session,
                _table(
                    "demo-villages",
                    ("code", "name", "kind", "parent_code"),
                    [(v.code, v.name, v.kind, v.parent_code) for v in villages],
                ),
                source="demo",
            )
            all_units = session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.kind)).all()
            units = [UnitRow(c, n, k, "") for c, n, k in all_units]
            people = generate_staff(units, count=staff, seed=seed, code_prefix="DEMO")
            import_staff(
                session,
                _table(
                    "demo-staff",
                    ("staff_code", "full_name", "org_code", "position", "phone", "email"),
                    [
                        (p.staff_code, p.full_name, p.org_code, p.position, p.phone, p.email)
                        for p in people
                    ],
                ),
                source="demo",
            )
            result.units, result.staff = len(all_units), len(people)
            picks = [
                ("admin", "37", None),
                ("trainer", "37-SYT", "37"),
                ("manager", chosen[0].code, chosen[0].code),
                ("learner", chosen[0].code, None),
            ]
            used: set[str] = set()
            for role, org, scope in picks:
                free = [p for p in people if p.staff_code not in used]
                person = next((p for p in free if p.org_code == org), free[0])
                used.add(person.staff_code)
                grant_role(session, staff_code=person.staff_code, role=role, scope_org=scope)
                password = secrets.token_urlsafe(9)
                set_password(session, staff_code=person.staff_code, password=password)
                result.accounts.append(
                    DemoAccount(role, person.staff_code, person.full_name, scope or "", password)
                )
            # one more learner, in the manager's commune, who has only an invite code:
            # the first sign-in of a real learner
            free = [p for p in people if p.staff_code not in used]
            newcomer = next((p for p in free if p.org_code == chosen[0].code), free[0])
            invite = grant_role(session, staff_code=newcomer.staff_code, role="learner")
            if invite is not None:
                result.invites.append(
                    DemoInvite(newcomer.staff_code, newcomer.full_name, invite.code)
                )
            _courses(session, project, result)
    finally:
        engine.dispose()
    return result


def _empty_database(project: Project) -> None:
    """Refuse to mix demo data into a server database that already holds people."""
    engine = open_database(project)
    try:
        with engine.connect() as connection:
            people = connection.execute(select(func.count()).select_from(Person)).scalar()
    finally:
        engine.dispose()
    if people:
        raise ConflictError(
            f"the database {redact_url(project.database_url)} already holds {people} "
            "people; the demo needs an empty one"
        )


@dataclass(slots=True)
class Activity:
    """What :func:`simulate_activity` did."""

    people: int = 0
    lessons_viewed: int = 0
    attempts: int = 0
    completions: int = 0


def _engaged_attempts(
    session: Session,
    *,
    enrolment_id: int,
    exercises: list[dict[str, object]],
    types: dict[str, ExerciseType[Any]],
    pm: pluggy.PluginManager,
    rng: random.Random,
    when: dt.datetime,
    activity: Activity,
) -> None:
    """Graded exercises tried until passed or out of attempts, getting better each time."""
    for entry in exercises:
        data = entry.get("data")
        if not isinstance(data, dict) or not data.get("graded"):
            continue
        kind = types.get(str(entry.get("kind")))
        sample = getattr(kind, "sample_response", None)
        if kind is None or sample is None:
            continue  # a type that cannot make up answers is left alone
        exercise = kind.model.model_validate(data)
        skill = rng.uniform(0.45, 1.0)
        for _ in range(int(str(data.get("max_attempts") or 3))):
            started = start_attempt(
                session,
                enrolment_id=enrolment_id,
                exercise_id=str(entry["id"]),
                attempt_uuid=str(uuid.UUID(int=rng.getrandbits(128))),
                types=types,
                source="demo",
                pm=pm,
                now=when,
            )
            when += dt.timedelta(minutes=rng.randint(4, 25))
            result = submit_attempt(
                session,
                attempt_uuid=started.uuid,
                responses=sample(exercise, seed=started.seed, skill=skill, rng=rng),
                types=types,
                pm=pm,
                now=when,
            )
            activity.attempts += 1
            if result.passed:
                break
            skill = min(1.0, skill + 0.2)
            when += dt.timedelta(days=rng.randint(1, 5))


def _simulate_round(
    factory: sessionmaker[Session],
    *,
    people: int,
    leave_alone: frozenset[str],
    days: tuple[int, int],
    types: Mapping[str, ExerciseType[Any]],
    pm: pluggy.PluginManager,
    rng: random.Random,
    now: dt.datetime,
    activity: Activity,
) -> None:
    with factory() as session:
        rows = session.execute(
            select(Enrolment.id, Enrolment.person_id, CourseVersion.snapshot)
            .join(CourseVersion, Enrolment.course_version_id == CourseVersion.id)
            .join(Person, Enrolment.person_id == Person.id)
            .where(Enrolment.status == "enrolled", Person.staff_code.not_in(leave_alone))
            .order_by(Enrolment.person_id, Enrolment.id)
        ).all()
    picked = sorted({person_id for _, person_id, _ in rows})[:people]
    chosen = set(picked)
    for enrolment_id, person_id, snapshot in rows:
        if person_id not in chosen:
            continue
        roll = rng.random()
        if roll < 0.2:
            continue
        lessons = [str(lesson["slug"]) for lesson in snapshot.get("lessons") or []]
        engaged = roll >= 0.45
        seen = lessons if engaged else lessons[: rng.randint(1, max(1, len(lessons) - 1))]
        when = now - dt.timedelta(days=rng.randint(*days), minutes=rng.randint(0, 600))
        with factory.begin() as session:
            for slug in seen:
                record_lesson_viewed(
                    session, enrolment_id=enrolment_id, lesson_slug=slug, pm=pm, now=when
                )
                activity.lessons_viewed += 1
                when += dt.timedelta(minutes=rng.randint(5, 40))
            if engaged:
                _engaged_attempts(
                    session,
                    enrolment_id=enrolment_id,
                    exercises=list(snapshot.get("exercises") or []),
                    types=dict(types),
                    pm=pm,
                    rng=rng,
                    when=when,
                    activity=activity,
                )


def simulate_activity(
    project: Project,
    *,
    people: int = 150,
    seed: int = 2025,
    now: dt.datetime | None = None,
    leave_alone: frozenset[str] = frozenset(),
) -> Activity:
    """Learners at work over the last four months, so reports have something to show.

    Two rounds through the real services, with past times.  First, the first
    ``people`` people with an enrolment not yet started: about one in five
    does nothing, a quarter reads some lessons, the rest read everything and
    take the graded quizzes (trying again when they fail).  Then everyone who
    now meets a course's prerequisites is enrolled in it (as ``lms enrol``
    would), and a second round does the same with those courses, so later
    courses, completions and the certificates the plugin issues for them are
    spread over the period.  People in ``leave_alone`` (staff codes: the
    demo's own accounts) keep a fresh start, so a person trying the demo
    begins at the beginning.
    """
    now = now or utcnow()
    rng = random.Random(seed)  # noqa: S311 - reproducible fake activity, not secrets
    pm = make_plugin_manager()
    types = exercise_types(pm)
    engine = open_database(project)
    activity = Activity()
    try:
        factory = session_factory(engine)
        for days in ((40, 120), (1, 35)):
            _simulate_round(
                factory,
                people=people,
                leave_alone=leave_alone,
                days=days,
                types=types,
                pm=pm,
                rng=rng,
                now=now,
                activity=activity,
            )
            with factory.begin() as session:
                for slug in session.scalars(select(Course.slug).order_by(Course.slug)).all():
                    enrol(session, course=slug, org="37", subtree=True, cohort="Demo 2026")
        with factory() as session:
            activity.people = int(
                session.scalar(
                    select(func.count(func.distinct(Enrolment.person_id))).where(
                        Enrolment.status != "enrolled"
                    )
                )
                or 0
            )
            activity.completions = int(
                session.scalar(select(func.count()).select_from(Completion)) or 0
            )
    finally:
        engine.dispose()
    return activity

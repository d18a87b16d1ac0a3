"""``lms demo``: a ready-to-try workspace on SQLite, built from the real tree.

It goes through the same services as real use (imports, invites, roles), so
a demo that works is also a smoke test of the whole path.
"""

from __future__ import annotations

import random
import secrets
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms_core.config import CONFIG_NAME, Project
from lms_core.courses import check_courses
from lms_core.db import redact_url, session_factory
from lms_core.errors import ConflictError
from lms_core.models import OrgUnit, Person
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.project import init_project, open_database
from lms_core.services.accounts import grant_role, set_password
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

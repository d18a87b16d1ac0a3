"""The ``lms`` command: parse arguments, call one ``lms_core`` function, print.

Installed as the module ``lms_cli``.  No business logic lives here: anything
the CLI can do, a Python program can do by calling the same service.  Every
:class:`~lms_core.errors.LmsError` becomes a readable message and exit status
1; a traceback means a bug.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click
import uvicorn
import uvicorn.config
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from lms_core.config import Project, locate_project
from lms_core.courses import LoadedCourse, check_courses, new_course
from lms_core.db import read_only, session_factory
from lms_core.demo import DemoResult, create_demo, simulate_activity
from lms_core.errors import LmsError
from lms_core.http import serving
from lms_core.models import COURSE_STATUSES
from lms_core.plugins import (
    PluginError,
    cli_commands,
    describe_plugins,
    exercise_types,
    make_plugin_manager,
)
from lms_core.project import init_project, open_database
from lms_core.schema import current_revision, head_revision
from lms_core.services.accounts import (
    grant_role,
    invite_people,
    list_accounts,
    set_password,
    write_invite_sheet,
)
from lms_core.services.courses import diff_versions, list_versions, publish
from lms_core.services.enrolment import (
    enrol,
    list_enrolments,
    read_staff_codes,
    withdraw,
)
from lms_core.services.importing import ImportReport, write_rejected
from lms_core.services.org import TreeNode, import_units_file, load_builtin_tree, org_tree
from lms_core.services.staff import import_staff_file, list_staff
from lms_core.services.sync import import_results
from lms_core.tabular import Table
from lms_core.text import neutralise_formula
from site_builder import BuildReport, build_site
from site_builder.preview import Preview

F = TypeVar("F", bound=Callable[..., Any])


def _version() -> str:
    try:
        return version("taphuan")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0+unknown"


class LmsGroup(click.Group):
    """A click group that turns library errors into messages, never tracebacks.

    Commands contributed by plugins (``lms_cli_commands``) are added the first
    time a command is looked up, so ``lms --help`` lists them too.
    """

    _plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        try:
            for command in cli_commands(make_plugin_manager()):
                if command.name in self.commands:
                    raise PluginError(
                        f"a plugin adds the command '{command.name}', which already exists"
                    )
                self.add_command(command)
        except LmsError as exc:
            raise click.ClickException(str(exc)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._load_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LmsError as exc:
            click.secho(f"error: {exc}", err=True, fg="red")
            ctx.exit(1)
        except OSError as exc:  # a file the user named cannot be read or written
            where = f"{exc.filename}: " if exc.filename else ""
            click.secho(
                f"error: {where}{exc.strerror or exc} (nothing was saved)", err=True, fg="red"
            )
            ctx.exit(1)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            click.secho(f"error: database error: {reason}", err=True, fg="red")
            ctx.exit(1)


@click.group(cls=LmsGroup)
@click.version_option(_version(), prog_name="lms")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="lms.toml to use (default: found in this folder or a parent).",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Tập huấn: training for child-protection staff, from province to village."""
    ctx.obj = {"config": config_path}


def _project(ctx: click.Context) -> Project:
    return locate_project(config=ctx.find_root().obj["config"])


@contextmanager
def _engine(ctx: click.Context) -> Iterator[Engine]:
    engine = open_database(_project(ctx))
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _writing(ctx: click.Context) -> Iterator[Session]:
    """One transaction: everything the command writes, or nothing."""
    with _engine(ctx) as engine, session_factory(engine).begin() as session:
        yield session


@contextmanager
def _reading(ctx: click.Context) -> Iterator[Session]:
    with _engine(ctx) as engine, read_only(engine) as session:
        yield session


# ---------------------------------------------------------------- init, db


@main.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--database-url", default="", help="Default: SQLite file lms.db in FOLDER.")
@click.option("--language", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing lms.toml.")
def init_command(folder: Path, database_url: str, language: str, force: bool) -> None:
    """Create a project: a commented lms.toml, a courses/ folder and the database."""
    project = init_project(folder, database_url=database_url, language=language, force=force)
    click.echo(f"project ready in {project.root}")
    click.echo("next: lms org seed   (the Ninh Bình tree)   or   lms org import units.csv")


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade_command(ctx: click.Context) -> None:
    """Bring the database schema up to this version's (safe to run twice)."""
    project = _project(ctx)
    engine = open_database(project, migrate=True)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    click.echo(f"database schema at revision {revision}")


@db_group.command("status")
@click.pass_context
def db_status_command(ctx: click.Context) -> None:
    """Show the database's schema revision and this code's."""
    from lms_core.db import make_engine

    engine = make_engine(_project(ctx).database_url)
    try:
        click.echo(f"database: {current_revision(engine) or 'empty'}")
    finally:
        engine.dispose()
    click.echo(f"code:     {head_revision()}")


# ---------------------------------------------------------------- imports


def _import_options(func: F) -> F:
    options = [
        click.option("--encoding", help="Text encoding of a CSV that is not UTF-8 (e.g. cp1258)."),
        click.option("--sheet", help="Worksheet to read from an XLSX with several sheets."),
        click.option(
            "--skip-invalid",
            is_flag=True,
            help="Import the valid rows; write the others with reasons to a file.",
        ),
        click.option(
            "--rejected",
            "rejected_path",
            type=click.Path(path_type=Path),
            help="Where --skip-invalid writes rejected rows (default: FILE.rejected.csv).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run_import(
    ctx: click.Context,
    import_fn: Callable[..., tuple[Table, ImportReport]],
    file: Path,
    *,
    encoding: str | None,
    sheet: str | None,
    skip_invalid: bool,
    rejected_path: Path | None,
) -> None:
    """Run one import in one transaction, then report counts and rejected rows."""
    with _writing(ctx) as session:
        table, report = import_fn(
            session, str(file), encoding=encoding, sheet=sheet, skip_invalid=skip_invalid
        )
    click.echo(f"{file.name}: {len(table.rows)} rows: {report.summary()}")
    if report.rejected:
        target = rejected_path or file.with_name(file.stem + ".rejected.csv")
        write_rejected(target, table=table, rejected=report.rejected)
        click.secho(
            f"{len(report.rejected)} rejected rows written with reasons to {target}",
            fg="yellow",
            err=True,
        )


@main.group("org")
def org_group() -> None:
    """Organisation tree: provinces, communes, villages, agencies."""


@org_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@_import_options
@click.pass_context
def org_import_command(
    ctx: click.Context,
    file: Path,
    encoding: str | None,
    sheet: str | None,
    skip_invalid: bool,
    rejected_path: Path | None,
) -> None:
    """Upsert units from CSV/XLSX with columns code,name,kind,parent_code."""
    _run_import(
        ctx,
        import_units_file,
        file,
        encoding=encoding,
        sheet=sheet,
        skip_invalid=skip_invalid,
        rejected_path=rejected_path,
    )


@org_group.command("seed")
@click.pass_context
def org_seed_command(ctx: click.Context) -> None:
    """Import the official Ninh Bình tree shipped with taphuan (129 communes and wards)."""
    with _writing(ctx) as session:
        report = load_builtin_tree(session)
    click.echo(f"Ninh Bình tree: {report.summary()}")


def _print_tree(nodes: list[TreeNode], prefix: str = "") -> None:
    for i, node in enumerate(nodes):
        last = i == len(nodes) - 1
        branch = "" if node.depth == 0 else ("└── " if last else "├── ")
        noun = "person" if node.people_total == 1 else "people"
        people = f"{node.people_total} {noun}" + (
            f", {node.people_here} here" if node.children and node.people_here else ""
        )
        click.echo(f"{prefix}{branch}{node.code}  {node.name}  [{node.kind}]  {people}")
        extension = "" if node.depth == 0 else ("    " if last else "│   ")
        _print_tree(node.children, prefix + extension)


@org_group.command("tree")
@click.argument("code", required=False)
@click.option("--depth", type=click.IntRange(min=0), help="Show at most this many levels below.")
@click.pass_context
def org_tree_command(ctx: click.Context, code: str | None, depth: int | None) -> None:
    """Print the tree (or the subtree under CODE) with people counts."""
    with _reading(ctx) as session:
        roots = org_tree(session, root=code, depth=depth)
    if not roots:
        click.echo("no units yet (lms org seed, or lms org import FILE)")
    _print_tree(roots)


@main.group("staff")
def staff_group() -> None:
    """People who are trained."""


@staff_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@_import_options
@click.pass_context
def staff_import_command(
    ctx: click.Context,
    file: Path,
    encoding: str | None,
    sheet: str | None,
    skip_invalid: bool,
    rejected_path: Path | None,
) -> None:
    """Upsert people from CSV/XLSX: staff_code,full_name,org_code,position[,phone,email]."""
    _run_import(
        ctx,
        import_staff_file,
        file,
        encoding=encoding,
        sheet=sheet,
        skip_invalid=skip_invalid,
        rejected_path=rejected_path,
    )


@staff_group.command("list")
@click.option("--org", help="Unit code.")
@click.option("--subtree", is_flag=True, help="Include every unit below --org.")
@click.option("--limit", type=click.IntRange(min=1))
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True
)
@click.pass_context
def staff_list_command(
    ctx: click.Context, org: str | None, subtree: bool, limit: int | None, fmt: str
) -> None:
    """List people, by unit."""
    if subtree and org is None:
        raise click.UsageError("--subtree needs --org")
    with _reading(ctx) as session:
        people = list_staff(session, org=org, subtree=subtree, limit=limit)
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["staff_code", "full_name", "org_code", "position"])
        for p in people:
            writer.writerow([p.staff_code, p.full_name, p.org_code, p.position])
        return
    for p in people:
        click.echo(f"{p.staff_code:<12} {p.full_name:<30} {p.org_code:<10} {p.position}")
    click.echo(f"{len(people)} people", err=True)


# ---------------------------------------------------------------- accounts


@main.group("accounts")
def accounts_group() -> None:
    """Accounts, roles and invite codes."""


@accounts_group.command("invite")
@click.option("--org", required=True, help="Unit whose people are invited.")
@click.option("--subtree", is_flag=True, help="Also every unit below --org.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV sheet of codes to hand out (keep it safe: it holds live codes).",
)
@click.option(
    "--days",
    type=click.IntRange(1, 365),
    default=30,
    show_default=True,
    help="Days before the codes expire.",
)
@click.option(
    "--reissue",
    is_flag=True,
    help="New codes for people who never signed in; their old codes stop working.",
)
@click.pass_context
def accounts_invite_command(
    ctx: click.Context, org: str, subtree: bool, out: Path, days: int, reissue: bool
) -> None:
    """Create single-use invite codes for people without an account."""
    if out.exists():
        raise LmsError(f"{out} already exists; choose another --out (it may hold live codes)")
    project = _project(ctx)
    with _writing(ctx) as session:
        invites = invite_people(session, org=org, subtree=subtree, days=days, reissue=reissue)
        write_invite_sheet(out, invites, site_url=project.config.site.base_url)
    click.echo(f"{len(invites)} invite codes written to {out} (valid {days} days)")


@accounts_group.command("grant")
@click.argument("staff_code")
@click.option(
    "--role", required=True, type=click.Choice(["learner", "trainer", "manager", "admin"])
)
@click.option("--org", help="Unit whose subtree a trainer or manager looks after.")
@click.pass_context
def accounts_grant_command(ctx: click.Context, staff_code: str, role: str, org: str | None) -> None:
    """Give a person a role; prints an invite code if they have never signed in."""
    with _writing(ctx) as session:
        invite = grant_role(session, staff_code=staff_code, role=role, scope_org=org)
    click.echo(f"{staff_code}: role {role}" + (f" over {org}" if org else ""))
    if invite is not None:
        click.echo(
            f"invite code (give it to the person only): {invite.code}  "
            f"expires {invite.expires_at.date().isoformat()}"
        )


@accounts_group.command("set-password")
@click.argument("staff_code")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def accounts_set_password_command(
    ctx: click.Context, staff_code: str, password_stdin: bool
) -> None:
    """Set an account's password (first admin, or a reset)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    with _writing(ctx) as session:
        set_password(session, staff_code=staff_code, password=password)
    click.echo(f"password set for {staff_code}")


@accounts_group.command("list")
@click.option("--role", type=click.Choice(["learner", "trainer", "manager", "admin"]))
@click.pass_context
def accounts_list_command(ctx: click.Context, role: str | None) -> None:
    """List accounts with role, status and scope."""
    with _reading(ctx) as session:
        entries = list_accounts(session, role=role)
    for e in entries:
        click.echo(f"{e.role:<8} {e.status:<9} {e.staff_code:<12} {e.full_name:<30} {e.scope_code}")


# ---------------------------------------------------------------- enrolments

NOT_ELIGIBLE_SHOWN = 50


@main.command("enrol")
@click.option("--course", required=True, help="Course slug (a published course).")
@click.option("--org", help="Unit code: enrol its active people.")
@click.option("--subtree", is_flag=True, help="Also every unit below --org.")
@click.option(
    "--position",
    "positions",
    multiple=True,
    help="Only people with this position (repeatable; case and spacing ignored).",
)
@click.option(
    "--staff",
    "staff_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV/XLSX with a staff_code column (a staff import file works too).",
)
@click.option("--cohort", help="Training round to put them in (created on first use).")
@click.option("--due", type=click.DateTime(formats=["%Y-%m-%d"]), help="Due date, YYYY-MM-DD.")
@click.option("--encoding", help="Text encoding of a --staff CSV that is not UTF-8 (e.g. cp1258).")
@click.option("--sheet", help="Worksheet to read from a --staff XLSX with several sheets.")
@click.pass_context
def enrol_command(
    ctx: click.Context,
    course: str,
    org: str | None,
    subtree: bool,
    positions: tuple[str, ...],
    staff_file: Path | None,
    cohort: str | None,
    due: dt.datetime | None,
    encoding: str | None,
    sheet: str | None,
) -> None:
    """Enrol the people of a unit (--org) or of a list (--staff) in a course.

    Safe to run again: nobody is enrolled twice.
    """
    if (org is None) == (staff_file is None):
        raise click.UsageError("give exactly one of --org and --staff")
    if staff_file is not None and (subtree or positions):
        raise click.UsageError("--subtree and --position select people of --org; not with --staff")
    codes = (
        read_staff_codes(staff_file, encoding=encoding, sheet=sheet)
        if staff_file is not None
        else None
    )
    with _writing(ctx) as session:
        report = enrol(
            session,
            course=course,
            org=org,
            subtree=subtree,
            positions=positions,
            staff_codes=codes,
            cohort=cohort,
            due=due.date() if due is not None else None,
        )
    click.echo(report.summary())
    for code, reason in report.not_eligible[:NOT_ELIGIBLE_SHOWN]:
        click.echo(f"  {code or '(empty)':<12} {reason}", err=True)
    hidden = len(report.not_eligible) - NOT_ELIGIBLE_SHOWN
    if hidden > 0:
        click.echo(f"  … and {hidden} more", err=True)


@main.group("enrolments")
def enrolments_group() -> None:
    """Who is enrolled in which course."""


@enrolments_group.command("list")
@click.option("--course", help="Course slug.")
@click.option("--org", help="Unit code (the person's unit).")
@click.option("--subtree", is_flag=True, help="Include every unit below --org.")
@click.option("--status", type=click.Choice(COURSE_STATUSES))
@click.option("--cohort", help="Cohort name.")
@click.option("--limit", type=click.IntRange(min=1))
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True
)
@click.pass_context
def enrolments_list_command(
    ctx: click.Context,
    course: str | None,
    org: str | None,
    subtree: bool,
    status: str | None,
    cohort: str | None,
    limit: int | None,
    fmt: str,
) -> None:
    """List enrolments (withdrawn and completed ones too), by course, unit and name."""
    if subtree and org is None:
        raise click.UsageError("--subtree needs --org")
    with _reading(ctx) as session:
        entries = list_enrolments(
            session,
            course=course,
            org=org,
            subtree=subtree,
            status=status,
            cohort=cohort,
            limit=limit,
        )
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(
            [
                "staff_code",
                "full_name",
                "org_code",
                "course",
                "version",
                "cohort",
                "status",
                "due_on",
                "enrolled_at",
            ]
        )
        for e in entries:
            cells = [e.staff_code, e.full_name, e.org_code, e.course, str(e.version)]
            cells += [e.cohort or "", e.status, e.due_on.isoformat() if e.due_on else ""]
            cells.append(e.enrolled_at.isoformat(timespec="seconds"))
            writer.writerow([neutralise_formula(c) for c in cells])
        return
    for e in entries:
        due = e.due_on.isoformat() if e.due_on else "-"
        click.echo(
            f"{e.staff_code:<12} {e.full_name:<30} {e.org_code:<10} {e.course} v{e.version:<3} "
            f"{e.status:<11} due {due:<10} {e.cohort or ''}".rstrip()
        )
    click.echo(f"{len(entries)} enrolments", err=True)


@enrolments_group.command("withdraw")
@click.argument("staff_code", required=False)
@click.option("--course", required=True, help="Course slug.")
@click.option("--staff-code", "staff_code_option", help="Same as the STAFF_CODE argument.")
@click.pass_context
def enrolments_withdraw_command(
    ctx: click.Context, staff_code: str | None, course: str, staff_code_option: str | None
) -> None:
    """Withdraw a person's active enrolment (its history is kept)."""
    if (staff_code is None) == (staff_code_option is None):
        raise click.UsageError("give the staff code once: STAFF_CODE or --staff-code")
    code = staff_code or staff_code_option
    assert code is not None
    with _writing(ctx) as session:
        withdraw(session, course=course, staff_code=code)
    click.echo(f"{code.strip().upper()}: withdrawn from {course}")


# ---------------------------------------------------------------- results


@main.group("results")
def results_group() -> None:
    """Results done offline on a static copy of the site (files exported by the browser)."""


@results_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--staff-code", help="Refuse any file that belongs to someone else.")
@click.pass_context
def results_import_command(
    ctx: click.Context, files: tuple[Path, ...], staff_code: str | None
) -> None:
    """Import learners' result files (lesson views, attempts); each counts exactly once.

    Safe to run again on the same files: what was imported is reported as
    already imported.  Exit status 1 if a file or an item was refused.
    """
    pm = make_plugin_manager()
    with _writing(ctx) as session:
        reports = import_results(
            session,
            files=[str(f) for f in files],
            types=exercise_types(pm),
            pm=pm,
            expect_staff_code=staff_code,
        )
    for report in reports:
        if report.error is not None:
            click.echo(f"{report.file}: nothing imported")
            click.secho(report.error, err=True, fg="red")
            continue
        click.echo(
            f"{report.file}: {report.applied} applied, {report.duplicates} already imported, "
            f"{report.rejected} refused"
        )
        for number, item in enumerate(report.items, start=1):
            if item.error is not None:
                click.secho(f"{report.file}: item {number}: {item.error}", err=True, fg="red")
    if not all(report.ok for report in reports):
        ctx.exit(1)


# ---------------------------------------------------------------- courses


@main.group("course")
def course_group() -> None:
    """Courses: create, check, publish, versions."""


def _check(ctx: click.Context, slugs: tuple[str, ...]) -> list[LoadedCourse]:
    """Check courses, print every problem; raise when any has an error."""
    project = _project(ctx)
    types = exercise_types(make_plugin_manager())
    loaded, problems = check_courses(
        project.courses_dir,
        slugs=slugs,
        types=types,
        language=project.config.language,
        allow_html=project.config.site.raw_html == "sanitised",
    )
    for problem in problems:
        colour = "red" if problem.severity == "error" else "yellow"
        click.secho(problem.format(), fg=colour, err=True)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    click.echo(f"{len(loaded)} courses checked: {errors} errors, {warnings} warnings")
    if errors:
        raise LmsError("fix the errors above (nothing was published)")
    return loaded


@course_group.command("check")
@click.argument("slugs", nargs=-1)
@click.pass_context
def course_check_command(ctx: click.Context, slugs: tuple[str, ...]) -> None:
    """Check courses (default: all) and report every problem with file:line:col."""
    _check(ctx, slugs)


@course_group.command("new")
@click.argument("slug")
@click.option("--title", default="", help="The course's title.")
@click.pass_context
def course_new_command(ctx: click.Context, slug: str, title: str) -> None:
    """Write a commented skeleton course that passes the check."""
    folder = new_course(_project(ctx).courses_dir, slug, title=title)
    click.echo(f"course skeleton written to {folder}")
    click.echo(f"next: edit it, then 'lms course check {slug}'")


@course_group.command("publish")
@click.argument("slugs", nargs=-1)
@click.pass_context
def course_publish_command(ctx: click.Context, slugs: tuple[str, ...]) -> None:
    """Check, then store a new version of each course whose content changed."""
    loaded = _check(ctx, slugs)
    with _writing(ctx) as session:
        results = [publish(session, course) for course in loaded]
    for r in results:
        if r.created:
            moved = f", {r.moved_enrolments} enrolments moved to it" if r.moved_enrolments else ""
            click.echo(f"{r.slug}: published version {r.version}{moved}")
        else:
            click.echo(f"{r.slug}: unchanged (version {r.version})")


@course_group.command("versions")
@click.argument("slug")
@click.pass_context
def course_versions_command(ctx: click.Context, slug: str) -> None:
    """List a course's versions, newest first."""
    with _reading(ctx) as session:
        versions = list_versions(session, slug=slug)
    for v in versions:
        click.echo(
            f"v{v.number:<4} {v.published_at:%Y-%m-%d %H:%M}  {v.content_hash[:12]}  "
            f"{v.lessons} lessons, {v.exercises} exercises, {v.enrolments} enrolments"
        )


@course_group.command("diff")
@click.argument("slug")
@click.argument("old", type=int)
@click.argument("new", type=int)
@click.pass_context
def course_diff_command(ctx: click.Context, slug: str, old: int, new: int) -> None:
    """Show which settings, lessons, exercises and files changed between two versions."""
    with _reading(ctx) as session:
        diff = diff_versions(session, slug=slug, old=old, new=new)
    if diff.empty:
        click.echo("no differences")
    for label, items in (
        ("settings changed", diff.settings),
        ("lessons added", diff.lessons_added),
        ("lessons removed", diff.lessons_removed),
        ("lessons changed", diff.lessons_changed),
        ("exercises added", diff.exercises_added),
        ("exercises removed", diff.exercises_removed),
        ("exercises changed", diff.exercises_changed),
        ("files changed", diff.files_changed),
    ):
        if items:
            click.echo(f"{label}: {', '.join(items)}")


# ---------------------------------------------------------------- site


@main.command("build")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: [paths] output in lms.toml).",
)
@click.option("--base-url", help="Public address of the site (default: [site] base_url).")
@click.option("--no-budgets", is_flag=True, help="Report page weights without failing.")
@click.pass_context
def build_command(
    ctx: click.Context, out: Path | None, base_url: str | None, no_budgets: bool
) -> None:
    """Build the static site from the courses."""
    project = _project(ctx)
    pm = make_plugin_manager()
    report = build_site(
        project,
        out=out,
        base_url=base_url,
        types=exercise_types(pm),
        enforce_budgets=not no_budgets,
        pm=pm,
    )
    click.echo(
        f"site in {report.out}: {report.pages} pages, {report.files} files "
        f"({report.written} written, {report.removed} removed)"
    )
    click.echo(f"CSS {report.css_gzip / 1024:.1f} KB, JS {report.js_gzip / 1024:.1f} KB (gzip)")
    for path, size in report.heaviest(3):
        click.echo(f"  {path}: {size / 1024:.1f} KB gzip")
    for line in report.over_budget:
        click.secho(f"over budget: {line}", fg="yellow", err=True)


@main.command("preview")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.pass_context
def preview_command(ctx: click.Context, host: str, port: int) -> None:
    """Build the site, serve it, and rebuild when a course or the theme changes."""
    project = _project(ctx)

    def said(result: BuildReport | LmsError) -> None:
        if isinstance(result, LmsError):
            click.secho(
                f"build failed (still serving the last good site):\n{result}", fg="red", err=True
            )
        else:
            click.echo(f"built: {result.pages} pages ({result.written} files written)")

    pm = make_plugin_manager()
    preview = Preview(
        project, types=exercise_types(pm), host=host, port=port, on_build=said, pm=pm
    ).start()
    click.echo(f"serving {preview.out} at {preview.url} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        preview.stop()


# ---------------------------------------------------------------- server


def _serve_log_config(log_format: str = "text") -> dict[str, Any]:
    """uvicorn's logging setup, plus our one-line-per-request ``lms.http`` log.

    ``json``: every line (uvicorn's own too) is one JSON object.
    """
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["lms"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    if log_format == "json":
        config["formatters"]["default"] = {"()": "lms_core.http.logs.JsonFormatter"}
    return config


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="server processes (all state is in the database, so any number works)",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line, for log collectors",
)
@click.pass_context
def serve_command(ctx: click.Context, host: str, port: int, workers: int, log_format: str) -> None:
    """Serve the learner API under /api and the built site at / (Ctrl-C to stop)."""
    _run_server(_project(ctx), host=host, port=port, workers=workers, log_format=log_format)


def _run_server(
    project: Project, *, host: str, port: int, workers: int, log_format: str = "text"
) -> None:
    # Fail here, with a readable message, rather than in every worker.
    open_database(project).dispose()
    assert project.config_path is not None
    # Workers are separate processes: they find the project through the environment.
    os.environ["LMS_CONFIG"] = str(project.config_path)
    site = project.output_dir if project.output_dir.is_dir() else None
    click.echo(
        f"serving on http://{host}:{port}/api"
        + (f" and the site from {site}" if site else " (no built site: run 'lms build')")
    )
    if site and not project.config.site.api_url:
        click.echo(
            "note: [site] api_url in lms.toml is empty, so the pages do not talk to this "
            'server (no sign-in, progress or graded attempts): set api_url = "/api" and '
            "run 'lms build'"
        )
    config = uvicorn.Config(
        "lms_core.http.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,  # trust X-Forwarded-* from a proxy on this machine only
        forwarded_allow_ips="127.0.0.1",
        timeout_graceful_shutdown=10,
        timeout_keep_alive=serving.KEEP_ALIVE_SECONDS,  # longer than the proxy's
        access_log=False,  # lms.http logs each request, without query strings
        log_config=_serve_log_config(log_format),
        server_header=False,
    )
    if not serving.run(config):
        raise SystemExit(3)


# ---------------------------------------------------------------- reports

REPORT_HELP = {
    "completion": "Who has done which course: a row per person and course (status, dates).",
    "rollup": "Completion rate per unit and course, summed up the tree.",
    "overdue": "Who is late: open enrolments past their due date, longest first.",
    "expiring": "Who needs refresher training: certificates ending soon.",
    "attempts": "Per exercise: attempts, pass rate, mean score, median time.",
    "items": "Per question of a graded exercise: difficulty, discrimination, flags.",
}


def _within_days(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    """``60d``, ``8w`` or ``60`` (days) as a number of days."""
    if value is None:
        return None
    text = value.strip().lower()
    factor = 7 if text.endswith("w") else 1
    digits = text[:-1] if text[-1:] in ("d", "w") else text
    if not digits.isdigit() or int(digits) * factor > 3650:
        raise click.BadParameter("give days or weeks, e.g. 60d, 8w (at most 3650 days)")
    return int(digits) * factor


def _report_options(*extra: str) -> Callable[[F], F]:
    """The options every report command takes, plus ``extra`` ones (cohort, period, …)."""

    def decorate(func: F) -> F:
        options = [
            click.option("--org", "org", help="Unit code (default: the top of the tree)."),
            click.option(
                "--subtree",
                is_flag=True,
                help="Include the units below --org (lists of people; rollup: all levels).",
            ),
            click.option("--course", help="Course slug."),
        ]
        if "cohort" in extra:
            options.append(click.option("--cohort", help="Cohort name."))
        if "period" in extra:
            options += [
                click.option(
                    "--from",
                    "date_from",
                    type=click.DateTime(formats=["%Y-%m-%d"]),
                    help="First day, YYYY-MM-DD (Vietnam time).",
                ),
                click.option(
                    "--to",
                    "date_to",
                    type=click.DateTime(formats=["%Y-%m-%d"]),
                    help="Last day, YYYY-MM-DD.",
                ),
            ]
        if "within" in extra:
            options += [
                click.option(
                    "--within",
                    callback=_within_days,
                    metavar="DAYS",
                    help="Window, e.g. 60d or 8w (default 60d).",
                ),
                click.option("--expired", is_flag=True, help="Also certificates already expired."),
            ]
        if "exercise" in extra:
            options.append(click.option("--exercise", help="Exercise id (default: all graded)."))
        options += [
            click.option(
                "--format",
                "fmt",
                type=click.Choice(["table", "csv", "xlsx", "html"]),
                default="table",
                show_default=True,
            ),
            click.option(
                "--out",
                "out",
                help="File to write (csv, xlsx, html); '-' writes CSV to stdout.",
            ),
            click.option(
                "--lang",
                type=click.Choice(["vi", "en"]),
                help="Language of headings (default: the project's).",
            ),
            click.option(
                "--pseudonymise",
                is_flag=True,
                help="Replace names and staff codes with stable pseudonyms (to share outside HR).",
            ),
            click.option(
                "--new-pseudonym-key",
                is_flag=True,
                help="Start new pseudonyms (earlier exports will not match).",
            ),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _run_report_command(ctx: click.Context, name: str, **given: Any) -> None:
    """Parse, run one report, print or write it, and log the export."""
    from lms_core.report_formats import (
        ReportRequest,
        format_table,
        project_pseudonymiser,
        record_export,
        run_report,
        write_csv,
        write_html,
        write_xlsx,
    )
    from lms_core.services.scope import Scope

    fmt: str = given.pop("fmt")
    out: str | None = given.pop("out")
    pseudonymise: bool = given.pop("pseudonymise")
    new_key: bool = given.pop("new_pseudonym_key")
    language: str = given.pop("lang") or _project(ctx).config.language
    if given["subtree"] and given["org"] is None:
        raise click.UsageError("--subtree needs --org")
    if fmt == "table" and out is not None:
        raise click.UsageError("--out is for --format csv, xlsx or html")
    if fmt != "table" and out is None:
        raise click.UsageError(f"--format {fmt} needs --out FILE ('-' for CSV on stdout)")
    if out == "-" and fmt != "csv":
        raise click.UsageError(f"--out - (stdout) is for CSV only; give a file for {fmt}")
    if new_key and not pseudonymise:
        raise click.UsageError("--new-pseudonym-key goes with --pseudonymise")
    request = ReportRequest(
        name=name,
        unit_code=given.get("org"),
        subtree=bool(given.get("subtree")) or given.get("org") is None,
        course=given.get("course"),
        cohort=given.get("cohort"),
        date_from=given["date_from"].date() if given.get("date_from") else None,
        date_to=given["date_to"].date() if given.get("date_to") else None,
        within_days=given.get("within"),
        include_expired=bool(given.get("expired")),
        exercise=given.get("exercise"),
    )
    request.check()
    scope = Scope.everything()
    pseudonymiser = None
    if pseudonymise:
        project = _project(ctx)
        with _writing(ctx) as session:
            pseudonymiser = project_pseudonymiser(
                session, key_dir=project.key_dir, project_root=project.root, new_key=new_key
            )
    with _reading(ctx) as session:
        report = run_report(session, scope, request)
    if fmt == "table":
        width = max(40, shutil.get_terminal_size().columns) if sys.stdout.isatty() else 200
        table = format_table(report, language=language, width=width, pseudonymise=pseudonymiser)
        click.echo(table, nl=False)
        return
    # Logged before the file is written: a failed export is a logged attempt, never an
    # unlogged file.
    with _writing(ctx) as session:
        record_export(
            session,
            report=report.name,
            fmt=fmt,
            filters=request.event_filters(),
            rows=len(report.rows),
            pseudonymised=pseudonymiser is not None,
        )
    assert out is not None
    target: Path | BinaryIO = sys.stdout.buffer if out == "-" else Path(out)
    if fmt == "csv":
        rows = write_csv(report, target, language=language, pseudonymise=pseudonymiser)
    elif fmt == "xlsx":
        rows = write_xlsx([report], target, language=language, pseudonymise=pseudonymiser)
    else:
        rows = write_html(report, target, language=language, pseudonymise=pseudonymiser)
    if out != "-":
        note = ", pseudonymised" if pseudonymiser is not None else ""
        click.echo(f"{report.name}: {rows} rows written to {out}{note}", err=True)


@main.group("report")
def report_group() -> None:
    """Reports for HR and managers: a table, CSV, XLSX or HTML; a dashboard."""


@report_group.command("completion", help=REPORT_HELP["completion"])
@_report_options("cohort")
@click.pass_context
def report_completion_command(ctx: click.Context, /, **options: Any) -> None:
    _run_report_command(ctx, "completion", **options)


@report_group.command("rollup", help=REPORT_HELP["rollup"])
@_report_options("cohort", "period")
@click.pass_context
def report_rollup_command(ctx: click.Context, /, **options: Any) -> None:
    _run_report_command(ctx, "rollup", **options)


@report_group.command("overdue", help=REPORT_HELP["overdue"])
@_report_options("cohort")
@click.pass_context
def report_overdue_command(ctx: click.Context, /, **options: Any) -> None:
    _run_report_command(ctx, "overdue", **options)


@report_group.command("expiring", help=REPORT_HELP["expiring"])
@_report_options("within")
@click.pass_context
def report_expiring_command(ctx: click.Context, /, **options: Any) -> None:
    _run_report_command(ctx, "expiring", **options)


@report_group.command("attempts", help=REPORT_HELP["attempts"])
@_report_options("period")
@click.pass_context
def report_attempts_command(ctx: click.Context, /, **options: Any) -> None:
    _run_report_command(ctx, "attempts", **options)


@report_group.command("items", help=REPORT_HELP["items"])
@_report_options("period", "exercise")
@click.pass_context
def report_items_command(ctx: click.Context, /, **options: Any) -> None:
    _run_report_command(ctx, "items", **options)


@report_group.command("dashboard")
@click.option("--org", required=True, help="Unit code of the top page.")
@click.option("--course", help="Only this course (slug).")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the pages (new, empty, or an earlier dashboard).",
)
@click.option("--lang", type=click.Choice(["vi", "en"]), help="Default: the project's language.")
@click.pass_context
def report_dashboard_command(
    ctx: click.Context, org: str, course: str | None, out: Path, lang: str | None
) -> None:
    """Static HTML pages per unit with completion bars, linked down the tree (no JS)."""
    from lms_core.dashboard import write_dashboard
    from lms_core.report_formats import record_export
    from lms_core.services.scope import Scope

    language = lang or _project(ctx).config.language
    with _reading(ctx) as session:
        result = write_dashboard(
            session,
            Scope.everything(),
            unit_code=org,
            out_dir=out,
            language=language,
            course=course,
        )
    with _writing(ctx) as session:
        record_export(
            session,
            report="dashboard",
            fmt="html",
            filters={"unit": org, "subtree": True, "course": course},
            rows=result.pages,
            pseudonymised=False,
        )
    click.echo(
        f"dashboard: {result.pages} pages in {out} (open {out / 'index.html'}); "
        f"largest page {result.largest_gzip / 1024:.1f} KB gzip"
        + (f"; {result.removed} old pages removed" if result.removed else "")
    )
    for line in result.over_budget:
        click.secho(f"over budget (30 KB gzip): {line}", fg="yellow", err=True)


# ---------------------------------------------------------------- plugins


@main.command("plugins")
def plugins_command() -> None:
    """List installed plugins, their versions and the exercise types they offer."""
    infos = describe_plugins(make_plugin_manager())
    if not infos:
        click.echo("no plugins installed")
    for info in infos:
        source = f"{info.distribution} {info.version}".strip() or "registered in code"
        types = ", ".join(info.exercise_types) or "-"
        click.echo(f"{info.name:<16} {source:<24} exercise types: {types}")


# ---------------------------------------------------------------- demo


def _demo_activity(result: DemoResult, *, people: int) -> None:
    """Give the demo a signing key (when the certificates plugin is installed) and
    some months of learning, so reports, dashboards and certificates have data.

    Runs as an ``lms`` process of the demo project (``LMS_CONFIG``), which is
    how plugins listening on completions find their settings.
    """
    config = result.project.config_path
    assert config is not None
    previous = os.environ.get("LMS_CONFIG")
    os.environ["LMS_CONFIG"] = str(config)
    try:
        if "keys" in main.list_commands(click.get_current_context()):
            try:
                main.main(["--config", str(config), "keys", "init"], standalone_mode=False)
            except (click.ClickException, LmsError) as exc:
                click.echo(f"note: no signing key, so no certificates yet: {exc}")
        if people:
            done = simulate_activity(
                result.project,
                people=people,
                leave_alone=frozenset(
                    [a.staff_code for a in result.accounts] + [i.staff_code for i in result.invites]
                ),
            )
            click.echo(
                f"activity: {done.people} people, {done.lessons_viewed} lessons viewed, "
                f"{done.attempts} quiz attempts, {done.completions} completions"
            )
    finally:
        if previous is None:
            os.environ.pop("LMS_CONFIG", None)
        else:
            os.environ["LMS_CONFIG"] = previous


@main.command("demo")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default="lms-demo")
@click.option("--staff", type=click.IntRange(1, 100_000), default=300, show_default=True)
@click.option("--force", is_flag=True, help="Recreate the demo database if FOLDER has one.")
@click.option("--database-url", default="", help="Default: SQLite file lms.db in FOLDER.")
@click.option(
    "--serve/--no-serve",
    default=None,
    help="Start the server at the end (default: when run in a terminal).",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--activity",
    default=150,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="How many people have already been learning (lessons, quizzes, certificates).",
)
def demo_command(
    folder: Path,
    staff: int,
    force: bool,
    database_url: str,
    serve: bool | None,
    port: int,
    activity: int,
) -> None:
    """Create a ready-to-try workspace, then serve it: sign in as a demo learner."""
    result = create_demo(folder, staff=staff, force=force, database_url=database_url)
    root = result.project.root
    click.echo(f"demo project in {root}: {result.units} units, {result.staff} staff")
    click.echo("demo accounts (random passwords, shown once):")
    for a in result.accounts:
        scope = f" over {a.scope}" if a.scope else ""
        click.echo(f"  {a.role:<8} {a.staff_code}  {a.full_name}{scope}  password: {a.password}")
    for i in result.invites:
        click.echo(f"  new learner {i.staff_code}  {i.full_name}  invite code: {i.code}")
    click.echo("courses published: " + ", ".join(result.courses))
    for line in result.enrolments:
        click.echo(f"  {line}")
    _demo_activity(result, people=activity)
    pm = make_plugin_manager()
    site = build_site(result.project, types=exercise_types(pm), pm=pm)
    click.echo(f"site built in {site.out}")
    click.echo("\nother things to try:")
    click.echo(f"  cd {folder}")
    click.echo("  lms org tree --depth 1")
    click.echo("  lms staff list --org 37 --subtree --limit 20")
    click.echo("  lms accounts invite --org 37 --subtree --out invites.csv")
    click.echo("  lms course check && lms enrolments list --limit 20")
    learner = next((a for a in result.accounts if a.role == "learner"), None)
    url = f"http://127.0.0.1:{port}/"
    click.echo(f"\nthe learner's journey: open {url} in a browser and")
    if result.invites:
        i = result.invites[0]
        click.echo(
            f"  - first sign-in: 'Đăng nhập', staff code {i.staff_code}, invite code {i.code}, "
            "choose a password"
        )
    if learner is not None:
        click.echo(f"  - or sign in as {learner.staff_code} with password {learner.password}")
    click.echo("  then read the lessons of a course and take its final quiz")
    if serve is None:
        serve = sys.stdin.isatty() and sys.stdout.isatty()
    if not serve:
        click.echo(f"\nstart the server with: cd {folder} && lms serve")
        return
    _run_server(result.project, host="127.0.0.1", port=port, workers=1)


if __name__ == "__main__":  # pragma: no cover
    main()

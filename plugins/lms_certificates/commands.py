"""``lms keys …`` and ``lms certificates …``: parse, call the service, print.

Added to ``lms`` through ``lms_cli_commands``; errors are
:class:`~lms_core.errors.LmsError` and become one readable line (exit 1)
through the main command's group, like every built-in command.  Private
keys are never printed; ``verify`` exits 0 only for a valid certificate.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.orm import Session

from lms_certificates import export as exporting
from lms_certificates import keys as keyring
from lms_certificates import ob3, service
from lms_certificates.extract import token_of_input
from lms_certificates.settings import IssuerSettings, find_project, today_vn
from lms_certificates.token import (
    Verdict,
    keys_from_json,
    revoked_from_json,
    verify_token,
)
from lms_core.config import Project
from lms_core.db import read_only, session_factory
from lms_core.errors import InputFileError
from lms_core.project import open_database
from lms_core.text import neutralise_formula

__all__ = ["certificates_group", "keys_group", "parse_days"]

_DAYS = re.compile(r"^\s*([0-9]{1,5})\s*([dw]?)\s*$", re.IGNORECASE)


def parse_days(text: str) -> int:
    """``60d``, ``60`` (days) or ``8w`` (weeks) as a number of days."""
    match = _DAYS.match(text)
    if not match:
        raise click.BadParameter(f"'{text}' is not a duration like 60d or 8w")
    number, unit = int(match.group(1)), match.group(2).lower()
    return number * 7 if unit == "w" else number


def _project() -> Project:
    return find_project()


@contextmanager
def _writing(project: Project) -> Iterator[Session]:
    engine = open_database(project)
    try:
        with session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def _reading(project: Project) -> Iterator[Session]:
    engine = open_database(project)
    try:
        with read_only(engine) as session:
            yield session
    finally:
        engine.dispose()


def _settings(project: Project) -> IssuerSettings:
    return IssuerSettings.of(project)


# ---------------------------------------------------------------- lms keys


@click.group("keys")
def keys_group() -> None:
    """The certificate issuer's signing keys: Ed25519 (certificates), RSA (Open Badges)."""


_PURPOSE = {
    keyring.ED25519: "signs certificate tokens",
    keyring.RS256: "signs Open Badges credentials",
}


def _made(info: keyring.KeyInfo, verb: str) -> None:
    click.echo(f"{info.alg} key {info.kid} {verb} ({_PURPOSE[info.alg]})")
    click.echo(f"  private key: {info.path} (mode 0600; back it up offline, never share it)")


@keys_group.command("init")
def keys_init_command() -> None:
    """Create the issuer's keys (those missing): private keys in key_dir, public in the database.

    On an install that already has its Ed25519 key, this adds only the RSA
    key that signs Open Badges credentials (RS256).
    """
    project = _project()
    with _writing(project) as session:
        infos = keyring.init_keys(
            session,
            key_dir=project.key_dir,
            project_root=project.root,
            output_dir=project.output_dir,
        )
    for info in infos:
        _made(info, "created")
    if [info.alg for info in infos] == [keyring.RS256]:
        click.echo("the existing Ed25519 key is unchanged")
    click.echo("the next lms build (or: lms certificates publish) publishes the public keys")


@keys_group.command("rotate")
def keys_rotate_command() -> None:
    """Make new active keys (Ed25519 and RSA); old keys are retired but still verify."""
    project = _project()
    with _writing(project) as session:
        infos = keyring.rotate_keys(
            session,
            key_dir=project.key_dir,
            project_root=project.root,
            output_dir=project.output_dir,
        )
    for info in infos:
        _made(info, "is now active")
    click.echo("earlier keys are retired (they still verify what they signed)")
    click.echo("publish the key lists again with: lms certificates publish")


@keys_group.command("list")
def keys_list_command() -> None:
    """Every signing key, its kind, whether it is active, and whether its private file is here."""
    project = _project()
    with _reading(project) as session:
        infos = keyring.list_keys(session, key_dir=project.key_dir)
    for info in infos:
        state = f"retired {info.retired_at:%Y-%m-%d}" if info.retired_at else "active"
        private = "private key here" if info.has_private_key else "no private key file here"
        click.echo(
            f"{info.alg:<8} {info.kid:<20}  created {info.created_at:%Y-%m-%d}  "
            f"{state:<18} {private}"
        )
    click.echo(f"{len(infos)} keys (key folder: {project.key_dir})", err=True)


# ---------------------------------------------------------------- lms certificates


@click.group("certificates")
def certificates_group() -> None:
    """Certificates: list, show, verify, revoke, expiring, issue-pending, publish, export."""


def _verdict_line(entry: service.CertificateEntry) -> str:
    until = entry.valid_until.isoformat() if entry.valid_until else "no expiry"
    return (
        f"{entry.serial:<16} {entry.staff_code:<12} {entry.full_name:<30} {entry.unit_code:<10} "
        f"{entry.course} v{entry.version:<3} issued {entry.issued_on} until {until:<10} "
        f"{entry.verdict}"
    )


@certificates_group.command("list")
@click.option("--org", help="Unit code (the person's current unit).")
@click.option("--subtree", is_flag=True, help="Include every unit below --org.")
@click.option("--course", help="Course slug.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True
)
def certificates_list_command(org: str | None, subtree: bool, course: str | None, fmt: str) -> None:
    """List certificates, by unit and course, with today's verdict."""
    if subtree and org is None:
        raise click.UsageError("--subtree needs --org")
    project = _project()
    with _reading(project) as session:
        entries = service.list_certificates(session, org=org, subtree=subtree, course=course)
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(
            [
                "serial",
                "staff_code",
                "full_name",
                "org_code",
                "course",
                "version",
                "completed",
                "score",
                "issued",
                "valid_until",
                "previous",
                "verdict",
            ]
        )
        for e in entries:
            cells = [e.serial, e.staff_code, e.full_name, e.unit_code, e.course, str(e.version)]
            cells += [e.completed_on.isoformat(), "" if e.score is None else f"{e.score:g}"]
            cells += [e.issued_on.isoformat(), e.valid_until.isoformat() if e.valid_until else ""]
            cells += [e.previous or "", e.verdict]
            writer.writerow([neutralise_formula(c) for c in cells])
        return
    for e in entries:
        click.echo(_verdict_line(e))
    click.echo(f"{len(entries)} certificates", err=True)


@certificates_group.command("show")
@click.argument("serial")
def certificates_show_command(serial: str) -> None:
    """Everything a certificate says, its verdict today, and its verify address."""
    project = _project()
    settings = _settings(project)
    with _reading(project) as session:
        e = service.get_certificate(session, serial=serial)
    rows = [
        ("serial", e.serial),
        ("name", e.full_name),
        ("staff code", e.staff_code),
        ("unit", f"{e.unit_name} (now in {e.unit_code})"),
        ("position", e.position or "-"),
        ("course", f"{e.title} ({e.course}, version {e.version})"),
        ("completed", e.completed_on.isoformat()),
        ("score", "-" if e.score is None else f"{e.score:g}%"),
        ("issued", e.issued_on.isoformat()),
        ("valid until", e.valid_until.isoformat() if e.valid_until else "no expiry"),
        ("renews", e.previous or "-"),
        ("key", e.kid),
        ("verdict", e.verdict),
    ]
    if e.revoked_at is not None:
        rows.append(("revoked", f"{e.revoked_at:%Y-%m-%d %H:%M} UTC: {e.revoked_reason}"))
    for label, value in rows:
        click.echo(f"{label + ':':<13}{value}")
    if settings.base_url:
        click.echo(f"{'verify:':<13}{settings.verify_url(e.token)}")
    else:
        click.echo(f"{'token:':<13}{e.token}")


def _offline_lists(
    keys_file: Path, revoked_file: Path | None
) -> tuple[dict[str, bytes], dict[str, dt.date]]:
    try:
        keys = keys_from_json(json.loads(keys_file.read_text(encoding="utf-8")))
        revoked = (
            revoked_from_json(json.loads(revoked_file.read_text(encoding="utf-8")))
            if revoked_file is not None
            else {}
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read the published lists: {exc}") from None
    return keys, revoked


@certificates_group.command("verify")
@click.argument("token_or_url_or_pdf")
@click.option(
    "--keys",
    "keys_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Verify offline with a published keys.json instead of the database.",
)
@click.option(
    "--revoked",
    "revoked_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --keys: the published revoked.json.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def certificates_verify_command(
    token_or_url_or_pdf: str, keys_file: Path | None, revoked_file: Path | None, as_json: bool
) -> None:
    """Check a certificate: a token, a …/verify/#token address, or a certificate PDF.

    Exit status 0 only when the certificate is valid; 1 when it is expired,
    revoked, forged or unreadable (or on an error).
    """
    if revoked_file is not None and keys_file is None:
        raise click.UsageError("--revoked needs --keys")
    token = token_of_input(token_or_url_or_pdf)
    verdict: Verdict
    if keys_file is not None:
        keys, revoked = _offline_lists(keys_file, revoked_file)
        verdict = verify_token(token, keys=keys, revoked=revoked, today=today_vn())
    else:
        with _reading(_project()) as session:
            verdict = service.verify(session, token=token)
    if as_json:
        click.echo(json.dumps(verdict.to_json(), ensure_ascii=False, sort_keys=True))
    else:
        colour = "green" if verdict.ok else "red"
        click.secho(f"{verdict.verdict.upper()}: {verdict.reason}", fg=colour)
        for key, value in (verdict.fields or {}).items():
            if key not in ("v",):
                click.echo(f"  {key + ':':<13}{value if value is not None else '-'}")
    if not verdict.ok:
        click.get_current_context().exit(1)


@certificates_group.command("revoke")
@click.argument("serial")
@click.option("--reason", required=True, help="Why (kept in the database, never published).")
def certificates_revoke_command(serial: str, reason: str) -> None:
    """Revoke a certificate; publish the revocation list afterwards."""
    project = _project()
    with _writing(project) as session:
        certificate = service.revoke(session, serial=serial, reason=reason)
    click.echo(f"certificate {certificate.serial} revoked")
    click.echo("publish the revocation list with: lms certificates publish")


@certificates_group.command("expiring")
@click.option(
    "--within",
    "within",
    default="60d",
    show_default=True,
    help="How far ahead: 60d (days) or 8w (weeks).",
)
@click.option("--org", help="Unit code (the person's current unit).")
@click.option("--subtree", is_flag=True, help="Include every unit below --org.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True
)
def certificates_expiring_command(within: str, org: str | None, subtree: bool, fmt: str) -> None:
    """Who needs refresher training: certificates expiring soon or expired, not yet renewed."""
    if subtree and org is None:
        raise click.UsageError("--subtree needs --org")
    days = parse_days(within)
    project = _project()
    with _reading(project) as session:
        entries = service.expiring(session, within_days=days, org=org, subtree=subtree)
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(
            ["staff_code", "full_name", "org_code", "course", "serial", "valid_until", "days_left"]
        )
        for e in entries:
            cells = [e.staff_code, e.full_name, e.unit_code, e.course, e.serial]
            cells += [e.valid_until.isoformat(), str(e.days_left)]
            writer.writerow([neutralise_formula(c) for c in cells])
        return
    for e in entries:
        state = f"expired {-e.days_left} days ago" if e.days_left < 0 else f"{e.days_left} days"
        click.echo(
            f"{e.staff_code:<12} {e.full_name:<30} {e.unit_code:<10} {e.course:<28} "
            f"{e.serial:<16} until {e.valid_until} ({state})"
        )
    click.echo(f"{len(entries)} people need refresher training within {days} days", err=True)


@certificates_group.command("issue-pending")
def certificates_issue_pending_command() -> None:
    """Issue certificates for completions recorded while the signing key could not be used."""
    project = _project()
    with _writing(project) as session:
        report = service.issue_pending(session, settings=_settings(project))
    for serial in report.issued:
        click.echo(f"issued {serial}")
    click.echo(f"{len(report.issued)} certificates issued", err=True)


@certificates_group.command("publish")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Site folder to write verify/keys.json and verify/revoked.json in (default: the output).",
)
def certificates_publish_command(out: Path | None) -> None:
    """Write the public keys and the revocation list into the built site.

    With [site] base_url set, also the Open Badges issuer profile and keys
    (verify/ob3/issuer.json, jwks.json, keys/<kid>.json).
    """
    project = _project()
    settings = _settings(project)
    site = out or project.output_dir
    ob3_written: list[Path] = []
    with _reading(project) as session:
        written = service.publish_lists(session, output_dir=site)
        if settings.base_url:
            ob3_written = ob3.publish_issuer(
                session, output_dir=site, base_url=settings.base_url, name=settings.issuer
            )
    for path in written + ob3_written:
        click.echo(f"wrote {path}")
    if settings.base_url and not ob3_written:
        click.echo(
            "no Open Badges key (RSA) yet, so verify/ob3/ was not written: run 'lms keys init'",
            err=True,
        )


# ---------------------------------------------------------------- lms certificates export

_DATE = click.DateTime(formats=["%Y-%m-%d"])


@certificates_group.command("export")
@click.option("--org", required=True, help="Unit code (the person's current unit).")
@click.option("--subtree", is_flag=True, help="Include every unit below --org.")
@click.option("--course", help="Course slug.")
@click.option("--from", "date_from", type=_DATE, help="First issue date (YYYY-MM-DD).")
@click.option("--to", "date_to", type=_DATE, help="Last issue date (YYYY-MM-DD).")
@click.option("--include-revoked", is_flag=True, help="Revoked certificates too (not for ob3).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(exporting.FORMATS),
    required=True,
    help="zip: PDFs + manifest.csv; pdf: one PDF to print; csv/xlsx: a list; "
    "ob3: Open Badges 3.0 credentials (a folder, or a .zip).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="The file to write (for ob3: a folder, or a file ending in .zip).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Processes rendering PDFs (default: every core).",
)
@click.option("--lang", type=click.Choice(["vi", "en"]), help="Default: the project's language.")
def certificates_export_command(
    org: str,
    subtree: bool,
    course: str | None,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    include_revoked: bool,
    fmt: exporting.ExportFormat,
    out: Path,
    workers: int | None,
    lang: str | None,
) -> None:
    """Export certificates for HR: PDFs in a zip, one PDF to print, a list, or Open Badges.

    Re-running writes the same bytes (XLSX aside) and never duplicates; an
    interrupted PDF export resumes from its work folder (<out>.parts). The
    progress bar goes to stderr and is drawn when stderr is a terminal.
    """
    project = _project()
    settings = _settings(project)
    language = lang or project.config.language
    target = exporting.check_output(out, settings=settings)
    filters = exporting.ExportFilters(
        unit_code=org,
        subtree=subtree,
        course=course,
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
        include_revoked=include_revoked,
    )
    # Read in a read-only transaction; render with no transaction open (a long
    # export must not hold SQLite's write lock); then log it in a short one.
    with _reading(project) as session:
        selection = exporting.select_for_export(session, filters, fmt=fmt, settings=settings)
    total = len(selection.items)
    with click.progressbar(
        length=max(total, 1), label=f"{total} certificates", file=sys.stderr
    ) as bar:
        count = exporting.write_export(
            selection,
            target,
            fmt=fmt,
            settings=settings,
            language=language,
            workers=workers,
            progress=bar.update,
        )
    with _writing(project) as session:
        exporting.record_export(session, filters=filters, fmt=fmt, count=count)
    click.echo(f"wrote {target} ({count} certificates)")

"""``lms keys …`` and ``lms certificates …`` run in-process against a real project,
on SQLite and PostgreSQL.  The key folder is the test's own (``LMS_KEY_DIR``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.annotations import Link
from sqlalchemy import Engine, select
from test_certificates import (
    COURSE,
    World,
    at,
    complete,
    reenrol,
    setup_world,
)

from conftest import Cli
from lms_certificates import service
from lms_certificates.settings import today_vn
from lms_core.config import Project
from lms_core.db import session_factory
from lms_core.models import Certificate
from lms_core.plugins import make_plugin_manager


@pytest.fixture
def world(engine: Engine, project: Project, key_dir: Path) -> Iterator[World]:
    """Three people certified, committed (the CLI opens its own connections)."""
    with session_factory(engine).begin() as session:
        world = setup_world(session, project, key_dir)
        for staff in ("PL001", "PL002", "PV001"):
            complete(session, world, staff)
    yield world


def serial_of(engine: Engine, staff: str) -> tuple[str, str]:
    """The serial and token of ``staff``'s latest certificate."""
    from lms_core.models import Person

    with session_factory(engine).begin() as session:
        row = session.execute(
            select(Certificate.serial, Certificate.token)
            .join(Person, Certificate.person_id == Person.id)
            .where(Person.staff_code == staff)
            .order_by(Certificate.id.desc())
        ).first()
        assert row is not None
        return row[0], row[1]


def write_pdf(path: Path, *, subject: str | None = None, link: str | None = None) -> Path:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if subject is not None:
        writer.add_metadata({"/Subject": subject, "/Title": "Giấy chứng nhận"})
    if link is not None:
        writer.add_annotation(page_number=0, annotation=Link(rect=(400, 40, 560, 200), url=link))
    with path.open("wb") as handle:
        writer.write(handle)
    return path


# --------------------------------------------------------------------------- keys


def test_keys_init_rotate_list(cli: Cli, key_dir: Path, project: Project) -> None:
    empty = cli("keys", "list")
    assert empty.exit_code == 0 and "0 keys" in empty.output

    made = cli("keys", "init")
    assert made.exit_code == 0, made.output
    assert "PRIVATE KEY" not in made.output
    pems = sorted(key_dir.glob("*.pem"), key=lambda p: p.stem.startswith("rsa-"))
    assert [p.stem.startswith("rsa-") for p in pems] == [False, True]  # Ed25519, RSA (RS256)
    assert all(p.stem in made.output for p in pems)
    assert "Ed25519 key" in made.output and "RS256 key" in made.output
    if os.name == "posix":
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in pems)
        assert key_dir.stat().st_mode & 0o777 == 0o700

    again = cli("keys", "init")
    assert again.exit_code == 1 and "lms keys rotate" in again.output
    assert "Traceback" not in again.output

    rotated = cli("keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    assert len(list(key_dir.glob("*.pem"))) == 4
    listed = cli("keys", "list")
    lines = [line for line in listed.output.splitlines() if "created" in line]
    assert len(lines) == 4
    assert [line.split()[0] for line in lines] == ["Ed25519", "Ed25519", "RS256", "RS256"]
    assert ["retired" in line for line in lines] == [True, False, True, False]
    assert ["active" in line for line in lines] == [False, True, False, True]
    assert all("private key here" in line for line in lines)
    assert "PRIVATE KEY" not in listed.output and "4 keys" in listed.output


def test_a_key_folder_in_the_project_is_refused(
    cli: Cli, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LMS_KEY_DIR", str(project.root / "keys"))
    result = cli("keys", "init")
    assert result.exit_code == 1
    assert "inside the project folder" in result.output and "Traceback" not in result.output
    assert not (project.root / "keys").exists()


# --------------------------------------------------------------------------- certificates


def test_list_and_show(cli: Cli, world: World, engine: Engine) -> None:
    listed = cli("certificates", "list")
    assert listed.exit_code == 0, listed.output
    assert "3 certificates" in listed.output
    assert listed.output.count(" valid") == 3
    ward = cli("certificates", "list", "--org", "13291")
    assert "PV001" in ward.output and "PL001" not in ward.output
    assert cli("certificates", "list", "--subtree").exit_code == 2
    table = cli(
        "certificates",
        "list",
        "--org",
        "37",
        "--subtree",
        "--course",
        COURSE,
        "--format",
        "csv",
    )
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [r["staff_code"] for r in rows] == ["PL001", "PL002", "PV001"]
    assert rows[0]["full_name"] == "Nguyễn Thị Thu Hà" and rows[0]["verdict"] == "valid"

    serial, token = serial_of(engine, "PL001")
    shown = cli("certificates", "show", serial)
    assert shown.exit_code == 0, shown.output
    assert "Nguyễn Thị Thu Hà" in shown.output and "valid" in shown.output
    assert token in shown.output
    missing = cli("certificates", "show", "37-1999-000001")
    assert missing.exit_code == 1 and "no certificate with serial" in missing.output


def test_verify_exit_codes_for_tokens_urls_and_pdfs(
    cli: Cli, world: World, engine: Engine, tmp_path: Path
) -> None:
    serial, token = serial_of(engine, "PL001")
    good = cli("certificates", "verify", token)
    assert good.exit_code == 0, good.output
    assert good.output.startswith("VALID") and "Nguyễn Thị Thu Hà" in good.output

    url = f"https://taphuan.ninhbinh.gov.vn/verify/#{token}"
    assert cli("certificates", "verify", url).exit_code == 0
    wrapped = url[:60] + "\n" + url[60:]  # copied from a wrapped e-mail
    assert cli("certificates", "verify", wrapped).exit_code == 0

    as_json = cli("certificates", "verify", "--json", token)
    verdict = json.loads(as_json.stdout)
    assert verdict["verdict"] == "valid" and verdict["fields"]["serial"] == serial

    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    bad = cli("certificates", "verify", tampered)
    assert bad.exit_code == 1 and bad.output.split(":")[0] in ("FORGED", "UNREADABLE")
    junk = cli("certificates", "verify", "not-a-token")
    assert junk.exit_code == 1 and junk.output.startswith("UNREADABLE")

    by_subject = write_pdf(tmp_path / "subject.pdf", subject=url)
    assert cli("certificates", "verify", str(by_subject)).exit_code == 0
    by_link = write_pdf(tmp_path / "link.pdf", link=url)
    assert cli("certificates", "verify", str(by_link)).exit_code == 0
    nothing = write_pdf(tmp_path / "blank.pdf")
    blank = cli("certificates", "verify", str(nothing))
    assert blank.exit_code == 1 and "no certificate token found" in blank.output
    (tmp_path / "fake.pdf").write_bytes(b"%PDF-1.7 nothing here")
    fake = cli("certificates", "verify", str(tmp_path / "fake.pdf"))
    assert fake.exit_code == 1 and "Traceback" not in fake.output


def test_revoke_publish_and_verify_offline(
    cli: Cli, world: World, engine: Engine, tmp_path: Path
) -> None:
    serial, token = serial_of(engine, "PL001")
    _, other = serial_of(engine, "PL002")
    assert cli("certificates", "revoke", serial).exit_code == 2  # --reason is required
    revoked = cli("certificates", "revoke", serial, "--reason", "Cấp nhầm người")
    assert revoked.exit_code == 0, revoked.output
    check = cli("certificates", "verify", token)
    assert check.exit_code == 1 and check.output.startswith("REVOKED")
    twice = cli("certificates", "revoke", serial, "--reason", "again")
    assert twice.exit_code == 1 and "already revoked" in twice.output
    shown = cli("certificates", "show", serial)
    assert "Cấp nhầm người" in shown.output and "revoked" in shown.output

    site = tmp_path / "site"
    published = cli("certificates", "publish", "--out", str(site))
    assert published.exit_code == 0, published.output
    keys, lists = site / "verify" / "keys.json", site / "verify" / "revoked.json"
    assert "Cấp nhầm" not in lists.read_text(encoding="utf-8")
    offline = ["--keys", str(keys), "--revoked", str(lists)]
    assert cli("certificates", "verify", *offline, token).output.startswith("REVOKED")
    assert cli("certificates", "verify", *offline, other).exit_code == 0
    # without the revocation list, offline checks only the signature and the dates
    assert cli("certificates", "verify", "--keys", str(keys), token).exit_code == 0
    assert cli("certificates", "verify", "--revoked", str(lists), token).exit_code == 2


def test_expiring_by_org_subtree(cli: Cli, engine: Engine, project: Project, key_dir: Path) -> None:
    today = today_vn()

    def completed_for(valid_until: dt.date) -> str:
        """The completion day whose 24-month certificate is valid until about ``valid_until``."""
        return service.add_months(valid_until + dt.timedelta(days=1), -24).isoformat()

    with session_factory(engine).begin() as session:
        world = setup_world(session, project, key_dir)
        world.pm = make_plugin_manager(load_entry_points=False)
        plan = {
            "PL001": today + dt.timedelta(days=10),
            "PL002": today + dt.timedelta(days=200),
            "PV001": today + dt.timedelta(days=40),
        }
        for staff, until in plan.items():
            day = completed_for(until)
            completion = complete(session, world, staff, now=at(day))
            service.issue_for_completion(
                session, completion_id=completion.id, settings=world.settings, now=at(day)
            )
    result = cli("certificates", "expiring", "--within", "60d")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(("PL", "PV"))]
    assert [line.split()[0] for line in lines] == ["PL001", "PV001"]
    assert "2 people need refresher training within 60 days" in result.output
    ward = cli("certificates", "expiring", "--within", "8w", "--org", "13285", "--subtree")
    assert [line.split()[0] for line in ward.output.splitlines() if line[:2] == "PL"] == ["PL001"]
    table = cli("certificates", "expiring", "--within", "365", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [r["staff_code"] for r in rows] == ["PL001", "PV001", "PL002"]
    assert cli("certificates", "expiring", "--within", "soon").exit_code == 2
    assert cli("certificates", "expiring", "--subtree").exit_code == 2
    # renewing takes a person off the list
    with session_factory(engine).begin() as session:
        reenrol(session, "PL001")
        completion = complete(session, world, "PL001")
        renewed = service.issue_for_completion(
            session, completion_id=completion.id, settings=world.settings
        )
        assert renewed is not None and renewed.previous_id is not None
    after = cli("certificates", "expiring", "--within", "60d")
    lines = [line for line in after.output.splitlines() if line.startswith(("PL", "PV"))]
    assert [line.split()[0] for line in lines] == ["PV001"]


def test_issue_pending_after_the_key_comes_back(
    cli: Cli, engine: Engine, project: Project, key_dir: Path
) -> None:
    with session_factory(engine).begin() as session:
        world = setup_world(session, project, key_dir)
    [pem] = [p for p in key_dir.glob("*.pem") if not p.stem.startswith("rsa-")]  # Ed25519
    hidden = pem.with_name("away")
    pem.rename(hidden)
    with session_factory(engine).begin() as session:
        complete(session, world, "PL001")
        complete(session, world, "PL002")
    assert "0 certificates" in cli("certificates", "list").output
    waiting = cli("certificates", "issue-pending")
    assert waiting.exit_code == 1
    assert "does not exist" in waiting.output and "Traceback" not in waiting.output
    hidden.rename(pem)
    issued = cli("certificates", "issue-pending")
    assert issued.exit_code == 0, issued.output
    assert "2 certificates issued" in issued.output
    assert "0 certificates issued" in cli("certificates", "issue-pending").output
    assert "2 certificates" in cli("certificates", "list").output

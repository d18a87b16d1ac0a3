"""HR exports (issue 7): zip of PDFs, merged PDF, CSV/XLSX lists, Open Badges 3.0,
through the service, the CLI and the server, on SQLite and PostgreSQL.

Three people are certified: PL001 and PL002 in ward 13285, PV001 in ward
13291 (both under the province, 37).  The project's ``[site] base_url`` is
set, as certificates' QR codes and credential ids need it.  Re-running an
export must give the same bytes; nothing depends on the wall clock beyond
"today" being before the certificates expire.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine, select, update
from test_certificates import COURSE, PEOPLE, World, complete, setup_world
from test_certificates_http import READERS, ROLES, Recorder, client_for
from test_http import serving

from conftest import Cli
from lms_certificates import export as exporting
from lms_certificates import keys as keyring
from lms_certificates import ob3, service
from lms_certificates.pdf import verify_url_from_pdf
from lms_certificates.settings import IssuerSettings
from lms_core.config import Project, locate_project
from lms_core.db import session_factory
from lms_core.errors import ConflictError, LmsError, NotFoundError
from lms_core.http import create_app
from lms_core.models import Certificate, Event, OrgUnit, Person
from lms_core.services.accounts import grant_role
from lms_core.services.scope import Scope
from lms_core.services.staff import import_staff_file

BASE = "https://taphuan.ninhbinh.gov.vn"
CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
ALL = exporting.ExportFilters(unit_code="37", subtree=True)


def set_base_url(project: Project) -> None:
    assert project.config_path is not None
    text = project.config_path.read_text(encoding="utf-8")
    assert 'base_url = ""' in text
    project.config_path.write_text(
        text.replace('base_url = ""', f'base_url = "{BASE}"', 1), encoding="utf-8"
    )


def committed_world(engine: Engine, project: Project, key_dir: Path) -> World:
    """Three certificates, committed; base_url set in lms.toml (for the CLI and server)."""
    set_base_url(project)
    with session_factory(engine).begin() as session:
        world = setup_world(session, project, key_dir)
        for staff in ("PL001", "PL002", "PV001"):
            complete(session, world, staff)
    return world


@pytest.fixture
def world(engine: Engine, project: Project, key_dir: Path) -> World:
    return committed_world(engine, project, key_dir)


@pytest.fixture
def settings(world: World) -> IssuerSettings:
    return dataclasses.replace(world.settings, base_url=BASE)


def serials(engine: Engine) -> dict[str, str]:
    """staff code -> serial."""
    with session_factory(engine)() as session:
        rows = session.execute(
            select(Person.staff_code, Certificate.serial).join(
                Person, Certificate.person_id == Person.id
            )
        ).tuples()
        return {code: serial for code, serial in rows}


def selection_of(
    engine: Engine,
    settings: IssuerSettings,
    fmt: exporting.ExportFormat,
    filters: exporting.ExportFilters = ALL,
    scope: Scope | None = None,
) -> exporting.Selection:
    with session_factory(engine)() as session:
        return exporting.select_for_export(
            session, filters, fmt=fmt, settings=settings, scope=scope
        )


def export(
    engine: Engine,
    settings: IssuerSettings,
    fmt: exporting.ExportFormat,
    out: Path,
    filters: exporting.ExportFilters = ALL,
) -> int:
    selection = selection_of(engine, settings, fmt, filters)
    return exporting.write_export(selection, out, fmt=fmt, settings=settings, language="vi")


def manifest(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def pdf_text(data: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (Debian: apt-get install poppler-utils)")
    path = tmp_path / "read.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- zip


def test_zip_holds_a_pdf_per_certificate_and_the_manifest(
    engine: Engine, settings: IssuerSettings, tmp_path: Path
) -> None:
    out = tmp_path / "hr" / "chung-nhan.zip"
    done: list[int] = []
    selection = selection_of(engine, settings, "zip")
    count = exporting.write_export(
        selection, out, fmt="zip", settings=settings, language="vi", progress=done.append
    )
    assert count == 3 and sum(done) == 3
    by_staff = serials(engine)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert names == ["manifest.csv", *sorted(f"{s}.pdf" for s in by_staff.values())]
        assert {i.date_time for i in archive.infolist()} == {exporting.ZIP_TIME}
        rows = manifest(archive.read("manifest.csv"))
        tokens = {i.serial: i.token for i in selection.items}
        for serial in by_staff.values():
            pdf = archive.read(f"{serial}.pdf")
            assert pdf.startswith(b"%PDF")
            assert verify_url_from_pdf(pdf) == f"{BASE}/verify/#{tokens[serial]}"
    assert list(rows[0]) == [
        "Số hiệu",
        "Mã cán bộ",
        "Họ và tên",
        "Đơn vị (khi cấp)",
        "Mã đơn vị hiện nay",
        "Chức vụ",
        "Mã khóa học",
        "Khóa học",
        "Phiên bản",
        "Ngày hoàn thành",
        "Điểm (%)",
        "Ngày cấp",
        "Có giá trị đến",
        "Cấp lại cho",
        "Tình trạng",
    ]
    # the listing's order: unit (tree order), then name
    assert [r["Mã cán bộ"] for r in rows] == ["PL001", "PL002", "PV001"]
    first = rows[0]
    assert first["Số hiệu"] == by_staff["PL001"]
    assert first["Họ và tên"] == "Nguyễn Thị Thu Hà"
    assert first["Đơn vị (khi cấp)"] == "Phường Phủ Lý" and first["Mã đơn vị hiện nay"] == "13285"
    assert first["Mã khóa học"] == COURSE and first["Khóa học"] == "Phòng, chống xâm hại trẻ em"
    assert first["Tình trạng"] == "còn hiệu lực"
    issued = dt.date.fromisoformat(first["Ngày cấp"])
    assert dt.date.fromisoformat(first["Có giá trị đến"]) > issued
    assert not exporting.work_folder(out).exists(), "the work folder goes once written"


def test_rerun_is_byte_identical_and_an_interrupted_run_resumes(
    engine: Engine, settings: IssuerSettings, tmp_path: Path
) -> None:
    out = tmp_path / "chung-nhan.zip"
    assert export(engine, settings, "zip", out) == 3
    first = out.read_bytes()
    assert export(engine, settings, "zip", out) == 3
    assert out.read_bytes() == first, "the same export gives the same bytes"
    with zipfile.ZipFile(out) as archive:
        assert len(archive.namelist()) == 4, "re-running never duplicates"

    # An interrupted run: one PDF rendered (and a stale file from another export).
    selection = selection_of(engine, settings, "zip")
    work = exporting.work_folder(out)
    done = exporting.render_pdfs(selection.items[:1], work, settings=settings)
    [(serial, part)] = done.items()
    marker = b"%PDF-1.7 rendered by the interrupted run"
    part.write_bytes(marker)
    (work / "37-2020-999999.0123456789abcdef.pdf").write_bytes(b"stale")
    progress: list[int] = []
    exporting.write_export(
        selection, out, fmt="zip", settings=settings, language="vi", progress=progress.append
    )
    assert progress[0] == 1 and sum(progress) == 3, "the rendered one is skipped, first"
    with zipfile.ZipFile(out) as archive:
        assert archive.read(f"{serial}.pdf") == marker, "reused, not rendered again"
        assert len(archive.namelist()) == 4
    assert not work.exists()
    # and with nothing left over, the next run renders everything again: same bytes
    assert export(engine, settings, "zip", out) == 3
    assert out.read_bytes() == first


def test_merged_pdf_has_a_page_per_certificate_in_listing_order(
    engine: Engine, settings: IssuerSettings, tmp_path: Path
) -> None:
    out = tmp_path / "in.pdf"
    assert export(engine, settings, "pdf", out) == 3
    reader = PdfReader(out)
    assert len(reader.pages) == 3
    text = pdf_text(out.read_bytes(), tmp_path)
    names = [PEOPLE[s][0] for s in ("PL001", "PL002", "PV001")]
    positions = [text.index(name) for name in names]
    assert positions == sorted(positions), "pages in the listing's order"
    first = out.read_bytes()
    export(engine, settings, "pdf", out)
    assert out.read_bytes() == first
    course = exporting.ExportFilters(unit_code="13291", course=COURSE)
    assert export(engine, settings, "pdf", out, course) == 1
    assert len(PdfReader(out).pages) == 1
    with pytest.raises(LmsError, match="no certificate matches"):
        export(engine, settings, "pdf", out, dataclasses.replace(course, unit_code="13366"))


def test_signatory_place_and_seal_from_lms_toml_are_printed(
    engine: Engine, world: World, project: Project, tmp_path: Path
) -> None:
    """``[certificates]`` signatory, title, place, logo and seal reach the paper
    (NFC, paths relative to lms.toml); they are printed, not signed."""
    import unicodedata

    from lms_core.config import load_config

    assert project.config_path is not None
    seal = project.root / "con-dau.svg"
    seal.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
        '<circle cx="20" cy="20" r="18" fill="red"/></svg>',
        encoding="utf-8",
    )
    text = project.config_path.read_text(encoding="utf-8")
    for key, value in (
        ("signatory_name", unicodedata.normalize("NFD", "Trần Văn Hưởng")),
        ("signatory_title", "KT. CHỦ TỊCH"),
        ("place", "Ninh Bình"),
        ("seal", "con-dau.svg"),
    ):
        text = text.replace(f'{key} = ""', f'{key} = "{value}"', 1)
    project.config_path.write_text(text, encoding="utf-8")
    settings = dataclasses.replace(
        IssuerSettings.of(load_config(project.config_path)), base_url=BASE
    )
    assert settings.seal == seal and settings.signatory_name == "Trần Văn Hưởng"
    out = tmp_path / "ky.pdf"
    assert export(engine, settings, "pdf", out) == 3
    printed = pdf_text(out.read_bytes(), tmp_path)
    for expected in ("Trần Văn Hưởng", "KT. CHỦ TỊCH", "Ninh Bình, ngày"):
        assert expected in printed, expected


# --------------------------------------------------------------------------- lists


def test_csv_and_xlsx_lists_read_back(
    engine: Engine, settings: IssuerSettings, tmp_path: Path
) -> None:
    with session_factory(engine).begin() as session:
        session.execute(
            update(Certificate)
            .where(Certificate.serial == serials(engine)["PL002"])
            .values(full_name='=HYPERLINK("http://evil.example","Trần Văn Nam")')
        )
    csv_out = tmp_path / "list.csv"
    assert export(engine, settings, "csv", csv_out) == 3
    rows = manifest(csv_out.read_bytes())
    assert [r["Mã cán bộ"] for r in rows] == ["PL001", "PL002", "PV001"]
    assert rows[1]["Họ và tên"].startswith("'="), "formula neutralised"
    assert rows[2]["Đơn vị (khi cấp)"] == "Phường Phù Vân"
    first = csv_out.read_bytes()
    export(engine, settings, "csv", csv_out)
    assert csv_out.read_bytes() == first

    xlsx_out = tmp_path / "list.xlsx"
    assert export(engine, settings, "xlsx", xlsx_out) == 3
    sheet = load_workbook(xlsx_out).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["Số hiệu", "Mã cán bộ", "Họ và tên"]
    assert [r[1] for r in values[1:]] == ["PL001", "PL002", "PV001"]
    name_cell = sheet.cell(row=3, column=3)
    assert name_cell.data_type == "s" and str(name_cell.value).startswith("=HYPERLINK")
    issued = values[1][11]
    assert isinstance(issued, dt.datetime | dt.date), "dates stay dates"


def test_revoked_only_when_asked_and_dates_filter(
    engine: Engine, settings: IssuerSettings, tmp_path: Path
) -> None:
    by_staff = serials(engine)
    with session_factory(engine).begin() as session:
        service.revoke(session, serial=by_staff["PL002"], reason="Cấp nhầm người")
        session.execute(
            update(Certificate)
            .where(Certificate.serial == by_staff["PV001"])
            .values(issued_on=dt.date(2025, 6, 1))
        )
    listed = selection_of(engine, settings, "csv").items
    assert [i.staff_code for i in listed] == ["PL001", "PV001"]
    both = selection_of(engine, settings, "csv", dataclasses.replace(ALL, include_revoked=True))
    assert [(i.staff_code, i.verdict) for i in both.items] == [
        ("PL001", "valid"),
        ("PL002", "revoked"),
        ("PV001", "valid"),
    ]
    out = tmp_path / "all.csv"
    export(engine, settings, "csv", out, dataclasses.replace(ALL, include_revoked=True))
    assert [r["Tình trạng"] for r in manifest(out.read_bytes())][1] == "đã thu hồi"
    june = dataclasses.replace(ALL, date_from=dt.date(2025, 6, 1), date_to=dt.date(2025, 6, 30))
    assert [i.staff_code for i in selection_of(engine, settings, "csv", june).items] == ["PV001"]
    later = dataclasses.replace(ALL, date_from=dt.date(2025, 6, 2))
    assert [i.staff_code for i in selection_of(engine, settings, "csv", later).items] == ["PL001"]
    with pytest.raises(LmsError, match="after"):
        selection_of(
            engine, settings, "csv", dataclasses.replace(june, date_to=dt.date(2025, 1, 1))
        )
    with pytest.raises(LmsError, match="revocation"):
        selection_of(engine, settings, "ob3", dataclasses.replace(ALL, include_revoked=True))


def test_a_managers_export_holds_their_subtree_only(
    engine: Engine, settings: IssuerSettings
) -> None:
    with session_factory(engine)() as session:
        ward = session.scalars(select(OrgUnit).where(OrgUnit.code == "13285")).one()
    scope = Scope(
        account_id=0, role="manager", root_id=ward.id, root_path=ward.path, root_code="13285"
    )
    mine = selection_of(
        engine, settings, "zip", exporting.ExportFilters("13285", subtree=True), scope
    )
    assert [i.staff_code for i in mine.items] == ["PL001", "PL002"]
    errors = []
    for code in ("13291", "37", "99999"):
        with pytest.raises(NotFoundError) as caught:
            selection_of(engine, settings, "zip", exporting.ExportFilters(code, True), scope)
        errors.append(str(caught.value).replace(code, "X"))
    assert len(set(errors)) == 1, "outside the area reads exactly like a missing unit"
    with pytest.raises(NotFoundError, match="no course"):
        selection_of(engine, settings, "csv", dataclasses.replace(ALL, course="khong-co"))


def test_pdfs_need_the_sites_address_and_stay_out_of_the_site(
    engine: Engine, world: World, tmp_path: Path
) -> None:
    with pytest.raises(LmsError, match="base_url"):
        selection_of(engine, world.settings, "zip")
    with pytest.raises(LmsError, match="base_url"):
        selection_of(engine, world.settings, "ob3")
    assert world.settings.output_dir is not None
    with pytest.raises(LmsError, match="inside the site folder"):
        exporting.check_output(world.settings.output_dir / "x.zip", settings=world.settings)


# --------------------------------------------------------------------------- Open Badges


def b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_with_jwk(token: str, jwk: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a third party does: the header, then the RS256 signature with the JWK
    (RSASSA-PKCS1-v1_5 + SHA-256 with cryptography directly, not our verify_jwt)."""
    head, body, signature = token.split(".")
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and "d" not in jwk
    numbers = rsa.RSAPublicNumbers(
        int.from_bytes(b64(jwk["e"]), "big"), int.from_bytes(b64(jwk["n"]), "big")
    )
    key = numbers.public_key()
    assert key.key_size >= 2048
    key.verify(  # raises if forged
        b64(signature), f"{head}.{body}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
    )
    return json.loads(b64(head)), json.loads(b64(body))


def test_ob3_credentials_verify_and_name_no_one(
    engine: Engine, settings: IssuerSettings, tmp_path: Path
) -> None:
    out = tmp_path / "ob3"
    assert export(engine, settings, "ob3", out) == 3
    by_staff = serials(engine)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    [key_file] = [f for f in files if f.startswith("keys/")]
    kid = key_file.removeprefix("keys/").removesuffix(".json")
    assert files == sorted(
        ["issuer.json", "jwks.json", key_file]
        + [f"{s}.{ext}" for s in by_staff.values() for ext in ("jwt", "json")]
    )
    jwk = json.loads((out / key_file).read_text(encoding="utf-8"))
    assert json.loads((out / "jwks.json").read_text(encoding="utf-8")) == {"keys": [jwk]}
    issuer = json.loads((out / "issuer.json").read_text(encoding="utf-8"))
    assert issuer["id"] == f"{BASE}/verify/ob3/issuer.json" and issuer["type"] == ["Profile"]
    assert issuer["verificationMethod"][0]["publicKeyJwk"] == jwk

    with session_factory(engine)() as session:
        certificates = {c.serial: c for c in session.scalars(select(Certificate))}
    for staff, serial in by_staff.items():
        token = (out / f"{serial}.jwt").read_text(encoding="ascii").strip()
        header, payload = verify_with_jwk(token, jwk)
        assert header == {"alg": "RS256", "kid": f"{BASE}/verify/ob3/keys/{kid}.json", "typ": "JWT"}
        assert json.loads((out / f"{serial}.json").read_text(encoding="utf-8")) == payload
        assert payload["@context"] == CONTEXTS
        assert payload["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
        assert payload["id"].startswith("urn:uuid:")
        assert payload["issuer"] == {
            "id": issuer["id"],
            "type": ["Profile"],
            "name": "Ủy ban nhân dân tỉnh Ninh Bình",
        }
        assert payload["name"] == "Phòng, chống xâm hại trẻ em"
        cert = certificates[serial]
        valid_from = dt.datetime.fromisoformat(payload["validFrom"].replace("Z", "+00:00"))
        created = cert.created_at.replace(tzinfo=cert.created_at.tzinfo or dt.UTC)
        assert abs((valid_from - created).total_seconds()) < 1
        assert cert.valid_until is not None
        until = dt.datetime.fromisoformat(payload["validUntil"].replace("Z", "+00:00"))
        assert until.astimezone(dt.timezone(dt.timedelta(hours=7))).date() == cert.valid_until
        subject = payload["credentialSubject"]
        assert subject["type"] == ["AchievementSubject"]
        [identity] = subject["identifier"]
        assert identity["type"] == "IdentityObject" and identity["identityType"] == "identifier"
        assert identity["hashed"] is True and len(identity["salt"]) == 32
        expected = hashlib.sha256((staff + identity["salt"]).encode()).hexdigest()
        assert identity["identityHash"] == f"sha256${expected}"
        achievement = subject["achievement"]
        assert achievement["id"] == f"{BASE}/courses/{COURSE}/"
        assert achievement["type"] == ["Achievement"]
        assert achievement["name"] == "Phòng, chống xâm hại trẻ em"
        assert achievement["description"] and achievement["criteria"]["narrative"]
        # the JWT claims (OB 3.0 §8.2) match the credential
        assert payload["iss"] == issuer["id"] and payload["jti"] == payload["id"]
        assert payload["sub"] == subject["id"]
        assert payload["nbf"] == int(valid_from.timestamp())
        assert payload["exp"] == int(until.timestamp())
        assert ob3.verify_jwt(token, jwk) == payload
        # no one in clear: no staff code, name, unit or position anywhere
        text = json.dumps(payload, ensure_ascii=False) + token
        for code, (name, _unit, position) in PEOPLE.items():
            assert code not in text and name not in text and position not in text
        assert "Phường" not in text
    salts = {
        json.loads((out / f"{s}.json").read_text())["credentialSubject"]["identifier"][0]["salt"]
        for s in by_staff.values()
    }
    assert len(salts) == 3, "a salt per credential"

    # a forged credential does not verify
    head, body, signature = (out / f"{by_staff['PL001']}.jwt").read_text().strip().split(".")
    changed = json.loads(b64(body))
    changed["credentialSubject"]["achievement"]["name"] = "Khóa khác"
    forged_body = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
    with pytest.raises(ob3.Ob3Error, match="signature"):
        ob3.verify_jwt(f"{head}.{forged_body}.{signature}", jwk)

    # re-export: the same bytes, in a folder or a zip, and no leftovers
    before = {f: digest(out / f) for f in files}
    (out / "37-2020-999999.jwt").write_text("from an earlier export", encoding="ascii")
    export(engine, settings, "ob3", out)
    assert {f: digest(out / f) for f in files} == before
    assert not (out / "37-2020-999999.jwt").exists()
    zipped = tmp_path / "ob3.zip"
    export(engine, settings, "ob3", zipped)
    first = zipped.read_bytes()
    export(engine, settings, "ob3", zipped)
    assert zipped.read_bytes() == first
    with zipfile.ZipFile(zipped) as archive:
        assert sorted(archive.namelist()) == files
        for name in files:
            assert hashlib.sha256(archive.read(name)).hexdigest() == before[name]
    other = tmp_path / "someone-elses"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(LmsError, match="not empty"):
        export(engine, settings, "ob3", other)


def test_site_build_publishes_the_ob3_issuer(engine: Engine, world: World, tmp_path: Path) -> None:
    from lms_certificates.plugin import CertificatesPlugin

    assert world.project.config_path is not None
    project = locate_project(config=world.project.config_path)  # lms.toml has base_url
    assert project.config.site.base_url == BASE
    out = tmp_path / "site"
    written = CertificatesPlugin().lms_site_built(project, out)
    assert written is not None
    names = [p.as_posix() for p in written]
    assert names[:2] == ["verify/keys.json", "verify/revoked.json"]
    assert "verify/ob3/issuer.json" in names and "verify/ob3/jwks.json" in names
    with session_factory(engine)() as session:
        rsa_kid = keyring.active_ob3_kid(session)  # the RS256 key, not the Ed25519 one
    assert f"verify/ob3/keys/{rsa_kid}.json" in names
    profile = json.loads((out / "verify/ob3/issuer.json").read_text(encoding="utf-8"))
    assert profile["id"] == f"{BASE}/verify/ob3/issuer.json"


# --------------------------------------------------------------------------- CLI


def test_cli_export_writes_logs_and_reruns(
    cli: Cli, engine: Engine, world: World, tmp_path: Path
) -> None:
    out = tmp_path / "hr.zip"
    args = ["certificates", "export", "--org", "37", "--subtree", "--format", "zip"]
    result = cli(*args, "--out", str(out), "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "3 certificates" in result.output
    first = out.read_bytes()
    again = cli(*args, "--out", str(out))
    assert again.exit_code == 0, again.output
    assert out.read_bytes() == first
    listed = tmp_path / "ward.csv"
    ward = cli(
        "certificates",
        "export",
        "--org",
        "13285",
        "--course",
        COURSE,
        "--format",
        "csv",
        "--out",
        str(listed),
    )
    assert ward.exit_code == 0, ward.output
    assert [r["Mã cán bộ"] for r in manifest(listed.read_bytes())] == ["PL001", "PL002"]
    with session_factory(engine)() as session:
        events = session.scalars(
            select(Event).where(Event.verb == exporting.EXPORT_EVENT).order_by(Event.id)
        ).all()
    assert [e.data["format"] for e in events] == ["zip", "zip", "csv"]
    assert events[0].data == {
        "format": "zip",
        "filters": {"unit": "37", "subtree": True},
        "count": 3,
    }
    assert events[2].data["filters"] == {"unit": "13285", "course": COURSE}
    logged = json.dumps([e.data for e in events], ensure_ascii=False)
    for code, (name, _unit, _position) in PEOPLE.items():
        assert code not in logged and name not in logged

    badges = cli(*args[:-1], "ob3", "--out", str(tmp_path / "ob3"), "--include-revoked")
    assert badges.exit_code == 1 and "revocation" in badges.output
    assert "Traceback" not in badges.output
    site = world.project.output_dir / "hr.zip"
    inside = cli(*args, "--out", str(site))
    assert inside.exit_code == 1 and "inside the site folder" in inside.output
    backwards = cli(*args, "--out", str(out), "--from", "2026-02-01", "--to", "2026-01-01")
    assert backwards.exit_code == 1 and "after" in backwards.output
    unknown = cli("certificates", "export", "--org", "99999", "--format", "csv", "--out", "x.csv")
    assert unknown.exit_code == 1 and "no unit" in unknown.output

    published = cli("certificates", "publish", "--out", str(tmp_path / "site"))
    assert published.exit_code == 0, published.output
    profile = tmp_path / "site" / "verify" / "ob3" / "issuer.json"
    assert json.loads(profile.read_text(encoding="utf-8"))["id"].startswith(BASE)
    assert (tmp_path / "site" / "verify" / "ob3" / "jwks.json").is_file()


# --------------------------------------------------------------------------- server


@pytest.fixture
def web(
    engine: Engine, project: Project, key_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, dict[str, str]]]:
    """A server for the project (base_url set), and invite codes by staff code."""
    set_base_url(project)
    assert project.config_path is not None
    monkeypatch.setenv("LMS_CONFIG", str(project.config_path))
    with session_factory(engine).begin() as session:
        world = setup_world(session, project, key_dir)
        readers = project.root / "readers.csv"
        readers.write_text(
            "staff_code,full_name,org_code,position\n"
            + "".join(f"{c},{n},{u},{p}\n" for c, (n, u, p) in READERS.items()),
            encoding="utf-8",
        )
        import_staff_file(session, str(readers))
        for staff in ("PL001", "PL002", "PV001"):
            complete(session, world, staff)
        codes = {}
        for code, (role, org) in ROLES.items():
            invite = grant_role(session, staff_code=code, role=role, scope_org=org)
            assert invite is not None
            codes[code] = invite.code
    with serving(create_app(project, engine=engine, overdue_every=0)) as url:
        yield url, codes


@pytest.fixture
def urls() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    for url in recorder.urls:
        for code, (name, _unit, _position) in {**PEOPLE, **READERS}.items():
            assert code not in url and name not in url, url


def test_downloads_over_http(
    web: tuple[str, dict[str, str]],
    engine: Engine,
    urls: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, codes = web
    by_staff = serials(engine)
    missing = "37-2026-999999"
    with client_for(base, codes, "PL001", urls) as ha:
        own = ha.get(f"/api/my/certificates/{by_staff['PL001']}/pdf")
        assert own.status_code == 200, own.text
        assert own.headers["content-type"] == "application/pdf"
        assert own.headers["content-disposition"] == (
            f'attachment; filename="{by_staff["PL001"]}.pdf"'
        )
        assert own.headers["cache-control"] == "no-store"
        assert "Nguyễn Thị Thu Hà" in pdf_text(own.content, tmp_path)
        others = ha.get(f"/api/my/certificates/{by_staff['PL002']}/pdf")
        nothing = ha.get(f"/api/my/certificates/{missing}/pdf")
        assert others.status_code == nothing.status_code == 404
        assert others.json()["error"].replace(by_staff["PL002"], "X") == nothing.json()[
            "error"
        ].replace(missing, "X")
        learner = ha.get(f"/api/manage/certificates/{by_staff['PL001']}/pdf")
        assert learner.status_code == 403
        refused = ha.post(
            "/api/manage/certificates/export", json={"unit_code": "13285", "format": "zip"}
        )
        assert refused.status_code == 403
    with httpx.Client(base_url=base, timeout=30) as nobody:
        assert nobody.get(f"/api/my/certificates/{by_staff['PL001']}/pdf").status_code == 401

    with client_for(base, codes, "PL900", urls) as manager:
        ours = manager.get(f"/api/manage/certificates/{by_staff['PL002']}/pdf")
        assert ours.status_code == 200 and ours.content.startswith(b"%PDF")
        assert "Trần Văn Nam" in pdf_text(ours.content, tmp_path)
        theirs = manager.get(f"/api/manage/certificates/{by_staff['PV001']}/pdf")
        gone = manager.get(f"/api/manage/certificates/{missing}/pdf")
        assert theirs.status_code == gone.status_code == 404
        assert theirs.json()["error"].replace(by_staff["PV001"], "X") == gone.json()[
            "error"
        ].replace(missing, "X")
        bad = manager.get("/api/manage/certificates/..%2F..%2Fetc/pdf")
        assert bad.status_code in (404, 422)

        r = manager.post(
            "/api/manage/certificates/export", json={"unit_code": "13285", "format": "zip"}
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/zip"
        assert r.headers["cache-control"] == "no-store"
        with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
            assert archive.namelist() == [
                "manifest.csv",
                *sorted(f"{by_staff[s]}.pdf" for s in ("PL001", "PL002")),
            ]
            rows = manifest(archive.read("manifest.csv"))
        assert [row["Mã cán bộ"] for row in rows] == ["PL001", "PL002"]
        listed = manager.post(
            "/api/manage/certificates/export",
            json={"unit_code": "13285", "course": COURSE, "format": "csv"},
        )
        assert listed.status_code == 200 and listed.headers["content-type"].startswith("text/csv")
        assert len(manifest(listed.content)) == 2
        book = manager.post(
            "/api/manage/certificates/export", json={"unit_code": "13285", "format": "xlsx"}
        )
        assert book.status_code == 200 and book.content.startswith(b"PK")
        outside = manager.post(
            "/api/manage/certificates/export", json={"unit_code": "13291", "format": "zip"}
        )
        assert outside.status_code == 404
        wrong = manager.post(
            "/api/manage/certificates/export", json={"unit_code": "13285", "format": "ob3"}
        )
        assert wrong.status_code == 422
        monkeypatch.setattr(exporting, "MAX_WEB_EXPORT", 1)
        too_many = manager.post(
            "/api/manage/certificates/export", json={"unit_code": "13285", "format": "zip"}
        )
        assert too_many.status_code == 400
        assert "lms certificates export" in too_many.json()["error"]

    with session_factory(engine).begin() as session:
        service.revoke(session, serial=by_staff["PL002"], reason="Cấp nhầm")
    with client_for(base, codes, "NV900", urls) as admin:
        anyone = admin.get(f"/api/manage/certificates/{by_staff['PV001']}/pdf")
        assert anyone.status_code == 200
        revoked = admin.get(f"/api/manage/certificates/{by_staff['PL002']}/pdf")
        assert revoked.status_code == 409 and "revoked" in revoked.json()["error"]

    with session_factory(engine)() as session:
        events = session.scalars(
            select(Event).where(Event.verb == exporting.EXPORT_EVENT).order_by(Event.id)
        ).all()
    assert [(e.source, e.data["format"], e.data["count"]) for e in events] == [
        ("web", "zip", 2),
        ("web", "csv", 2),
        ("web", "xlsx", 2),
    ]
    assert all(e.actor_account_id is not None for e in events)


def test_the_service_refuses_what_the_reader_may_not_have(
    engine: Engine, settings: IssuerSettings
) -> None:
    by_staff = serials(engine)
    with session_factory(engine)() as session:
        person = session.scalars(select(Person.id).where(Person.staff_code == "PL001")).one()
        mine = exporting.certificate_for_download(
            session, serial=by_staff["PL001"], person_id=person
        )
        assert mine.full_name == "Nguyễn Thị Thu Hà"
        with pytest.raises(NotFoundError):
            exporting.certificate_for_download(session, serial=by_staff["PL002"], person_id=person)
    with session_factory(engine).begin() as session:
        service.revoke(session, serial=by_staff["PL001"], reason="Cấp nhầm")
    with session_factory(engine)() as session, pytest.raises(ConflictError):
        exporting.certificate_for_download(session, serial=by_staff["PL001"], person_id=person)

"""The certificates' API through a real uvicorn server, on SQLite and PostgreSQL.

The server loads the plugin from its entry point, as in production: it finds
the project through ``LMS_CONFIG`` (which ``lms serve`` sets) and the key
folder through ``LMS_KEY_DIR``.  Every URL sent is checked for staff codes
and names: they travel in bodies only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import Engine, select
from test_certificates import COURSE, FINAL, PEOPLE, TYPES, World, complete, setup_world
from test_http import PASSWORD, redeem, serving

from lms_core.config import Project
from lms_core.db import session_factory
from lms_core.http import create_app
from lms_core.models import Attempt, Certificate, CourseVersion, Person
from lms_core.services.accounts import grant_role
from lms_core.services.auth import MAX_FAILURES_PER_ADDRESS
from lms_core.services.staff import import_staff_file
from lms_quiz.view import practice_key

READERS = {
    "PL900": ("Đinh Thị Mai", "13285", "Công chức Văn hóa - Xã hội"),
    "PV900": ("Ngô Thị Yến", "13291", "Công chức Văn hóa - Xã hội"),
    "NV900": ("Lý Văn Hải", "37-SNV", "Quản trị hệ thống"),
}
ROLES = {
    "PL900": ("manager", "13285"),
    "PV900": ("manager", "13291"),
    "NV900": ("admin", None),
    "PL001": ("learner", None),
    "PL003": ("learner", None),
}


@pytest.fixture
def world(
    engine: Engine, project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[World, dict[str, str]]:
    """PL001, PL002 (ward 13285) and PV001 (ward 13291) certified; invite codes by staff code."""
    assert project.config_path is not None
    monkeypatch.setenv("LMS_CONFIG", str(project.config_path))
    monkeypatch.setenv("LMS_KEY_DIR", str(tmp_path / "keys"))
    with session_factory(engine).begin() as session:
        world = setup_world(session, project, tmp_path / "keys")
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
    return world, codes


@pytest.fixture
def base(project: Project, engine: Engine, world: tuple[World, dict[str, str]]) -> Iterator[str]:
    with serving(create_app(project, engine=engine, overdue_every=0)) as url:
        yield url


class Recorder:
    """Remembers every URL a client sent."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> None:
        self.urls.append(unquote(str(request.url)))


@pytest.fixture
def urls() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    for url in recorder.urls:
        for code, (name, _unit, _position) in {**PEOPLE, **READERS}.items():
            assert code not in url and name not in url, url


@contextmanager
def client_for(
    base: str, codes: dict[str, str], staff: str, urls: Recorder
) -> Iterator[httpx.Client]:
    """A client signed in as ``staff``, sending the CSRF header on every request."""
    with httpx.Client(base_url=base, timeout=30, event_hooks={"request": [urls]}) as client:
        r = redeem(client, codes[staff], staff=staff, password=PASSWORD)
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        yield client


def token_of(engine: Engine, staff: str) -> str:
    with session_factory(engine)() as session:
        return session.scalars(
            select(Certificate.token)
            .join(Person, Certificate.person_id == Person.id)
            .where(Person.staff_code == staff)
        ).one()


# --------------------------------------------------------------------------- verify


def test_verify_needs_no_sign_in(base: str, engine: Engine, urls: Recorder) -> None:
    token = token_of(engine, "PL001")
    with httpx.Client(base_url=base, timeout=30, event_hooks={"request": [urls]}) as anyone:
        r = anyone.post("/api/certificates/verify", json={"token": token})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["verdict"] == "valid" and body["revoked_on"] is None
        assert body["fields"]["name"] == "Nguyễn Thị Thu Hà"
        url = f"https://taphuan.ninhbinh.gov.vn/verify/#{token}"
        assert anyone.post("/api/certificates/verify", json={"token": url}).json()["verdict"] == (
            "valid"
        )
        tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        forged = anyone.post("/api/certificates/verify", json={"token": tampered}).json()
        assert forged["verdict"] in ("forged", "unreadable") and forged["fields"] is None
        junk = anyone.post("/api/certificates/verify", json={"token": "xyz"}).json()
        assert junk["verdict"] == "unreadable"
        # JSON from this site only, like sign-in
        plain = anyone.post(
            "/api/certificates/verify", content=token, headers={"Content-Type": "text/plain"}
        )
        assert plain.status_code == 415
        cross = anyone.post(
            "/api/certificates/verify",
            json={"token": token},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        assert anyone.post("/api/certificates/verify", json={}).status_code == 422
        assert anyone.post("/api/certificates/verify", json={"token": "x" * 10000}).status_code == (
            422
        )


def test_verify_of_revoked_and_throttling(base: str, engine: Engine, world: Any) -> None:
    from lms_certificates import service

    with session_factory(engine).begin() as session:
        serial = session.scalars(select(Certificate.serial).order_by(Certificate.id)).first()
        assert serial is not None
        service.revoke(session, serial=serial, reason="Cấp nhầm")
    token = token_of(engine, "PL001")
    with httpx.Client(base_url=base, timeout=30) as anyone:
        revoked = anyone.post("/api/certificates/verify", json={"token": token}).json()
        assert revoked["verdict"] == "revoked" and revoked["revoked_on"] is not None
        assert "Cấp nhầm" not in str(revoked)
        # valid, expired and revoked answers never count against the address
        for _ in range(MAX_FAILURES_PER_ADDRESS + 2):
            assert anyone.post("/api/certificates/verify", json={"token": token}).status_code == 200
        for _ in range(MAX_FAILURES_PER_ADDRESS):
            r = anyone.post("/api/certificates/verify", json={"token": "garbage"})
            assert r.status_code == 200 and r.json()["verdict"] == "unreadable"
        throttled = anyone.post("/api/certificates/verify", json={"token": token})
        assert throttled.status_code == 429 and "15" in throttled.json()["error"]


# --------------------------------------------------------------------------- learners


def test_my_certificates_are_my_own(
    base: str, world: tuple[World, dict[str, str]], urls: Recorder
) -> None:
    _world, codes = world
    with httpx.Client(base_url=base, timeout=30) as nobody:
        assert nobody.get("/api/my/certificates").status_code == 401
    with client_for(base, codes, "PL001", urls) as ha:
        r = ha.get("/api/my/certificates")
        assert r.status_code == 200, r.text
        [mine] = r.json()["certificates"]
        assert mine["course"] == COURSE and mine["verdict"] == "valid"
        assert mine["title"] == "Phòng, chống xâm hại trẻ em"
        assert mine["valid_until"] and mine["token"] and "person" not in mine
        verified = ha.post("/api/certificates/verify", json={"token": mine["token"]}).json()
        assert verified["fields"]["serial"] == mine["serial"]
    with client_for(base, codes, "PL003", urls) as lan:
        assert lan.get("/api/my/certificates").json() == {"certificates": []}


def test_completing_over_http_issues_the_certificate(
    base: str, engine: Engine, world: tuple[World, dict[str, str]], urls: Recorder
) -> None:
    _world, codes = world
    with client_for(base, codes, "PL003", urls) as lan:
        attempt_id = str(uuid.uuid4())
        started = lan.post(
            "/api/my/attempts/start",
            json={"course": COURSE, "exercise": FINAL, "attempt_id": attempt_id},
        )
        assert started.status_code == 200, started.text
        with session_factory(engine)() as s:
            attempt = s.scalars(select(Attempt).where(Attempt.uuid == attempt_id)).one()
            snapshot = s.get_one(CourseVersion, attempt.course_version_id).snapshot
            entry = next(e for e in snapshot["exercises"] if e["id"] == FINAL)
            quiz = TYPES[entry["kind"]].model.model_validate(entry["data"])
            answers = dict(practice_key(quiz, seed=attempt.seed)["answers"])
        submitted = lan.post(
            "/api/my/attempts/submit", json={"attempt_id": attempt_id, "responses": answers}
        )
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["course_completed"] is True
        [mine] = lan.get("/api/my/certificates").json()["certificates"]
        assert mine["verdict"] == "valid" and mine["serial"].endswith("-000004")


# --------------------------------------------------------------------------- managers


def test_managers_read_their_subtree_only(
    base: str, world: tuple[World, dict[str, str]], urls: Recorder
) -> None:
    _world, codes = world
    with client_for(base, codes, "PL900", urls) as manager:
        r = manager.post("/api/manage/certificates", json={"unit_code": "13285"})
        assert r.status_code == 200, r.text
        listed = r.json()["certificates"]
        assert [c["person"]["staff_code"] for c in listed] == ["PL001", "PL002"]
        assert listed[0]["person"]["full_name"] == "Nguyễn Thị Thu Hà"
        assert listed[0]["person"]["unit"] == {"code": "13285", "name": "Phường Phủ Lý"}
        filtered = manager.post(
            "/api/manage/certificates", json={"unit_code": "13285", "course": COURSE}
        )
        assert len(filtered.json()["certificates"]) == 2
        outside = manager.post("/api/manage/certificates", json={"unit_code": "13291"})
        above = manager.post("/api/manage/certificates", json={"unit_code": "37"})
        missing = manager.post("/api/manage/certificates", json={"unit_code": "99999"})
        assert outside.status_code == above.status_code == missing.status_code == 404
        assert outside.json()["error"].replace("13291", "X") == missing.json()["error"].replace(
            "99999", "X"
        )
        unknown = manager.post(
            "/api/manage/certificates", json={"unit_code": "13285", "course": "khong-co"}
        )
        assert unknown.status_code == 404
        no_csrf = httpx.post(
            base + "/api/manage/certificates",
            json={"unit_code": "13285"},
            cookies=manager.cookies,
        )
        assert no_csrf.status_code == 403
    with client_for(base, codes, "PV900", urls) as other:
        ward = other.post("/api/manage/certificates", json={"unit_code": "13291"}).json()
        assert [c["person"]["staff_code"] for c in ward["certificates"]] == ["PV001"]
    with client_for(base, codes, "NV900", urls) as admin:
        everyone = admin.post("/api/manage/certificates", json={"unit_code": "37"}).json()
        assert len(everyone["certificates"]) == 3
    with client_for(base, codes, "PL001", urls) as learner:
        refused = learner.post("/api/manage/certificates", json={"unit_code": "13285"})
        assert refused.status_code == 403

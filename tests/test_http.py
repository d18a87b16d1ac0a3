"""The learner server, tested through a real uvicorn server on a free port."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, select

from lms_core.config import Project
from lms_core.db import make_engine, session_factory
from lms_core.http import create_app
from lms_core.models import LoginFailure, WebSession
from lms_core.services import auth
from lms_core.services.accounts import invite_people
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff_file

STAFF = (
    "staff_code,full_name,org_code,position\n"
    "A1,Nguyễn Văn An,13285,Giáo viên\nA2,Trần Thị Bình,13285,Công an xã\n"
)
PASSWORD = "mat-khau-rat-dai-2026"


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def codes(engine: Engine, tmp_path: Path) -> dict[str, str]:
    """Two invited people; their invite codes by staff code."""
    with session_factory(engine).begin() as s:
        load_builtin_tree(s)
        path = tmp_path / "staff.csv"
        path.write_text(STAFF, encoding="utf-8")
        import_staff_file(s, str(path))
        return {i.staff_code: i.code for i in invite_people(s, org="13285")}


@pytest.fixture
def base(project: Project, engine: Engine) -> Iterator[str]:
    with serving(create_app(project, engine=engine)) as url:
        yield url


@pytest.fixture
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as c:
        yield c


def redeem(client: httpx.Client, code: str, staff: str = "A1", password: str = PASSWORD):
    return client.post(
        "/api/auth/redeem",
        json={"staff_code": staff, "invite_code": code, "password": password},
    )


def test_health(client: httpx.Client) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


def test_openapi_description(client: httpx.Client) -> None:
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {"/api/health", "/api/auth/sign-in", "/api/auth/redeem", "/api/me"} <= set(paths)


def test_health_reports_an_unavailable_database(project: Project, tmp_path: Path) -> None:
    broken = make_engine(f"sqlite:///{(tmp_path / 'missing' / 'x.db').as_posix()}")
    with serving(create_app(project, engine=broken)) as url:
        r = httpx.get(url + "/api/health")
    assert r.status_code == 503
    assert r.json()["database"] == "unavailable"
    broken.dispose()


def test_redeem_then_me_sign_out_and_sign_in(client: httpx.Client, codes: dict[str, str]) -> None:
    r = redeem(client, codes["A1"].lower().replace("-", " "))  # typed sloppily
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["staff_code"] == "A1"
    assert body["full_name"] == "Nguyễn Văn An"
    assert body["unit"]["code"] == "13285"
    assert body["role"] == "learner"
    csrf = body["csrf_token"]

    me = client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["staff_code"] == "A1"
    assert me.json()["csrf_token"] == csrf

    # sign-out is state-changing: refused without the CSRF token
    assert client.post("/api/auth/sign-out").status_code == 403
    assert client.post("/api/auth/sign-out", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.get("/api/me").status_code == 200
    r = client.post("/api/auth/sign-out", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    assert client.get("/api/me").status_code == 401

    r = client.post("/api/auth/sign-in", json={"staff_code": "a1", "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["csrf_token"] != csrf
    assert client.get("/api/me").json()["full_name"] == "Nguyễn Văn An"


def test_session_token_is_stored_only_as_a_digest(
    client: httpx.Client, codes: dict[str, str], engine: Engine
) -> None:
    assert redeem(client, codes["A1"]).status_code == 200
    token = client.cookies["lms_session"]
    assert len(token) >= 43  # 256 bits, urlsafe base64
    with session_factory(engine).begin() as s:
        stored = s.scalars(select(WebSession.token_hash)).all()
    assert stored == [auth._digest(token)]


def test_a_copied_cookie_fails_after_sign_out(base: str, codes: dict[str, str]) -> None:
    with httpx.Client(base_url=base) as client:
        csrf = redeem(client, codes["A1"]).json()["csrf_token"]
        token = client.cookies["lms_session"]
        with httpx.Client(base_url=base, cookies={"lms_session": token}) as thief:
            assert thief.get("/api/me").status_code == 200
            client.post("/api/auth/sign-out", headers={"X-CSRF-Token": csrf})
            assert thief.get("/api/me").status_code == 401


def test_wrong_invites_get_one_generic_error(client: httpx.Client, codes: dict[str, str]) -> None:
    attempts = [
        ("A1", "AAAAA-BBBBB-CCCCC"),  # wrong code
        ("A2", codes["A1"]),  # someone else's code
        ("ZZ9", codes["A1"]),  # unknown staff code
        ("A1", "mã-sai"),  # not even ASCII
    ]
    messages = set()
    for staff, code in attempts:
        r = redeem(client, code, staff=staff)
        assert r.status_code == 401, r.text
        messages.add(r.json()["error"])
    assert messages == {auth.REDEEM_FAILED}
    assert client.get("/api/me").status_code == 401


def test_an_invite_works_once(base: str, codes: dict[str, str]) -> None:
    with httpx.Client(base_url=base) as first, httpx.Client(base_url=base) as second:
        assert redeem(first, codes["A1"]).status_code == 200
        r = redeem(second, codes["A1"], password="another-long-password")
        assert r.status_code == 401
        assert r.json() == {"error": auth.REDEEM_FAILED}
        # the first password stands
        r = second.post("/api/auth/sign-in", json={"staff_code": "A1", "password": PASSWORD})
        assert r.status_code == 200


def test_short_password_is_a_clear_error(client: httpx.Client, codes: dict[str, str]) -> None:
    r = redeem(client, codes["A1"], password="ngan")
    assert r.status_code == 400
    assert "10" in r.json()["error"]
    assert redeem(client, codes["A1"]).status_code == 200  # the invite was not used up


def test_wrong_password_is_generic(client: httpx.Client, codes: dict[str, str]) -> None:
    redeem(client, codes["A1"])
    for staff in ("A1", "NOBODY", "A2"):  # wrong password, unknown, not yet redeemed
        r = client.post("/api/auth/sign-in", json={"staff_code": staff, "password": "x" * 12})
        assert r.status_code == 401
        assert r.json() == {"error": auth.SIGN_IN_FAILED}


def test_failed_sign_ins_are_throttled_per_account(
    client: httpx.Client, codes: dict[str, str], engine: Engine
) -> None:
    assert redeem(client, codes["A1"]).status_code == 200
    wrong = {"staff_code": "A1", "password": "wrong-password-1"}
    statuses = [client.post("/api/auth/sign-in", json=wrong).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    # even the right password waits until the window passes
    r = client.post("/api/auth/sign-in", json={"staff_code": "A1", "password": PASSWORD})
    assert r.status_code == 429
    assert "15" in r.json()["error"]
    # another account is not locked by someone guessing A1
    other = client.post("/api/auth/sign-in", json={"staff_code": "A2", "password": "x" * 12})
    assert other.status_code == 401
    with session_factory(engine).begin() as s:
        keys = set(s.scalars(select(LoginFailure.key)).all())
    assert all("A1" not in k and "127.0.0.1" not in k for k in keys)
    assert all(len(k) <= 128 for k in keys)


def test_failed_sign_ins_are_throttled_per_address(client: httpx.Client) -> None:
    for n in range(auth.MAX_FAILURES_PER_ADDRESS):
        r = client.post("/api/auth/sign-in", json={"staff_code": f"X{n}", "password": "p" * 12})
        assert r.status_code == 401
    r = client.post("/api/auth/sign-in", json={"staff_code": "NEW", "password": "p" * 12})
    assert r.status_code == 429


def test_redeem_and_sign_in_refuse_forms_and_other_origins(
    client: httpx.Client, codes: dict[str, str]
) -> None:
    form = client.post("/api/auth/sign-in", data={"staff_code": "A1", "password": PASSWORD})
    assert form.status_code == 415
    r = client.post(
        "/api/auth/redeem",
        json={"staff_code": "A1", "invite_code": codes["A1"], "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    r = client.post(
        "/api/auth/redeem",
        json={"staff_code": "A1", "invite_code": codes["A1"], "password": PASSWORD},
        headers={"Origin": str(client.base_url).rstrip("/")},
    )
    assert r.status_code == 200


def test_cookie_flags(client: httpx.Client, codes: dict[str, str]) -> None:
    r = redeem(client, codes["A1"])
    cookie = r.headers["set-cookie"]
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert parts[0].startswith("lms_session=")
    assert "httponly" in parts
    assert "samesite=lax" in parts
    assert "path=/" in parts
    assert "max-age=28800" in parts
    assert "secure" not in parts  # plain http here
    again = client.post(
        "/api/auth/sign-in",
        json={"staff_code": "A1", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "secure" in [p.strip().lower() for p in again.headers["set-cookie"].split(";")]


def test_validation_errors_are_readable_and_do_not_echo_input(client: httpx.Client) -> None:
    r = client.post(
        "/api/auth/sign-in",
        json={"staff_code": "A1", "password": "secret-secret", "remember": True},
    )
    assert r.status_code == 422
    body = r.json()
    assert "remember" in body["error"]
    assert "secret-secret" not in r.text
    r = client.post("/api/auth/sign-in", json={"staff_code": "A1"})
    assert r.status_code == 422
    assert "password" in r.json()["error"]
    r = client.post(
        "/api/auth/sign-in", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert "Traceback" not in r.text


def test_unknown_api_paths_are_json_404(client: httpx.Client) -> None:
    r = client.get("/api/nothing-here")
    assert r.status_code == 404
    assert r.json() == {"error": "no such API endpoint"}


def test_the_built_site_is_served(project: Project, engine: Engine) -> None:
    out = project.output_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text("<!doctype html><title>Tập huấn</title>", encoding="utf-8")
    with serving(create_app(project, engine=engine)) as url, httpx.Client(base_url=url) as c:
        for path in ("/index.html", "/"):
            r = c.get(path)
            assert r.status_code == 200
            assert "Tập huấn" in r.text
        assert c.get("/api/health").json()["status"] == "ok"  # the API wins


def test_log_lines_hold_no_personal_data(
    client: httpx.Client, codes: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lms.http")
    body = redeem(client, codes["A1"]).json()
    client.get("/api/me?staff_code=A1")
    client.post("/api/auth/sign-in", json={"staff_code": "A2", "password": "wrong-password"})
    lines = [r.getMessage() for r in caplog.records if r.name == "lms.http"]
    assert any(line.startswith("POST /api/auth/redeem 200 ") for line in lines)
    assert any(line.startswith("GET /api/me 200 ") for line in lines)
    assert any(line.startswith("POST /api/auth/sign-in 401 ") for line in lines)
    text = "\n".join(lines)
    secrets = [
        "A1",
        "A2",
        "Nguyễn",
        PASSWORD,
        "wrong-password",
        codes["A1"],
        body["csrf_token"],
        client.cookies["lms_session"],
    ]
    for secret in secrets:
        assert secret not in text


def test_json_log_lines_are_structured_and_hold_no_personal_data(
    client: httpx.Client, codes: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """``lms serve --log-format json``: one JSON object per line, request fields apart."""
    import json

    from cli import _serve_log_config
    from lms_core.http.logs import JsonFormatter

    assert _serve_log_config("json")["formatters"]["default"] == {
        "()": "lms_core.http.logs.JsonFormatter"
    }
    caplog.set_level(logging.INFO, logger="lms.http")
    redeem(client, codes["A1"])
    client.post("/api/auth/sign-in", json={"staff_code": "A2", "password": "wrong-password"})
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records if r.name == "lms.http"]
    parsed = [json.loads(line) for line in lines]
    sign_in = next(p for p in parsed if p.get("http_path") == "/api/auth/sign-in")
    assert (sign_in["http_method"], sign_in["http_status"]) == ("POST", 401)
    assert all(isinstance(p["duration_ms"], float) and p["level"] == "info" for p in parsed)
    for secret in ("A1", "A2", "Nguyễn", PASSWORD, "wrong-password", codes["A1"]):
        assert secret not in "\n".join(lines)


def test_app_factory_reads_the_project_from_the_environment(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lms_core.http import app_from_env

    assert project.config_path is not None
    monkeypatch.setenv("LMS_CONFIG", str(project.config_path))
    with serving(app_from_env()) as url:
        assert httpx.get(url + "/api/health").json() == {"status": "ok", "database": "ok"}

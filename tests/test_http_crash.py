"""A real ``lms serve`` killed in the middle of submits, and one stopped gracefully.

The server runs as a subprocess (``lms --config … serve --workers 2``) on the
test's database (a SQLite file, or a PostgreSQL schema when
``LMS_TEST_DATABASE_URL`` is set).  A SIGKILL of its whole process group is
what a power cut, an out-of-memory kill or ``kill -9`` does: no shutdown code
runs.  What must hold afterwards is what a learner and an auditor rely on:

* every submit the browser saw acknowledged (HTTP 200) is in the database,
  graded, with the score it was told;
* submitting any attempt again (acknowledged or not) gives one stable answer,
  and no attempt is ever graded twice;
* no attempt is half-written: a graded attempt has all its answers, each
  marked as its stored result says;
* the SQLite file passes ``PRAGMA integrity_check`` and ``foreign_key_check``.

No assertion is about time; waits (for the server to come up, for a process
to exit) are generous and only bound a hang.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.engine import make_url

from lms_core.config import Project
from lms_core.courses import check_courses
from lms_core.db import session_factory
from lms_core.models import Attempt, Event, Response, WebSession, utcnow
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.services import auth
from lms_core.services.accounts import invite_people, set_password
from lms_core.services.courses import publish
from lms_core.services.enrolment import enrol
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff_file

COURSE = "khoa-kiem-tra-su-co"
QUIZ = "kiem-tra"
PASSWORD = "mat-khau-su-co-2026"
LEARNERS = ("SC001", "SC002", "SC003", "SC004")
STARTUP_TIMEOUT = 120.0
"""Only bounds a hang: a loaded CI machine may take long to import and start workers."""

QUIZ_BLOCK = """```quiz id=kiem-tra graded pass=80 shuffle
? Tổng đài quốc gia bảo vệ trẻ em là số nào?
- ( ) 113
- (x) 111
- ( ) 115

? Những dấu hiệu nào có thể cho thấy trẻ bị bạo lực?
- [x] Vết bầm tím không rõ nguyên nhân
- [x] Sợ hãi khi gặp một người lớn cụ thể
- [ ] Thích chơi thể thao

? Trẻ em là người dưới 16 tuổi.
answer: đúng

? Cơ quan thường trực về công tác trẻ em của tỉnh?
= Sở Y tế

? Trẻ dưới bao nhiêu tuổi là trẻ em?
= 16
```
"""


def write_course(courses: Path) -> None:
    """A course whose required first lesson nobody views: it never completes, so a
    learner can start attempt after attempt (the quiz allows any number)."""
    folder = courses / COURSE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.md").write_text(
        "---\ntitle: Khóa kiểm tra sự cố\nsummary: Dùng cho kiểm thử.\nlanguage: vi\n"
        "minutes: 5\nprerequisites: []\ncompletion:\n  rule: all\ncertificate:\n"
        "  enabled: false\n---\n\nKhóa kiểm thử.\n\n"
        "1. [Đọc](01-doc.md)\n2. [Kiểm tra](02-kiem-tra.md)\n",
        encoding="utf-8",
    )
    (folder / "01-doc.md").write_text(
        "---\ntitle: Đọc\nminutes: 2\nrequired: true\n---\n\nBài đọc.\n", encoding="utf-8"
    )
    (folder / "02-kiem-tra.md").write_text(
        "---\ntitle: Kiểm tra\nminutes: 3\n---\n\n" + QUIZ_BLOCK, encoding="utf-8"
    )


@pytest.fixture
def learners(project: Project, engine: Engine) -> tuple[str, ...]:
    """Learners enrolled in the published course, each with PASSWORD set directly."""
    types = exercise_types(make_plugin_manager())
    write_course(project.courses_dir)
    loaded, problems = check_courses(project.courses_dir, types=types)
    assert not [p for p in problems if p.severity == "error"], problems
    staff = project.root / "staff.csv"
    staff.write_text(
        "staff_code,full_name,org_code,position\n"
        + "".join(f"{code},Người Học {i},13285,Giáo viên\n" for i, code in enumerate(LEARNERS)),
        encoding="utf-8",
    )
    with session_factory(engine).begin() as s:
        load_builtin_tree(s)
        import_staff_file(s, str(staff))
        for course in loaded:
            publish(s, course)
        enrol(s, course=COURSE, staff_codes=list(LEARNERS))
        invite_people(s, org="13285")
        for code in LEARNERS:
            set_password(s, staff_code=code, password=PASSWORD)
    return LEARNERS


# ---------------------------------------------------------------- the server process


def _command() -> list[str]:
    script = Path(sys.executable).parent / "lms"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lms_cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``lms serve`` in its own process group, output in a log file."""

    def __init__(self, project: Project, log: Path, *, workers: int = 2) -> None:
        assert project.config_path is not None
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("LMS_CONFIG", "LMS_DATABASE_URL")}
        offset = log.stat().st_size if log.exists() else 0
        config = str(project.config_path)
        args = ["--config", config, "serve", "--port", str(self.port), "--workers", str(workers)]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*_command(), *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert self.process.poll() is None, log.read_text(errors="replace")[-3000:]
            up = log.read_bytes()[offset:].count(b"Application startup complete") >= workers
            try:
                if up and httpx.get(self.url + "/api/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"lms serve did not come up:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server and its workers at once, as a power cut would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(60)

    def wait(self) -> int:
        return self.process.wait(60)


@contextmanager
def running(project: Project, log: Path, *, workers: int = 2) -> Iterator[Server]:
    server = Server(project, log, workers=workers)
    try:
        yield server
    finally:
        server.kill()


def signed_in(base: str, staff_code: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    r = client.post("/api/auth/sign-in", json={"staff_code": staff_code, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


def moved(client: httpx.Client, base: str) -> httpx.Client:
    """The same signed-in browser talking to a restarted server (sessions are in the database)."""
    return httpx.Client(base_url=base, timeout=60, cookies=client.cookies, headers=client.headers)


def answers_to(view: dict[str, Any]) -> dict[str, object]:
    """An answer to every question of a public view (right or wrong does not matter here)."""
    out: dict[str, object] = {}
    for entry in view["entries"]:
        for q in entry["questions"] if entry.get("kind") == "scenario" else [entry]:
            if q.get("options"):
                first = q["options"][0]["id"]
                out[q["id"]] = [first] if q["kind"] == "multiple" else first
            elif q["kind"] == "truefalse":
                out[q["id"]] = True
            else:
                out[q["id"]] = "16"
    return out


# ---------------------------------------------------------------- the crash


@dataclass
class Ledger:
    """What the browsers saw, shared by the threads (under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: dict[str, dict[str, object]] = field(default_factory=dict)
    """Every attempt id a browser used, with the answers it sent ({} if start never answered)."""
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Attempt id -> the JSON of the submit answered 200."""
    owner: dict[str, str] = field(default_factory=dict)
    submitting: threading.Event = field(default_factory=threading.Event)


def learner_loop(client: httpx.Client, staff: str, ledger: Ledger, stop: threading.Event) -> None:
    """Start, save and submit attempts back to back until told to stop or the server dies."""
    while not stop.is_set():
        attempt_id = str(uuid.uuid4())
        with ledger.lock:
            ledger.answers[attempt_id] = {}
            ledger.owner[attempt_id] = staff
        try:
            r = client.post(
                "/api/my/attempts/start",
                json={"course": COURSE, "exercise": QUIZ, "attempt_id": attempt_id},
            )
            if r.status_code != 200:
                return
            started = r.json()
            attempt_id = started["attempt_id"]  # one left in progress is resumed
            answers = answers_to(started["view"])
            with ledger.lock:
                ledger.answers[attempt_id] = answers
                ledger.owner[attempt_id] = staff
            half = dict(list(answers.items())[:2])
            save = {"attempt_id": attempt_id, "seq": 1, "responses": half}
            if client.post("/api/my/attempts/save", json=save).status_code != 200:
                return
            ledger.submitting.set()
            body = {"attempt_id": attempt_id, "responses": answers}
            r = client.post("/api/my/attempts/submit", json=body)
            if r.status_code != 200:
                return
            with ledger.lock:
                ledger.acknowledged[attempt_id] = r.json()
        except httpx.TransportError:
            return  # the server is gone: whatever was in flight is unknown


def check_sqlite_file(project: Project) -> None:
    url = make_url(project.database_url)
    if url.get_backend_name() != "sqlite":
        return
    assert url.database
    conn = sqlite3.connect(url.database)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def test_acknowledged_submits_survive_a_kill(
    project: Project, engine: Engine, learners: tuple[str, ...], tmp_path: Path
) -> None:
    ledger = Ledger()
    stop = threading.Event()
    log = tmp_path / "serve.log"
    with running(project, log) as server:
        clients = {staff: signed_in(server.url, staff) for staff in learners}
        threads = [
            threading.Thread(target=learner_loop, args=(clients[s], s, ledger, stop), daemon=True)
            for s in learners
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while len(ledger.acknowledged) < 3 * len(learners):  # some history first
            assert any(t.is_alive() for t in threads), "every learner stopped before the kill"
            assert time.monotonic() < deadline, f"too few submits acknowledged: {log.read_text()}"
            time.sleep(0.01)
        ledger.submitting.clear()
        ledger.submitting.wait(60)  # a submit was just sent: kill while it is being handled
        server.kill()
        stop.set()
        for t in threads:
            t.join(60)
    acknowledged = dict(ledger.acknowledged)
    assert acknowledged
    check_sqlite_file(project)

    with running(project, log) as server:
        again = {staff: moved(client, server.url) for staff, client in clients.items()}
        # Every attempt any browser used, submitted again: one stable answer.
        for attempt_id, answers in ledger.answers.items():
            client = again[ledger.owner[attempt_id]]
            body = {"attempt_id": attempt_id, "responses": answers}
            first = client.post("/api/my/attempts/submit", json=body)
            second = client.post("/api/my/attempts/submit", json=body)
            assert first.status_code == second.status_code, (first.text, second.text)
            if first.status_code == 404:  # its start never reached the database
                assert attempt_id not in acknowledged
                continue
            assert first.status_code == 200, first.text
            assert first.json() == second.json()
            assert first.json()["state"] == "graded"
            if attempt_id in acknowledged:
                assert first.json() == acknowledged[attempt_id]
        for client in [*clients.values(), *again.values()]:
            client.close()

    with session_factory(engine)() as s:
        attempts = {a.uuid: a for a in s.scalars(select(Attempt))}
        for attempt_id, result in acknowledged.items():
            stored = attempts[attempt_id]
            assert stored.state == "graded"
            assert stored.score == result["score"] and stored.max_score == result["max_score"]
        assert all(a.state == "graded" for a in attempts.values())  # each one resubmitted
        graded_events = dict(
            s.execute(
                select(Event.object_id, func.count())
                .where(Event.verb == "attempt.submitted")
                .group_by(Event.object_id)
            )
            .tuples()
            .all()
        )
        for attempt in attempts.values():
            assert graded_events.get(str(attempt.id)) == 1  # graded exactly once
            marks = {q["id"]: q["points"] for q in (attempt.result or {}).get("questions", [])}
            rows = s.scalars(select(Response).where(Response.attempt_id == attempt.id)).all()
            sent = ledger.answers.get(attempt.uuid) or {}
            if attempt.uuid in acknowledged or sent:
                assert {r.question_id for r in rows} == set(sent)  # every answer stored
            for row in rows:  # and each marked as the stored result says
                assert row.points is not None and row.points == marks[row.question_id]
            assert sum(r.points or 0.0 for r in rows) == pytest.approx(attempt.score)
    check_sqlite_file(project)


# ---------------------------------------------------------------- graceful shutdown


def test_sigterm_lets_requests_in_flight_finish(
    project: Project, engine: Engine, learners: tuple[str, ...], tmp_path: Path
) -> None:
    """``lms serve`` stops on SIGTERM (systemd, docker stop) only after answering what it
    had started: each request below has sent its headers and half its body when the
    signal comes, and sends the rest only afterwards."""
    log = tmp_path / "serve.log"
    gate = threading.Event()
    sent_half = [threading.Event() for _ in learners]
    results: dict[str, httpx.Response | BaseException] = {}
    with running(project, log) as server:
        clients = {staff: signed_in(server.url, staff) for staff in learners}
        bodies: dict[str, bytes] = {}
        for staff, client in clients.items():
            attempt_id = str(uuid.uuid4())
            r = client.post(
                "/api/my/attempts/start",
                json={"course": COURSE, "exercise": QUIZ, "attempt_id": attempt_id},
            )
            assert r.status_code == 200, r.text
            body = {"attempt_id": attempt_id, "responses": answers_to(r.json()["view"])}
            bodies[staff] = json.dumps(body).encode()

        def submit(i: int, staff: str) -> None:
            def trickle() -> Iterator[bytes]:
                data = bodies[staff]
                yield data[: len(data) // 2]
                sent_half[i].set()
                gate.wait(60)
                yield data[len(data) // 2 :]

            try:
                results[staff] = clients[staff].post(
                    "/api/my/attempts/submit",
                    content=trickle(),
                    headers={"Content-Type": "application/json"},
                )
            except BaseException as exc:  # recorded and asserted below
                results[staff] = exc

        threads = [
            threading.Thread(target=submit, args=(i, staff), daemon=True)
            for i, staff in enumerate(learners)
        ]
        for t in threads:
            t.start()
        for event in sent_half:
            assert event.wait(60)
        time.sleep(1.0)  # let the server read what was sent (a wait, not an assertion)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the server is shutting down now, waiting for those requests
        assert server.process.poll() is None, "exited with requests in flight"
        gate.set()
        for t in threads:
            t.join(60)
        server.wait()  # and then it exits by itself
        for client in clients.values():
            client.close()
    for staff in learners:
        response = results[staff]
        assert isinstance(response, httpx.Response), repr(response)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "graded"
    with session_factory(engine)() as s:
        graded = s.scalar(
            select(func.count()).select_from(Attempt).where(Attempt.state == "graded")
        )
    assert graded == len(learners)


# ---------------------------------------------------------------- sessions across a kill


def test_a_session_survives_a_kill_and_last_seen_stays_coarse(
    project: Project, engine: Engine, learners: tuple[str, ...], tmp_path: Path
) -> None:
    """Sessions live in the database: a browser stays signed in across a crash.  Reading
    a session takes no write; "last seen" is written only when it is minutes old."""
    log = tmp_path / "serve.log"
    with running(project, log) as server:
        client = signed_in(server.url, learners[0])
        server.kill()
    old = utcnow() - 2 * auth.LAST_SEEN_RESOLUTION
    with session_factory(engine).begin() as s:
        s.execute(update(WebSession).values(last_seen_at=old))
    with running(project, log) as server, moved(client, server.url) as again:
        assert again.get("/api/me").json()["staff_code"] == learners[0]
        with session_factory(engine)() as s:
            seen = s.scalars(select(WebSession.last_seen_at)).one()
        assert seen > old  # it was due: written
        assert again.get("/api/me").status_code == 200
        with session_factory(engine)() as s:
            assert s.scalars(select(WebSession.last_seen_at)).one() == seen  # not again
    client.close()

"""``lms serve`` under load: learners sign in, start, autosave twice and submit a quiz.

Target (issue 6, "Speed"), on the 2-core machine: at least 200 submits per
second with the submit's p95 latency under 200 ms, zero errors, and the
database holding exactly the acknowledged attempts (no lost, no duplicated
attempt).  Timings are reported, never asserted.

What runs: a real ``lms serve --workers 2`` subprocess on a free loopback port,
over a project made in a temporary folder (a course with one 20-question
graded quiz, published; N staff enrolled; accounts with passwords).  The
client is one asyncio loop (uvloop where installed) with one
``httpx.AsyncClient`` per learner (its own connection; the session cookie
sent as a header, as a browser sends it); ``CONCURRENCY`` learners are in
flight at once, in a closed loop without think time, so the server is kept
saturated and latency includes queueing.

1. (untimed, reported) every learner signs in, once: argon2id verifies the
   password, about 0.1 s of wall time and 0.16 s of CPU each on this
   machine, by design.  A session lasts 8 hours and lives in the database,
   so an exam's burst of submits comes from learners who signed in earlier,
   and later rounds reach the restarted server with the same cookies;
2. (timed, each round) every learner starts an attempt and autosaves half,
   then all of its answers (three POSTs); then
3. (timed, each round) every learner submits: the burst at the end of an
   exam, when everyone hands in at the deadline.

The harness's table times 2 and 3 together: its rows/s is whole flows
(start, two autosaves, submit) per second.  The report adds submits per
second in the burst (3 alone) — the rate the target names — the latencies,
and the server processes' CPU time per flow and per submit (read from
``/proc``), which depends much less than wall time on what else the machine
is doing.

The client shares the two cores with the servers, so it is kept cheap:
httpcore imports ``sniffio`` on every request (a search of ``sys.path``
each time when it is not installed: the test extras install it), URLs are
parsed once, and httpx's cookie jar (``http.cookiejar``, slower per request
than the anchor's whole handler) is not used after sign-in.

Answers are built from the public view (the client knows the right option
texts, as a learner who studied would): about 85% right.  The course also
has a required lesson nobody views here, so it never completes and every
round can start a new attempt (completion is still evaluated on every
submit).

The anchor is the floor of the same stack, not another product: a minimal
Starlette app (:func:`anchor_app`) on the same uvicorn, with the same number of
workers, answering the same four requests from the same client, each with one
``INSERT`` and ``COMMIT`` through the bare driver (``sqlite3`` with the
project's pragmas: WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE``; or
psycopg) into the same database.  Ours does the real work on top: session
lookup, CSRF, ownership, row locks, idempotency checks, the attempt's HTML
form, grading, answers, events, completion.

PostgreSQL: ``LMS_TEST_DATABASE_URL``, or ``postgresql+psycopg://postgres@
127.0.0.1:5432/test`` if it answers, in a fresh schema dropped afterwards;
otherwise that benchmark is skipped and says why.  Sizes can be changed with
``SERVE_LOAD_LEARNERS``, ``SERVE_LOAD_CONCURRENCY`` and ``SERVE_LOAD_WORKERS``.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks.harness import Benchmark, Side, pg_base_url
from lms_core.courses import check_courses
from lms_core.db import session_factory
from lms_core.models import Account, Attempt, CourseVersion, Event
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.project import init_project, open_database
from lms_core.services.accounts import invite_people, set_password
from lms_core.services.courses import publish
from lms_core.services.enrolment import enrol
from lms_core.services.org import load_builtin_tree
from lms_core.services.staff import import_staff_file
from lms_core.synthetic import person_name

ROOT = Path(__file__).resolve().parents[1]
COURSE = "thi-thu-tai-tai"
QUIZ = "kiem-tra-tai"
PASSWORD = "mat-khau-tai-tai-2026"
COMMUNE = "13285"
ANCHOR_DB_ENV = "SERVE_LOAD_ANCHOR_DB"
ANCHOR_VIEW_ENV = "SERVE_LOAD_ANCHOR_VIEW"
TARGET_SUBMITS = 200.0
TARGET_P95 = 0.200
RIGHT_SHARE = 0.85
KINDS = ("sign-in", "start", "save", "submit")


# ------------------------------------------------------------------ the quiz


@dataclass(frozen=True, slots=True)
class _Question:
    """One question, and what the client needs to answer it (by text, not by id)."""

    id: str
    prompt: str
    kind: str
    options: tuple[tuple[str, bool], ...] = ()
    answer: object = None
    wrong: object = None


def _single(qid: str, prompt: str, right: str, *wrong: str) -> _Question:
    return _Question(qid, prompt, "single", ((right, True), *((w, False) for w in wrong)))


def _multiple(qid: str, prompt: str, right: tuple[str, ...], wrong: tuple[str, ...]) -> _Question:
    options = (*((r, True) for r in right), *((w, False) for w in wrong))
    return _Question(qid, prompt, "multiple", options)


QUESTIONS: tuple[_Question, ...] = (
    _single("c01", "Tổng đài quốc gia bảo vệ trẻ em là số nào?", "111", "113", "115", "114"),
    _single("c02", "Trẻ em theo Luật Trẻ em 2016 là người dưới bao nhiêu tuổi?", "16", "15", "18"),
    _single(
        "c03",
        "Khi phát hiện trẻ bị xâm hại, việc cần làm đầu tiên là gì?",
        "Báo ngay cho Tổng đài 111 hoặc cơ quan chức năng",
        "Chờ gia đình tự giải quyết",
        "Tự điều tra trước khi báo",
    ),
    _single(
        "c04",
        "Cơ quan thường trực về công tác trẻ em của tỉnh là?",
        "Sở Y tế",
        "Sở Tư pháp",
        "Công an tỉnh",
    ),
    _single(
        "c05",
        "Ai có trách nhiệm thông báo khi biết trẻ bị xâm hại?",
        "Mọi cơ quan, tổ chức, cá nhân",
        "Chỉ cha mẹ của trẻ",
        "Chỉ giáo viên",
    ),
    _single(
        "c06",
        "Khi trò chuyện với trẻ bị xâm hại, điều nên làm là?",
        "Lắng nghe, tin trẻ và giữ bình tĩnh",
        "Hỏi dồn để có đủ chi tiết",
        "Bắt trẻ kể lại trước nhiều người",
    ),
    _single(
        "c07",
        "Thông tin cá nhân của trẻ bị xâm hại phải được?",
        "Giữ bí mật",
        "Công bố để cảnh báo",
        "Đăng lên mạng xã hội",
    ),
    _single(
        "c08",
        "Chỉ thị 28-CT/TW được Bộ Chính trị ban hành năm nào?",
        "2023",
        "2016",
        "2020",
    ),
    _multiple(
        "c09",
        "Những dấu hiệu nào có thể cho thấy trẻ bị bạo lực?",
        ("Vết bầm tím không rõ nguyên nhân", "Sợ hãi khi gặp một người lớn cụ thể"),
        ("Thích chơi thể thao", "Ăn ngon miệng"),
    ),
    _multiple(
        "c10",
        "Nơi nào cần được kiểm tra an toàn cho trẻ?",
        ("Ao, hồ gần nhà", "Ổ điện trong nhà"),
        ("Bầu trời",),
    ),
    _multiple(
        "c11",
        "Cấp xã cần làm gì theo Kế hoạch của tỉnh?",
        ("Xây dựng kế hoạch", "Bố trí nguồn lực"),
        ("Chờ tỉnh làm thay",),
    ),
    _multiple(
        "c12",
        "Cộng tác viên bảo vệ trẻ em ở thôn làm gì?",
        ("Nắm tình hình trẻ em", "Báo tin sớm"),
        ("Xử phạt hành chính", "Xét xử vụ án"),
    ),
    _Question("c13", "Trẻ em là người dưới 16 tuổi.", "truefalse", answer=True, wrong=False),
    _Question("c14", "Tổng đài 111 thu phí cuộc gọi.", "truefalse", answer=False, wrong=True),
    _Question(
        "c15", "Mọi người đều có trách nhiệm bảo vệ trẻ em.", "truefalse", answer=True, wrong=False
    ),
    _Question(
        "c16", "Có thể đăng ảnh trẻ bị xâm hại để cảnh báo.", "truefalse", answer=False, wrong=True
    ),
    _Question(
        "c17",
        "Cơ quan thường trực về trẻ em của tỉnh (viết tắt)?",
        "short",
        answer="SYT",
        wrong="X",
    ),
    _Question("c18", "Tổng đài nào nhận tin báo về trẻ em?", "short", answer="111", wrong="113"),
    _Question("c19", "Trẻ dưới bao nhiêu tuổi là trẻ em?", "numeric", answer="16", wrong="18"),
    _Question("c20", "Tổng đài bảo vệ trẻ em có mấy chữ số?", "numeric", answer="3", wrong="5"),
)
BY_ID = {q.id: q for q in QUESTIONS}


def _quiz_markdown() -> str:
    lines = [f"```quiz id={QUIZ} graded pass=80 grading=highest shuffle"]
    for q in QUESTIONS:
        lines.append(f"? {q.prompt}")
        if q.kind == "single":
            lines += [f"- ({'x' if right else ' '}) {t}" for t, right in q.options]
        elif q.kind == "multiple":
            lines += [f"- [{'x' if right else ' '}] {t}" for t, right in q.options]
        elif q.kind == "truefalse":
            lines.append(f"answer: {'đúng' if q.answer else 'sai'}")
        else:
            lines.append(f"= {q.answer}")
        lines += [f"id: {q.id}", ""]
    lines.append("```")
    return "\n".join(lines) + "\n"


def _write_course(courses: Path) -> None:
    folder = courses / COURSE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.md").write_text(
        "---\ntitle: Thi thử dưới tải\nsummary: Khóa học dùng để đo tải máy chủ.\n"
        "language: vi\nminutes: 10\nprerequisites: []\ncompletion:\n  rule: all\n"
        "certificate:\n  enabled: false\n---\n\nKhóa học đo tải.\n\n"
        "1. [Đọc trước](01-doc-truoc.md)\n2. [Bài kiểm tra](02-kiem-tra.md)\n",
        encoding="utf-8",
    )
    (folder / "01-doc-truoc.md").write_text(
        "---\ntitle: Đọc trước\nminutes: 5\nrequired: true\n---\n\n"
        "Bài đọc bắt buộc; không ai xem nó trong lúc đo, nên khóa học không hoàn thành.\n",
        encoding="utf-8",
    )
    (folder / "02-kiem-tra.md").write_text(
        "---\ntitle: Bài kiểm tra\nminutes: 5\n---\n\n" + _quiz_markdown(), encoding="utf-8"
    )


def _questions(view: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in view["entries"]:
        yield from entry["questions"] if entry.get("kind") == "scenario" else [entry]


def _answers(view: dict[str, Any], rng: random.Random) -> dict[str, object]:
    """Answers to every question of a public view, each right with probability RIGHT_SHARE."""
    out: dict[str, object] = {}
    for shown in _questions(view):
        spec = BY_ID[shown["id"]]
        right = rng.random() < RIGHT_SHARE
        if spec.options:
            correct = dict(spec.options)
            ids = [o["id"] for o in shown["options"] if correct[o["text"]] == right]
            if spec.kind == "single":
                out[shown["id"]] = ids[0]
            else:
                out[shown["id"]] = ids
        else:
            out[shown["id"]] = spec.answer if right else spec.wrong
    return out


# ------------------------------------------------------------------ the anchor


def _anchor_connect(url: str) -> Any:
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        return conn
    import psycopg

    return psycopg.connect(url)


def anchor_app() -> Starlette:
    """The anchor server: the same routes, each one ``INSERT`` + ``COMMIT`` (uvicorn factory).

    Reads the database from ``$SERVE_LOAD_ANCHOR_DB`` (``sqlite:///path`` or a
    libpq URL) and the view that ``start`` returns from the JSON file at
    ``$SERVE_LOAD_ANCHOR_VIEW`` (a real public view of the same quiz, so the
    response has the same size).  One connection per worker thread.
    """
    url = os.environ[ANCHOR_DB_ENV]
    view = json.loads(Path(os.environ[ANCHOR_VIEW_ENV]).read_text(encoding="utf-8"))
    is_sqlite = url.startswith("sqlite:///")
    local = threading.local()

    def record(kind: str, attempt_id: str, body: str) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = _anchor_connect(url)
        if is_sqlite:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO bench_anchor (kind, attempt_id, body) VALUES (?, ?, ?)",
                (kind, attempt_id, body),
            )
            conn.execute("COMMIT")
        else:
            conn.execute(
                "INSERT INTO bench_anchor (kind, attempt_id, body) VALUES (%s, %s, %s)",
                (kind, attempt_id, body),
            )
            conn.commit()

    async def sign_in(request: Request) -> JSONResponse:
        body = await request.json()
        await run_in_threadpool(
            record, "sign-in", "", json.dumps({"staff_code": body["staff_code"]})
        )
        response = JSONResponse({"csrf_token": "anchor"})
        response.set_cookie("lms_session", uuid.uuid4().hex, httponly=True, samesite="lax")
        return response

    async def start(request: Request) -> JSONResponse:
        body = await request.json()
        await run_in_threadpool(record, "start", body["attempt_id"], json.dumps(body))
        return JSONResponse(
            {"attempt_id": body["attempt_id"], "state": "in_progress", "view": view}
        )

    async def save(request: Request) -> JSONResponse:
        body = await request.json()
        await run_in_threadpool(record, "save", body["attempt_id"], json.dumps(body))
        return JSONResponse({"attempt_id": body["attempt_id"], "seq": body["seq"]})

    async def submit(request: Request) -> JSONResponse:
        body = await request.json()
        await run_in_threadpool(record, "submit", body["attempt_id"], json.dumps(body))
        return JSONResponse({"attempt_id": body["attempt_id"], "state": "graded", "score": 0.0})

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/api/health", health),
            Route("/api/auth/sign-in", sign_in, methods=["POST"]),
            Route("/api/my/attempts/start", start, methods=["POST"]),
            Route("/api/my/attempts/save", save, methods=["POST"]),
            Route("/api/my/attempts/submit", submit, methods=["POST"]),
        ]
    )


# ------------------------------------------------------------------ processes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lms_command() -> list[str]:
    """The installed ``lms`` script beside this interpreter, else ``python -m lms_cli``."""
    script = Path(sys.executable).parent / "lms"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lms_cli"]


class _Server:
    """A server subprocess on a free port; its output goes to a log file (never a pipe)."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path, workers: int) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.workers = workers
        self.offset = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*args, "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Until every worker has started (each logs so) and the health check answers."""
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start; see {self.log}")
            started = self.log.read_bytes()[self.offset :].count(b"Application startup complete")
            try:
                if (
                    started >= self.workers
                    and httpx.get(self.url + "/api/health").status_code == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not come up within 120 s; see {self.log}")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server's processes (all in its process group; Linux)."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # exited meanwhile, or not readable
            if int(fields[2]) == self.process.pid:  # pgid
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LMS_CONFIG", "LMS_DATABASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


# ------------------------------------------------------------------ the client


@dataclass(slots=True)
class _Stats:
    """What one side's client saw, over all its rounds."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: Counter[str] = field(default_factory=Counter)
    acknowledged: dict[str, float] = field(default_factory=dict)
    """Attempt id -> score of every submit answered 200 with ``state: graded``."""
    phases: list[float] = field(default_factory=list)
    """Seconds of each round's timed part (both phases)."""
    submit_phases: list[float] = field(default_factory=list)
    """Seconds of each round's submit burst (the second phase)."""
    phase_acks: list[int] = field(default_factory=list)
    sign_in_phases: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    server_submit_cpu: list[float] = field(default_factory=list)
    """The server's CPU seconds in each round's submit burst."""


@functools.lru_cache(maxsize=64)
def _url(base: str, path: str) -> httpx.URL:
    """One parsed URL per server and route: httpx parses a ``str`` URL on every request."""
    return httpx.URL(base + path)


async def _post(
    client: httpx.AsyncClient, kind: str, url: httpx.URL, body: dict[str, Any], stats: _Stats
) -> dict[str, Any] | None:
    started = time.perf_counter()
    try:
        response = await client.post(url, json=body)
    except httpx.HTTPError as exc:
        stats.errors[f"{kind}: {type(exc).__name__}"] += 1
        return None
    stats.latencies[kind].append(time.perf_counter() - started)
    if response.status_code != 200:
        stats.errors[f"{kind}: HTTP {response.status_code}"] += 1
        return None
    data: dict[str, Any] = response.json()
    return data


@dataclass(slots=True)
class _Learner:
    staff_code: str
    rng: random.Random
    client: httpx.AsyncClient | None = None
    base: str = ""
    pending: tuple[str, dict[str, object]] | None = None
    """The attempt answered in this round's first phase, and its answers, to submit."""


async def _sign_in(learner: _Learner, base: str, stats: _Stats) -> None:
    """Sign in on a new client, or, once signed in, move the session to ``base``.

    Sessions live in the database (the server keeps no state) and last 8
    hours, so a learner signs in once; later rounds reach the restarted
    server with the same cookie.
    """
    learner.base = base
    old = learner.client
    if old is not None:
        learner.client = httpx.AsyncClient(timeout=60, headers=old.headers)
        await old.aclose()
        return
    client = httpx.AsyncClient(timeout=60)
    body = {"staff_code": learner.staff_code, "password": PASSWORD}
    signed = await _post(client, "sign-in", _url(base, "/api/auth/sign-in"), body, stats)
    if signed is None:
        await client.aclose()
        return
    client.headers["X-CSRF-Token"] = signed["csrf_token"]
    # The session cookie goes in a plain header, as a browser sends it: httpx's
    # cookie jar (http.cookiejar) costs the client more per request than a
    # whole INSERT costs the anchor's server.  The hot routes set no cookie.
    client.headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
    client.cookies.clear()
    learner.client = client


async def _answer_quiz(learner: _Learner, stats: _Stats) -> None:
    """Start an attempt and autosave half, then all of the answers; keep them to submit."""
    client = learner.client
    if client is None:
        return
    attempt_id = str(uuid.UUID(int=learner.rng.getrandbits(128), version=4))
    body: dict[str, Any] = {"course": COURSE, "exercise": QUIZ, "attempt_id": attempt_id}
    started = await _post(
        client, "start", _url(learner.base, "/api/my/attempts/start"), body, stats
    )
    if started is None:
        return
    attempt_id = started["attempt_id"]  # an attempt left in progress is resumed
    answers = _answers(started["view"], learner.rng)
    half = dict(list(answers.items())[: len(answers) // 2])
    save = _url(learner.base, "/api/my/attempts/save")
    for seq, responses in ((1, half), (2, answers)):
        body = {"attempt_id": attempt_id, "seq": seq, "responses": responses}
        if await _post(client, "save", save, body, stats) is None:
            return
    learner.pending = (attempt_id, answers)


async def _submit(learner: _Learner, stats: _Stats) -> None:
    """Submit the answered attempt (all answers again, as the page sends them)."""
    client, pending = learner.client, learner.pending
    learner.pending = None
    if client is None or pending is None:
        return
    attempt_id, answers = pending
    body = {"attempt_id": attempt_id, "responses": answers}
    result = await _post(
        client, "submit", _url(learner.base, "/api/my/attempts/submit"), body, stats
    )
    if result is None:
        return
    if result.get("attempt_id") != attempt_id or result.get("state") != "graded":
        stats.errors["submit: unexpected answer"] += 1
        return
    if attempt_id in stats.acknowledged:
        stats.errors["submit: attempt acknowledged twice"] += 1
    stats.acknowledged[attempt_id] = float(result["score"])


async def _each(
    learners: list[_Learner], concurrency: int, work: Callable[[_Learner], Any]
) -> None:
    """Run ``work`` for every learner, ``concurrency`` at a time (a closed loop)."""
    queue: asyncio.Queue[_Learner] = asyncio.Queue()
    for learner in learners:
        queue.put_nowait(learner)

    async def worker() -> None:
        while not queue.empty():
            await work(queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _client_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (it is a dependency of lms serve), else asyncio's.

    The client shares the machine's two cores with the servers, so what it
    spends per request is taken from them; uvloop spends about 10% less.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


# ------------------------------------------------------------------ databases


@dataclass(slots=True)
class _Database:
    """A fresh database for one benchmark: a SQLite file, or a PostgreSQL schema."""

    url: str
    anchor_url: str
    drop: Callable[[], None] = lambda: None


def _sqlite_database(folder: Path) -> _Database:
    path = folder / "lms.db"
    return _Database(url=f"sqlite:///{path.as_posix()}", anchor_url=f"sqlite:///{path}")


def _pg_database(base: str) -> _Database:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return _Database(url=url.render_as_string(hide_password=False), anchor_url=libpq, drop=drop)


# ------------------------------------------------------------------ the workspace


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _ms(value: float) -> str:
    return f"{value * 1000:.0f}"


class _Workspace:
    """One database with the course, learners and accounts, and the two sides' servers.

    Both sides' servers start together at the first setup and serve every
    round; :meth:`report` stops them and drops the database.
    """

    def __init__(
        self, *, engine_name: str, db: _Database, learners: int, concurrency: int, workers: int
    ) -> None:
        self.engine_name = engine_name
        self.db = db
        self.concurrency = concurrency
        self.workers = workers
        self.dir = Path(tempfile.mkdtemp(prefix="bench-serve-"))
        self.loop = _client_loop()
        self.servers: dict[str, _Server] = {}
        self.closed = False
        self.stats = {"ours": _Stats(), "anchor": _Stats()}
        self.learners = {
            side: [_Learner(f"TL{i:05d}", random.Random(f"{side}{i}")) for i in range(learners)]
            for side in self.stats
        }
        self.project = init_project(self.dir / "project", database_url=db.url)
        self.view_path = self.dir / "view.json"
        self._populate(learners)
        atexit.register(self.close)

    def _populate(self, count: int) -> None:
        types = exercise_types(make_plugin_manager())
        _write_course(self.project.courses_dir)
        loaded, problems = check_courses(self.project.courses_dir, types=types)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise RuntimeError(f"benchmark course has errors: {errors}")
        rng = random.Random(6)
        staff = self.dir / "staff.csv"
        rows = [f"TL{i:05d},{person_name(rng)},{COMMUNE},Giáo viên tiểu học" for i in range(count)]
        staff.write_text(
            "staff_code,full_name,org_code,position\n" + "\n".join(rows) + "\n", encoding="utf-8"
        )
        engine = open_database(self.project)
        try:
            with session_factory(engine).begin() as s:
                load_builtin_tree(s)
                import_staff_file(s, str(staff))
                for course in loaded:
                    publish(s, course)
                codes = [f"TL{i:05d}" for i in range(count)]
                enrol(s, course=COURSE, staff_codes=codes)
                invite_people(s, org=COMMUNE)
                # One password through the service (argon2id); the others get a copy of
                # its hash: verifying costs the same, and 200 hashes would add 20 s of setup.
                set_password(s, staff_code=codes[0], password=PASSWORD)
                digest = s.scalar(select(Account.password_hash).where(Account.status == "active"))
                s.execute(
                    update(Account)
                    .where(Account.status == "invited")
                    .values(password_hash=digest, status="active")
                )
                snapshot = s.scalars(select(CourseVersion.snapshot)).one()
            entry = next(e for e in snapshot["exercises"] if e["id"] == QUIZ)
            kind = types[entry["kind"]]
            view = kind.public_view(kind.model.model_validate(entry["data"]), seed=1)
            self.view_path.write_text(json.dumps(view, ensure_ascii=False), encoding="utf-8")
            key = "INTEGER PRIMARY KEY" if self.engine_name == "SQLite" else "SERIAL PRIMARY KEY"
            with engine.begin() as conn:
                conn.execute(
                    text(
                        f"CREATE TABLE bench_anchor (id {key}, kind VARCHAR(16),"
                        " attempt_id VARCHAR(36), body TEXT)"
                    )
                )
        finally:
            engine.dispose()

    # -- servers

    def _stop_servers(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def _server(self, side: str) -> _Server:
        """The side's server; on first use both sides' servers start, side by side.

        They stay up for every round (an idle server costs nothing): their
        start-up, several seconds of imports each, overlaps once instead of
        repeating per round.
        """
        if not self.servers:
            for name in self.stats:
                self.servers[name] = self._launch(name)
            for server in self.servers.values():
                server.wait_ready()
        return self.servers[side]

    def _launch(self, side: str) -> _Server:
        env = _clean_env()
        workers = ["--workers", str(self.workers)]
        if side == "ours":
            assert self.project.config_path is not None
            args = [*lms_command(), "--config", str(self.project.config_path), "serve", *workers]
        else:
            env[ANCHOR_DB_ENV] = self.db.anchor_url
            env[ANCHOR_VIEW_ENV] = str(self.view_path)
            # served exactly as lms serve serves ours (lms_core.http.serving)
            args = [
                sys.executable, "-m", "lms_core.http.serving", "benchmarks.serve_load:anchor_app",
                *workers,
            ]  # fmt: skip
        return _Server(args, env=env, log=self.dir / f"{side}.log", workers=self.workers)

    # -- one round

    def setup(self, side: str) -> Callable[[], object]:
        """Start the side's server and sign learners in (untimed); return the timed phase."""
        server = self._server(side)
        stats = self.stats[side]
        learners = self.learners[side]
        first = all(learner.client is None for learner in learners)

        async def sign_in_all() -> None:
            await _each(learners, self.concurrency, lambda ln: _sign_in(ln, server.url, stats))

        started = time.perf_counter()
        self.loop.run_until_complete(sign_in_all())
        if first:
            stats.sign_in_phases.append(time.perf_counter() - started)

        def run() -> object:
            before = len(stats.acknowledged)
            server_cpu = server.cpu_seconds()
            cpu = time.process_time()
            began = time.perf_counter()
            self.loop.run_until_complete(
                _each(learners, self.concurrency, lambda ln: _answer_quiz(ln, stats))
            )
            burst, burst_cpu = time.perf_counter(), server.cpu_seconds()
            self.loop.run_until_complete(
                _each(learners, self.concurrency, lambda ln: _submit(ln, stats))
            )
            ended = time.perf_counter()
            stats.phases.append(ended - began)
            stats.submit_phases.append(ended - burst)
            stats.client_cpu.append(time.process_time() - cpu)
            stats.server_cpu.append(server.cpu_seconds() - server_cpu)
            stats.server_submit_cpu.append(server.cpu_seconds() - burst_cpu)
            stats.phase_acks.append(len(stats.acknowledged) - before)
            return None

        return run

    # -- checks and report

    def _stored(self, side: str) -> tuple[bool, str]:
        """Whether the database holds exactly the acknowledged submits (and why not)."""
        acked = self.stats[side].acknowledged
        engine = create_engine(self.db.url)
        try:
            with engine.connect() as conn:
                if side == "anchor":
                    rows = conn.execute(
                        text(
                            "SELECT attempt_id, count(*) FROM bench_anchor "
                            "WHERE kind = 'submit' GROUP BY attempt_id"
                        )
                    ).all()
                    stored = {a: n for a, n in rows}
                    ok = set(stored) == set(acked) and all(n == 1 for n in stored.values())
                    return ok, f"{sum(stored.values())} submit rows for {len(acked)} acknowledged"
                graded = dict(
                    conn.execute(
                        select(Attempt.uuid, Attempt.score).where(Attempt.state == "graded")
                    )
                    .tuples()
                    .all()
                )
                events = conn.scalar(
                    select(func.count()).select_from(Event).where(Event.verb == "attempt.submitted")
                )
        finally:
            engine.dispose()
        same = set(graded) == set(acked)
        scores = all(abs((graded.get(a) or 0.0) - s) < 1e-9 for a, s in acked.items())
        ok = same and scores and events == len(acked)
        return ok, (
            f"{len(graded)} graded attempts, {events} submitted events, "
            f"{len(acked)} acknowledged submits; scores {'match' if scores else 'DIFFER'}"
        )

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop_servers()

        async def close_clients() -> None:
            for learners in self.learners.values():
                for learner in learners:
                    if learner.client is not None:
                        await learner.client.aclose()
                        learner.client = None

        self.loop.run_until_complete(close_clients())
        self.loop.close()
        self.db.drop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def report(self) -> str:
        """Latencies, CPU, errors, the database check and the target; removes everything."""
        try:
            self._stop_servers()
            return "\n".join(self._report_lines())
        finally:
            self.close()

    def _report_lines(self) -> list[str]:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        lines = [
            "",
            f"{self.engine_name}: {len(self.learners['ours'])} learners, {self.concurrency} in "
            f"flight, {self.workers} server workers; machine load average {load}.  Each round: "
            "every learner starts and autosaves twice, then every learner submits (the burst "
            "at an exam's end).  Flows/s = learners ÷ the whole round; submits/s = learners ÷ "
            "the submit burst.  Latencies in ms over all rounds; CPU = the processes' CPU time "
            "÷ acknowledged submits.",
            "",
            "| side | flows/s | submits/s | server CPU per flow | server CPU per submit "
            "| all p50 | all p95 | all p99 | submit p50 | submit p95 | submit p99 | errors "
            "| client CPU | client CPU per flow |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        notes: list[str] = []
        verdicts: dict[str, tuple[bool, float, float, float, int]] = {}
        for side, stats in self.stats.items():
            flows = _median_rate(stats.phase_acks, stats.phases)
            rate = _median_rate(stats.phase_acks, stats.submit_phases)
            flow = [x for k in KINDS[1:] for x in stats.latencies[k]]
            submit = stats.latencies["submit"]
            errors = sum(stats.errors.values())
            acks = max(sum(stats.phase_acks), 1)
            client = sum(stats.client_cpu) / max(sum(stats.phases), 1e-9)
            client_per_flow = sum(stats.client_cpu) / acks
            name = "lms serve" if side == "ours" else "anchor"
            lines.append(
                f"| {name} | {flows:,.0f} | {rate:,.0f} "
                f"| {sum(stats.server_cpu) / acks * 1000:.1f} ms "
                f"| {sum(stats.server_submit_cpu) / acks * 1000:.1f} ms "
                f"| {_ms(_percentile(flow, 0.5))} | {_ms(_percentile(flow, 0.95))} "
                f"| {_ms(_percentile(flow, 0.99))} | {_ms(_percentile(submit, 0.5))} "
                f"| {_ms(_percentile(submit, 0.95))} | {_ms(_percentile(submit, 0.99))} "
                f"| {errors} | {client:.0%} of a core | {client_per_flow * 1000:.1f} ms |"
            )
            if side == "anchor" and client_per_flow > 0:
                cores = os.cpu_count() or 1
                notes.append(
                    "ceiling of this machine: the load client spends "
                    f"{client_per_flow * 1000:.1f} ms of CPU per flow, so on its {cores} cores "
                    f"it alone caps any server at about {cores / client_per_flow:,.0f} flows/s "
                    "(a server costing nothing)"
                )
            ok, detail = self._stored(side)
            notes.append(
                f"{name}: database holds {'exactly' if ok else 'NOT'} the acknowledged"
                f" submits ({detail})"
            )
            notes += [f"{name}: {n} × {what}" for what, n in sorted(stats.errors.items())]
            sign = stats.latencies["sign-in"]
            if stats.sign_in_phases and sign:
                per_round = len(sign) / len(stats.sign_in_phases)
                notes.append(
                    f"{name}: sign-in phase (untimed): "
                    f"{per_round / statistics.median(stats.sign_in_phases):,.1f} sign-ins/s, "
                    f"p50 {_ms(_percentile(sign, 0.5))} ms, p95 {_ms(_percentile(sign, 0.95))} ms"
                    + (" (argon2id verify per sign-in)" if side == "ours" else "")
                )
            verdicts[side] = (ok, rate, flows, _percentile(submit, 0.95), errors)
        lines += ["", *notes]
        ok, rate, flows, p95, errors = verdicts["ours"]
        met = ok and errors == 0 and rate >= TARGET_SUBMITS and p95 < TARGET_P95
        lines.append(
            f"target (≥ {TARGET_SUBMITS:.0f} submits/s in the submit burst, submit p95 < "
            f"{_ms(TARGET_P95)} ms, no errors, no lost or duplicated attempt): "
            f"{'met' if met else 'NOT MET'} ({rate:,.0f} submits/s, p95 {_ms(p95)} ms, "
            f"{errors} errors, database {'exact' if ok else 'MISMATCH'}); whole flows "
            f"(start, two autosaves, submit): {flows:,.0f}/s"
        )
        return lines


def _median_rate(counts: list[int], seconds: list[float]) -> float:
    rates = [n / t for n, t in zip(counts, seconds, strict=True) if t]
    return statistics.median(rates) if rates else 0.0


def _sizes(quick: bool) -> tuple[int, int, int]:
    learners = int(os.environ.get("SERVE_LOAD_LEARNERS") or (8 if quick else 200))
    concurrency = int(os.environ.get("SERVE_LOAD_CONCURRENCY") or (4 if quick else 16))
    workers = int(os.environ.get("SERVE_LOAD_WORKERS") or 2)
    return learners, min(concurrency, learners), workers


def _benchmark(name: str, engine_name: str, db: _Database, *, quick: bool) -> Benchmark:
    learners, concurrency, workers = _sizes(quick)
    ws = _Workspace(
        engine_name=engine_name, db=db, learners=learners, concurrency=concurrency,
        workers=workers,
    )  # fmt: skip
    return Benchmark(
        name=name,
        description=(
            f"{learners} learners × (start, save, save, submit) of a 20-question graded quiz, "
            f"lms serve --workers {workers} on {engine_name}"
        ),
        ours=Side("lms serve", lambda: ws.setup("ours")),
        anchors=(Side("anchor: Starlette + 1 INSERT/COMMIT", lambda: ws.setup("anchor")),),
        target=(
            "≥ 200 submits/s in the submit burst (report below; rows/s here = whole flows), "
            "submit p95 < 200 ms, no errors, DB = acknowledged"
        ),
        rows=learners,
        extra=ws.report,
    )


def benchmark(*, quick: bool) -> Benchmark:
    """On a SQLite file: 200 learners, 16 in flight (8 and 4 with --quick)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-db-"))
    db = _sqlite_database(folder)
    db.drop = lambda: shutil.rmtree(folder, ignore_errors=True)
    return _benchmark("serve_load", "SQLite", db, quick=quick)


def benchmark_pg(*, quick: bool) -> Benchmark | None:
    """On PostgreSQL in a fresh schema; None (skipped, said why) without a server."""
    base, reason = pg_base_url()
    if base is None:
        print(f"serve_load_pg skipped: {reason}")
        return None
    return _benchmark("serve_load_pg", "PostgreSQL", _pg_database(base), quick=quick)

"""The learner server (``lms serve``): an HTTP adapter over ``lms_core`` services.

Routes parse the request, call one service inside one transaction and present
the result; the rules (who may sign in, sessions, throttling) live in
:mod:`lms_core.services.auth`.  All state is in the database, so several
worker processes can serve the same browsers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import Field
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lms_core.config import Project, locate_project
from lms_core.db import read_only
from lms_core.errors import ConflictError, ForbiddenError, LmsError, NotFoundError
from lms_core.http import manage, reports, sync
from lms_core.http.common import (
    NOT_SIGNED_IN,
    SLUG,
    UUID,
    Body,
    Context,
    Db,
    HttpError,
    Me,
    iso,
    result_json,
    signed_in_user,
)
from lms_core.plugins import exercise_types, make_plugin_manager
from lms_core.project import open_database
from lms_core.services import auth, learner
from lms_core.services.attempts import (
    StartedAttempt,
    finish_overdue,
    record_lesson_viewed,
    save_responses,
    start_attempt,
    submit_attempt,
)
from lms_core.services.auth import AuthError, CurrentUser, SignedIn, ThrottledError

log = logging.getLogger("lms.http")
T = TypeVar("T")

COOKIE = "lms_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_EXEMPT = frozenset({"/api/auth/redeem", "/api/auth/sign-in"})
CSRF_FAILED = "thiếu hoặc sai mã chống giả mạo (X-CSRF-Token) / missing or wrong CSRF token"


class RedeemRequest(Body):
    staff_code: str = Field(min_length=1, max_length=64)
    invite_code: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SignInRequest(Body):
    staff_code: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


LEARNER_THREADS = 2
"""Worker threads per server process for the learner's hot path (start, save,
submit, lesson viewed); other routes use the thread pool's default 40.

Their work is mostly Python holding the GIL, so more threads only take turns
at it, and each hand-over costs: in interleaved runs of the load benchmark on
PostgreSQL (2 workers, 16 learners in flight) 2 threads gave 63–78 submits/s
and the default 40 gave 46–66, at less CPU per submit (docs/benchmarks.md)."""

MAX_BODY_BYTES = 1024 * 1024
"""API request bodies: far above any quiz's answers (the services cap each answer at 16 KiB)."""


class LessonViewedRequest(Body):
    course: str = SLUG
    lesson: str = SLUG


class StartRequest(Body):
    course: str = SLUG
    exercise: str = SLUG
    attempt_id: str = UUID


class SaveRequest(Body):
    attempt_id: str = UUID
    seq: int = Field(ge=1, le=2**31 - 1)
    responses: dict[str, Any] = Field(max_length=500)


class SubmitRequest(Body):
    attempt_id: str = UUID
    responses: dict[str, Any] = Field(default_factory=dict, max_length=500)


def _client_address(request: Request) -> str:
    # uvicorn already replaces it from X-Forwarded-For when the proxy is trusted.
    return request.client.host if request.client else "unknown"


def _is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _user_json(user: CurrentUser) -> dict[str, Any]:
    return {
        "staff_code": user.staff_code,
        "full_name": user.full_name,
        "unit": {"code": user.unit_code, "name": user.unit_name},
        "role": user.role,
        "csrf_token": user.csrf_token,
        "expires_at": user.expires_at.isoformat(),
    }


def _signed_in(request: Request, signed: SignedIn) -> JSONResponse:
    response = JSONResponse(_user_json(signed.user))
    response.set_cookie(
        COOKIE,
        signed.token,
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
    )
    return response


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _session_user(db: Db, token: str) -> CurrentUser | None:
    """The signed-in user of every request: read without taking SQLite's write lock.

    The coarse "last seen" time is written in its own short transaction, only
    when it is due (every few minutes per session).
    """
    found = db.read(lambda connection: auth.find_session(connection, token))
    if found is None:
        return None
    if found.stale:
        db.run(lambda s: auth.touch_session(s, found.user.session_id))
    return found.user


def _router(ctx: Context) -> APIRouter:
    db, pm, types = ctx.db, ctx.pm, ctx.types
    plugin_routes = [routes for routes in pm.hook.lms_api_routes(ctx=ctx) if routes is not None]
    exempt = CSRF_EXEMPT.union(*(routes.public for routes in plugin_routes))

    async def guard(request: Request) -> None:
        """Refuse forged state-changing requests; the user is loaded only where needed.

        Sign-in and redemption have no session yet: they must be JSON (a
        cross-site HTML form cannot send that) from this site's origin.  Any
        other state-changing request needs the session cookie and its CSRF
        token, which is derived from the cookie (:func:`auth.csrf_token_for`),
        so the check needs no database read and no worker thread.  Only a
        token that does not match (a session from before derived tokens, or a
        forgery) is looked up.  Routes load the user through :data:`Me`, or,
        on the learner's hot path, inside their own transaction.
        """
        token = request.cookies.get(COOKIE, "")
        request.state.find_user = lambda: _session_user(db, token) if token else None
        if request.method not in UNSAFE_METHODS:
            return
        if request.url.path in exempt:
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type.lower() != "application/json":
                raise HttpError(415, "send JSON (Content-Type: application/json)")
            origin = request.headers.get("origin")
            if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
                raise HttpError(403, "cross-site request refused")
            return
        if not token:
            raise HttpError(401, NOT_SIGNED_IN)
        header = request.headers.get(CSRF_HEADER, "")
        if auth.csrf_matches_cookie(token, header):
            return
        user = await run_in_threadpool(_session_user, db, token)
        request.state.user = user
        if user is None:
            raise HttpError(401, NOT_SIGNED_IN)
        if not auth.csrf_matches(user, header):
            raise HttpError(403, CSRF_FAILED)

    limiters: list[anyio.CapacityLimiter] = []

    async def offload(work: Callable[[], T]) -> T:
        """Run ``work`` on one of the hot path's :data:`LEARNER_THREADS` threads."""
        if not limiters:  # made in the event loop that serves the app
            limiters.append(anyio.CapacityLimiter(LEARNER_THREADS))
        return await anyio.to_thread.run_sync(work, limiter=limiters[0])

    async def as_learner(request: Request, work: Callable[[Session, CurrentUser], T]) -> T:
        """``work`` for the signed-in user in one transaction, on a hot-path thread."""
        token = request.cookies.get(COOKIE, "")
        return await offload(lambda: db.run_signed_in(token, work))

    router = APIRouter(prefix="/api", dependencies=[Depends(guard)])

    @router.get("/health")
    def health() -> JSONResponse:
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError):
            return JSONResponse({"status": "degraded", "database": "unavailable"}, 503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @router.post("/auth/redeem")
    def redeem(body: RedeemRequest, request: Request) -> JSONResponse:
        signed = db.run(
            lambda s: auth.redeem_invite(
                s,
                staff_code=body.staff_code,
                invite_code=body.invite_code,
                password=body.password,
                address=_client_address(request),
            )
        )
        return _signed_in(request, signed)

    @router.post("/auth/sign-in")
    def sign_in(body: SignInRequest, request: Request) -> JSONResponse:
        # argon2 takes about 0.1 s: verify with no transaction open (see services.auth).
        with read_only(db.engine) as s:
            check = auth.prepare_sign_in(
                s, staff_code=body.staff_code, address=_client_address(request)
            )
        verified = auth.password_ok(check, body.password)
        signed = db.run(lambda s: auth.finish_sign_in(s, check, verified=verified))
        return _signed_in(request, signed)

    @router.post("/auth/sign-out")
    def sign_out(request: Request) -> JSONResponse:
        token = request.cookies.get(COOKIE, "")
        db.run(lambda s: auth.sign_out(s, token))
        response = JSONResponse({"signed_out": True})
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="lax", secure=_is_https(request)
        )
        return response

    @router.get("/me")
    def me(user: Annotated[CurrentUser, Depends(signed_in_user)]) -> JSONResponse:
        return JSONResponse(_user_json(user))

    @router.get("/my/courses")
    def my_courses(user: Me) -> JSONResponse:
        def work(s: Session) -> list[learner.MyCourse]:
            person = user.person_id
            return learner.my_courses(s, person_id=person)

        courses = db.run(work)
        return JSONResponse(
            {
                "courses": [
                    {
                        "course": c.course,
                        "title": c.title,
                        "version": c.version,
                        "version_hash": c.version_hash,
                        "status": c.status,
                        "due_on": iso(c.due_on),
                        "enrolled_at": c.enrolled_at.isoformat(),
                        "required_lessons": c.required_lessons,
                        "lessons_viewed": c.lessons_viewed,
                        "exercises": [
                            {
                                "id": e.id,
                                "title": e.title,
                                "grading": e.grading,
                                "pass_mark": e.pass_mark,
                                "max_attempts": e.max_attempts,
                                "attempts": e.attempts,
                                "score": e.score,
                                "passed": e.passed,
                            }
                            for e in c.exercises
                        ],
                        "completed": c.completed,
                        "completed_at": iso(c.completed_at),
                    }
                    for c in courses
                ]
            }
        )

    @router.post("/my/lessons/viewed")
    async def lesson_viewed(body: LessonViewedRequest, request: Request) -> JSONResponse:
        def work(s: Session, user: CurrentUser) -> bool:
            enrolment_id = learner.own_enrolment_id(s, person_id=user.person_id, course=body.course)
            record_lesson_viewed(s, enrolment_id=enrolment_id, lesson_slug=body.lesson, pm=pm)
            return learner.is_completed(s, enrolment_id)

        return JSONResponse({"completed": await as_learner(request, work)})

    @router.post("/my/attempts/start")
    async def attempt_start(body: StartRequest, request: Request) -> JSONResponse:
        token = request.cookies.get(COOKIE, "")

        def work(s: Session, user: CurrentUser) -> tuple[StartedAttempt, learner.AttemptForm]:
            enrolment_id = learner.own_enrolment_id(s, person_id=user.person_id, course=body.course)
            started = start_attempt(
                s,
                enrolment_id=enrolment_id,
                exercise_id=body.exercise,
                attempt_uuid=body.attempt_id,
                types=types,
                source="web",
                pm=pm,
            )
            return started, learner.started_form(s, started)

        def handle() -> JSONResponse:
            started, form = db.run_signed_in(token, work)
            # never the seed: the view and the form carry this attempt's public ids;
            # the form is rendered after the transaction (never under SQLite's write lock)
            return JSONResponse(
                {
                    "attempt_id": started.uuid,
                    "exercise": started.exercise_id,
                    "state": started.state,
                    "started_at": started.started_at.isoformat(),
                    "deadline": iso(started.deadline_at),
                    "save_seq": started.save_seq,
                    "created": started.created,
                    "view": started.view,
                    "responses": form.responses,
                    "html": form.html(language=ctx.language),
                }
            )

        return await offload(handle)

    @router.post("/my/attempts/save")
    async def attempt_save(body: SaveRequest, request: Request) -> JSONResponse:
        def work(s: Session, user: CurrentUser) -> int:
            return save_responses(
                s,
                attempt_uuid=body.attempt_id,
                seq=body.seq,
                responses=body.responses,
                person_id=user.person_id,
            )

        seq = await as_learner(request, work)
        return JSONResponse({"attempt_id": body.attempt_id, "seq": seq})

    @router.post("/my/attempts/submit")
    async def attempt_submit(body: SubmitRequest, request: Request) -> JSONResponse:
        def work(s: Session, user: CurrentUser) -> dict[str, Any]:
            person = user.person_id
            result = submit_attempt(
                s,
                attempt_uuid=body.attempt_id,
                responses=body.responses,
                types=types,
                pm=pm,
                person_id=person,
            )
            completed = result.course_completed
            if completed is None:  # graded before: look it up
                attempt = learner.own_attempt(s, person_id=person, attempt_uuid=body.attempt_id)
                completed = learner.is_completed(s, attempt.enrolment_id)
            return result_json(result, completed=completed)

        return JSONResponse(await as_learner(request, work))

    # Other areas of the API add their routes here, before the catch-all below.
    sync.install(router, ctx)
    manage.install(router, ctx)
    reports.install(router, ctx)
    for routes in plugin_routes:  # plugins' areas (lms_api_routes)
        router.include_router(routes.router)

    @router.api_route(
        "/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unknown(rest: str) -> JSONResponse:
        return _error(404, "no such API endpoint")

    return router


def _readable(exc: RequestValidationError) -> list[dict[str, str]]:
    """Field and message of each problem; never the submitted values (passwords)."""
    problems = []
    for item in exc.errors():
        loc = [str(p) for p in item.get("loc", ()) if p != "body"]
        problems.append({"field": ".".join(loc), "message": str(item.get("msg", "invalid"))})
    return problems


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(HttpError)
    async def http_error(_request: Request, exc: HttpError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _readable(exc)
        message = "; ".join(
            f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems
        )
        return _error(422, message or "invalid request", problems=problems)

    @app.exception_handler(LmsError)
    async def lms_error(_request: Request, exc: LmsError) -> JSONResponse:
        if isinstance(exc, AuthError):
            return _error(401, str(exc))
        if isinstance(exc, ThrottledError):
            return _error(429, str(exc))
        if isinstance(exc, ForbiddenError):
            return _error(403, str(exc))
        if isinstance(exc, NotFoundError):
            return _error(404, str(exc))
        if isinstance(exc, ConflictError):
            return _error(409, str(exc))
        return _error(400, str(exc))

    @app.exception_handler(SQLAlchemyError)
    async def database_error(_request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("database error: %s", type(exc).__name__)
        return _error(503, "the database is unavailable, try again shortly")

    @app.exception_handler(Exception)
    async def bug(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s", type(exc).__name__, exc_info=exc)
        return _error(500, "internal error")


class _Edge:
    """Pure ASGI middleware at the edge: the body size limit and the request log.

    Pure ASGI rather than ``@app.middleware("http")``: Starlette's
    ``BaseHTTPMiddleware`` runs every request through an extra task and
    stream per middleware, measurable per request under load.

    * A declared body over :data:`MAX_BODY_BYTES` on ``/api/`` is refused
      (413) before it is read.
    * One log line per request: method, path (never the query string),
      status, duration; the fields also as ``extra`` for JSON logs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        logged = False
        method, path = str(scope.get("method", "")), str(scope.get("path", ""))

        def log_once() -> None:
            nonlocal logged
            if logged:
                return
            logged = True
            duration = (time.perf_counter() - start) * 1000
            log.info(
                "%s %s %d %.1fms",
                method,
                path,
                status,
                duration,
                extra={
                    "http_method": method,
                    "http_path": path,
                    "http_status": status,
                    "duration_ms": round(duration, 1),
                },
            )

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                log_once()  # before the last byte leaves: the line is there when the client reads
            await send(message)

        try:
            refusal = self._refusal(scope) if path.startswith("/api/") else None
            if refusal is not None:
                await refusal(scope, receive, sending)
            else:
                await self.app(scope, receive, sending)
        finally:
            log_once()  # a failure or a disconnect before the response ended

    @staticmethod
    def _refusal(scope: Scope) -> JSONResponse | None:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    size = int(value)
                except ValueError:
                    return _error(400, "invalid Content-Length")
                if size > MAX_BODY_BYTES:
                    return _error(413, f"request too large (at most {MAX_BODY_BYTES} bytes)")
        return None


async def _sweep_overdue(ctx: Context, every: float) -> None:
    """Grade attempts left past their time limit, every ``every`` seconds.

    A learner who closes the page when time runs out never submits; this
    finishes such attempts from their saved answers, so the record (and a
    completion it earns) does not wait for the learner's next visit.  Every
    worker runs it; submitting is exactly-once, so they cannot grade twice.
    """
    while True:
        await asyncio.sleep(every)
        try:
            graded = await asyncio.to_thread(
                ctx.db.run, lambda s: finish_overdue(s, types=ctx.types, pm=ctx.pm)
            )
        except (LmsError, SQLAlchemyError, OSError) as exc:
            log.warning("overdue attempts not graded this time: %s", type(exc).__name__)
            continue
        if graded:
            log.info("graded %d overdue attempts", graded)


def create_app(
    project: Project, *, engine: Engine | None = None, overdue_every: float = 60.0
) -> FastAPI:
    """The server's ASGI application for ``project``.

    Without ``engine`` the project's database is opened (and checked to be at
    this code's schema) here and closed at shutdown; a given engine belongs to
    the caller.  Every ``overdue_every`` seconds (0: never) attempts past their
    time limit are graded.
    """
    owned = engine is None
    engine = engine if engine is not None else open_database(project)
    pm = make_plugin_manager()
    ctx = Context(db=Db(engine), pm=pm, types=exercise_types(pm), language=project.config.language)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep_overdue(ctx, overdue_every)) if overdue_every else None
        yield
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        if owned:
            engine.dispose()

    app = FastAPI(
        title="Tập huấn",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",  # the description; no docs UI (it needs a CDN)
        lifespan=lifespan,
    )
    _install_handlers(app)
    app.include_router(_router(ctx))
    if project.output_dir.is_dir():
        app.mount("/", StaticFiles(directory=project.output_dir, html=True), name="site")
    app.add_middleware(_Edge)
    return app


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory``: the project from ``$LMS_CONFIG`` (or the cwd)."""
    return create_app(locate_project())
